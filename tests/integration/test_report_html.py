"""memext-sim report --html, rendered by headless Chromium: the page's
charts and tables (read back from the DOM Chromium dumps after the page's
script ran) must hold exactly the values of the reports, sweep and plan it
was given.

memext-sim comes from MEMEXT_SIM (ctest sets it), else next to
MEMEXT_SERVER's build directory."""

import html.parser
import json
import os
import shutil
import subprocess
import tempfile
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(SRC, "traces", "samples", "zipf-flash-200k.mxt.zst")


def sim_binary():
    if os.environ.get("MEMEXT_SIM"):
        return os.environ["MEMEXT_SIM"]
    server = os.environ.get("MEMEXT_SERVER", "")
    guess = os.path.join(os.path.dirname(os.path.dirname(server)), "sim", "memext-sim")
    return guess if os.path.exists(guess) else "memext-sim"


class Dom(html.parser.HTMLParser):
    """Every element as (tag, attrs, text, ancestors' attrs)."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.stack = []

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": [p for p in self.stack]}
        self.elements.append(e)
        if tag not in ("circle", "line", "rect", "polyline", "meta", "br"):
            self.stack.append(e)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": "", "parents": list(self.stack)})

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for e in self.stack:
            e["text"] += data

    def find(self, tag=None, **attrs):
        out = []
        for e in self.elements:
            if tag and e["tag"] != tag:
                continue
            if all(e["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(e)
        return out

    def inside(self, element, tag=None, **attrs):
        return [e for e in self.find(tag, **attrs) if element in e["parents"]]


def dump_dom(page):
    profile = tempfile.mkdtemp(prefix="memext-chromium-")
    try:
        out = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + profile, "--dump-dom", "file://" + page],
            check=True, capture_output=True, text=True, timeout=300).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = Dom()
    dom.feed(out)
    return dom


class ReportHtmlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = sim_binary()
        cls.dir = tempfile.mkdtemp(prefix="memext-report-html-")
        # A sweep over RAM (-m, given out of order) and flash size; its
        # first cell is report A of the diff, its last report B.
        cls.sweep_dir = os.path.join(cls.dir, "sweep")
        subprocess.run([cls.sim, "sweep", SAMPLE, "-o", "ext_path=/sim/flash:64m,ext_page_size=4,"
                        "ext_wbuf_size=4", "--grid", "m=32,8", "--grid", "ext_path_size=64m,256m",
                        "--interval", "10", "--warmup", "20s", "--jobs", "2", "--out",
                        cls.sweep_dir], check=True, capture_output=True, timeout=900)
        with open(os.path.join(cls.sweep_dir, "sweep.json")) as f:
            cls.sweep = json.load(f)
        cls.cells = []
        for row in cls.sweep["rows"]:
            path = os.path.join(cls.sweep_dir, "cells", row["id"], "report.json")
            with open(path) as f:
                cls.cells.append((row["flags"], path, json.load(f)))
        cls.report_a = cls.cells[0]
        cls.report_b = cls.cells[-1]
        # The same sweep with a different ceiling per row: the page draws the
        # largest.
        cls.sweep_ceilings = json.loads(json.dumps(cls.sweep))
        for i, row in enumerate(cls.sweep_ceilings["rows"]):
            row["ceiling_hit_ratio"] = 0.97 + i / 1000
        cls.sweep_path = os.path.join(cls.dir, "sweep-ceilings.json")
        with open(cls.sweep_path, "w") as f:
            json.dump(cls.sweep_ceilings, f)
        # A real plan on the sample: RAM only misses at 8 MB and meets at
        # 64; with 320 MB of flash -m 8 meets, so the bisection goes lower
        # and RAM-only -m 64 is the runner-up. (320 MB is five 64 MB pages:
        # page 0 is reserved and memcached's maintenance pass keeps one free,
        # so three hold objects; 256 MB leaves two and -m 8 misses.)
        cls.plan_path = os.path.join(cls.dir, "plan.json")
        subprocess.run([cls.sim, "plan", SAMPLE, "--target", "hit_ratio>=0.75", "--max-dwpd",
                        "3000", "--drive", "nvme-gen4:1g", "--ram", "8,64", "--flash", "0,320m",
                        "--search", "ext_item_age=4294967295,0", "--refine", "1", "--out",
                        cls.plan_path], check=True, capture_output=True, timeout=900)
        with open(cls.plan_path) as f:
            cls.plan = json.load(f)
        # The same plan had nothing met it.
        cls.plan_none = json.loads(json.dumps(cls.plan))
        cls.plan_none["recommendation"] = None
        cls.plan_none["runners_up"] = []
        cls.plan_none["binding_limit"] = {"limit": "dwpd", "detail": "writes too much"}
        cls.plan_none_path = os.path.join(cls.dir, "plan-none.json")
        with open(cls.plan_none_path, "w") as f:
            json.dump(cls.plan_none, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def render(self, name, *inputs):
        page = os.path.join(self.dir, name)
        subprocess.run([self.sim, "report", *inputs, "--html", page], check=True,
                       capture_output=True, timeout=120)
        with open(page) as f:
            text = f.read()
        self.assertNotIn("http://", text.replace("http://www.w3.org/2000/svg", ""))
        self.assertNotIn("https://", text)
        return page, dump_dom(page)

    def series(self, dom, chart_id, name):
        figs = dom.find("figure", data_chart=chart_id)
        self.assertEqual(len(figs), 1, chart_id)
        lines = dom.inside(figs[0], "polyline", data_series=name)
        self.assertEqual(len(lines), 1, (chart_id, name))
        return lines[0]["attrs"]

    def test_report_time_series_and_figures(self):
        _, path, report = self.report_a
        _, dom = self.render("report.html", path)
        self.assertEqual(dom.find("main")[0]["attrs"].get("data-rendered"), "1")
        samples = report["time_series"]["samples"]
        self.assertGreater(len(samples), 5)
        xs = [s["t_s"] for s in samples]
        for chart, field in [("r0-hit", "hit_ratio"), ("r0-hit", "byte_hit_ratio"),
                             ("r0-frag", "fragmentation_ratio"), ("r0-dwpd", "dwpd"),
                             ("r0-flash_write", "flash_write_bytes_per_s"),
                             ("r0-ram", "ram_used_bytes"), ("r0-ram", "flash_header_bytes")]:
            attrs = self.series(dom, chart, field)
            self.assertEqual(json.loads(attrs["data-xs"]), xs)
            self.assertEqual(json.loads(attrs["data-ys"]), [s[field] for s in samples], field)
            points = [tuple(map(float, p.split(","))) for p in attrs["points"].split()]
            self.assertEqual(len(points), len(samples))
            if chart == "r0-hit":
                # Ratio charts span 0..1 over the plot's 244 px from y = 258.
                for (_, y), s in zip(points, samples):
                    self.assertAlmostEqual(y, 258 - s[field] * 244, delta=0.01)
        buckets = samples[-1]["extstore_pages_by_bucket"]
        for name, pages in buckets.items():
            attrs = self.series(dom, "r0-buckets", name)
            self.assertEqual(json.loads(attrs["data-ys"])[-1], pages)
        for path_, value in [("totals.hit_ratio", report["totals"]["hit_ratio"]),
                             ("totals.ram_used_bytes", report["totals"]["ram_used_bytes"]),
                             ("totals.flash_header_bytes", report["totals"]["flash_header_bytes"]),
                             ("engine.stats.bytes", report["engine"]["stats"]["bytes"]),
                             ("steady_state.hit_ratio", report["steady_state"]["hit_ratio"]),
                             ("device.drive_writes_per_day",
                              report["device"]["drive_writes_per_day"])]:
            row = dom.find("tr", data_metric=path_)
            self.assertEqual(len(row), 1, path_)
            cells = dom.inside(row[0], "td")
            self.assertEqual(json.loads(cells[0]["attrs"]["data-value"]), value, path_)
        self.assertIn("flash objects at full size",
                      dom.find("tr", data_metric="engine.stats.bytes")[0]["text"])
        codes = [li["attrs"]["data-code"] for li in dom.find("li") if "data-code" in li["attrs"]]
        self.assertEqual(codes, [w["code"] for w in report["warnings"]])

    def test_sweep_dir_ceiling(self):
        _, dom = self.render("sweep-dir.html", self.sweep_dir)
        rows = self.sweep["rows"]
        self.assertEqual(len(rows), 4)
        fig = dom.find("figure", data_axis="m", data_metric="hit_ratio")
        line = dom.inside(fig[0], "line", **{"class": "ceiling"})
        self.assertEqual(json.loads(line[0]["attrs"]["data-y"]),
                         max(r["ceiling_hit_ratio"] for r in rows))
        for r in rows:
            tr = dom.find("tr", data_id=r["id"])
            cells = {c["attrs"]["data-field"]: json.loads(c["attrs"]["data-value"])
                     for c in dom.inside(tr[0], "td") if "data-field" in c["attrs"]}
            for field in ("hit_ratio", "ram_used_bytes", "flash_header_bytes", "dwpd",
                          "steady_state_hit_ratio"):
                self.assertEqual(cells[field], r[field], (r["id"], field))

    def test_sweep_curves_with_ceiling_and_plan(self):
        _, dom = self.render("sweep.html", self.sweep_path, self.plan_path)
        ceiling = max(r["ceiling_hit_ratio"] for r in self.sweep_ceilings["rows"])
        for axis, other, order in [("m", "ext_path_size", ["8", "32"]),
                                   ("ext_path_size", "m", ["64m", "256m"])]:
            for metric in ("hit_ratio", "byte_hit_ratio"):
                fig = dom.find("figure", data_axis=axis, data_metric=metric)
                self.assertEqual(len(fig), 1, (axis, metric))
                ticks = [t["text"] for t in dom.inside(fig[0], "text") if t["attrs"].get("class") == "xtick"]
                self.assertEqual(ticks, order)
                for value in ("64m", "256m") if other == "ext_path_size" else ("8", "32"):
                    name = "%s=%s" % (other, value)
                    line = dom.inside(fig[0], "polyline", data_series=name)
                    self.assertEqual(len(line), 1, name)
                    want = [next(r[metric] for r in self.sweep["rows"]
                                 if r["flags"][axis] == x and r["flags"][other] == value)
                            for x in order]
                    self.assertEqual(json.loads(line[0]["attrs"]["data-ys"]), want)
                    dots = dom.inside(fig[0], "circle", data_series=name)
                    self.assertEqual([d["attrs"]["data-x"] for d in dots], order)
                    self.assertEqual([json.loads(d["attrs"]["data-y"]) for d in dots], want)
                lines = dom.inside(fig[0], "line", **{"class": "ceiling"})
                if metric == "hit_ratio":
                    self.assertEqual(len(lines), 1)
                    self.assertEqual(json.loads(lines[0]["attrs"]["data-y"]), ceiling)
                else:
                    self.assertEqual(lines, [])
        cells = dom.find("table", **{"class": "cells"})
        self.assertEqual(len(cells), 1)
        self.assertEqual(len(dom.inside(cells[0], "tr")), 1 + len(self.sweep["rows"]))
        self.assertEqual(ceiling, 0.973)
        self.assertEqual(len(dom.find("section", **{"class": "plan"})), 1)

    def test_plan_section(self):
        # One page (one Chromium run) with the plan and the same plan where
        # nothing met the targets.
        _, dom = self.render("plan.html", self.plan_path, self.plan_none_path)
        plan, rec = self.plan, self.plan["recommendation"]
        self.assertIsNotNone(rec)
        [section] = dom.find("section", **{"class": "plan"}, data_doc=self.plan_path)
        [pre] = dom.inside(section, "pre", data_key="recommendation.command_line")
        self.assertEqual(pre["text"], rec["command_line"])
        self.assertIn("ext_item_age=", rec["command_line"])
        self.assertEqual(len(dom.inside(section, "button", **{"class": "copy"})), 1)
        # The predicted figures against the targets. A target binds when a
        # cheaper candidate missed it.
        [targets] = dom.inside(section, "table", **{"class": "plan-targets"})
        rows = {r["attrs"]["data-plan-metric"]: r for r in dom.inside(targets, "tr")
                if "data-plan-metric" in r["attrs"]}
        for metric in ("hit_ratio", "dwpd", "endurance_years", "byte_hit_ratio", "ram_mb",
                       "ram_used_bytes", "flash_bytes", "flash_bytes_per_day", "cost"):
            [value] = [c for c in dom.inside(rows[metric], "td") if "data-value" in c["attrs"]]
            self.assertEqual(json.loads(value["attrs"]["data-value"]), rec[metric], metric)
        self.assertGreater(rec["endurance_years"], 0)
        self.assertIn("years", rows["endurance_years"]["text"])
        for name, value in rec["settings"].items():
            self.assertIn(value, rows["settings." + name]["text"])
        cheaper = [c for c in plan["candidates"] if c["cost"] < rec["cost"]]
        want = {"hit_ratio": any(c["hit_ratio"] < plan["targets"]["hit_ratio"] for c in cheaper),
                "dwpd": any(c["dwpd"] > plan["targets"]["max_dwpd"] for c in cheaper)}
        self.assertTrue(want["hit_ratio"], "the sample's cheapest RAM-only cell misses 0.75")
        for metric, binding in want.items():
            [status] = dom.inside(rows[metric], "td", **{"class": "status met" +
                                                       (" binding" if binding else "")})
            self.assertEqual(status["attrs"]["data-status"], "met")
            self.assertEqual(status["attrs"]["data-binding"], "true" if binding else "false")
        # Every candidate on the cost / hit-ratio chart, the choice ringed,
        # the target drawn.
        [fig] = dom.find("figure", data_chart="plan-0-candidates")
        dots = sorted((json.loads(d["attrs"]["data-cost"]), json.loads(d["attrs"]["data-hit"]),
                       d["attrs"]["data-meets"] == "true")
                      for d in dom.inside(fig, "circle", **{"class": "candidate"}))
        self.assertEqual(dots, sorted((c["cost"], c["hit_ratio"], c["meets_targets"])
                                      for c in plan["candidates"]))
        [chosen] = dom.inside(fig, "circle", **{"class": "chosen"})
        self.assertEqual((json.loads(chosen["attrs"]["data-cost"]),
                          json.loads(chosen["attrs"]["data-hit"])), (rec["cost"], rec["hit_ratio"]))
        [target] = dom.inside(fig, "line", **{"class": "target"})
        self.assertEqual(json.loads(target["attrs"]["data-y"]), plan["targets"]["hit_ratio"])
        # The runners-up, cheapest first.
        self.assertGreater(len(plan["runners_up"]), 0)
        [runners] = dom.inside(section, "table", **{"class": "runners-up"})
        commands = [r["attrs"]["data-command"] for r in dom.inside(runners, "tr")
                    if "data-command" in r["attrs"]]
        self.assertEqual(commands, [c["command_line"] for c in plan["runners_up"]])
        # Nothing met: the binding limit instead of a command line.
        [none] = dom.find("section", **{"class": "plan"}, data_doc=self.plan_none_path)
        [box] = dom.inside(none, "div", **{"class": "recommendation none"})
        self.assertEqual(box["attrs"]["data-limit"], "dwpd")
        self.assertIn("writes too much", box["text"])
        self.assertEqual(dom.inside(none, "pre"), [])
        self.assertEqual(len(dom.inside(none, "circle", **{"class": "candidate"})),
                         len(plan["candidates"]))

    def test_two_reports_side_by_side(self):
        a, b = self.report_a[2], self.report_b[2]
        page, dom = self.render("diff.html", self.report_a[1], self.report_b[1])
        for metric in ("totals.hit_ratio", "totals.ram_used_bytes", "totals.flash_header_bytes",
                       "device.drive_writes_per_day"):
            row = dom.find("tr", data_metric=metric)
            self.assertEqual(len(row), 1, metric)
            va, vb = [json.loads(c["attrs"]["data-value"]) for c in dom.inside(row[0], "td")
                      if "data-value" in c["attrs"]]
            keys = metric.split(".")
            want_a, want_b = a, b
            for k in keys:
                want_a, want_b = want_a[k], want_b[k]
            self.assertEqual((va, vb), (want_a, want_b))
            delta = [c for c in dom.inside(row[0], "td") if "data-delta" in c["attrs"]]
            self.assertAlmostEqual(json.loads(delta[0]["attrs"]["data-delta"]), vb - va, places=12)
        self.assertNotEqual(a["totals"]["hit_ratio"], b["totals"]["hit_ratio"])
        overlay = dom.find("figure", data_chart="diff-hit")
        names = [p["attrs"]["data-series"] for p in dom.inside(overlay[0], "polyline")]
        self.assertEqual(names, [self.report_a[1], self.report_b[1]])
        self.assertEqual(len(dom.find("section", **{"class": "side"})), 2)
        # The page is deterministic.
        with open(page, "rb") as f:
            first = f.read()
        self.render("diff.html", self.report_a[1], self.report_b[1])
        with open(page, "rb") as f:
            self.assertEqual(f.read(), first)

    def test_bad_inputs_are_named(self):
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            json.dump({"schema": "something-else/3"}, f)
        r = subprocess.run([self.sim, "report", bad, "--html", os.path.join(self.dir, "x.html")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("something-else/3", r.stderr)
        self.assertIn("memext-sim-report/1", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.html")))
        r = subprocess.run([self.sim, "report", os.path.join(self.dir, "missing.json")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.json", r.stderr)


if __name__ == "__main__":
    unittest.main()
