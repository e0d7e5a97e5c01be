#!/usr/bin/env bash
# Headless check of notebooks/tuning.ipynb: replays the committed sample
# trace with a flash tier, then executes the notebook on that report with
# jupyter nbconvert (its last cell asserts the report is consistent).
#
#   notebooks/run_tuning_notebook.sh MEMEXT_SIM WORK_DIR
#
# Needs python3-pandas, python3-matplotlib and jupyter-nbconvert.
set -euo pipefail
sim=$1
work=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
"$sim" replay "$src/traces/samples/zipf-flash-200k.mxt.zst" -m 16 \
  -o ext_path=/sim/flash:1g --interval 10 --warmup 30s --progress off --out "$work/report.json" 2>/dev/null
MEMEXT_REPORT="$work/report.json" MEMEXT_FIG_DIR="$work/figures" \
  jupyter nbconvert --to notebook --execute --output-dir "$work" \
  --ExecutePreprocessor.timeout=120 "$src/notebooks/tuning.ipynb"
test -s "$work/figures/hit_ratio.png"
test -s "$work/figures/fragmentation.png"
test -s "$work/figures/ram.png"
# Inline: the executed notebook carries the figures as cell outputs.
python3 - "$work/tuning.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
images = sum(1 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
assert images >= 4, f"{images} inline figures, want >= 4"
PY
