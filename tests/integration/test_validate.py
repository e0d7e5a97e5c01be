"""memext-sim validate: a generated trace replayed against memcached 1.6.18
and memext-server (started here), then through the simulator configured
from each server's `stats settings`; the deltas of the comparison stay
within the thresholds on workloads designed to be predictable, and a
simulator forced to another -m is caught (exit status 1).

The binary comes from MEMEXT_SIM, else from beside MEMEXT_SERVER in the
build tree (see test_sim_cli)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from memext_harness import ServerProcess
from test_sim_cli import BINARY

MEMCACHED = shutil.which("memcached")


def sim(*args, timeout=300):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout)


def servers(args):
    """memext-server and, when installed, memcached 1.6.18 with `args`."""
    out = [ServerProcess(args)]
    if MEMCACHED is not None:
        out.append(ServerProcess(args, binary=MEMCACHED))
    return out


def gen(directory, name, workload):
    path = os.path.join(directory, name + ".json")
    with open(path, "w") as f:
        json.dump(workload, f)
    trace = os.path.join(directory, name + ".mxt")
    r = sim("gen", path, "--out", trace)
    assert r.returncode == 0, r.stderr
    return trace


def gen_csv_rows(directory, name, workload):
    """A generated trace's requests as CSV rows (header dropped)."""
    trace = gen(directory, name, workload)
    csv = trace + ".csv"
    r = sim("convert", trace, "--out", csv)
    assert r.returncode == 0, r.stderr
    with open(csv) as f:
        lines = f.read().splitlines()
    return lines[0], lines[1:]


class ValidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="memext-validate-")
        os.chmod(cls.dir, 0o777)  # memcached drops to nobody and opens its ext_path here

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def validate(self, server, trace, *args):
        out = os.path.join(self.dir, "v-%d.json" % server.port)
        r = sim("validate", trace, "--server", "127.0.0.1:%d" % server.port, "--out", out, *args)
        doc = None
        if os.path.exists(out):
            with open(out) as f:
                doc = json.load(f)
            os.unlink(out)
        return r, doc

    def run_on_both(self, server_args, trace, *args, expect=0):
        for server in servers(server_args):
            try:
                with self.subTest(server=server.binary):
                    r, doc = self.validate(server, trace, *args)
                    self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
                    yield server, doc
            finally:
                server.stop()

    def test_ram_only_with_fill_on_miss(self):
        # Everything fits in RAM: no evictions, no flash; every key's first
        # get misses and is filled, later ones hit, on both sides.
        trace = gen(self.dir, "ram", {
            "requests": 10000, "keys": 1000, "zipf_alpha": 0.9, "key_size": 20,
            "value_size": {"dist": "uniform", "min": 100, "max": 3000},
            "ops": {"get": 1}, "rate": 20000, "seed": 11})
        for server, doc in self.run_on_both(["-m", "64"], trace, "--speed", "max",
                                            "--fill-on-miss", "on"):
            m = doc["metrics"]
            self.assertTrue(doc["within_thresholds"])
            self.assertEqual(doc["live"]["requests"], 10000)
            self.assertGreater(doc["live"]["fills"], 500)
            self.assertEqual(doc["live"]["fills"], doc["simulator"]["totals"]["fills"])
            self.assertEqual(m["miss_ratio"]["live"], m["miss_ratio"]["predicted"])
            self.assertGreater(m["ram_hit_ratio"]["live"], 0.8)
            self.assertEqual(m["ram_evictions"]["live"], 0)
            self.assertEqual(doc["live"]["error_replies"], 0)

    def flash_trace(self):
        # The keys of 3,000 generated sets, each written once (an overwrite
        # races the live flusher, which the simulator's is not paced like)
        # at 2,000 sets/s, half of them 100 B values (below ext_item_size:
        # RAM) and half 3 KB (flash once COLD, with ext_item_age=0), then
        # after a 2 s pause 3,000 generated gets of them at 2,000 gets/s.
        common = {"keys": 2000, "zipf_alpha": 0, "key_size": 20,
                  "value_size": {"dist": "buckets", "buckets": [
                      {"size": 100, "weight": 1}, {"size": 3000, "weight": 1}]},
                  "rate": 2000, "arrival": "uniform", "seed": 5}
        header, writes = gen_csv_rows(self.dir, "writes",
                                      dict(common, requests=3000, ops={"set": 1}))
        _, reads = gen_csv_rows(self.dir, "reads",
                                dict(common, requests=3000, ops={"get": 1}, start_time_s=3.5))
        key = header.split(",").index("key_id")
        seen = set()
        first_writes = []
        for row in writes:
            if row.split(",")[key] not in seen:
                seen.add(row.split(",")[key])
                first_writes.append(row)
        writes = first_writes
        trace = os.path.join(self.dir, "flash.csv")
        with open(trace, "w") as f:
            f.write("\n".join([header] + writes + reads) + "\n")
        return trace

    def test_flash_tier_at_a_slow_pace(self):
        trace = self.flash_trace()
        ext = os.path.join(self.dir, "ext-%d" % os.getpid())
        recorded = os.path.join(self.dir, "sent.mxt")
        for server, doc in self.run_on_both(
                ["-m", "64", "-o", "ext_page_size=8,ext_wbuf_size=2,ext_path=%s:64m,"
                 "ext_item_size=512,ext_item_age=0" % ext], trace, "--recorded", recorded):
            m = doc["metrics"]
            self.assertIn("ext_path=/validate/flash:67108864", doc["simulator"]["command"])
            self.assertGreater(m["flash_hit_ratio"]["live"], 0.1, doc)
            self.assertGreater(m["flash_objects_written"]["live"], 300)
            self.assertTrue(doc["within_thresholds"], json.dumps(m, indent=1))
            # The printed replay command on the recorded requests gives the
            # same prediction.
            again = os.path.join(self.dir, "again.json")
            command = doc["simulator"]["command"].split()
            self.assertEqual(command[:3], ["memext-sim", "replay", recorded])
            r = sim(*command[1:], "--out", again)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(again) as f:
                self.assertEqual(json.load(f)["totals"], doc["simulator"]["totals"])

    def test_mismatched_simulator_is_caught(self):
        # 4,000 keys of 4 KB overflow the simulator forced to -m 4 but fit
        # the server's 64 MB: evictions and misses appear on one side only.
        trace = gen(self.dir, "mismatch", {
            "requests": 10000, "keys": 4000, "zipf_alpha": 0, "key_size": 20,
            "value_size": 4000, "ops": {"get": 1}, "rate": 20000, "seed": 3})
        for server, doc in self.run_on_both(["-m", "64"], trace, "--speed", "max",
                                            "--fill-on-miss", "on", "--server-idle", "7",
                                            "--", "-m", "4", expect=1):
            self.assertFalse(doc["within_thresholds"])
            self.assertIn("ram_evictions", doc["outside"])
            self.assertIn("miss_ratio", doc["outside"])
            self.assertEqual(doc["metrics"]["ram_evictions"]["live"], 0)
            self.assertEqual(doc["server"]["settings"]["maxbytes"], str(64 << 20))
            self.assertIn("-m 4", doc["simulator"]["command"])
            self.assertIn("--idle-before 7.0", doc["simulator"]["command"])
            self.assertEqual(doc["simulator"]["idle_before_s"], 7.0)

    def test_errors_exit_2(self):
        r = sim("validate", "nonexistent.mxt", "--server", "127.0.0.1:1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot connect to 127.0.0.1:1", r.stderr)
        r = sim("validate", "x.mxt", "--server", "localhost")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--server 'localhost' is not HOST:PORT", r.stderr)
        r = sim("validate", "x.mxt", "--server", "h:1", "--speed", "fast")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--speed 'fast'", r.stderr)
        r = sim("validate", "x.mxt", "--server", "h:1", "--server-idle", "-3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--server-idle '-3' is not a number of seconds (allowed: 0..86400)", r.stderr)
        server = ServerProcess(["-m", "64"])
        try:
            tiny = os.path.join(os.path.dirname(__file__), "..", "..", "traces", "samples",
                                "tiny.mxt")
            r = sim("validate", tiny, "--server", "127.0.0.1:%d" % server.port, "--", "-m", "lots")
            self.assertEqual(r.returncode, 2)
            self.assertIn("-m 'lots'", r.stderr)
            # Checked before anything was sent.
            c = server.connect()
            c.send(b"stats\r\n")
            text = c.read_until(b"END\r\n").decode()
            c.close()
            self.assertIn("STAT cmd_get 0\r\n", text)
            self.assertIn("STAT cmd_set 0\r\n", text)
        finally:
            server.stop()
        r = sim("validate", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--max-count-delta", r.stdout)

    @unittest.skipIf(MEMCACHED is None, "memcached 1.6.18 is not installed")
    def test_unmodellable_setting_is_refused(self):
        # memcached's slab_automove=2 also moves a page at every eviction;
        # memext runs it as 1, so the simulator cannot predict it.
        server = ServerProcess(["-m", "64", "-o", "slab_automove=2"], binary=MEMCACHED)
        try:
            r = sim("validate", "x.mxt", "--server", "127.0.0.1:%d" % server.port)
            self.assertEqual(r.returncode, 2)
            self.assertIn("slab_automove 2", r.stderr)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
