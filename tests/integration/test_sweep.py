"""memext-sim sweep: every cell is the single replay with the same args
(reports byte for byte, rows from the same summary), a killed sweep resumes
without rerunning finished cells and ends with the uninterrupted table, and
bad grids are refused before anything runs, naming the bad value."""

import csv
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

SIM = os.environ.get("MEMEXT_SIM", "memext-sim")
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(SOURCE, "traces", "samples", "zipf-flash-200k.mxt.zst")
FLASH = "ext_wbuf_size=4,ext_page_size=8"


def sim(*args, timeout=600):
    return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=timeout)


def load(path):
    with open(path) as f:
        return json.load(f)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def replays_writing_into(directory):
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if directory.encode() in f.read():
                    pids.append(pid)
        except OSError:
            pass
    return pids


def generate_trace(directory, requests):
    """A Zipf trace long enough that one replay takes a noticeable time."""
    workload = {
        "name": "sweep-test", "requests": requests, "keys": requests // 5,
        "zipf_alpha": 0.9, "key_size": {"dist": "uniform", "min": 10, "max": 40},
        "value_size": {"dist": "uniform", "min": 100, "max": 4000},
        "ttl": [{"ttl": 0, "weight": 1}], "ops": {"get": 0.8, "set": 0.2},
        "first_access": "set", "rate": 100000, "seed": 7,
    }
    spec = os.path.join(directory, "workload.json")
    with open(spec, "w") as f:
        json.dump(workload, f)
    trace = os.path.join(directory, "trace.mxt")
    r = sim("gen", spec, "--out", trace)
    assert r.returncode == 0, r.stderr
    return trace


class SweepEqualsReplays(unittest.TestCase):
    def test_cells_are_the_single_replays(self):
        with tempfile.TemporaryDirectory() as tmp:
            ext = os.path.join(tmp, "flash")
            out = os.path.join(tmp, "sweep")
            r = sim("sweep", SAMPLE, "-o", f"ext_path={ext}:256m,{FLASH}", "--grid", "m=32,64",
                    "--grid", "ext_item_age=0,3600", "--jobs", "2", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("4/4 cells done", r.stderr)
            self.assertIn("best so far", r.stderr)
            table = load(os.path.join(out, "sweep.json"))
            self.assertEqual(table["schema"], "memext-sim-sweep/1")
            self.assertEqual([a["name"] for a in table["axes"]], ["m", "ext_item_age"])
            rows = table["rows"]
            self.assertEqual([row["id"] for row in rows], ["c0000", "c0001", "c0002", "c0003"])
            expected_flags = [("32", "0"), ("32", "3600"), ("64", "0"), ("64", "3600")]
            self.assertEqual([(row["flags"]["m"], row["flags"]["ext_item_age"]) for row in rows],
                             expected_flags)
            for row, (m, age) in zip(rows, expected_flags):
                # The replay a user would type for this cell, built here, not read from the spec.
                single = os.path.join(tmp, f"single-{row['id']}.json")
                r = sim("replay", SAMPLE, "-o", f"ext_path={ext}:256m,{FLASH}", "-m", m,
                        "-o", f"ext_item_age={age}", "--out", single)
                self.assertEqual(r.returncode, 0, r.stderr)
                cell_report = os.path.join(out, "cells", row["id"], "report.json")
                self.assertEqual(read_bytes(cell_report), read_bytes(single), row["id"])
                report = load(single)
                totals = report["totals"]
                self.assertEqual(row["hit_ratio"], totals["hit_ratio"])
                self.assertEqual(row["byte_hit_ratio"], totals["byte_hit_ratio"])
                self.assertEqual(row["flash_hit_ratio"], totals["flash_hit_ratio"])
                self.assertEqual(row["misses"], totals["misses"])
                self.assertEqual(row["misses_by_cause"]["flash_read_miss"],
                                 totals["flash_read_misses"])
                self.assertEqual(row["misses_by_cause"]["not_found"],
                                 totals["misses"] - totals["flash_read_misses"])
                self.assertEqual(row["flash_bytes_written"], report["device"]["bytes_written"])
                self.assertEqual(row["dwpd"], report["device"]["drive_writes_per_day"])
                self.assertEqual(row["ram_bytes"], report["engine"]["stats"]["bytes"])
                self.assertEqual(row["compaction_rescues"], report["compaction"]["rescues"])
            # The cells differ: the grid really reached the replays.
            self.assertGreater(len({row["ram_hit_ratio"] for row in rows}), 1)
            self.assertGreater(rows[0]["flash_hit_ratio"], 0)
            with open(os.path.join(out, "sweep.csv")) as f:
                lines = list(csv.DictReader(f))
            self.assertEqual(list(lines[0].keys())[:3], ["flag.m", "flag.ext_item_age", "id"])
            for line, row in zip(lines, rows):
                self.assertEqual(line["id"], row["id"])
                self.assertEqual(float(line["hit_ratio"]), row["hit_ratio"])
                self.assertEqual(int(line["misses_by_cause.not_found"]),
                                 row["misses_by_cause"]["not_found"])

    def test_ext_path_size_resizes_every_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
            out = os.path.join(tmp, "sweep")
            r = sim("sweep", SAMPLE, "-m", "32", "-o", f"ext_path={a}:64m,{FLASH}",
                    "-o", f"ext_path={b}:64m:compact", "--grid", "ext_path_size=32m,48m/96m",
                    "--jobs", "2", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            sizes = []
            for cell in ("c0000", "c0001"):
                config = load(os.path.join(out, "cells", cell, "report.json"))["inputs"]["config"]
                sizes.append([(p["path"], p["size_bytes"], p["bucket"]) for p in config["ext_path"]])
            mb = 1 << 20
            self.assertEqual(sizes[0], [(a, 32 * mb, "default"), (b, 32 * mb, "compact")])
            self.assertEqual(sizes[1], [(a, 48 * mb, "default"), (b, 96 * mb, "compact")])

    def test_sample_axis_is_the_replays_sample(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "sweep")
            flags = ["-m", "32", "-o", f"ext_path={tmp}/f:256m,{FLASH}"]
            r = sim("sweep", SAMPLE, *flags, "--grid", "sample=1,0.1", "--jobs", "2", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            single = os.path.join(tmp, "single.json")
            r = sim("replay", SAMPLE, *flags, "--sample", "0.1", "--out", single)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(read_bytes(os.path.join(out, "cells", "c0001", "report.json")),
                             read_bytes(single))
            rows = load(os.path.join(out, "sweep.json"))["rows"]
            self.assertLess(rows[1]["gets"], rows[0]["gets"] / 5)
            self.assertEqual(rows[1]["ceiling_hit_ratio"], load(single)["totals"]["ceiling_hit_ratio"])

    def test_progress_ranks_sampled_cells_by_their_estimate(self):
        # A 5% sample of the shipped trace hits 0.81 at -m 16, its estimate
        # of the full trace's ratio is 0.63 and the full replay hits 0.69:
        # the best cell is the full one.
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "sweep")
            r = sim("sweep", SAMPLE, "-m", "16", "--grid", "sample=0.05,1", "--jobs", "2",
                    "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            rows = load(os.path.join(out, "sweep.json"))["rows"]
            self.assertGreater(rows[0]["hit_ratio"], rows[1]["hit_ratio"])
            self.assertLess(rows[0]["hit_ratio_estimate"], rows[1]["hit_ratio_estimate"])
            last = [line for line in r.stderr.splitlines() if "best so far" in line][-1]
            self.assertTrue(last.endswith("best so far c0001 hit_ratio %.4f (sample=1)"
                                          % rows[1]["hit_ratio"]), last)
            # The ratio shown for a sampled best cell is its estimate, and says so.
            r = sim("sweep", SAMPLE, "-m", "16", "--grid", "sample=0.05", "--out",
                    os.path.join(tmp, "sampled"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("best so far c0000 hit_ratio %.4f sample-adjusted (sample=0.05)"
                          % rows[0]["hit_ratio_estimate"], r.stderr)

    def test_failed_cell_is_named_and_the_rest_merged(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "sweep")
            # A 6 MB page is no whole number of 4 MB wbufs: that replay fails at
            # run time (an ext_path smaller than a page no longer does: memcached
            # accepts it, and the replay warns).
            r = sim("sweep", SAMPLE, "-m", "32", "-o", f"ext_path={tmp}/f:64m,ext_wbuf_size=4",
                    "--grid", "ext_page_size=6,8", "--jobs", "1", "--out", out)
            self.assertEqual(r.returncode, 1)
            self.assertIn("c0000 (ext_page_size=6)", r.stderr)
            self.assertIn("must be a multiple of wbuf_size", r.stderr)
            table = load(os.path.join(out, "sweep.json"))
            self.assertEqual([row["id"] for row in table["rows"]], ["c0001"])
            self.assertEqual(table["missing"], ["c0000"])


class SweepResume(unittest.TestCase):
    def test_resume_after_kill(self):
        with tempfile.TemporaryDirectory() as tmp:
            trace = generate_trace(tmp, 1_500_000)
            args = ["sweep", trace, "--grid", "m=8,16,24,32,40", "--jobs", "1"]
            killed = os.path.join(tmp, "killed")
            proc = subprocess.Popen([SIM, *args, "--out", killed], stderr=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL)
            first = os.path.join(killed, "cells", "c0000", "report.json")
            deadline = time.monotonic() + 600
            while not os.path.exists(first) and proc.poll() is None:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            # The replay in flight dies with the sweep (no orphan keeps writing into DIR).
            deadline = time.monotonic() + 60
            while replays_writing_into(killed):
                self.assertLess(time.monotonic(), deadline, "a cell's replay outlived the sweep")
                time.sleep(0.05)
            # An orphaned replay would have gone on to write its temp report.
            cells = os.path.join(killed, "cells")
            self.assertEqual([c for c in os.listdir(cells)
                              if os.path.exists(os.path.join(cells, c, "report.json.tmp"))], [])
            finished = sorted(c for c in os.listdir(os.path.join(killed, "cells"))
                              if os.path.exists(os.path.join(killed, "cells", c, "report.json")))
            self.assertIn("c0000", finished)
            self.assertLess(len(finished), 5, "the sweep finished before it was killed")
            before = {c: os.stat(os.path.join(killed, "cells", c, "report.json")) for c in finished}
            self.assertFalse(os.path.exists(os.path.join(killed, "sweep.json")))

            r = sim(*args, "--out", killed)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"5 cells, {len(finished)} finished before, running {5 - len(finished)}",
                          r.stderr)
            for c, st in before.items():
                now = os.stat(os.path.join(killed, "cells", c, "report.json"))
                self.assertEqual((now.st_ino, now.st_mtime_ns), (st.st_ino, st.st_mtime_ns), c)

            whole = os.path.join(tmp, "whole")
            r = sim(*args, "--out", whole)
            self.assertEqual(r.returncode, 0, r.stderr)
            for name in ("sweep.json", "sweep.csv"):
                self.assertEqual(read_bytes(os.path.join(killed, name)),
                                 read_bytes(os.path.join(whole, name)), name)
            self.assertEqual(len(load(os.path.join(whole, "sweep.json"))["rows"]), 5)

            # Nothing left to run: a third run only merges.
            r = sim(*args, "--out", killed)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("5 finished before, running 0", r.stderr)

    def test_other_spec_into_same_dir_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "sweep")
            r = sim("sweep", SAMPLE, "--grid", "m=32", "--out", out, "--max-requests", "1000")
            self.assertEqual(r.returncode, 0, r.stderr)
            spec = read_bytes(os.path.join(out, "sweep_spec.json"))
            r = sim("sweep", SAMPLE, "--grid", "m=32,64", "--out", out, "--max-requests", "1000")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("holds a different sweep", r.stderr)
            self.assertIn('"64"', r.stderr)
            self.assertEqual(read_bytes(os.path.join(out, "sweep_spec.json")), spec)
            self.assertFalse(os.path.exists(os.path.join(out, "cells", "c0001")))
            notsweep = os.path.join(tmp, "other")
            os.mkdir(notsweep)
            open(os.path.join(notsweep, "keep.txt"), "w").close()
            r = sim("sweep", SAMPLE, "--grid", "m=32", "--out", notsweep)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("not a sweep directory", r.stderr)


class BadGrids(unittest.TestCase):
    def test_bad_grids_are_refused_up_front(self):
        cases = [
            (["--grid", "bogus=1,2"], "'bogus' is not a grid axis (allowed: a memcached flag"),
            (["--grid", "m="], "has an empty value"),
            (["--grid", "m=64,,128"], "has an empty value"),
            (["--grid", "m"], "is not NAME=v1,v2"),
            (["--grid", "m=64,lots"], "value 'lots' is rejected by replay: -m 'lots'"),
            (["--grid", "ext_item_age=3600,soon"], "value 'soon' is rejected by replay"),
            (["--grid", "ext_path_size=1g"], "needs a flash tier"),
            (["-o", "ext_path=/x:1g", "--grid", "ext_path_size=1g,big"], "value 'big' is not a size"),
            (["-o", "ext_path=/x:1g", "--grid", "ext_path_size=1g/2g"], "gives 2 sizes for 1 ext_paths"),
            (["--grid", "sample=0.5,2"], "value '2' is rejected by replay: --sample '2'"),
            (["--grid", "M=yes"], "value 'yes' is not allowed (allowed: on, off)"),
            (["--grid", "m=64,64"], "gives value '64' twice"),
            (["--grid", "m=64", "--grid", "m=128"], "--grid m is given twice"),
            (["-m", "64", "--grid", "m=128"], "-m is also given as a fixed flag"),
            (["-o", "ext_item_age=5", "--grid", "ext_item_age=1"], "also given as a fixed flag"),
            (["--grid", "I=2m", "--grid", "m=2,64"],
             "cell c0000 (I=2m m=2) is rejected by replay: item max size"),
            (["--grid", "m=64", "--out2", "x"], "--out2"),
            (["--jobs", "0", "--grid", "m=64"], "--jobs '0' must be an integer from 1 to 4096"),
            ([], "no --grid given"),
        ]
        with tempfile.TemporaryDirectory() as tmp:
            for n, (args, needle) in enumerate(cases):
                out = os.path.join(tmp, f"d{n}")
                r = sim("sweep", SAMPLE, *args, "--out", out)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                self.assertIn(needle, r.stderr, args)
                self.assertFalse(os.path.exists(out), args)
            r = sim("sweep", os.path.join(tmp, "missing.mxt"), "--grid", "m=64", "--out",
                    os.path.join(tmp, "x"))
            self.assertEqual(r.returncode, 2)
            self.assertIn("missing.mxt' is not a file", r.stderr)

    def test_help(self):
        r = sim("sweep", "--help")
        self.assertEqual(r.returncode, 0)
        for needle in ("--grid NAME=v1,v2", "ext_path_size", "--slurm", "--jobs", "--merge"):
            self.assertIn(needle, r.stdout)


if __name__ == "__main__":
    unittest.main()
