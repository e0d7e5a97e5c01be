"""Traces from production: sub-second arrival in one-second traces
(--arrival), and the memext-sim binary as a user runs it.

The binary comes from MEMEXT_SIM, else from beside MEMEXT_SERVER in the
build tree (build/server/memext-server -> build/sim/memext-sim)."""

import json
import os
import struct
import subprocess
import tempfile
import unittest

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


if __name__ == "__main__":
    unittest.main()
