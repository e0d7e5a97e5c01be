#!/bin/sh
# Sampled (--sample 0.1, 0.01) against full replays: the hit-ratio error in
# points for six configurations (RAM evictions, flash page evictions) on the
# generated Zipf traces and on kvcache-like traces generated from each kvcache
# sample in ../shared/traces (tests/integration/kvcache_like.py: 1M records
# over 400k keys with the sample's key/value sizes, TTLs and op mix, Zipf 0.8;
# the 100-line samples themselves hold 0-3 records at R = 0.01), and the wall
# time of a full and a sampled replay measured in the same run.
# usage: bench/sample_error_bench.sh [BUILD_DIR] [SHARED_TRACES_DIR]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
shared=${2:-$here/../shared/traces}
sim=$build/sim/memext-sim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here/tests/integration"

"$sim" gen "$here/traces/workloads/zipf-sample-2m.json" --out "$work/zipf-2m.mxt" >/dev/null
python3 sample_error.py "$sim" "$work/zipf-2m.mxt" --fill-on-miss on

# A larger key space: the same workload with 10x the keys and requests.
sed -e 's/"requests": 2000000/"requests": 20000000/' -e 's/"keys": 1000000/"keys": 10000000/' \
  "$here/traces/workloads/zipf-sample-2m.json" > "$work/zipf-20m.json"
"$sim" gen "$work/zipf-20m.json" --out "$work/zipf-20m.mxt" >/dev/null
start=$(date +%s.%N)
"$sim" replay "$work/zipf-20m.mxt" --fill-on-miss on -m 640 --progress off 2>/dev/null >/dev/null
full=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
"$sim" replay "$work/zipf-20m.mxt" --fill-on-miss on -m 640 --progress off --sample 0.01 2>/dev/null >/dev/null
sampled=$(echo "$(date +%s.%N) - $start" | bc)
echo "20M requests, -m 640: full replay ${full} s, --sample 0.01 ${sampled} s (ratio $(echo "scale=2; $full / $sampled" | bc))"
python3 - "$sim" "$work/zipf-20m.mxt" <<'PY'
import sys, sample_error
cfgs = [["-m", "640"], ["-m", "1280"],
        ["-m", "320", "-o", "ext_path=/tmp/sample-flash:1280m,ext_page_size=16"],
        ["-m", "160", "-o", "ext_path=/tmp/sample-flash:320m,ext_page_size=4,ext_wbuf_size=2,ext_item_age=5"]]
rows = sample_error.measure(sys.argv[1], sys.argv[2], ["--fill-on-miss", "on"], [0.1, 0.01], cfgs)
sample_error.print_table("zipf 20M requests, 10M keys (sizes x10)", rows)
PY

for n in 1 2; do
  sample=$shared/cachelib-kvcache-sample-$n.csv
  [ -f "$sample" ] || continue
  python3 kvcache_like.py "$sample" "$work/kvcache-like-$n.csv" 1000000 400000 1
  python3 sample_error.py "$sim" "$work/kvcache-like-$n.csv" --kvcache-configs --format kvcache
done
