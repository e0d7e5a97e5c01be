"""Memory a connection holds while idle, and memory given back when
connections close (issue 10, defect 9): each connection used to keep a
16 KB read buffer for life (~18 KB per idle connection against memcached's
~1 KB), grow it to the largest request it ever read, and 10,000 closed
connections left 191 MB behind. The server's VmRSS is read from
/proc/PID/status; the bounds are generous (a few KB per connection, a few MB
overall), far from what the old buffers cost, and nothing is timed.
bench/conn_memory.py measures the same against memcached 1.6.18."""

import selectors
import socket
import time
import unittest

from memext_harness import ServerTestCase, curr_connections


class ConnectionMemory(ServerTestCase):
    SERVER_ARGS = ("-c", "4096")
    CONNECTIONS = 2000

    def setUp(self):
        super().setUp()
        if self.server.sanitized():
            self.skipTest("AddressSanitizer's allocator keeps freed memory in quarantine")

    def wait_for_connections(self, expected):
        """Polls until curr_connections is `expected` or less (the previous
        poll's own connection may still count for a moment)."""
        deadline = time.monotonic() + 60
        while True:
            now = curr_connections(self.server)
            if now <= expected or time.monotonic() > deadline:
                return now
            time.sleep(0.2)

    def settled_rss(self, bound_kb):
        """VmRSS once it is within bound_kb, or the last figure after a
        generous wait (freeing is not instant)."""
        deadline = time.monotonic() + 20
        while True:
            rss = self.server.rss_kb()
            if rss <= bound_kb or time.monotonic() > deadline:
                return rss
            time.sleep(0.5)

    def open_used_connections(self, n, request, reply_end):
        """n connections that each sent `request` and read its whole reply."""
        socks = [socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
                 for _ in range(n)]
        sel = selectors.DefaultSelector()
        got = {}
        for s in socks:
            s.sendall(request)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            got[s] = b""
        pending = len(socks)
        deadline = time.monotonic() + 120
        while pending:
            self.assertLess(time.monotonic(), deadline, "replies did not arrive")
            for key, _ in sel.select(timeout=5):
                s = key.fileobj
                got[s] += s.recv(1 << 20)
                if got[s].endswith(reply_end):
                    sel.unregister(s)
                    pending -= 1
        sel.close()
        return socks

    def test_idle_connections_hold_little_and_give_it_back(self):
        baseline = self.wait_for_connections(0)
        rss_base = self.server.rss_kb()
        socks = self.open_used_connections(self.CONNECTIONS, b"version\r\n", b"\r\n")
        self.addCleanup(lambda: [s.close() for s in socks])
        self.assertEqual(curr_connections(self.server), baseline + self.CONNECTIONS)
        rss_open = self.server.rss_kb()
        per_connection = (rss_open - rss_base) / self.CONNECTIONS
        # 16 KB each before the fix; memcached 1.6.18 ~0.6 KB.
        self.assertLess(per_connection, 6.0, "KB of RSS per idle connection")
        for s in socks:
            s.close()
        self.assertEqual(self.wait_for_connections(baseline), baseline)
        rss_after = self.settled_rss(rss_base + 4096)
        self.assertLessEqual(rss_after, rss_base + 4096,
                             "RSS %d KB after closing, %d KB before opening, %d KB open" %
                             (rss_after, rss_base, rss_open))

    def test_a_large_request_leaves_no_large_buffer_behind(self):
        # A ~1 MB multiget line of missing keys: the read buffer grows to hold
        # the line, and nothing is stored. Before the fix each connection kept
        # the grown buffer while idle.
        line = b"get " + b" ".join(b"missing_key_%06d" % i for i in range(55000)) + b"\r\n"
        self.assertGreater(len(line), 1_000_000)
        baseline = self.wait_for_connections(0)
        rss_base = self.server.rss_kb()
        socks = self.open_used_connections(40, line, b"END\r\n")
        self.addCleanup(lambda: [s.close() for s in socks])
        # Before the fix each kept its ~1.1 MB buffer and ~0.9 MB token array;
        # what stays now is malloc's (given back once many connections close).
        rss_open = self.settled_rss(rss_base + 40 * 256)
        self.assertLess(rss_open - rss_base, 40 * 256, "KB held by 40 idle connections")
        for s in socks:
            s.close()
        self.assertEqual(self.wait_for_connections(baseline), baseline)
        # Freed, though malloc may keep a few MB of it in its arenas (80 MB
        # stayed before the fix).
        self.assertLessEqual(self.settled_rss(rss_base + 8192), rss_base + 8192)


if __name__ == "__main__":
    unittest.main()
