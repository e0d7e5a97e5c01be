#!/usr/bin/env bash
# Headless check of notebooks/compare.ipynb: replays the committed sample
# trace in four configurations (RAM x flash size), gathers them as a sweep
# (memext-sim-sweep/1 rows), executes the notebook on two reports and the
# sweep, and checks the figures were drawn inline (image/png outputs) and
# saved.
#
#   notebooks/run_compare_notebook.sh MEMEXT_SIM WORK_DIR
#
# Needs python3-pandas, python3-matplotlib and jupyter-nbconvert.
set -euo pipefail
sim=$1
work=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
cells=()
for m in 8 32; do
  for flash in 64m 256m; do
    out="$work/m${m}-flash${flash}.json"
    "$sim" replay "$src/traces/samples/zipf-flash-200k.mxt.zst" -m "$m" \
      -o "ext_path=/sim/flash:$flash,ext_page_size=4,ext_wbuf_size=4" --interval 10 \
      --warmup 20s --progress off --out "$out" 2>/dev/null
    cells+=("$m" "$flash" "$out")
  done
done
python3 - "$work/sweep.json" "${cells[@]}" <<'PY'
import json, sys
out, args = sys.argv[1], sys.argv[2:]
rows = []
for i in range(0, len(args), 3):
    m, flash, path = args[i:i + 3]
    t = json.load(open(path))["totals"]
    rows.append({"id": "c%04d" % (i // 3), "flags": {"m": m, "ext_path_size": flash},
                 **{k: t.get(k) for k in ("hit_ratio", "byte_hit_ratio", "ram_hit_ratio",
                                          "flash_hit_ratio", "ram_used_bytes",
                                          "flash_header_bytes", "ceiling_hit_ratio")}})
json.dump({"schema": "memext-sim-sweep/1", "trace": "zipf-flash-200k.mxt.zst",
           "axes": [{"name": "m", "values": ["8", "32"]},
                    {"name": "ext_path_size", "values": ["64m", "256m"]}],
           "rows": rows}, open(out, "w"), indent=1)
PY
MEMEXT_REPORTS="$work/m8-flash64m.json:$work/m32-flash256m.json" MEMEXT_SWEEP="$work" \
  MEMEXT_FIG_DIR="$work/figures" \
  jupyter nbconvert --to notebook --execute --output-dir "$work" \
  --ExecutePreprocessor.timeout=120 "$src/notebooks/compare.ipynb"
for f in overlay_hit_ratio overlay_dwpd sweep_m sweep_ext_path_size; do
  test -s "$work/figures/$f.png"
done
# Inline: the executed notebook carries the figures as cell outputs.
python3 - "$work/compare.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
images = sum(1 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
assert images >= 4, f"{images} inline figures, want >= 4"
print(images, "inline figures")
PY
