#!/bin/bash
# memext-sim validate on generated workloads with flash traffic, RAM
# evictions, expiry and compaction, against memcached 1.6.18 and
# memext-server (each started fresh with the same flags), printing each
# comparison table. Usage: bench/validate_figures.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-/tmp/memext-validate-figures}
SIM=$BUILD/sim/memext-sim
SERVER=$BUILD/server/memext-server
mkdir -p "$OUT"
chmod 777 "$OUT"  # memcached runs as nobody and opens its ext_path here
USER_FLAG=(-u nobody)
[ "$(id -u)" = 0 ] || USER_FLAG=()

workload() {  # name json
  echo "$2" > "$OUT/$1.json"
  "$SIM" gen "$OUT/$1.json" --out "$OUT/$1.mxt" > /dev/null
}

# 1. Flash reads and RAM evictions: 60K keys (Zipf 0.9), half of them 100-400 B
#    (below ext_item_size: RAM only, evicted) and half 1-8 KB (to flash once
#    cold, ext_item_age=0) in 8 MB of RAM, 10K requests/s.
workload flash '{"requests": 150000, "keys": 60000, "zipf_alpha": 0.9, "key_size": 24,
  "value_size": {"dist": "buckets", "buckets": [{"min": 100, "max": 400, "weight": 1},
  {"min": 1000, "max": 8000, "weight": 1}]}, "ops": {"get": 0.8, "set": 0.2},
  "first_access": "set", "rate": 10000, "seed": 21}'
# 2. Compaction and page evictions: 20K keys of 4 KB overwritten at random
#    (half the requests are sets) through a 64 MB flash tier of 8 MB pages.
workload compact '{"requests": 150000, "keys": 20000, "zipf_alpha": 0.5, "key_size": 24,
  "value_size": 4000, "ops": {"get": 0.5, "set": 0.5}, "first_access": "set",
  "rate": 10000, "seed": 22}'
# 3. RAM only, expiry and evictions: small values with 2-6 s TTLs in 8 MB.
workload expiry '{"requests": 150000, "keys": 60000, "zipf_alpha": 0.8, "key_size": 24,
  "value_size": {"dist": "uniform", "min": 100, "max": 600},
  "ttl": [{"ttl": 2, "weight": 1}, {"ttl": 6, "weight": 1}, {"ttl": 0, "weight": 1}],
  "ops": {"get": 0.85, "set": 0.15}, "first_access": "set", "rate": 10000, "seed": 23}'

FLASH="-m 8 -o ext_page_size=8,ext_wbuf_size=2,ext_path=$OUT/ext.dat:256m,ext_item_age=0"
COMPACT="-m 16 -o ext_page_size=8,ext_wbuf_size=2,ext_path=$OUT/ext.dat:64m,ext_item_size=64,ext_item_age=0"
EXPIRY="-m 8"

run() {  # name server-binary flags
  local port=$((20000 + RANDOM % 20000))
  rm -f "$OUT/ext.dat"
  # shellcheck disable=SC2086
  "$2" "${USER_FLAG[@]}" -l 127.0.0.1 -p $port -t 2 $3 &
  local pid=$!
  sleep 0.5
  echo "== $1 on $(basename "$2") ($3)"
  "$SIM" validate "$OUT/$1.mxt" --server 127.0.0.1:$port --out "$OUT/$1-$(basename "$2").json" || true
  kill $pid
  wait $pid || true
}

for server in /usr/bin/memcached "$SERVER"; do
  run flash "$server" "$FLASH"
  run compact "$server" "$COMPACT"
  run expiry "$server" "$EXPIRY"
done
