"""Slab page moves as memcached 1.6.18 makes them: the same commands on
memext-server and on memcached itself, then the keys that still get and the
slab_reassign_* counters compared. `slabs reassign` and the automover move
a page's live items (rescued into free chunks of the class elsewhere,
evicted when there are none), not only its accounting.

Without the LRU maintainer and crawler nothing else touches the items
between the commands, so what each move does depends only on the commands;
the automover needs the maintainer, and with no other traffic its moves are
deterministic too. Each test uses its own slab class (value size), so the
counters are compared as differences around each move."""

import re
import time
import unittest

from memext_harness import BothServers

COUNTERS = ("slabs_moved", "slab_reassign_rescues", "slab_reassign_chunk_rescues",
            "slab_reassign_evictions_nomem", "slab_reassign_inline_reclaim",
            "slab_reassign_busy_items", "slab_reassign_busy_deletes", "slab_global_page_pool",
            "curr_items", "total_items", "evictions")


def stats(c, group=b""):
    c.send(b"stats " + group + b"\r\n" if group else b"stats\r\n")
    text = c.read_until(b"END\r\n")
    return {k.decode(): v.decode() for k, v in re.findall(rb"STAT (\S+) (\S+)\r\n", text)}


def counters(c):
    st = stats(c)
    return {name: int(st[name]) for name in COUNTERS}


def delta(before, after):
    return {name: after[name] - before[name] for name in COUNTERS}


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def fill(c, prefix, count, size):
    value = b"v" * size
    c.send(b"".join(b"set %s%d 0 0 %d noreply\r\n%s\r\n" % (prefix, i, size, value)
                    for i in range(count)) + b"mn\r\n")
    c.read_until(b"MN\r\n")


def delete(c, keys):
    c.send(b"".join(b"delete %s noreply\r\n" % k for k in keys) + b"mn\r\n")
    c.read_until(b"MN\r\n")


def present(c, keys):
    """The keys (of `keys`) that a get still finds."""
    c.send(b"".join(b"mg %s\r\n" % k for k in keys) + b"mn\r\n")
    lines = c.read_until(b"MN\r\n").split(b"\r\n")[:-2]
    assert len(lines) == len(keys), lines[:5]
    return frozenset(k for k, line in zip(keys, lines) if line == b"HD")


def class_of(c, key):
    c.send(b"me " + key + b"\r\n")
    return int(re.search(rb"cls=(\d+)", c.read_until(b"\r\n")).group(1))


def slab(c, clsid, field):
    return int(stats(c, b"slabs")["%d:%s" % (clsid, field)])


def probe_class(c, size):
    """The class a `size`-byte value of a short key lands in, and its chunks per
    page. The probe's chunk is freed again, so the next set takes it back."""
    fill(c, b"probe", 1, size)
    clsid = class_of(c, b"probe0")
    delete(c, [b"probe0"])
    return clsid, slab(c, clsid, "chunks_per_page")


def keys(prefix, count):
    return [b"%s%d" % (prefix, i) for i in range(count)]


class SlabReassign(BothServers):
    SERVER_ARGS = ("-m", "64", "-o", "no_lru_maintainer,no_lru_crawler")

    def move(self, c, src, dst):
        """`slabs reassign src dst`, waits for the move; the counters' change."""
        before = counters(c)
        c.send(b"slabs reassign %d %d\r\n" % (src, dst))
        self.assertEqual(c.read_until(b"\r\n"), b"OK\r\n")
        self.assertTrue(wait_for(lambda: counters(c)["slabs_moved"] == before["slabs_moved"] + 1
                                 and stats(c)["slab_reassign_running"] == "0"))
        return delta(before, counters(c))

    def compare(self, results):
        """results: per server, what the scenario observed; all must agree."""
        self.assertEqual(len({repr(r) for r in results.values()}), 1, results)

    def test_rescue_with_inline_reclaim_keeps_flags_and_ttl(self):
        results = {}
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                all_keys = keys(b"r", 3000)
                # r1 carries flags and a TTL through the move.
                value = b"v" * 1000
                c.send(b"".join(b"set %s %d %d 1000 noreply\r\n%s\r\n" %
                                (k, 7 if k == b"r1" else 0, 5000 if k == b"r1" else 0, value)
                                for k in all_keys) + b"mn\r\n")
                c.read_until(b"MN\r\n")
                src = class_of(c, b"r1")
                fill(c, b"rdst", 1, 10)
                dst = class_of(c, b"rdst0")
                # Every other item, then three of the first page's last: those
                # three chunks head the free list and are reclaimed inline.
                delete(c, all_keys[0::2] + [b"r3", b"r5", b"r7"])
                c.send(b"mg r1 f t v c\r\n")
                old = c.read_until(b"\r\n") + c.read_until(b"\r\n")
                moved = self.move(c, src, dst)
                c.send(b"mg r1 f t v c\r\n")
                new = c.read_until(b"\r\n") + c.read_until(b"\r\n")
                flags = lambda reply: re.search(rb" f(\d+)", reply).group(1)
                ttl = lambda reply: int(re.search(rb" t(-?\d+)", reply).group(1))
                cas = lambda reply: int(re.search(rb" c(\d+)", reply).group(1))
                self.assertEqual(flags(new), b"7")
                self.assertLessEqual(abs(ttl(new) - ttl(old)), 2)
                self.assertTrue(new.endswith(value + b"\r\n"))
                # memcached 1.6.18 links the rescued copy with a new CAS.
                self.assertGreater(cas(new), cas(old))
                results[server.binary] = (moved, present(c, all_keys),
                                          slab(c, src, "total_pages"), slab(c, src, "free_chunks"))
        self.compare(results)
        moved = next(iter(results.values()))[0]
        self.assertGreater(moved["slab_reassign_rescues"], 0)
        self.assertEqual(moved["slab_reassign_inline_reclaim"], 3)
        self.assertEqual(moved["total_items"], moved["slab_reassign_rescues"])

    def test_full_class_evicts_and_drops_expired_items(self):
        results = {}
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                src, per_page = probe_class(c, 1300)
                all_keys = keys(b"e", 2 * per_page)
                fill(c, b"e", 2 * per_page, 1300)
                fill(c, b"edst", 1, 10)
                dst = class_of(c, b"edst0")
                # Ten items of the first page expire at once (a negative TTL),
                # three chunks of the second are freed: the only free chunks.
                c.send(b"".join(b"touch e%d -1 noreply\r\n" % i for i in range(20, 30)) +
                       b"mn\r\n")
                c.read_until(b"MN\r\n")
                delete(c, all_keys[per_page + 50:per_page + 53])
                moved = self.move(c, src, dst)
                results[server.binary] = (moved, present(c, all_keys),
                                          slab(c, src, "total_pages"), slab(c, src, "free_chunks"))
                c.send(b"slabs reassign %d %d\r\n" % (src, dst))
                self.assertEqual(c.read_until(b"\r\n"), b"NOSPARE source class has no spare pages\r\n")
        self.compare(results)
        moved = next(iter(results.values()))[0]
        self.assertEqual(moved["slab_reassign_rescues"], 3)
        self.assertGreater(moved["slab_reassign_evictions_nomem"], 0)
        self.assertEqual(moved["evictions"], 0)

    def test_chunked_items(self):
        results = {}
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                # 600000-byte values: one 512 KB chunk each (two per page).
                all_keys = keys(b"big", 6)
                fill(c, b"big", 6, 600000)
                fill(c, b"bdst", 1, 10)
                dst = class_of(c, b"bdst0")
                src = max(int(k.split(":")[0]) for k in stats(c, b"slabs") if ":" in k)
                delete(c, [b"big5"])
                # One free chunk: one item's chunk is rescued, the other evicted.
                first = self.move(c, src, dst)
                # None free now: both items of the next page go.
                second = self.move(c, src, dst)
                results[server.binary] = (first, second, present(c, all_keys))
        self.compare(results)
        first, second, _ = next(iter(results.values()))
        self.assertEqual(first["slab_reassign_chunk_rescues"], 1)
        self.assertEqual(second["slab_reassign_evictions_nomem"], 2)


class SlabAutomove(BothServers):
    # The automover starts off and its window is short, so pages go back to
    # the global pool within seconds once it is switched on.
    SERVER_ARGS = ("-m", "64", "-o", "no_lru_crawler,slab_automove=0,slab_automove_window=3")

    def test_automove_returns_free_pages_to_the_pool(self):
        results = {}
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                src, per_page = probe_class(c, 1500)
                all_keys = keys(b"am", 5 * per_page)
                fill(c, b"am", 5 * per_page, 1500)
                # One item in ten stays: 4.5 pages of free chunks. Each move
                # uses up one page of them, and memcached's automover moves
                # while more than 2.5 pages are free: two moves.
                delete(c, [k for i, k in enumerate(all_keys) if i % 10])
                before = counters(c)
                c.send(b"slabs automove 1\r\n")
                self.assertEqual(c.read_until(b"\r\n"), b"OK\r\n")
                self.assertTrue(wait_for(lambda: counters(c)["slabs_moved"] - before["slabs_moved"] == 2
                                         and stats(c)["slab_reassign_running"] == "0"))
                time.sleep(1.5)  # no third move
                moved = delta(before, counters(c))
                c.send(b"slabs automove 0\r\n")
                self.assertEqual(c.read_until(b"\r\n"), b"OK\r\n")
                kept = present(c, all_keys)
                self.assertEqual(kept, frozenset(all_keys[0::10]))
                results[server.binary] = (moved, kept, slab(c, src, "total_pages"),
                                          slab(c, src, "free_chunks"))
        self.assertEqual(len({repr(r) for r in results.values()}), 1, results)
        moved, _, pages, _ = next(iter(results.values()))
        self.assertEqual(moved["slabs_moved"], 2)
        self.assertEqual(moved["slab_global_page_pool"], 2)
        self.assertGreater(moved["slab_reassign_rescues"], 0)
        self.assertEqual(pages, 3)


if __name__ == "__main__":
    unittest.main()
