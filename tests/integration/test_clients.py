"""Real clients against memext-server: pymemcache for the text protocol, and
memccapable -a (libmemcached-tools), which memcached 1.6.18 itself passes
completely."""

import shutil
import subprocess
import threading
import unittest

from pymemcache.client.base import Client

from memext_harness import ServerTestCase


class Pymemcache(ServerTestCase):
    def client(self):
        return Client(("127.0.0.1", self.server.port), timeout=5)

    def test_basic_commands(self):
        c = self.client()
        self.assertTrue(c.set("k1", b"v1", expire=100))
        self.assertEqual(c.get("k1"), b"v1")
        self.assertTrue(c.add("k2", b"v2"))
        self.assertFalse(c.add("k2", b"again", noreply=False))
        self.assertTrue(c.replace("k2", b"r2", noreply=False))
        self.assertTrue(c.append("k2", b"+", noreply=False))
        self.assertTrue(c.prepend("k2", b"-", noreply=False))
        self.assertEqual(c.get("k2"), b"-r2+")
        self.assertEqual(c.get_many(["k1", "k2", "nope"]), {"k1": b"v1", "k2": b"-r2+"})
        value, cas = c.gets("k1")
        self.assertTrue(c.cas("k1", b"v1b", cas, noreply=False))
        self.assertFalse(c.cas("k1", b"v1c", cas, noreply=False))
        self.assertEqual(c.get("k1"), b"v1b")
        c.set("n", b"10")
        self.assertEqual(c.incr("n", 5), 15)
        self.assertEqual(c.decr("n", 20), 0)
        self.assertTrue(c.touch("n", 100, noreply=False))
        self.assertEqual(c.get("n"), b"0 ")  # memcached pads a shrunk number in place
        self.assertTrue(c.delete("n", noreply=False))
        self.assertFalse(c.delete("n", noreply=False))
        self.assertTrue(c.flush_all(noreply=False))
        self.assertIsNone(c.get("k1"))
        self.assertEqual(c.version(), b"1.6.18")
        c.close()

    def test_stats_groups(self):
        c = self.client()
        c.set("s", b"x" * 100)
        c.get("s")
        c.get("missing")
        stats = c.stats()
        self.assertEqual(stats[b"version"], b"1.6.18")
        self.assertGreaterEqual(stats[b"get_hits"], 1)
        self.assertGreaterEqual(stats[b"get_misses"], 1)
        self.assertGreaterEqual(stats[b"curr_items"], 1)
        self.assertEqual(stats[b"threads"], 2)
        settings = c.stats("settings")
        self.assertEqual(settings[b"item_size_max"], 1048576)
        self.assertEqual(settings[b"hot_lru_pct"], 20)
        # memcached 1.6.18's defaults: the page mover is on.
        self.assertEqual(settings[b"slab_reassign"], b"yes")
        self.assertEqual(settings[b"slab_automove"], 1)
        self.assertEqual(settings[b"slab_automove_ratio"], b"0.80")
        self.assertEqual(settings[b"slab_automove_window"], 30)
        self.assertEqual(stats[b"slabs_moved"], 0)
        slabs = c.stats("slabs")
        self.assertIn(b"active_slabs", slabs)
        self.assertTrue(any(k.endswith(b":chunk_size") for k in slabs))
        items = c.stats("items")
        self.assertTrue(any(k.endswith(b":number") for k in items))
        c.close()


class StatsReset(ServerTestCase):
    # As memcached 1.6.18: `stats reset` zeroes the per-class counters and
    # leaves the gauges.
    def test_per_class_counters_restart(self):
        c = Client(("127.0.0.1", self.server.port), timeout=5)
        c.set("a", b"x")
        c.get("a")
        self.assertEqual(c.stats("slabs")[b"1:get_hits"], 1)
        # Which segment the hit lands in depends on the LRU maintainer's timing.
        def hits(items):
            return sum(items[b"items:1:hits_to_" + seg] for seg in (b"hot", b"warm", b"cold", b"temp"))

        self.assertEqual(hits(c.stats("items")), 1)
        self.roundtrip(b"stats reset\r\n", b"RESET\r\n")
        slabs = c.stats("slabs")
        self.assertEqual(slabs[b"1:get_hits"], 0)
        self.assertEqual(slabs[b"1:cmd_set"], 0)
        self.assertEqual(slabs[b"1:used_chunks"], 1)
        items = c.stats("items")
        self.assertEqual(hits(items), 0)
        self.assertEqual(items[b"items:1:number"], 1)
        c.get("a")
        self.assertEqual(c.stats("slabs")[b"1:get_hits"], 1)
        c.close()

    # Gets on four connections at once run on the server's worker threads
    # in parallel, each counting in its own per-thread stripe; `stats`
    # and `stats reset` see their exact sum, before and after the reset.
    def test_counts_from_many_threads_sum_exactly_across_a_reset(self):
        setup = Client(("127.0.0.1", self.server.port), timeout=5)
        keys = ["mt%d" % i for i in range(50)]
        for k in keys:
            self.assertTrue(setup.set(k, b"v" * 100, noreply=False))
        ghosts = ["none%d" % i for i in range(10)]

        def hammer(rounds):
            def one():
                c = Client(("127.0.0.1", self.server.port), timeout=30)
                for _ in range(rounds):
                    got = c.get_many(keys + ghosts)
                    if len(got) != len(keys):
                        errors.append(len(got))
                c.close()
            errors = []
            threads = [threading.Thread(target=one) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            return 4 * rounds

        def counts():
            st = setup.stats()
            per_class = sum(v for k, v in setup.stats("slabs").items()
                            if k.endswith(b":get_hits"))
            return (st[b"cmd_get"], st[b"get_hits"], st[b"get_misses"], per_class)

        n = hammer(20)
        self.assertEqual(counts(), (n * 60, n * 50, n * 10, n * 50))
        self.roundtrip(b"stats reset\r\n", b"RESET\r\n")
        self.assertEqual(counts(), (0, 0, 0, 0))
        m = hammer(7)
        self.assertEqual(counts(), (m * 60, m * 50, m * 10, m * 50))
        setup.close()


class AutomoveOff(ServerTestCase):
    SERVER_ARGS = ("-o", "slab_automove=0,slab_automove_window=5")

    def test_settings_show_the_options(self):
        c = Client(("127.0.0.1", self.server.port), timeout=5)
        settings = c.stats("settings")
        self.assertEqual(settings[b"slab_automove"], 0)
        self.assertEqual(settings[b"slab_automove_window"], 5)
        c.close()


class GeneralStatsOrder(ServerTestCase):
    # memcached 1.6.18's `stats` names, in its order (no extstore configured).
    MEMCACHED_NAMES = (
        "pid uptime time version libevent pointer_size rusage_user rusage_system max_connections "
        "curr_connections total_connections rejected_connections connection_structures "
        "response_obj_oom response_obj_count response_obj_bytes read_buf_count read_buf_bytes "
        "read_buf_bytes_free read_buf_oom reserved_fds cmd_get cmd_set cmd_flush cmd_touch "
        "cmd_meta get_hits get_misses get_expired get_flushed delete_misses delete_hits "
        "incr_misses incr_hits decr_misses decr_hits cas_misses cas_hits cas_badval touch_hits "
        "touch_misses store_too_large store_no_memory auth_cmds auth_errors bytes_read "
        "bytes_written limit_maxbytes accepting_conns listen_disabled_num "
        "time_in_listen_disabled_us threads conn_yields hash_power_level hash_bytes "
        "hash_is_expanding slab_reassign_rescues slab_reassign_chunk_rescues "
        "slab_reassign_evictions_nomem slab_reassign_inline_reclaim slab_reassign_busy_items "
        "slab_reassign_busy_deletes slab_reassign_running slabs_moved lru_crawler_running "
        "lru_crawler_starts lru_maintainer_juggles malloc_fails log_worker_dropped "
        "log_worker_written log_watcher_skipped log_watcher_sent log_watchers "
        "unexpected_napi_ids round_robin_fallback bytes curr_items total_items "
        "slab_global_page_pool expired_unfetched evicted_unfetched evicted_active evictions "
        "reclaimed crawler_reclaimed crawler_items_checked lrutail_reflocked moves_to_cold "
        "moves_to_warm moves_within_lru direct_reclaims lru_bumps_dropped").split()

    def test_names_and_order(self):
        c = self.conn()
        c.send(b"stats\r\n")
        text = c.read_until(b"END\r\n").decode()
        names = [line.split(" ")[1] for line in text.split("\r\n") if line.startswith("STAT ")]
        self.assertEqual(names, self.MEMCACHED_NAMES)

    def test_stats_reset_zeroes_counters_not_gauges(self):
        c = self.conn()
        c.send(b"set rs 0 0 1\r\nx\r\nget rs\r\nget rs\r\nget nope\r\nstats reset\r\n")
        c.read_until(b"RESET\r\n")
        c.send(b"get rs\r\nstats\r\n")
        c.read_until(b"END\r\n")
        text = c.read_until(b"END\r\n").decode()
        st = dict(line.split(" ")[1:3] for line in text.split("\r\n") if line.startswith("STAT "))
        self.assertEqual(st["get_hits"], "1")
        self.assertEqual(st["cmd_get"], "1")
        self.assertEqual(st["get_misses"], "0")
        self.assertEqual(st["cmd_set"], "0")
        self.assertGreaterEqual(int(st["curr_items"]), 1)

    def test_stats_errors(self):
        self.roundtrip(b"stats bogus\r\nstats detail\r\n",
                       b"ERROR\r\nCLIENT_ERROR usage: stats detail on|off|dump\r\n")


@unittest.skipIf(shutil.which("memccapable") is None, "memccapable (libmemcached-tools) missing")
class Memccapable(ServerTestCase):
    def test_ascii_suite_passes(self):
        out = subprocess.run(["memccapable", "-a", "-h", "127.0.0.1", "-p", str(self.server.port),
                              "-t", "10"], capture_output=True, text=True, timeout=300)
        lines = [l for l in out.stdout.splitlines() if l.startswith("ascii ")]
        self.assertEqual(len(lines), 27, out.stdout)
        failed = [l for l in lines if not l.endswith("[pass]")]
        self.assertEqual(failed, [], out.stdout)
        self.assertIn("All tests passed", out.stdout)
        self.assertEqual(out.returncode, 0)


if __name__ == "__main__":
    unittest.main()
