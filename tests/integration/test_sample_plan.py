"""memext-sim replay --sample, the ceiling (compulsory misses) and
memext-sim plan, on hand-built and generated traces."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import kvcache_like
import sample_error
from memext_harness import sanitizer_build

SIM = os.environ.get("MEMEXT_SIM", "memext-sim")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = 10000
ROUNDS = 4


def write_loop_trace(path):
    """KEYS keys of 10-byte keys and 1000-byte values, read in the same order
    ROUNDS times (look-aside: the first get of each key misses and fills).
    An item is 48 + 10 + 1 + 1002 + 8 = 1069 bytes, memcached's 1184-byte
    class (-f 1.25), 885 per 1 MB page: the working set needs ceil(10000 / 885)
    = 12 pages, and with less RAM the loop evicts every key before its reuse."""
    with open(path, "w") as f:
        f.write("time_ns,key_id,key_size,value_size,op,ttl,op_count,next_access\n")
        t = 0
        for _ in range(ROUNDS):
            for k in range(1, KEYS + 1):
                f.write(f"{t},{k},10,1000,get,0,1,-1\n")
                t += 1_000_000


def write_small_items_trace(path, keys=40000, rounds=2):
    """keys keys of 600-byte values (over ext_item_size 512: they go to flash)
    read in order rounds times. On flash each keeps a header in RAM (a 96-byte
    chunk): 40000 headers need 3.8 MB, so with -m 8 the headers take most of
    the slab pages and evict each other while the flash stays nearly empty."""
    with open(path, "w") as f:
        f.write("time_ns,key_id,key_size,value_size,op,ttl,op_count,next_access\n")
        t = 0
        for _ in range(rounds):
            for k in range(1, keys + 1):
                f.write(f"{t},{k},10,600,get,0,1,-1\n")
                t += 1_000_000


# The error-bound checks replay millions of requests 18 times; the figures
# are deterministic and the same code runs in the release build, so the
# sanitizer build (5-10x slower) leaves them to it.
SKIP_ERROR_BOUNDS = "error bounds are checked by the release build's run"


def load(path):
    with open(path) as f:
        return f.read()


def run(*args):
    return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=900)


class CeilingAndPlanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.trace = os.path.join(cls.tmp.name, "loop.csv")
        write_loop_trace(cls.trace)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_report_counts_first_request_misses(self):
        out = os.path.join(self.tmp.name, "r.json")
        r = run("replay", self.trace, "-m", "64", "--fill-on-miss", "on", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = json.loads(load(out))["totals"]
        self.assertEqual(t["compulsory_misses"], KEYS)
        self.assertEqual(t["keys"], KEYS)
        self.assertAlmostEqual(t["ceiling_hit_ratio"], 1 - 1 / ROUNDS)
        # 64 MB holds the loop: every miss is a first request.
        self.assertAlmostEqual(t["hit_ratio"], t["ceiling_hit_ratio"])

    def test_plan_finds_the_hand_computed_ram(self):
        out = os.path.join(self.tmp.name, "plan.json")
        r = run("plan", self.trace, "--target", "hit_ratio>=0.5", "--fill-on-miss", "on",
                "--ram", "4,8,16,32", "--refine", "4", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("memcached -m 12\n", r.stdout)
        plan = json.loads(load(out))
        self.assertEqual(plan["recommendation"]["ram_mb"], 12)
        tried = {c["ram_mb"]: c["hit_ratio"] for c in plan["candidates"]}
        self.assertEqual(tried[11], 0.0)  # one page short: the loop always misses
        self.assertTrue(plan["curves"]["curves"], "plan.json carries the RAM curve")

    def test_plan_names_the_ceiling_when_it_binds(self):
        # Every key's first get misses: 1/4 of the gets whatever the sizes,
        # flash included; 0.8 is past the ceiling of 0.75.
        out = os.path.join(self.tmp.name, "plan-ceiling.json")
        r = run("plan", self.trace, "--target", "hit_ratio>=0.8", "--fill-on-miss", "on",
                "-o", "ext_page_size=1,ext_wbuf_size=1", "--ram", "16,32", "--flash", "0,64m",
                "--search", "none", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("binding limit: ceiling", r.stdout)
        plan = json.loads(load(out))
        self.assertIsNone(plan["recommendation"])
        self.assertEqual(plan["binding_limit"]["limit"], "ceiling")
        self.assertIn("ceiling 0.7500", plan["binding_limit"]["detail"])
        # The sizes were not the limit: the largest reached the ceiling.
        self.assertAlmostEqual(max(c["hit_ratio"] for c in plan["candidates"]), 0.75)

    def test_plan_names_item_headers_when_they_bind(self):
        trace = os.path.join(self.tmp.name, "small-items.csv")
        write_small_items_trace(trace)
        out = os.path.join(self.tmp.name, "plan-headers.json")
        # The ceiling is 1/2; 8 MB of RAM with 256 MB or 1 GB of flash misses
        # 0.45 (both hit 0.36) because the headers evict each other, not for
        # want of flash.
        r = run("plan", trace, "--target", "hit_ratio>=0.45", "--fill-on-miss", "on",
                "--ram", "8", "--flash", "256m,1g", "--search", "none", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("binding limit: item_headers", r.stdout)
        plan = json.loads(load(out))
        self.assertEqual(plan["binding_limit"]["limit"], "item_headers")
        for c in plan["candidates"]:
            self.assertLess(c["hit_ratio"], 0.45)
            self.assertLess(c["flash_fill"], 0.5)
            self.assertGreaterEqual(c["flash_header_bytes"], 0.5 * c["ram_used_bytes"])
        # More flash did not help; more RAM does.
        hits = {c["flash_bytes"]: c["hit_ratio"] for c in plan["candidates"]}
        self.assertAlmostEqual(hits[256 << 20], hits[1 << 30], delta=0.01)
        r = run("plan", trace, "--target", "hit_ratio>=0.45", "--fill-on-miss", "on",
                "--ram", "16", "--refine", "0", "--flash", "256m", "--search", "none",
                "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("memcached -m 16 ", r.stdout)

    def test_plan_names_dwpd_when_it_binds(self):
        # RAM alone (2 or 4 MB) cannot hold the 12-page loop; a 64 MB flash
        # tier (1 MB pages) reaches the ceiling by writing every item to it,
        # 0.9 MB per 10-second round: over 300 drive writes a day.
        args = ["plan", self.trace, "--target", "hit_ratio>=0.7", "--fill-on-miss", "on",
                "-o", "ext_page_size=1,ext_wbuf_size=1", "--ram", "2,4", "--flash", "0,64m"]
        out = os.path.join(self.tmp.name, "plan-dwpd.json")
        r = run(*args, "--max-dwpd", "1", "--search", "ext_item_age=4294967295,0", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("binding limit: dwpd", r.stdout)
        plan = json.loads(load(out))
        self.assertEqual(plan["binding_limit"]["limit"], "dwpd")
        flash = [c for c in plan["candidates"] if c["flash_bytes"]]
        self.assertTrue(all(c["hit_ratio"] >= 0.7 and c["dwpd"] > 1 for c in flash))
        # The searched ext_item_age values were tried and none wrote less than the limit.
        self.assertGreater(len({json.dumps(c["settings"]) for c in flash}), 1)
        # With a limit above the write rate the same grid has an answer.
        r = run(*args, "--max-dwpd", "1000", "--search", "none", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(json.loads(load(out))["recommendation"])

    def test_plan_search_picks_the_ext_item_age_that_works(self):
        # ext_item_age=0 writes each item to flash as soon as it reaches the
        # COLD LRU; the 5 MB flash (1 MB pages: 4 usable, one of them kept
        # free by memcached's maintenance pass, ~2,700 items) holds a quarter
        # of the 10,000-key loop, so every item is overwritten on flash before
        # its next get: no hits at any RAM. ext_item_age=60 is longer than a
        # round (10 s): items go to flash only when RAM runs out, and at
        # 12 MB the ~2,000 that do fit on the flash (bisection 16 -> 8 -> 12
        # with --refine 2; a 4 MB flash keeps two pages of objects, too few,
        # and then only 16 MB meets). The search starts at the bad value and
        # must leave it.
        out = os.path.join(self.tmp.name, "plan-item-age.json")
        r = run("plan", self.trace, "--target", "hit_ratio>=0.7", "--fill-on-miss", "on",
                "-o", "ext_page_size=1,ext_wbuf_size=1", "--ram", "16,32", "--flash", "5m",
                "--refine", "2", "--search", "ext_item_age=0,60", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        plan = json.loads(load(out))
        rec = plan["recommendation"]
        self.assertIsNotNone(rec, r.stdout)
        self.assertEqual(rec["settings"], {"ext_item_age": "60"})
        self.assertIn("ext_path=/var/lib/memcached/extstore:5m,ext_item_age=60",
                      rec["command_line"])
        self.assertIn(rec["command_line"] + "\n", r.stdout)
        self.assertIn(rec["ram_mb"], (11, 12))
        [trail] = plan["settings_search"]
        self.assertEqual((trail["ram_mb"], trail["start"]), (32, "ext_item_age=0"))
        tried = {t["settings"]: t["hit_ratio"] for t in trail["tried"]}
        self.assertAlmostEqual(tried["ext_item_age=60"], 0.75)
        zero = [c for c in plan["candidates"] if c["settings"] == {"ext_item_age": "0"}]
        self.assertTrue(zero and all(c["hit_ratio"] == 0 for c in zero))
        self.assertLessEqual(plan["replays"]["full"], plan["replays"]["bound_full"])


class SampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.trace = os.path.join(cls.tmp.name, "zipf.mxt")
        r = run("gen", os.path.join(ROOT, "traces/workloads/zipf-sample-2m.json"), "--out",
                cls.trace)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_sample_is_deterministic_and_scaled(self):
        reports = []
        for _ in range(2):
            out = os.path.join(self.tmp.name, "s.json")
            r = run("replay", self.trace, "--fill-on-miss", "on", "-m", "64", "-o",
                    "ext_path=/tmp/x:1g", "--sample", "0.01", "--max-requests", "500000",
                    "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            reports.append(load(out))
        self.assertEqual(reports[0], reports[1])
        rep = json.loads(reports[0])
        s = rep["inputs"]["sample"]
        self.assertEqual(s["rate"], 0.01)
        self.assertEqual(s["full_config"]["memory_limit"], 64 << 20)
        config = rep["inputs"]["config"]
        # The slab page is the 1 MB page's share (8-byte aligned), so -m holds
        # the full replay's 64 pages.
        self.assertEqual(config["slab_page_size"], round((1 << 20) * 0.01 / 8) * 8)
        self.assertEqual(config["memory_limit"], 64 * config["slab_page_size"])
        # Same page count on flash (16 of 64 MB), pages a hundredth of 64 MB.
        self.assertEqual(rep["extstore"]["extstore_page_count"], 16)
        self.assertIn("one largest chunk per page", " ".join(s["rules"]))

    def test_items_above_the_page_share_are_chunked(self):
        # Values of 20 KB do not fit a 10 KB page (R = 0.01 of 1 MB): the page
        # keeps its share and those items are stored chunked.
        path = os.path.join(self.tmp.name, "big.csv")
        with open(path, "w") as f:
            f.write("time_ns,key_id,key_size,value_size,op,ttl,op_count,next_access\n")
            for k in range(1, 20001):
                f.write(f"{k * 1000},{k},10,{20000 if k % 10 == 0 else 500},set,0,1,-1\n")
        out = os.path.join(self.tmp.name, "big.json")
        r = run("replay", path, "-m", "64", "--sample", "0.01", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(load(out))
        config = rep["inputs"]["config"]
        self.assertEqual(config["slab_page_size"], 10480)
        self.assertEqual(config["slab_chunk_max"], 5240)
        self.assertGreaterEqual(config["item_size_max"], 20000 + 10)
        self.assertEqual(config["memory_limit"], 64 * 10480)
        self.assertIn("stored chunked", " ".join(rep["inputs"]["sample"]["rules"]))
        self.assertEqual(rep["totals"]["store_results"]["too_large"], 0)
        # Chunked items are not the full replay's classes: the tool says so.
        self.assertIn("sample_items_chunked", [w["code"] for w in rep["warnings"]])
        self.assertIn("warning: sample_items_chunked: --sample 0.01: the sample's items above "
                      "5240 bytes (its largest: 20069)", r.stderr)


def check_bounds(test, rows):
    """The issue's bounds: |sampled - full| hit ratio under 1 point at
    R = 0.1 and 2 points at R = 0.01, for each configuration."""
    test.assertTrue(any(r["page_evictions"] > 0 for r in rows), "a config evicts flash pages")
    for row in rows:
        # Every configuration is under pressure: RAM evicts, or the flash tier
        # does (with the slab automover moving pages to the header class, a
        # flash configuration can run without RAM evictions).
        test.assertGreater(row["ram_evictions"] + row["page_evictions"], 0, row["config"])
        for rate, bound in ((0.1, 1.0), (0.01, 2.0)):
            with test.subTest(config=row["config"], rate=rate):
                test.assertLess(abs(row["sampled"][rate]["error_points"]), bound, row)


@unittest.skipIf(sanitizer_build(shutil.which(SIM) or SIM), SKIP_ERROR_BOUNDS)
class ZipfSampleErrorTest(unittest.TestCase):
    """traces/workloads/zipf-sample-2m.json: 2M requests, 735k keys, six
    configurations (sample_error.CONFIGS)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        trace = os.path.join(cls.tmp.name, "zipf.mxt")
        r = run("gen", os.path.join(ROOT, "traces/workloads/zipf-sample-2m.json"), "--out", trace)
        assert r.returncode == 0, r.stderr
        cls.rows = sample_error.measure(SIM, trace, ["--fill-on-miss", "on"], [0.1, 0.01])
        sample_error.print_table("zipf-sample-2m", cls.rows)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_within_the_issue_bounds(self):
        # The last configuration reads high at both rates (+0.81 at R = 0.1
        # with this sample; traces/README.md, "Sampled replays").
        check_bounds(self, self.rows)


KVCACHE_SAMPLE = os.path.join(ROOT, "..", "shared", "traces", "cachelib-kvcache-sample-1.csv")


@unittest.skipIf(sanitizer_build(shutil.which(SIM) or SIM), SKIP_ERROR_BOUNDS)
@unittest.skipUnless(os.path.exists(KVCACHE_SAMPLE), "no ../shared/traces kvcache sample")
class KvcacheSampleErrorTest(unittest.TestCase):
    """A kvcache trace generated in the image of ../shared/traces'
    cachelib-kvcache-sample-1.csv (kvcache_like.py: 1M records, 400k keys,
    Zipf 0.8; the 100-line sample itself holds 0-3 records at R = 0.01),
    replayed in kvcache format (fill on miss by default)."""

    CONFIGS = sample_error.KVCACHE_CONFIGS[:4]  # the bench runs all six

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        trace = os.path.join(cls.tmp.name, "kv.csv")
        kvcache_like.generate(KVCACHE_SAMPLE, trace, 1_000_000, 400_000, 1)
        cls.rows = sample_error.measure(SIM, trace, ["--format", "kvcache"], [0.1, 0.01],
                                        cls.CONFIGS)
        sample_error.print_table("kvcache-like (sample 1)", cls.rows)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_within_the_issue_bounds(self):
        check_bounds(self, self.rows)


if __name__ == "__main__":
    unittest.main()
