#!/bin/bash
# Flash-read latency of a one-second-resolution trace replayed with each
# --arrival mode: a 2M-request oracleGeneral trace at 10K requests/s
# (traces/workloads/oracle-arrival-2m.json) through -m 64 and a 2 GB
# nvme-gen4 model flash tier. Virtual-time figures: the machine's load does
# not change them.
#   bench/arrival_latency.sh [build/sim/memext-sim]
set -euo pipefail
SIM=${1:-build/sim/memext-sim}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$SIM" gen "$ROOT/traces/workloads/oracle-arrival-2m.json" --out "$DIR/t.mxt" >/dev/null
python3 - "$DIR/t.mxt" "$DIR/t.oracle" <<'PY'
import struct, sys
src = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    for off in range(32, len(src), 48):
        t, key, _, _, _, size = struct.unpack_from("<QQqqII", src, off)
        out.write(struct.pack("<IQIq", t // 10**9, key, size, -1))
PY
printf "%-8s %10s %10s %10s %10s %10s\n" arrival p50_us p90_us p99_us p999_us flash_hit
for a in burst uniform poisson; do
  "$SIM" replay "$DIR/t.oracle" --format oracle -m 64 -o ext_path=/sim/f:2g,ext_item_age=0 \
    --arrival "$a" --progress off --out "$DIR/$a.json" 2>/dev/null
  python3 - "$DIR/$a.json" "$a" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["latency"]["flash_hits"]
print("%-8s %10.1f %10.1f %10.1f %10.1f %10.4f" % (sys.argv[2], f["p50_ns"] / 1e3, f["p90_ns"] / 1e3,
      f["p99_ns"] / 1e3, f["p999_ns"] / 1e3, r["totals"]["flash_hit_ratio"]))
PY
done
