#!/bin/bash
# Issue 14's large-object compaction case: memext-sim validate of
# bench/largeobj_compact.json (values 10 KB - 900 KB, 2,000 requests/s, 60 s)
# against memcached 1.6.18 and memext-server, each started fresh with
# -m 16 -o ext_page_size=8,ext_wbuf_size=2,ext_path=F:64m,ext_item_size=64,
# ext_item_age=0,ext_low_ttl=120. Keeps each run's recorded trace so the
# prediction can be replayed again after an engine change.
# Measured (branch valfix, 01:00-01:20 UTC, five memcached 1.6.18 runs):
# live rescues 4,364-5,363 and 24.2K-25.2K objects written for the same
# workload; predicted with --flusher-pacing 1.6.18 (passed for memcached
# before 1.6.20) within -3% to +4% of each run's rescues in four runs (+32%
# in the run with the fewest live), with 1.6.20's pacing +7% to +15%.
# memext-server (1.6.20 pacing) rescued 5,001-5,582 and wrote ~25.5K.
# Usage: bench/largeobj_compact.sh [BUILD_DIR] [OUT_DIR] [SERVER...]
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-/tmp/memext-largeobj}
shift 2 || true
SERVERS=("$@")
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(/usr/bin/memcached "$BUILD/server/memext-server")
SIM=$BUILD/sim/memext-sim
DIR=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
chmod 777 "$OUT"  # memcached runs as nobody and opens its ext_path here
USER_FLAG=(-u nobody)
[ "$(id -u)" = 0 ] || USER_FLAG=()
"$SIM" gen "$DIR/largeobj_compact.json" --out "$OUT/largeobj.mxt" > /dev/null
FLAGS="-m 16 -o ext_page_size=8,ext_wbuf_size=2,ext_path=$OUT/ext.dat:64m,ext_item_size=64,ext_item_age=0,ext_low_ttl=120"
for server in "${SERVERS[@]}"; do
  name=$(basename "$server")
  port=$((20000 + RANDOM % 20000))
  rm -f "$OUT/ext.dat"
  # shellcheck disable=SC2086
  "$server" "${USER_FLAG[@]}" -l 127.0.0.1 -p $port -t 2 $FLAGS &
  pid=$!
  sleep 0.5
  # memcached before 1.6.20 paces its flusher as 1.6.18 (--flusher-pacing);
  # memext-server runs 1.6.20's pacing.
  PACING=()
  case "$("$server" -V 2>&1)" in
    *memext*) ;;
    *" 1.6.1"[0-9]*) PACING=(-- --flusher-pacing 1.6.18) ;;
  esac
  echo "== $name ($FLAGS) ${PACING[*]}"
  "$SIM" validate "$OUT/largeobj.mxt" --server 127.0.0.1:$port \
    --out "$OUT/validate-$name.json" --recorded "$OUT/recorded-$name.mxt" "${PACING[@]}" || true
  python3 - "$port" <<'PY' | grep -E 'extstore_(compact|objects_written|page_)' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"stats\r\n")
buf = b""
while not buf.endswith(b"END\r\n"):
    buf += s.recv(65536)
print(buf.decode(), end="")
PY
  kill $pid
  wait $pid || true
done
