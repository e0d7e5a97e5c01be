"""memext-sim replay's answers to mistakes and hostile traces, as a user sees
them: exit codes, what stderr says, what stdout carries.

The binary comes from MEMEXT_SIM, else from beside MEMEXT_SERVER in the
build tree (build/server/memext-server -> build/sim/memext-sim)."""

import json
import os
import struct
import subprocess
import tempfile
import time
import unittest


def sim_binary():
    if os.environ.get("MEMEXT_SIM"):
        return os.environ["MEMEXT_SIM"]
    server = os.environ.get("MEMEXT_SERVER", "")
    if server:
        candidate = os.path.join(os.path.dirname(os.path.dirname(server)), "sim", "memext-sim")
        if os.path.exists(candidate):
            return candidate
    return "memext-sim"


BINARY = sim_binary()


def replay(*args):
    return subprocess.run([BINARY, "replay", *args, "--progress", "off"], capture_output=True,
                          text=True, timeout=300)


def load(path):
    with open(path) as f:
        return json.load(f)


def oracle(path, records):
    with open(path, "wb") as f:
        for clock, key, size in records:
            f.write(struct.pack("<IQIq", clock, key, size, -1))


class ReplayMistakes(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="memext-sim-cli-")
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def test_two_requests_ten_million_seconds_apart_replay_at_once(self):
        trace = self.path("gap.oracle")
        oracle(trace, [(0, 1, 100), (10**7, 2, 100)])
        out = self.path("r.json")
        # burst: the records at their whole seconds (the default, poisson,
        # puts each a random fraction into its second).
        r = replay(trace, "--arrival", "burst", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        report = load(out)
        # Stepped per virtual second this held 166,668 samples and 10^7 steps.
        self.assertLess(len(report["time_series"]["samples"]), 20)
        self.assertLess(report["lru_maintainer"]["steps"], 20000)
        self.assertLess(os.path.getsize(out), 100_000)
        self.assertEqual(report["clock"]["jumps"], 1)
        self.assertEqual(report["totals"]["duration_s"], 1e7)
        self.assertEqual([w["code"] for w in report["warnings"]], ["time_jump"])
        self.assertIn("warning: replayed record 2 at trace time 10000000 s comes 10000000 s after",
                      r.stderr)
        strict = replay(trace, "--arrival", "burst", "--strict", "--out", out)
        self.assertEqual(strict.returncode, 1)
        self.assertIn("--strict makes this fatal", strict.stderr)

    def test_max_requests_caps_op_count(self):
        trace = self.write("kv.csv", "op_time,key,key_size,op,op_count,size\n"
                                     "1,a,10,GET,4294967295,100\n")
        out = self.path("r.json")
        started = time.monotonic()
        r = replay(trace, "--max-requests", "1000", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(load(out)["totals"]["requests"], 1000)
        self.assertLess(time.monotonic() - started, 120)  # minutes before the cap

    def test_empty_traces_fail_in_every_format(self):
        empty = self.write("empty", "")
        for fmt in ("auto", "native", "oracle", "twitter", "kvcache", "csv"):
            r = replay(empty, "--format", fmt)
            self.assertEqual(r.returncode, 1, fmt)
            self.assertIn("empty trace (0 bytes)", r.stderr)
        header_only = self.write("h.csv", "op_time,key,key_size,op,op_count,size\n")
        r = replay(header_only)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the trace holds no requests (read as kvcache)", r.stderr)

    def test_wrong_format_fails_and_names_the_right_one(self):
        kv = self.write("kv.csv", "op_time,key,key_size,op,op_count,size\n"
                                  "1,a,10,GET,1,100\n2,b,10,SET,1,100\n")
        out = self.path("r.json")
        r = replay(kv, "--format", "twitter", "--out", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("3 of 3 records are malformed read as twitter; the file looks like kvcache,"
                      " not twitter: pass --format kvcache; no report written", r.stderr)
        self.assertFalse(os.path.exists(out))
        tw = self.write("tw.csv", "0,nz:a,4,10,1,get,0\n1,nz:b,4,10,1,set,60\n")
        r = replay(tw, "--format", "kvcache")
        self.assertEqual(r.returncode, 1)
        self.assertIn("kvcache header lacks column 'op_time'", r.stderr)
        self.assertIn("the file looks like twitter, not kvcache: pass --format twitter", r.stderr)

    def test_out_dash_writes_the_report_to_stdout(self):
        tw = self.write("tw.csv", "0,nz:a,4,10,1,get,0\n1,nz:a,4,10,1,get,0\n")
        r = replay(tw, "--out", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        self.assertEqual(report["schema"], "memext-sim-report/1")
        self.assertEqual(report["totals"]["gets"], 2)
        self.assertIn("replayed 2 requests", r.stderr)
        self.assertIn("report written to stdout", r.stderr)

    def test_replay_says_where_the_report_went(self):
        tw = self.write("tw.csv", "0,nz:a,4,10,1,get,0\n")
        r = replay(tw)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("no report written: pass --out REPORT.json to keep it (--out - for stdout)",
                      r.stderr)
        out = self.path("r.json")
        r = replay(tw, "--out", out)
        self.assertIn("report written to " + out, r.stderr)

    def test_settings_memcached_ignores_are_warned_about(self):
        tw = self.write("tw.csv", "0,nz:a,4,5000,1,set,0\n1,nz:a,4,5000,1,get,0\n")
        cases = (
            (["-o", "ext_item_age=5"], "ext_without_path", "ext_item_age given without ext_path"),
            (["-o", "ext_path=%s:1g,ext_drop_under=3" % self.path("f")],
             "ext_drop_under_ignored", "ext_drop_under=3 has no effect without ext_compact_under"),
            (["-o", "ext_path=%s:1m" % self.path("f")], "ext_path_no_page",
             "is smaller than one page (ext_page_size 64 MB)"),
            (["-o", "ext_path=%s:64m" % self.path("f")], "ext_path_one_page",
             "writes nothing to flash with fewer than two pages"),
        )
        for flags, code, text in cases:
            out = self.path("r.json")
            r = replay(tw, *flags, "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("memext-sim replay: warning: ", r.stderr)
            self.assertIn(text, r.stderr)
            self.assertIn(code, [w["code"] for w in load(out)["warnings"]])

    def test_option_errors_name_what_is_allowed(self):
        tw = self.write("tw.csv", "0,nz:a,4,10,1,get,0\n")
        r = replay(tw, "--bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown option --bogus", r.stderr)
        self.assertNotIn("needs a value", r.stderr)
        r = replay(tw, "--device", "model:,units=0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("allowed: integer 1..65536", r.stderr)
        r = replay(tw, "--device", "model:,units=4", "--out", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("units=4", json.loads(r.stdout)["inputs"]["device"]["model_spec"])


if __name__ == "__main__":
    unittest.main()
