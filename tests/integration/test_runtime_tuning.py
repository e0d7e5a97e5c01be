"""memcached 1.6.18's runtime tuning commands (slabs reassign|automove, lru
tune|mode|temp_ttl, cache_memlimit, extstore, lru_crawler): every reply line is checked on
memext-server and on memcached 1.6.18 itself, and so is what the change does
(stats settings, pages moved, items placed in the LRUs)."""

import re
import time
import unittest

from memext_harness import BothServers


def stats(c, group=b""):
    c.send(b"stats " + group + b"\r\n" if group else b"stats\r\n")
    text = c.read_until(b"END\r\n")
    return {k.decode(): v.decode() for k, v in re.findall(rb"STAT (\S+) (\S+)\r\n", text)}


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class TuningReplies(BothServers):
    def test_slabs_replies(self):
        self.exchange(b"slabs automove 0\r\nslabs automove 2\r\nslabs automove 3\r\nslabs automove\r\n"
                      b"slabs automove x\r\nslabs automove -1\r\nslabs automove 1 noreply\r\n"
                      b"slabs automove 1 x\r\nslabs automove ratio 0.5\r\nslabs automove ratio\r\n"
                      b"slabs automove ratio x\r\nslabs foo\r\nslabs\r\n",
                      b"OK\r\nOK\r\nERROR\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n"
                      b"CLIENT_ERROR bad command line format\r\nOK\r\nOK\r\nERROR\r\nERROR\r\n"
                      b"ERROR\r\nERROR\r\n")
        self.exchange(b"slabs reassign 1 1\r\nslabs reassign -1 -1\r\nslabs reassign 1 99\r\n"
                      b"slabs reassign 64 1\r\nslabs reassign -2 3\r\nslabs reassign 3 -1\r\n"
                      b"slabs reassign 2147483648 1\r\nslabs reassign x 1\r\nslabs reassign 1x 2\r\n"
                      b"slabs reassign 1\r\nslabs reassign 1 2 noreply\r\nslabs reassign 1 2\r\n"
                      b"slabs reassign 0 5\r\nslabs reassign -1 5\r\n",
                      b"SAME src and dst class are identical\r\n" * 2 +
                      b"BADCLASS invalid src or dst class id\r\n" * 5 +
                      b"CLIENT_ERROR bad command line format\r\n" * 2 +
                      b"ERROR\r\nERROR\r\nNOSPARE source class has no spare pages\r\n"
                      b"NOSPARE source class has no spare pages\r\n"
                      b"BADCLASS invalid src or dst class id\r\n")

    def test_lru_replies(self):
        self.exchange(b"lru tune 10 25 0.1 2.0\r\nlru tune 10 25\r\nlru tune 60 50 0.1 2.0\r\n"
                      b"lru tune 10 25 0.1 2.0 noreply\r\nlru tune 10 25 0 2.0\r\n"
                      b"lru tune 10 25 0.1 -1\r\nlru tune -1 25 0.1 2\r\nlru tune 10 25 x 2\r\n"
                      b"lru tune 10 25 1e400 2\r\nlru tune 10 25 0.1 2.0 extra\r\n"
                      b"lru mode x\r\nlru mode\r\nlru temp_ttl x\r\nlru temp_ttl\r\nlru foo\r\n"
                      b"lru\r\nlru noreply\r\nlru mode segmented noreply\r\n",
                      b"OK\r\nERROR\r\nERROR hot and warm pcts must not exceed 80\r\n" +
                      b"ERROR hot/warm age factors must be greater than 0\r\n" * 2 +
                      b"ERROR\r\n" * 3 + b"OK\r\n" + b"ERROR\r\n" * 6)

    def test_cache_memlimit_replies(self):
        self.exchange(b"cache_memlimit 100\r\ncache_memlimit 100 noreply\r\ncache_memlimit 7\r\n"
                      b"cache_memlimit 0\r\ncache_memlimit x\r\ncache_memlimit\r\n"
                      b"cache_memlimit -5\r\ncache_memlimit 1000000001\r\n"
                      b"cache_memlimit 4294967296\r\ncache_memlimit 100 x\r\n"
                      b"cache_memlimit 100 x y\r\ncache_memlimit 0x10\r\ncache_memlimit 64\r\n",
                      b"OK\r\n" + b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n" * 2 +
                      b"ERROR\r\n" * 3 +
                      b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n" +
                      b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
                      b"OK\r\nERROR\r\nERROR\r\nOK\r\n")

    def test_settings_follow_the_commands(self):
        names = ("maxbytes", "slab_automove", "slab_automove_ratio", "lru_segmented",
                 "hot_lru_pct", "warm_lru_pct", "hot_max_factor", "warm_max_factor", "temp_lru",
                 "temporary_ttl")
        want = {"maxbytes": "104857600", "slab_automove": "2", "slab_automove_ratio": "0.50",
                "lru_segmented": "no", "hot_lru_pct": "10", "warm_lru_pct": "25",
                "hot_max_factor": "0.30", "warm_max_factor": "1.50", "temp_lru": "yes",
                "temporary_ttl": "33"}
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"cache_memlimit 100 noreply\r\nslabs automove 2 noreply\r\n"
                       b"slabs automove ratio 0.5 noreply\r\nlru mode flat noreply\r\n"
                       b"lru tune 10 25 0.3 1.5 noreply\r\nlru temp_ttl 33 noreply\r\n")
                got = stats(c, b"settings")
                self.assertEqual({n: got[n] for n in names}, want)
                c.send(b"lru temp_ttl -1\r\nlru mode segmented\r\n")
                self.assertEqual(c.expect(b"OK\r\nOK\r\n"), b"OK\r\nOK\r\n")
                got = stats(c, b"settings")
                self.assertEqual((got["temp_lru"], got["temporary_ttl"], got["lru_segmented"]),
                                 ("no", "33", "yes"))


class TuningEffects(BothServers):
    SERVER_ARGS = ("-m", "16")

    def fill(self, c, prefix, count, size):
        value = b"v" * size
        c.send(b"".join(b"set %s%d 0 0 %d noreply\r\n%s\r\n" % (prefix, i, size, value)
                        for i in range(count)) + b"mn\r\n")
        c.expect(b"MN\r\n")

    def class_of(self, c, key):
        c.send(b"mg " + key + b" v\r\nme " + key + b"\r\n")
        c.read_until(b"\r\n")
        c.read_until(b"\r\n")
        return int(re.search(rb"cls=(\d+)", c.read_until(b"\r\n")).group(1))

    def test_slabs_reassign_moves_a_page(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                # ~4 pages of one class, then one page of another to move into.
                self.fill(c, b"big", 3000, 1000)
                self.fill(c, b"small", 10, 10)
                src = self.class_of(c, b"big1")
                dst = self.class_of(c, b"small1")
                before = stats(c, b"slabs")
                c.send(b"slabs reassign %d %d\r\n" % (src, dst))
                self.assertEqual(c.expect(b"OK\r\n"), b"OK\r\n")
                # memcached moves the page on its rebalancer thread.
                self.assertTrue(wait_for(lambda: stats(c)["slabs_moved"] == "1"))
                after = stats(c, b"slabs")
                self.assertEqual(int(after["%d:total_pages" % src]),
                                 int(before["%d:total_pages" % src]) - 1)
                self.assertEqual(int(after["%d:total_pages" % dst]),
                                 int(before["%d:total_pages" % dst]) + 1)
                # The class was full: the page's items were evicted, not lost silently.
                self.assertGreater(int(stats(c)["slab_reassign_evictions_nomem"]), 0)

    def test_cache_memlimit_lets_classes_grow(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                self.fill(c, b"a", 40000, 1000)  # ~44 MB into 16 MB: evicts
                self.assertGreater(int(stats(c)["evictions"]), 0)
                malloced = int(stats(c, b"slabs")["total_malloced"])
                self.assertLessEqual(malloced, 16 << 20)
                c.send(b"cache_memlimit 64\r\n")
                self.assertEqual(c.expect(b"OK\r\n"), b"OK\r\n")
                general = stats(c)
                self.assertEqual(general["limit_maxbytes"], str(64 << 20))
                evictions = int(general["evictions"])
                self.fill(c, b"b", 20000, 1000)  # ~22 MB more: fits in the new room
                self.assertEqual(int(stats(c)["evictions"]), evictions)
                self.assertGreater(int(stats(c, b"slabs")["total_malloced"]), 32 << 20)

    def test_lru_mode_flat_drains_hot_and_warm(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                self.fill(c, b"f", 200, 100)
                cls = self.class_of(c, b"f1")
                self.assertGreater(int(stats(c, b"items")["items:%d:number_hot" % cls]), 0)
                c.send(b"lru mode flat\r\n")
                self.assertEqual(c.expect(b"OK\r\n"), b"OK\r\n")
                self.assertTrue(wait_for(
                    lambda: int(stats(c, b"items")["items:%d:number_hot" % cls]) == 0))
                self.assertEqual(int(stats(c, b"items")["items:%d:number_cold" % cls]), 200)

    def test_lru_temp_ttl_sends_short_ttl_items_to_temp(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"lru temp_ttl 100\r\nset t1 0 50 1\r\nx\r\nset t2 0 500 1\r\nx\r\n")
                self.assertEqual(c.expect(b"OK\r\nSTORED\r\nSTORED\r\n"), b"OK\r\nSTORED\r\nSTORED\r\n")
                cls = self.class_of(c, b"t1")
                items = stats(c, b"items")
                self.assertEqual(items["items:%d:number_temp" % cls], "1")
                self.assertEqual(items["items:%d:number" % cls], "2")


class CrawlerCommands(BothServers):
    def test_lru_crawler_replies(self):
        # No crawl is started here: a second request while one runs would be
        # BUSY on either server depending on timing.
        self.exchange(b"lru_crawler\r\nlru_crawler crawl\r\nlru_crawler crawl 0\r\n"
                      b"lru_crawler crawl 64\r\nlru_crawler crawl 1,2,x\r\n"
                      b"lru_crawler crawl ALL\r\nlru_crawler crawl -1\r\n"
                      b"lru_crawler crawl all extra\r\nlru_crawler cra all\r\n"
                      b"lru_crawler crawl 1 noreply\r\nlru_crawler tocrawl\r\n"
                      b"lru_crawler tocrawl -1\r\nlru_crawler tocrawl abc\r\n"
                      b"lru_crawler tocrawl 5 6\r\nlru_crawler sleep 1000001\r\n"
                      b"lru_crawler sleep -5\r\nlru_crawler sleep 10 noreply\r\n"
                      b"lru_crawler foo\r\nlru_crawler enable\r\nlru_crawler enable now\r\n",
                      b"ERROR\r\nERROR\r\n" + b"BADCLASS invalid class id\r\n" * 5 +
                      b"ERROR\r\n" * 4 + b"CLIENT_ERROR bad command line format\r\n" * 2 +
                      b"ERROR\r\nCLIENT_ERROR sleep must be one second or less\r\n"
                      b"CLIENT_ERROR bad command line format\r\nERROR\r\nERROR\r\n"
                      b"ERROR failed to start lru crawler thread\r\nERROR\r\n")
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"lru_crawler disable\r\nlru_crawler disable\r\n")
                self.assertEqual(c.expect(b"OK\r\nOK\r\n"), b"OK\r\nOK\r\n")
                # memcached's crawler thread clears the setting as it exits.
                self.assertTrue(wait_for(lambda: stats(c, b"settings")["lru_crawler"] == "no"))
                c.send(b"lru_crawler crawl all\r\nlru_crawler crawl 0\r\nlru_crawler enable\r\n")
                want = b"CLIENT_ERROR lru crawler disabled\r\n" * 2 + b"OK\r\n"
                self.assertEqual(c.expect(want), want)

    def test_settings_follow_the_commands(self):
        names = ("lru_crawler", "lru_crawler_sleep", "lru_crawler_tocrawl")
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                self.assertEqual({n: stats(c, b"settings")[n] for n in names},
                                 {"lru_crawler": "yes", "lru_crawler_sleep": "100",
                                  "lru_crawler_tocrawl": "0"})
                # safe_strtoul truncates to 32 bits: 2^32 + 7 is 7.
                c.send(b"lru_crawler sleep 1000000\r\nlru_crawler tocrawl 4294967303\r\n"
                       b"lru_crawler disable\r\n")
                self.assertEqual(c.expect(b"OK\r\n" * 3), b"OK\r\n" * 3)
                # memcached's crawler thread clears the setting as it exits.
                self.assertTrue(wait_for(lambda: stats(c, b"settings")["lru_crawler"] == "no"))
                self.assertEqual({n: stats(c, b"settings")[n] for n in names},
                                 {"lru_crawler": "no", "lru_crawler_sleep": "1000000",
                                  "lru_crawler_tocrawl": "7"})
                c.send(b"lru_crawler sleep 100\r\nlru_crawler tocrawl 0\r\n"
                       b"lru_crawler enable\r\n")
                self.assertEqual(c.expect(b"OK\r\n" * 3), b"OK\r\n" * 3)

    def test_busy_while_a_crawl_runs(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                # 1500 items and a one-second sleep every 1000 checked: the
                # crawl lasts about a second, the second request meets it.
                c.send(b"".join(b"set busy%d 0 0 1 noreply\r\nx\r\n" % i for i in range(1500)) +
                       b"lru_crawler sleep 1000000\r\nlru_crawler crawl all\r\n"
                       b"lru_crawler crawl 1\r\nlru_crawler sleep 100\r\n")
                want = b"OK\r\nOK\r\nBUSY currently processing crawler request\r\nOK\r\n"
                self.assertEqual(c.expect(want), want)
                self.assertTrue(wait_for(lambda: stats(c)["lru_crawler_running"] == "0"))
                c.send(b"lru_crawler crawl ,\r\n")
                self.assertEqual(c.expect(b"NOTSTARTED no items to crawl\r\n"),
                                 b"NOTSTARTED no items to crawl\r\n")

    def test_crawl_reclaims_an_expired_item(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"set crawl_gone 0 1 5\r\nvalue\r\nset crawl_kept 0 0 5\r\nvalue\r\n"
                       b"me crawl_kept\r\n")
                c.expect(b"STORED\r\nSTORED\r\n")
                cls = int(re.search(rb"cls=(\d+)", c.read_until(b"\r\n")).group(1))
                number = "items:%d:number" % cls
                # Other tests of this class leave items in the class too.
                before = int(stats(c, b"items")[number])
                get_expired = stats(c)["get_expired"]

                def crawled():
                    c.send(b"lru_crawler crawl %d\r\n" % cls)
                    reply = c.read_until(b"\r\n")
                    self.assertIn(reply, (b"OK\r\n", b"BUSY currently processing crawler request\r\n"))
                    return int(stats(c, b"items")[number]) == before - 1

                # The item expires once the server's clock is past its second.
                self.assertTrue(wait_for(crawled, timeout=20.0))
                items = stats(c, b"items")
                self.assertGreaterEqual(int(items["items:%d:crawler_reclaimed" % cls]), 1)
                self.assertGreaterEqual(int(items["items:%d:expired_unfetched" % cls]), 1)
                self.assertGreaterEqual(int(items["items:%d:crawler_items_checked" % cls]), 2)
                general = stats(c)
                self.assertEqual(general["get_expired"], get_expired)
                self.assertGreaterEqual(int(general["crawler_reclaimed"]), 1)
                self.assertGreater(int(general["lru_crawler_starts"]), 0)
                c.send(b"get crawl_gone crawl_kept\r\n")
                self.assertEqual(c.expect(b"VALUE crawl_kept 0 5\r\nvalue\r\nEND\r\n"),
                                 b"VALUE crawl_kept 0 5\r\nvalue\r\nEND\r\n")



class MetadumpHelpers:
    LINE = re.compile(rb"key=(\S+) exp=(-1|\d+) la=\d+ cas=\d+ fetch=(yes|no) cls=(\d+) size=(\d+)\n")

    def dump(self, c, request):
        c.send(request)
        text = c.read_until(b"END\r\n")
        lines = text[:-len(b"END\r\n")]
        found = self.LINE.findall(lines)
        self.assertEqual(b"".join(m.group(0) for m in self.LINE.finditer(lines)), lines)
        return sorted((key, exp == b"-1", fetch, int(cls), int(size))
                      for key, exp, fetch, cls, size in found)

    def dump_many_then_next_request(self):
        """Sets 20,000 items, dumps them with a request behind the dump, and
        returns each server's set of dumped keys among them."""
        value = b"v" * 10
        written = {b"many%d" % i for i in range(20000)}
        dumped = {}
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"".join(b"set many%d 0 0 10 noreply\r\n%s\r\n" % (i, value)
                                for i in range(20000)) + b"mn\r\n")
                self.assertEqual(c.expect(b"MN\r\n"), b"MN\r\n")
                # memcached 1.6.18 runs a command pipelined behind a metadump
                # only when more bytes arrive; memext runs it after the END.
                pipelined = server is self.server
                got = self.dump(c, b"lru_crawler metadump all\r\n" +
                                (b"get many7\r\n" if pipelined else b""))
                keys = {entry[0] for entry in got}
                # Only live items are dumped, each line whole (self.dump).
                self.assertLessEqual(keys - written, {e[0] for e in got if e[0].startswith(b"md")})
                dumped[server.binary] = keys & written
                if not pipelined:
                    c.send(b"get many7\r\n")
                want = b"VALUE many7 0 10\r\n" + value + b"\r\nEND\r\n"
                self.assertEqual(c.expect(want), want)
        return written, dumped


class Metadump(MetadumpHelpers, BothServers):
    def test_metadump_lines_and_replies(self):
        results = []
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"set md%20x 0 100 1\r\nx\r\nset md~.-_ 5 0 2\r\nyy\r\nget md~.-_\r\n"
                       b"set mdgone 0 -1 1\r\nz\r\n")
                c.read_until(b"END\r\n")
                c.expect(b"STORED\r\n")
                got = self.dump(c, b"lru_crawler metadump all\r\n")
                results.append([entry for entry in got if entry[0].startswith(b"md")])
                self.assertEqual(self.dump(c, b"lru_crawler metadump 1\r\n"), got)
                self.assertEqual(self.dump(c, b"lru_crawler metadump hash\r\n"), got)
                self.assertEqual(self.dump(c, b"lru_crawler metadump 2\r\n"), [])
                c.send(b"lru_crawler metadump 99\r\nlru_crawler metadump\r\n"
                       b"lru_crawler metadump all noreply\r\n")
                want = b"BADCLASS invalid class id\r\nERROR\r\nERROR\r\n"
                self.assertEqual(c.expect(want), want)
        self.assertEqual(results[0], [(b"md%2520x", False, b"no", 1, 66),
                                      (b"md~.-_", True, b"yes", 1, 71)])
        self.assertTrue(all(r == results[0] for r in results))

    def test_metadump_of_many_items_then_the_next_request(self):
        # With the LRU maintainer moving items between HOT, WARM and COLD
        # while the crawler walks them, memcached (and memext) may miss an
        # item that moves past the walk: about one run in five memcached
        # missed some of the 20,000. Completeness is checked where items
        # stay put (MetadumpSettled).
        written, dumped = self.dump_many_then_next_request()
        for binary, keys in dumped.items():
            self.assertTrue(keys, binary)


class MetadumpSettled(MetadumpHelpers, BothServers):
    """Without the LRU maintainer (and so without segmented LRUs, in both
    servers) no item moves during the walk, and memcached's dump holds every
    live item."""

    SERVER_ARGS = ("-o", "no_lru_maintainer")

    def test_metadump_of_many_items_then_the_next_request(self):
        written, dumped = self.dump_many_then_next_request()
        for binary, keys in dumped.items():
            self.assertEqual(len(keys), len(written), binary)


if __name__ == "__main__":
    unittest.main()
