"""`watch` on memext-server against memcached 1.6.18: the same scripted
exchange, watched per stream on both servers, must log the same lines once
the values that differ between any two runs (ts, gid, cfd, the client's
port) are masked; a watcher that does not read is skipped, not waited for."""

import re
import shutil
import socket
import tempfile
import time
import unittest

from memext_harness import ServerProcess

MEMCACHED = shutil.which("memcached")

# (request, reply) pairs; every reply is awaited, so the order is known.
SCRIPT = [
    (b"set user:1 5 100 3\r\nbar\r\n", b"STORED\r\n"),
    (b"get user:1\r\n", b"VALUE user:1 5 3\r\nbar\r\nEND\r\n"),
    (b"get nope other\r\n", b"END\r\n"),
    (b"add user:1 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
    (b"append user:1 0 0 2\r\nyy\r\n", b"STORED\r\n"),
    (b"prepend user:1 0 0 3\r\nzzz\r\n", b"STORED\r\n"),
    (b"replace absent 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
    (b"cas user:1 0 0 1 999999\r\nx\r\n", b"EXISTS\r\n"),
    (b"cas absent 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n"),
    (b"set n 0 0 2\r\n10\r\n", b"STORED\r\n"),
    (b"incr n 5\r\n", b"15\r\n"),
    (b"decr n 20\r\n", b"0\r\n"),
    (b"touch n 50\r\n", b"TOUCHED\r\n"),
    (b"gat 60 n\r\n", b"VALUE n 0 2\r\n0 \r\nEND\r\n"),
    (b"delete n\r\n", b"DELETED\r\n"),
    (b"delete n\r\n", b"NOT_FOUND\r\n"),
    (b"set bin\x01%\x7f 0 3600 1\r\nb\r\n", b"STORED\r\n"),
    (b"get bin\x01%\x7f\r\n", b"VALUE bin\x01%\x7f 0 1\r\nb\r\nEND\r\n"),
    (b"set gone 0 1 1\r\ng\r\n", b"STORED\r\n"),
    (b"ms meta 2 T30\r\nhi\r\n", b"HD\r\n"),
    (b"mg meta v\r\n", b"VA 2\r\nhi\r\n"),
    (b"mg none v\r\n", b"EN\r\n"),
    (b"md meta\r\n", b"HD\r\n"),
    (b"set big 0 0 20000\r\n" + b"B" * 20000 + b"\r\n", b"STORED\r\n"),
    (b"get big\r\n", b"VALUE big 0 20000\r\n" + b"B" * 20000 + b"\r\nEND\r\n"),
]

MASKS = [(re.compile(rb"^ts=\d+\.\d+ gid=\d+ "), b"ts=T gid=G "),
         (re.compile(rb" cfd=\d+"), b" cfd=C"),
         (re.compile(rb" rport=\d+"), b" rport=P")]


def mask(line):
    for pattern, replacement in MASKS:
        line = pattern.sub(replacement, line)
    return line


def stat(server, name):
    c = server.connect(timeout=30)
    c.send(b"stats\r\n")
    text = c.read_until(b"END\r\n").decode()
    c.close()
    for line in text.split("\r\n"):
        parts = line.split()
        if len(parts) == 3 and parts[1] == name:
            return int(parts[2])
    raise AssertionError("no stat " + name)


def start_watch(server, args):
    w = server.connect(timeout=30)
    w.send(b"watch" + (b" " + args if args else b"") + b"\r\n")
    return w, w.read_until(b"\r\n")


def read_lines(conn, count, quiet):
    """Log lines until `count` have come (count None: until `quiet` seconds
    pass without one)."""
    lines = []
    deadline = time.monotonic() + 60
    conn.sock.settimeout(quiet if count is None else 1.0)
    while count is None or len(lines) < count:
        if b"\n" in conn.buf:
            line, conn.buf = conn.buf.split(b"\n", 1)
            lines.append(line)
            continue
        if time.monotonic() > deadline:
            break
        try:
            chunk = conn.sock.recv(65536)
        except socket.timeout:
            if count is None:
                break
            continue
        if not chunk:
            break
        conn.buf += chunk
    return lines


def run_script(server, script):
    """Runs the script on a new connection; returns the client's port."""
    c = server.connect(timeout=30)
    port = c.sock.getsockname()[1]
    for request, reply in script:
        c.send(request)
        got = c.expect(reply)
        if got != reply:
            raise AssertionError("%r answered %r, not %r" % (request[:40], got[:80], reply[:80]))
    c.send(b"quit\r\n")
    c.is_closed(wait=30)
    c.close()
    return port


class WatchArguments(unittest.TestCase):
    def test_streams_accepted_and_refused_as_memcached(self):
        servers = [ServerProcess()]
        if MEMCACHED:
            servers.append(ServerProcess(binary=MEMCACHED))
        for s in servers:
            self.addCleanup(s.stop)
        cases = [b"", b"fetchers", b"mutations", b"evictions", b"connevents", b"sysevents",
                 b"rawcmds", b"proxyreqs", b"proxyevents", b"proxyuser", b"fetchers mutations",
                 b"extstore", b"deletions", b"FETCHERS", b"fetchers bogus"]
        want = {arg: b"ERROR\r\n" if arg in (b"extstore", b"deletions", b"FETCHERS",
                                              b"fetchers bogus") else b"OK\r\n" for arg in cases}
        for s in servers:
            for arg in cases:
                with self.subTest(server=s.binary, arg=arg):
                    w, reply = start_watch(s, arg)
                    w.close()
                    self.assertEqual(reply, want[arg])
            # `watch` behind another command of the same packet is refused.
            c = s.connect(timeout=30)
            c.send(b"version\r\nwatch\r\n")
            c.read_until(b"\r\n")
            self.assertEqual(c.read_until(b"\r\n"),
                             b"ERROR cannot pipeline other commands before watch\r\n")
            c.close()

    def test_disabled_by_W(self):
        server = ServerProcess(["-W"])
        self.addCleanup(server.stop)
        w, reply = start_watch(server, b"fetchers")
        self.assertEqual(reply, b"CLIENT_ERROR watch commands not allowed\r\n")
        w.close()


@unittest.skipUnless(MEMCACHED, "memcached 1.6.18 is not installed")
class SameLinesAsMemcached(unittest.TestCase):
    """Per stream: memcached's lines for SCRIPT, then memext's, masked."""

    @classmethod
    def setUpClass(cls):
        cls.memext = ServerProcess()
        cls.memcached = ServerProcess(binary=MEMCACHED)

    @classmethod
    def tearDownClass(cls):
        cls.memcached.stop()
        cls.memext.stop_checked()

    def watched(self, server, args, count):
        w, reply = start_watch(server, args)
        self.assertEqual(reply, b"OK\r\n")
        port = run_script(server, SCRIPT)
        lines = read_lines(w, count, quiet=1.0)
        w.close()
        # Connection events of other clients (the harness's start-up probe,
        # closing late) are not the script's.
        return [mask(l) for l in lines if b" rport=" not in l or b" rport=%d " % port in l]

    def compare(self, args):
        want = self.watched(self.memcached, args, None)
        self.assertGreater(len(want), 0)
        got = self.watched(self.memext, args, len(want))
        self.assertEqual(got, want)
        return want

    def test_fetchers(self):
        lines = self.compare(b"fetchers")
        self.assertIn(b"ts=T gid=G type=item_get key=bin%01%25%7F status=found clsid=1 cfd=C "
                      b"size=1", lines)

    def test_default_streams_are_fetchers(self):
        self.assertTrue(all(b"type=item_get" in l for l in self.compare(b"")))

    def test_mutations(self):
        lines = self.compare(b"mutations")
        self.assertIn(b"ts=T gid=G type=item_store key=user%3A1 status=stored cmd=append ttl=100 "
                      b"clsid=1 cfd=C size=5", lines)

    def test_connevents(self):
        lines = self.compare(b"connevents")
        self.assertEqual(len(lines), 2)
        self.assertIn(b"reason=normal", lines[1])

    def test_fetchers_and_mutations_interleaved(self):
        self.compare(b"fetchers mutations")

    def test_evictions(self):
        # A small cache evicts: the same keys leave both servers in the same order.
        small = [ServerProcess(["-m", "2"], binary=b) for b in (MEMCACHED, None)]
        for s in small:
            self.addCleanup(s.stop)
        script = [(b"set e%d 0 0 5000\r\n%s\r\n" % (i, b"e" * 5000), b"STORED\r\n")
                  for i in range(600)]
        logs = []
        for s, count in zip(small, (None, None)):
            w, reply = start_watch(s, b"evictions")
            self.assertEqual(reply, b"OK\r\n")
            run_script(s, script)
            if logs:
                count = len(logs[0])
            lines = read_lines(w, count, quiet=1.0)
            w.close()
            logs.append([re.sub(rb" la=\d+", b" la=L", mask(l)) for l in lines])
        self.assertGreater(len(logs[0]), 100)
        self.assertIn(b"type=eviction key=e0 fetch=no ttl=-1 la=L clsid=", logs[0][0])
        # The lines are the same but for the key. memext evicts the oldest
        # first; memcached's lru_pull_tail skips a tail item whose striped item
        # lock another thread holds (its trylock), so on a loaded machine it
        # may evict a neighbour first (e163 before e162): the same keys, in
        # order but for a few such swaps.
        def key_of(line):
            return int(re.search(rb" key=e(\d+) ", line).group(1))
        def masked(line):
            return re.sub(rb" key=e\d+ ", b" key=K ", line)
        self.assertEqual([masked(l) for l in logs[1]], [masked(l) for l in logs[0]])
        self.assertEqual([key_of(l) for l in logs[1]], list(range(len(logs[1]))))
        memcached_keys = [key_of(l) for l in logs[0]]
        out_of_order = sum(1 for a, b in zip(memcached_keys, memcached_keys[1:]) if b < a)
        self.assertLessEqual(out_of_order, 3, memcached_keys)
        self.assertLessEqual(len(set(memcached_keys) ^ set(range(len(logs[1])))), 6)


class CrawlerStatusLines(unittest.TestCase):
    def test_autocrawler_lines_as_memcached(self):
        # The autocrawler crawls every LRU a second after the start; at its
        # next check it logs, per LRU (classes 1-63 HOT, then 0-63 WARM,
        # COLD and TEMP), what it saw and when it crawls again. How many
        # seconds the crawl took and ended ago depend on the machine's load.
        logs = []
        for binary in (MEMCACHED, None):
            server = ServerProcess(binary=binary)
            self.addCleanup(server.stop)
            w, reply = start_watch(server, b"sysevents")
            self.assertEqual(reply, b"OK\r\n")
            lines = read_lines(w, 255, quiet=1.0)
            w.close()
            logs.append([re.sub(rb" since_run=\d+ (.*) elapsed=\d+ ", rb" since_run=S \1 elapsed=E ",
                                mask(l)) for l in lines])
        self.assertEqual(len(logs[0]), 255)
        self.assertEqual(logs[0][0], b"ts=T gid=G type=lru_crawler crawler=1 lru=hot low_mark=1 "
                         b"next_reclaims=0 since_run=S next_run=65 elapsed=E examined=0 reclaimed=0")
        self.assertEqual(logs[1], logs[0])


class CompactFragInfo(unittest.TestCase):
    def test_fraginfo_lines_as_memcached(self):
        # With few flash pages free, each compaction check logs the
        # fragmentation limit it applies: max_frag (0.8) slewed by the free
        # pages' share, and that share of a page in bytes. Which checks run
        # depends on timing, so each server's lines are checked for it.
        page = 2 << 20
        pattern = re.compile(rb"^ts=T gid=G type=compact_fraginfo ratio=(\d\.\d\d) bytes=(\d+)$")
        value = b"v" * 3000
        for binary in (MEMCACHED, None):
            with self.subTest(server=binary), tempfile.TemporaryDirectory() as d:
                server = ServerProcess(["-m", "16", "-o", "ext_page_size=2,ext_wbuf_size=2,"
                                        "ext_path=%s/f:16m,ext_item_age=0" % d], binary=binary)
                self.addCleanup(server.stop)
                w, reply = start_watch(server, b"sysevents")
                self.assertEqual(reply, b"OK\r\n")
                c = server.connect(timeout=30)
                for step in (1, 2, 2, 2):
                    for base in range(0, 6000, 500):
                        c.send(b"".join(b"set k%d 0 0 3000 noreply\r\n%s\r\n" % (i, value)
                                        for i in range(base, base + 500, step)) + b"mn\r\n")
                        self.assertEqual(c.expect(b"MN\r\n"), b"MN\r\n")
                c.close()
                # The compactor checks every second while few pages are free.
                lines = []
                deadline = time.monotonic() + 60
                while (not any(b"type=compact_fraginfo" in l for l in lines)
                       and time.monotonic() < deadline):
                    lines += [mask(l) for l in read_lines(w, 1, quiet=1.0)]
                w.close()
                frag = [pattern.match(l) for l in lines if b"type=compact_fraginfo" in l]
                self.assertGreater(len(frag), 0, lines[:20])
                for m in frag:
                    self.assertIsNotNone(m, lines)
                    ratio = float(m.group(1))
                    # 8 pages: 0.8 * (1 - free / 8), free at most ext_compact_under (2).
                    self.assertIn(m.group(1), (b"0.80", b"0.70", b"0.60"))
                    self.assertAlmostEqual(int(m.group(2)) / page, ratio, delta=0.006)


BATCHES = 60


class SlowWatcher(unittest.TestCase):
    def test_a_watcher_that_does_not_read_is_skipped_and_the_server_keeps_serving(self):
        # Workers keep every line (4 MB buffers); the watcher has 64 KB.
        server = ServerProcess(["-o", "watcher_logbuf_size=64,worker_logbuf_size=4096"])
        self.addCleanup(server.stop)
        w = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        w.sendall(b"watch fetchers\r\n")
        # The watcher sees what is logged once it has been added.
        self.assertEqual(w.recv(4), b"OK\r\n")
        c = server.connect(timeout=60)
        # ~18 MB of log lines: more than the sockets hold, against a 64 KB buffer.
        prefix = b"k" * 190 + b":"
        batch = b"".join(b"get %s%06d\r\n" % (prefix, i) for i in range(1000))
        for _ in range(BATCHES):
            c.send(batch)
            self.assertEqual(c.expect(b"END\r\n" * 1000), b"END\r\n" * 1000)
        self.assertGreater(stat(server, "log_watcher_skipped"), 0)
        self.assertEqual(stat(server, "log_watchers"), 1)
        # Reading now, the watcher finds whole lines, and before the first
        # line logged once there is room again, how many were skipped.
        dropped = stat(server, "log_worker_dropped")
        want = BATCHES * 1000 + 1
        w.settimeout(1)
        chunks, lines, partial = [], [], b""
        count = dropped

        def read_for(seconds, until=None):
            """Until `until` lines are accounted for, else until a quiet second."""
            nonlocal partial, count
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and (until is None or count < until):
                try:
                    chunk = w.recv(1 << 20)
                except socket.timeout:
                    if until is None:
                        break
                    continue
                if not chunk:
                    break
                *complete, partial = (partial + chunk).split(b"\n")
                for line in complete:
                    lines.append(line)
                    count += int(line[8:]) if line.startswith(b"skipped=") else 1

        # The backlog first: the line after it then fits, with its marker.
        read_for(120)
        c.send(b"get %s000000\r\n" % prefix)
        self.assertEqual(c.read_until(b"END\r\n"), b"END\r\n")
        read_for(90, until=want)
        skipped = [l for l in lines if l.startswith(b"skipped=")]
        self.assertGreater(len(skipped), 0)
        self.assertTrue(all(re.fullmatch(rb"skipped=\d+", l) for l in skipped))
        pattern = re.compile(rb"ts=\d+\.\d+ gid=\d+ type=item_get key=k{190}%3A\d{6} "
                             rb"status=not_found clsid=0 cfd=\d+ size=0")
        self.assertTrue(all(pattern.fullmatch(l) for l in lines if not l.startswith(b"skipped=")))
        # Every line was sent, skipped, or dropped by a worker whose own buffer was full.
        self.assertEqual(count, want)
        w.close()
        self.assertEqual(stat(server, "curr_items"), 0)


if __name__ == "__main__":
    unittest.main()
