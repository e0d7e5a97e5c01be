#!/usr/bin/env bash
# Replay throughput and memory per object of memext-sim on a 50M-request
# Zipf trace: RAM-only, then with a flash tier on the model SSD.
#
#   bench/sim_bench.sh [BUILD_DIR] [REQUESTS]
#
# BUILD_DIR defaults to ./build (must contain sim/memext-sim and
# bench/sim_bench); REQUESTS defaults to 50000000. The trace is generated
# once into $SIM_BENCH_DIR (default /tmp/memext-sim-bench) and reused.
# Targets: >= 5M req/s RAM-only, >= 2M req/s with flash (one core), < 100
# bytes of RSS per cached object beyond its key.
set -euo pipefail

build=${1:-build}
requests=${2:-50000000}
dir=${SIM_BENCH_DIR:-/tmp/memext-sim-bench}
keys=$((requests / 10))
mkdir -p "$dir"
trace="$dir/zipf-${requests}.mxt"

if [[ ! -s "$trace" ]]; then
  cat >"$dir/zipf-${requests}.json" <<JSON
{
  "name": "sim-bench-${requests}",
  "description": "sim_bench: Zipf 1.0 over ${keys} keys, 90% get / 10% set, set on first access",
  "requests": ${requests},
  "keys": ${keys},
  "zipf_alpha": 1.0,
  "key_size": {"dist": "uniform", "min": 10, "max": 40},
  "value_size": {"dist": "lognormal", "median": 400, "sigma": 1.0, "min": 16, "max": 100000},
  "ttl": [{"ttl": 0, "weight": 1}],
  "ops": {"get": 0.9, "set": 0.1},
  "first_access": "set",
  "rate": 1000000,
  "seed": 1
}
JSON
  "$build/sim/memext-sim" gen "$dir/zipf-${requests}.json" --out "$trace"
fi

echo "== RAM-only (-m 8192: every key fits, so curr_items = distinct keys)"
"$build/bench/sim_bench" "$trace" -m 8192
echo
echo "== flash tier (-m 256, 16 GB model nvme-gen4, values >= 64 B flash-eligible, flushed once COLD)"
"$build/bench/sim_bench" "$trace" -m 256 -o ext_path=/sim/flash:16g,ext_item_size=64,ext_item_age=0
