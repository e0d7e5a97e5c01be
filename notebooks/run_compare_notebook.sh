#!/usr/bin/env bash
# Headless check of notebooks/compare.ipynb: sweeps the committed sample
# trace over RAM x flash size (memext-sim sweep, four cells), executes the
# notebook on two of the cells' reports and the sweep, and checks the
# figures were drawn inline (image/png outputs) and saved.
#
#   notebooks/run_compare_notebook.sh MEMEXT_SIM WORK_DIR
#
# Needs python3-pandas, python3-matplotlib and jupyter-nbconvert.
set -euo pipefail
sim=$1
work=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
rm -rf "$work/sweep"
"$sim" sweep "$src/traces/samples/zipf-flash-200k.mxt.zst" \
  -o ext_path=/sim/flash:64m,ext_page_size=4,ext_wbuf_size=4 --grid m=8,32 \
  --grid ext_path_size=64m,256m --interval 10 --warmup 20s --jobs 2 --out "$work/sweep" 2>/dev/null
MEMEXT_REPORTS="$work/sweep/cells/c0000/report.json:$work/sweep/cells/c0003/report.json" \
  MEMEXT_SWEEP="$work/sweep" \
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
