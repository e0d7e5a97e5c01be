#!/bin/bash
# What makes memcached 1.6.18 evict from RAM in issue 14's write
# storm: `memext-sim validate` of bench/write_storm.json against a fresh
# memcached (issue 14's flags) started --idle seconds before the load (its
# background threads back off meanwhile), at one --speed, with N busy-loop processes
# competing for the CPUs (stand-ins for other load on the machine), then
# each memcached thread's CPU time and run-queue wait over the run
# (/proc/PID/task/TID/schedstat), the machine's busy share (/proc/stat) and
# the server's eviction counters. Never run by ctest.
#
# usage: bench/storm_threads.sh [--speed X|max] [--idle S] [--spinners N] [--build DIR] [--out DIR]
set -euo pipefail
SPEED=max
SPINNERS=0
IDLE=0.5
BUILD=build
OUT=/tmp/memext-storm-threads
while [ $# -gt 0 ]; do
  case $1 in
    --speed) SPEED=$2; shift 2 ;;
    --spinners) SPINNERS=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n 2,11p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "storm_threads.sh: unknown argument '$1' (allowed: --speed, --idle, --spinners, --build, --out, --help)" >&2; exit 2 ;;
  esac
done
case $SPINNERS in ''|*[!0-9]*) echo "storm_threads.sh: --spinners '$SPINNERS' is not a count" >&2; exit 2 ;; esac
SIM=$BUILD/sim/memext-sim
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
chmod 777 "$OUT"  # memcached runs as nobody and opens its ext_path here
USER_FLAG=(-u nobody)
[ "$(id -u)" = 0 ] || USER_FLAG=()
[ -f "$OUT/storm.mxt" ] || "$SIM" gen "$HERE/write_storm.json" --out "$OUT/storm.mxt" > /dev/null
TAG="speed$SPEED-idle$IDLE-spin$SPINNERS-$(date +%H%M%S)"

spinners=()
cleanup() {
  for p in "${spinners[@]}"; do kill "$p" 2> /dev/null || true; done
  [ -n "${server:-}" ] && kill "$server" 2> /dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 "$SPINNERS"); do
  sh -c 'while :; do :; done' &
  spinners+=($!)
done

rm -f "$OUT/ext.dat"
port=$((20000 + RANDOM % 20000))
/usr/bin/memcached "${USER_FLAG[@]}" -l 127.0.0.1 -p $port -t 2 -m 32 \
  -o "ext_page_size=8,ext_wbuf_size=2,ext_path=$OUT/ext.dat:256m,ext_item_size=64,ext_item_age=0" &
server=$!
sleep "$IDLE"
threads() {  # name run_ns wait_ns timeslices, one line per thread
  for t in /proc/$server/task/*; do echo "$(cat "$t/comm") $(cat "$t/schedstat")"; done
}
threads > "$OUT/$TAG.threads0"
head -1 /proc/stat > "$OUT/$TAG.stat0"
start=$(date +%s.%N)
"$SIM" validate "$OUT/storm.mxt" --server 127.0.0.1:$port --speed "$SPEED" \
  --out "$OUT/$TAG.json" --recorded "$OUT/$TAG.mxt" > "$OUT/$TAG.txt" 2>&1 || true
end=$(date +%s.%N)
head -1 /proc/stat > "$OUT/$TAG.stat1"
threads > "$OUT/$TAG.threads1"
python3 - "$port" > "$OUT/$TAG.stats" << 'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"stats items\r\nstats\r\nquit\r\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
sys.stdout.write(data.decode())
EOF

cat "$OUT/$TAG.txt"
echo "wall $(echo "$end - $start" | bc) s, idle before $IDLE s, spinners $SPINNERS, load average $(cut -d' ' -f1 /proc/loadavg)"
paste "$OUT/$TAG.stat0" "$OUT/$TAG.stat1" | awk '{b0 = $2+$3+$4+$7+$8; b1 = $13+$14+$15+$18+$19;
  printf "machine busy %.2f of its CPUs\n", (b1-b0) / ((b1+$16+$17) - (b0+$5+$6))}'
objects=$(awk '/^STAT extstore_objects_written /{print $3}' "$OUT/$TAG.stats" | tr -d '\r')
echo "thread          cpu_s  runqueue_wait_s  slices   (mc-ext-write: us of CPU and of run+wait per object written)"
paste "$OUT/$TAG.threads0" "$OUT/$TAG.threads1" | awk -v objects="$objects" '{
  run = ($6-$2)/1e9; wait = ($7-$3)/1e9; printf "%-14s %7.3f %16.3f %8d", $1, run, wait, $8-$4;
  if ($1 == "mc-ext-write" && objects > 0) printf "   %.2f / %.2f", run*1e6/objects, (run+wait)*1e6/objects;
  printf "\n" }'
grep -E "^STAT (evictions|slab_reassign_evictions_nomem|slabs_moved|extstore_objects_written|extstore_page_evictions|items:[0-9]+:evicted) " "$OUT/$TAG.stats" | tr -d '\r'
