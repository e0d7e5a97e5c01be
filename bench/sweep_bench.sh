#!/usr/bin/env bash
# Wall time of a 24-cell memext-sim sweep on a generated Zipf trace, full and
# sampled (--sample 0.1 and 0.01), and the sampled sweeps' error against the
# full one cell by cell. Reference measured in the same run: one full replay
# of a grid cell alone, so the full sweep's time reads as a multiple of it.
#
#   bench/sweep_bench.sh [BUILD_DIR] [REQUESTS] [JOBS]
#
# BUILD_DIR defaults to ./build; REQUESTS to 20000000; JOBS to the number of
# cores. The trace is generated once into $SWEEP_BENCH_DIR (default
# /tmp/memext-sweep-bench) and reused; each run's sweeps start from scratch.
# The grid: -m x ext_path_size x ext_item_age x ext_low_ttl = 3 x 2 x 2 x 2,
# sized so the small cells evict from RAM and evict flash pages.
set -euo pipefail

build=${1:-build}
requests=${2:-20000000}
jobs=${3:-$(nproc)}
dir=${SWEEP_BENCH_DIR:-/tmp/memext-sweep-bench}
sim="$build/sim/memext-sim"
keys=$((requests / 10))
mkdir -p "$dir"
trace="$dir/zipf-${requests}.mxt"

if [[ ! -s "$trace" ]]; then
  cat >"$dir/zipf-${requests}.json" <<JSON
{
  "name": "sweep-bench-${requests}",
  "description": "sweep_bench: Zipf 0.9 over ${keys} keys, 85% get, set on first access, 5% one-hit wonders, values 50 B - 16 KB, a short-TTL share",
  "requests": ${requests},
  "keys": ${keys},
  "zipf_alpha": 0.9,
  "key_size": {"dist": "uniform", "min": 10, "max": 40},
  "value_size": {"dist": "buckets", "buckets": [
    {"min": 50, "max": 400, "weight": 35},
    {"min": 512, "max": 4096, "weight": 50},
    {"min": 4097, "max": 16384, "weight": 15}]},
  "ttl": [{"ttl": 0, "weight": 80}, {"ttl": 60, "weight": 20}],
  "ops": {"get": 0.85, "set": 0.15},
  "first_access": "set",
  "one_hit_wonder": 0.05,
  "rate": 100000,
  "seed": 1
}
JSON
  "$sim" gen "$dir/zipf-${requests}.json" --out "$trace"
fi

# Sizes relative to the working set (keys x ~3 KB): RAM 1/4/16 %, flash
# 10/40 %, so the small cells evict from RAM and evict flash pages.
working_mb=$((keys * 3 / 1024))
pct() { local v=$((working_mb * $1 / 100)); echo $((v > 8 ? v : 8)); }
ram=$(pct 1),$(pct 4),$(pct 16)
flash=$(pct 10)m,$(pct 40)m
grid=(--grid "m=$ram" --grid "ext_path_size=$flash" --grid ext_item_age=0,3600
  --grid ext_low_ttl=0,120)
fixed=(-o "ext_path=$dir/flash:1g,ext_wbuf_size=4,ext_page_size=8")

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

echo "trace $trace ($requests requests, $keys keys); 24 cells, $jobs at a time" >&2
echo "grid: ${grid[*]}" >&2

reuse=${SWEEP_BENCH_REUSE:-0}
# Reference: the grid's first cell replayed alone.
if [[ $reuse == 1 && -s "$dir/reference.wall" ]]; then
  single=$(cat "$dir/reference.wall")
else
  t0=$(now)
  "$sim" replay "$trace" "${fixed[@]}" -m "${ram%%,*}" -o "ext_item_age=0,ext_low_ttl=0" \
    --out "$dir/reference.json" 2>/dev/null
  single=$(elapsed "$t0" "$(now)")
  echo "$single" >"$dir/reference.wall"
fi

declare -A wall
for sample in 1 0.1 0.01; do
  out="$dir/sweep-$sample"
  extra=()
  [[ $sample != 1 ]] && extra=(--sample "$sample")
  if [[ $reuse == 1 && -s "$out.wall" ]]; then
    "$sim" sweep "$trace" "${fixed[@]}" "${extra[@]}" "${grid[@]}" --jobs "$jobs" --out "$out" \
      2>>"$dir/sweep-$sample.log"
    wall[$sample]=$(cat "$out.wall")
    echo "sweep sample=$sample: ${wall[$sample]} s (timed by an earlier run, merged again)" >&2
    continue
  fi
  rm -rf "$out" "$out.wall"
  t0=$(now)
  "$sim" sweep "$trace" "${fixed[@]}" "${extra[@]}" "${grid[@]}" --jobs "$jobs" --out "$out" \
    2>"$dir/sweep-$sample.log"
  wall[$sample]=$(elapsed "$t0" "$(now)")
  echo "${wall[$sample]}" >"$out.wall"
  echo "sweep sample=$sample: ${wall[$sample]} s" >&2
done

python3 - "$dir" "$single" "${wall[1]}" "${wall[0.1]}" "${wall[0.01]}" "$jobs" <<'PY'
import json, sys
d, single, full, s1, s01, jobs = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6])
def rows(name):
    return {r["id"]: r for r in json.load(open(f"{d}/sweep-{name}/sweep.json"))["rows"]}
ref = rows("1")
print(f"one full replay alone (reference): {single:.1f} s")
print(f"full sweep, 24 cells, {jobs} jobs: {full:.1f} s = {full / single:.1f} x one replay "
      f"(ideal {24 / jobs:.1f} x)")
for name, wall in (("0.1", s1), ("0.01", s01)):
    sampled = rows(name)
    print(f"sample={name} sweep: {wall:.1f} s = {wall / full:.3f} x the full sweep")
    # *_estimate: the sampled replay's own correction (SHARDS-adj) when the
    # row has it; compared with the full replay's figure.
    for field in ("hit_ratio", "hit_ratio_estimate", "byte_hit_ratio",
                  "byte_hit_ratio_estimate", "flash_hit_ratio"):
        if sampled[next(iter(ref))].get(field) is None:
            continue
        full_field = field.removesuffix("_estimate")
        errs = {i: abs(sampled[i][field] - ref[i][full_field]) * 100 for i in ref}
        worst = max(errs, key=errs.get)
        print(f"  {field}: mean |error| {sum(errs.values()) / len(errs):.2f} points, max "
              f"{errs[worst]:.2f} points ({worst}: full {ref[worst][full_field]:.4f}, "
              f"sampled {sampled[worst][field]:.4f}, {ref[worst]['flags']})")
evicting = sum(1 for r in ref.values() if r["ram_evictions"])
flash_evicting = sum(1 for r in ref.values() if r["flash_page_evictions"])
print(f"full sweep: {evicting}/24 cells evict from RAM, {flash_evicting}/24 evict flash pages; "
      f"hit ratio {min(r['hit_ratio'] for r in ref.values()):.4f} .. "
      f"{max(r['hit_ratio'] for r in ref.values()):.4f}")
PY
