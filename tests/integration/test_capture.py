"""Traces from production: sub-second arrival in one-second traces
(--arrival), saved memcached `watch` logs (--format watch), and
`memext-sim capture` from a live memcached 1.6.18 (and memext-server, which
speaks `watch`), the captured trace checked against the workload sent.

The binary comes from MEMEXT_SIM, else from beside MEMEXT_SERVER in the
build tree (build/server/memext-server -> build/sim/memext-sim)."""

import json
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest

from trace_keys import id_in_sample, key_id
from memext_harness import ServerProcess
from test_sim_cli import BINARY



def sim(*args, timeout=300):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout)


def load(path):
    with open(path) as f:
        return json.load(f)


def write_oracle(path, records):
    with open(path, "wb") as f:
        for clock, key, size in records:
            f.write(struct.pack("<IQIq", clock, key, size, -1))


def csv_rows(path):
    with open(path) as f:
        rows = f.read().splitlines()
    names = rows[0].split(",")
    return [dict(zip(names, row.split(","))) for row in rows[1:]]


def csv_times(path):
    with open(path) as f:
        rows = f.read().splitlines()
    column = rows[0].split(",").index("time_ns")
    return [int(row.split(",")[column]) for row in rows[1:]]


class Arrival(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="memext-capture-")
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_burst_queues_a_seconds_flash_reads_uniform_and_poisson_do_not(self):
        # 2000 keys of 4 KB read once in second 0 (misses, filled, flushed to
        # flash: ext_item_age=0), then read again 2000 at a time in seconds 2-4.
        trace = self.path("t.oracle")
        records = [(0, k, 4000) for k in range(2000)]
        for second in (2, 3, 4):
            records += [(second, k, 4000) for k in range(2000)]
        write_oracle(trace, records)
        flags = ["-m", "8", "-o", "ext_path=/sim/f:256m,ext_item_age=0,ext_page_size=1,"
                 "ext_wbuf_size=1", "--progress", "off"]
        p50 = {}
        for arrival in ("burst", "uniform", "poisson"):
            out = self.path(arrival + ".json")
            r = sim("replay", trace, *flags, "--arrival", arrival, "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            report = load(out)
            self.assertEqual(report["inputs"]["trace"]["arrival"], arrival)
            flash = report["latency"]["flash_hits"]
            self.assertGreater(flash["count"], 4000)
            p50[arrival] = flash["p50_ns"]
        # 2000 reads at one instant wait for each other; over a second they do
        # not (measured: p50 1.17 ms burst, 80 us uniform and poisson).
        self.assertGreater(p50["burst"], 5 * p50["uniform"])
        self.assertGreater(p50["burst"], 5 * p50["poisson"])
        # The default is poisson, and a replay is byte-identical run to run.
        again = [self.path("d1.json"), self.path("d2.json")]
        for out in again:
            self.assertEqual(sim("replay", trace, *flags, "--out", out).returncode, 0)
        with open(again[0], "rb") as a, open(again[1], "rb") as b, \
                open(self.path("poisson.json"), "rb") as c:
            first = a.read()
            self.assertEqual(first, b.read())
            self.assertEqual(first, c.read())
        other_seed = self.path("seed2.json")
        self.assertEqual(sim("replay", trace, *flags, "--seed", "2", "--out",
                             other_seed).returncode, 0)
        self.assertNotEqual(load(other_seed)["latency"], load(again[0])["latency"])

    def test_convert_keeps_whole_seconds_and_replays_spread_them_alike(self):
        trace = self.path("t.csv")
        with open(trace, "w") as f:
            for second in range(3):
                for i in range(5):
                    f.write(f"{second},key{i},4,100,1,get,0\n")
        native = self.path("t.mxt")
        r = sim("convert", trace, "--out", native)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The converted file holds the whole seconds ...
        raw = self.path("raw.csv")
        self.assertEqual(sim("convert", native, "--out", raw).returncode, 0)
        self.assertEqual(csv_times(raw), [s * 10**9 for s in range(3) for _ in range(5)])
        # ... and is spread as the source is, for the same seed.
        from_source = self.path("a.csv")
        from_native = self.path("b.csv")
        for src, out in ((trace, from_source), (native, from_native)):
            r = sim("convert", src, "--arrival", "poisson", "--seed", "3", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
        spread = csv_times(from_source)
        self.assertEqual(spread, csv_times(from_native))
        self.assertNotEqual(spread, csv_times(raw))
        self.assertEqual([t // 10**9 for t in spread], [s for s in range(3) for _ in range(5)])
        self.assertEqual(spread, sorted(spread))
        bad = sim("convert", trace, "--arrival", "random", "--out", self.path("x.mxt"))
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--arrival 'random' is not an arrival (allowed: burst, uniform, poisson)",
                      bad.stderr)
        bad = sim("replay", trace, "--arrival", "now")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--arrival 'now' is not an arrival", bad.stderr)


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "traces")


class WatchLog(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="memext-watch-")
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_replay_of_a_saved_watch_log_reports_what_the_log_lacked(self):
        out = self.path("r.json")
        r = sim("replay", os.path.join(FIXTURES, "watch-1.6.18-skipped.log"), "-m", "8",
                "--progress", "off", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        report = load(out)
        self.assertEqual(report["inputs"]["trace"]["format"], "watch")
        self.assertIsNone(report["inputs"]["trace"]["arrival"])  # microsecond times
        self.assertEqual(report["inputs"]["trace"]["watch"],
                         {"server_dropped_lines": 151873, "store_lookups": 3,
                          "unsized_gets_skipped": 15, "ignored_lines": 1})
        self.assertEqual(report["totals"]["requests_by_op"]["set"], 3)
        self.assertIn("the server dropped 151873 watch lines", r.stderr)

    def test_a_log_of_mostly_malformed_lines_is_no_trace(self):
        log = self.path("bad.log")
        with open(log, "w") as f:
            f.write("ts=1796545908.309685 gid=3 type=item_store key=a status=stored cmd=set "
                    "ttl=0 clsid=1 cfd=17 size=5\n")
            f.write("VALUE a 0 5\nalice\nEND\n")
        r = sim("replay", log, "--format", "watch", "--progress", "off",
                "--out", self.path("r.json"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("3 of 4 records are malformed read as watch", r.stderr)
        self.assertFalse(os.path.exists(self.path("r.json")))


MEMCACHED = shutil.which("memcached") or "/usr/bin/memcached"


class Capture(unittest.TestCase):
    """memext-sim capture against a live server while a scripted client runs."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="memext-capture-live-")
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def start_capture(self, server, out, *extra):
        proc = subprocess.Popen([BINARY, "capture", "127.0.0.1:%d" % server.port, "--out", out,
                                 "--duration", "300", *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Recording starts once the server has answered `watch`.
        line = b""
        deadline = time.monotonic() + 60
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 1)
            if ready:
                byte = os.read(proc.stderr.fileno(), 1)
                if not byte:
                    break
                line += byte
        return proc, line.decode()

    def stop_capture(self, proc, sig):
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        return proc.returncode, err.decode()

    def workload(self, server):
        """Two clients, each reply awaited so the order is known. Returns
        the requests as (op, key, size, ttl) and the live get hits and misses."""
        c1, c2 = server.connect(timeout=30), server.connect(timeout=30)
        sent = []
        counts = {"hits": 0, "misses": 0}

        def store(c, cmd, key, ttl, value, reply=b"STORED\r\n"):
            c.send(b"%s %s 0 %d %d\r\n%s\r\n" % (cmd, key, ttl, len(value), value))
            self.assertEqual(c.expect(reply), reply)
            sent.append((cmd.decode(), key, len(value), ttl))

        def get(c, keys, sizes):
            c.send(b"get " + b" ".join(keys) + b"\r\n")
            reply = c.read_until(b"END\r\n")
            for key, size in zip(keys, sizes):
                hit = b"VALUE " + key + b" " in reply
                counts["hits" if hit else "misses"] += 1
                sent.append(("get", key, size, 0))

        store(c1, b"set", b"user:1", 100, b"0123456789")
        get(c2, [b"user:1"], [10])
        get(c2, [b"page:2"], [300])  # a miss: sized by the set that follows
        store(c2, b"set", b"page:2", 60, b"p" * 300)
        get(c1, [b"page:2", b"user:1"], [300, 10])
        store(c1, b"add", b"user:1", 0, b"nope!", b"NOT_STORED\r\n")
        store(c2, b"append", b"user:1", 0, b"abc")
        get(c1, [b"user:1"], [13])
        store(c1, b"set", b"big", 3600, b"b" * 100000)
        get(c2, [b"big"], [100000])
        # Pipelined in one packet: a get, then a set of the same key.
        c1.send(b"get user:1\r\nset user:1 0 30 4\r\nabcd\r\n")
        c1.read_until(b"END\r\n")
        self.assertEqual(c1.expect(b"STORED\r\n"), b"STORED\r\n")
        counts["hits"] += 1
        sent += [("get", b"user:1", 13, 0), ("set", b"user:1", 4, 30)]
        for i in range(40):
            key = b"k%d" % i
            store(c1 if i % 2 else c2, b"set", key, i, b"v" * (i + 1))
            get(c2 if i % 2 else c1, [key], [i + 1])
        c1.close()
        c2.close()
        return sent, counts

    def wait_for_watchers(self, server, lines):
        """Until the server has sent `lines` log lines to its watchers
        (stats log_watcher_sent), so stopping the capture loses none."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            c = server.connect(timeout=30)
            c.send(b"stats\r\n")
            stats = c.read_until(b"END\r\n").decode()
            c.close()
            sent = [int(l.split()[2]) for l in stats.split("\r\n")
                    if l.startswith("STAT log_watcher_sent ")]
            if not sent:
                time.sleep(2)  # no such stat: give the log a moment
                return
            if sent[0] >= lines:
                return
            time.sleep(0.05)

    def capture_and_check(self, server):
        full, sampled = self.path("full.mxt.zst"), self.path("half.mxt")
        capture, first = self.start_capture(server, full)
        if "recording" not in first:
            capture.communicate(timeout=60)
            return first
        half, first_half = self.start_capture(server, sampled, "--sample", "0.5")
        self.assertIn("recording", first_half)
        started = time.time()
        sent, live = self.workload(server)
        ended = time.time()
        # Every get and store logs a line, every store also its lookup.
        stores = sum(1 for op, *_ in sent if op != "get")
        self.wait_for_watchers(server, 2 * (len(sent) + stores))
        for proc, sig in ((capture, signal.SIGINT), (half, signal.SIGTERM)):
            code, err = self.stop_capture(proc, sig)
            self.assertEqual(code, 0, err)
            self.assertIn("stopped by signal %d" % sig, err)
            self.assertIn("the server dropped 0 lines", err)
        # The captured trace is what was sent: ops, keys, sizes, TTLs, order.
        as_csv = self.path("full.csv")
        r = sim("convert", full, "--out", as_csv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("malformed", r.stderr)
        rows = csv_rows(as_csv)
        got = [(row["op"], int(row["key_id"]), int(row["key_size"]), int(row["value_size"]),
                int(row["ttl"])) for row in rows]
        want = [(op, key_id(key), len(key), size, ttl) for op, key, size, ttl in sent]
        self.assertEqual(got, want)
        times = [int(row["time_ns"]) for row in rows]
        self.assertEqual(times, sorted(times))
        self.assertGreaterEqual(times[0], int((started - 1) * 1e9))
        self.assertLessEqual(times[-1], int((ended + 1) * 1e9))
        self.assertGreater(len(set(t // 1000 for t in times)), len(times) // 2)  # microseconds
        # The sample holds every request of the keys in it, and only those.
        as_csv = self.path("half.csv")
        self.assertEqual(sim("convert", sampled, "--out", as_csv).returncode, 0)
        got_half = [(row["op"], int(row["key_id"]), int(row["key_size"]),
                     int(row["value_size"]), int(row["ttl"])) for row in csv_rows(as_csv)]
        self.assertEqual(got_half, [w for w in want if id_in_sample(w[1], 0.5)])
        self.assertLess(len(got_half), len(want))
        self.assertGreater(len(got_half), 0)
        # replay --sample 0.5 keeps every key of a capture sampled at 0.5.
        report = self.path("half.json")
        r = sim("replay", sampled, "--sample", "0.5", "-m", "64", "--progress", "off",
                "--out", report)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(load(report)["totals"]["records"], len(got_half))
        # Replayed, the capture hits and misses as the live server did.
        report = self.path("r.json")
        r = sim("replay", full, "-m", "64", "--progress", "off", "--out", report)
        self.assertEqual(r.returncode, 0, r.stderr)
        totals = load(report)["totals"]
        self.assertEqual((totals["hits"], totals["misses"]), (live["hits"], live["misses"]))
        return ""

    @unittest.skipUnless(os.path.exists(MEMCACHED), "memcached 1.6.18 is not installed")
    def test_capture_from_memcached(self):
        server = ServerProcess(binary=MEMCACHED)
        self.addCleanup(server.stop)
        self.assertEqual(self.capture_and_check(server), "")

    def test_capture_from_memext_server(self):
        server = ServerProcess()
        self.addCleanup(server.stop)
        self.assertEqual(self.capture_and_check(server), "")

    def test_capture_mistakes(self):
        r = sim("capture", "localhost", "--out", self.path("x.mxt"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("'localhost' is not HOST:PORT", r.stderr)
        r = sim("capture", "127.0.0.1:1", "--out", self.path("x.mxt"), "--sample", "2")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--sample '2' must be a fraction of the keys", r.stderr)
        r = sim("capture", "127.0.0.1:1", "--out", self.path("x.mxt"), timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect to 127.0.0.1:1", r.stderr)
        self.assertFalse(os.path.exists(self.path("x.mxt")))
        self.assertEqual(sim("capture", "--help").returncode, 0)


if __name__ == "__main__":
    unittest.main()
