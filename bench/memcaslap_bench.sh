#!/usr/bin/env bash
# Throughput of memext-server against memcached 1.6.18 under memcaslap, both
# started with the same flags (-m, -t, ext_path size, ext_item_size,
# ext_item_age). Two workloads:
#   flash: 3000-byte values over a key window ~20x larger than -m, so most
#          gets are served from the extstore file;
#   ram:   100-byte values (below ext_item_size) in a window that fits -m.
# The two servers alternate, ROUNDS rounds of SECONDS each per workload, and
# the script prints each run's TPS, the means and memext/memcached.
#
# Page cache: memcached 1.6.18 reads extstore with buffered pread, memext with
# O_DIRECT. On a machine with more free RAM than the flash data set, the
# kernel's page cache would serve memcached's "flash" reads from memory. With
# CGROUP_MB set (default 128, as root, cgroup v1 or v2 memory controller) each
# server runs in a memory cgroup of that size — process memory plus page cache
# — so both servers' flash reads reach the device. With the defaults each
# server's RSS is ~85 MB and ~400 MB of objects sit on flash, so memcached
# keeps ~40 MB of page cache (plus the kernel's readahead, which memcaslap's
# orderly key walk rewards). CGROUP_MB=0 turns it off.
#
# SERVERS (default "memext memcached") picks the servers that alternate;
# "memext-record" is memext-server recording every request
# (-o record_path=WORKDIR/rec, its own request recorder), so
# SERVERS="memext memext-record" WORKLOADS=ram measures the recorder's cost.
# The summary prints each server's mean and its ratio to the first one.
#
# Usage: bench/memcaslap_bench.sh [path/to/memext-server]
# Env:   ROUNDS (3) SECONDS_PER_RUN (20) MEM_MB (64) THREADS (2) EXT_SIZE (2g)
#        CONCURRENCY (32) CLIENT_THREADS (2) WORKLOADS ("flash ram") WORKDIR (mktemp -d)
#        CGROUP_MB (128; 0 = no memory cgroup) SERVERS ("memext memcached")
set -euo pipefail

MEMEXT=${1:-$(dirname "$0")/../build/server/memext-server}
PROBE=$(dirname "$MEMEXT")/../bench/line_transfer_probe
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-20}
MEM_MB=${MEM_MB:-64}
THREADS=${THREADS:-2}
EXT_SIZE=${EXT_SIZE:-2g}
EXT_ITEM_SIZE=${EXT_ITEM_SIZE:-512}
EXT_ITEM_AGE=${EXT_ITEM_AGE:-0}
CONC=${CONCURRENCY:-32}
CLIENT_THREADS=${CLIENT_THREADS:-2}
WORKDIR=${WORKDIR:-$(mktemp -d /tmp/memcaslap-bench.XXXXXX)}
CGROUP_MB=${CGROUP_MB:-128}
USER_FLAG=()
[[ $(id -u) == 0 ]] && USER_FLAG=(-u root)

for tool in memcached memcaslap; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install memcached libmemcached-tools)" >&2; exit 2; }
done
[[ -x $MEMEXT ]] || { echo "memext-server not found at $MEMEXT" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A memory cgroup for the servers (see the header), or none.
CGROUP_DIR=
if [[ $CGROUP_MB != 0 ]]; then
  limit=$((CGROUP_MB * 1024 * 1024))
  if [[ -w /sys/fs/cgroup/memory ]]; then
    CGROUP_DIR=/sys/fs/cgroup/memory/memext-bench-$$
    mkdir "$CGROUP_DIR" && echo "$limit" >"$CGROUP_DIR/memory.limit_in_bytes"
  elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null && [[ -w /sys/fs/cgroup ]]; then
    CGROUP_DIR=/sys/fs/cgroup/memext-bench-$$
    mkdir "$CGROUP_DIR" && echo "$limit" >"$CGROUP_DIR/memory.max"
  else
    echo "no writable memory cgroup (run as root, or CGROUP_MB=0): refusing to compare" \
      "O_DIRECT reads with page-cache reads" >&2
    exit 2
  fi
fi

SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
cleanup() {
  stop_server
  rm -rf "$WORKDIR"
  [[ -n $CGROUP_DIR ]] && rmdir "$CGROUP_DIR" 2>/dev/null
  true
}
trap cleanup EXIT

# start_server NAME PORT FLASHFILE
start_server() {
  local bin=$1 port=$2 flash=$3 record=
  [[ $bin == memcached ]] && bin=$(command -v memcached) || bin=$MEMEXT
  [[ $1 == memext-record ]] && { rm -f "$WORKDIR"/rec.*; record=",record_path=$WORKDIR/rec"; }
  rm -f "$flash"
  sync
  echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
  local launch=()
  [[ -n $CGROUP_DIR ]] && launch=(bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP_DIR")
  "${launch[@]}" "$bin" "${USER_FLAG[@]}" -p "$port" -l 127.0.0.1 -U 0 -m "$MEM_MB" -t "$THREADS" -c 4096 \
    -o "ext_path=$flash:$EXT_SIZE,ext_item_size=$EXT_ITEM_SIZE,ext_item_age=$EXT_ITEM_AGE$record" \
    >"$WORKDIR/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    (echo version >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server $1 did not start:" >&2
  cat "$WORKDIR/server.log" >&2
  exit 1
}

write_config() {  # file value_size get_ratio
  cat >"$1" <<CFG
key
32 32 1
value
$2 $2 1
cmd
0 $(python3 -c "print(round(1-$3,2))")
1 $3
CFG
}

# workload: name value_size win_size get_ratio preload_keys
run_once() {
  local server=$1 workload=$2 value=$3 win=$4 port flash cfg out tps xfer
  port=$(free_port)
  flash=$WORKDIR/flash-$server
  cfg=$WORKDIR/$workload.cfg
  write_config "$cfg" "$value" 0.9
  start_server "$server" "$port" "$flash"
  # Fill the key window first (all sets) so the measured run reads real data.
  write_config "$WORKDIR/fill.cfg" "$value" 0.0
  memcaslap -s 127.0.0.1:"$port" -F "$WORKDIR/fill.cfg" -T "$CLIENT_THREADS" -c "$CONC" \
    -w "$win" -x $((CONC * ${win%k} * 1000)) >/dev/null 2>&1 || true
  sleep 2
  # This VM's cache-line transfer between its CPUs, just before the run
  # (bench/line_transfer_probe.cc): multi-threaded figures move with it.
  xfer=$("$PROBE" 2>/dev/null | cut -d= -f2 || true)
  out=$(memcaslap -s 127.0.0.1:"$port" -F "$cfg" -T "$CLIENT_THREADS" -c "$CONC" -w "$win" \
    -t "${SECS}s" 2>&1)
  tps=$(grep -Eo 'TPS: [0-9]+' <<<"$out" | tail -1 | awk '{print $2}')
  local hits
  hits=$(python3 - "$port" "$server" "$SERVER_PID" <<'PY'
import os, re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def ask(command):
    s.sendall(command)
    buf = b""
    while not buf.endswith(b"END\r\n"):
        buf += s.recv(65536)
    return dict(re.findall(r"STAT (\S+) (\S+)", buf.decode()))
st = ask(b"stats\r\n")
line = "get_hits=%s get_misses=%s get_extstore=%s" % (st.get("get_hits"), st.get("get_misses"),
                                                      st.get("get_extstore", 0))
# The server's CPU time per request (fill included): steadier than TPS on a
# loaded machine, where neighbours take the CPU the server would use.
with open("/proc/%s/stat" % sys.argv[3]) as f:
    fields = f.read().rsplit(")", 1)[1].split()
cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
requests = int(st.get("cmd_get", 0)) + int(st.get("cmd_set", 0))
line += " cpu_us_per_req=%.2f" % (1e6 * cpu_s / max(requests, 1))
if sys.argv[2] == "memext-record":
    rec = ask(b"record status\r\n")
    line += " recorded=%s dropped=%s" % (rec.get("requests_recorded"), rec.get("requests_dropped"))
print(line)
PY
)
  stop_server
  echo "$server $workload ${tps:-0} $hits line_transfer_ns=${xfer:-n/a}"
}

declare -A SUM
echo "# memcaslap ${SECS}s runs, -m $MEM_MB -t $THREADS ext_path=...:$EXT_SIZE" \
  "ext_item_size=$EXT_ITEM_SIZE ext_item_age=$EXT_ITEM_AGE, -c $CONC -T $CLIENT_THREADS, 90% get," \
  "memory cgroup ${CGROUP_MB} MB (0 = none)"
for workload in ${WORKLOADS:-flash ram}; do
  if [[ $workload == flash ]]; then value=3000; win=13k; else value=100; win=10k; fi
  for round in $(seq "$ROUNDS"); do
    for server in ${SERVERS:-memext memcached}; do
      line=$(run_once "$server" "$workload" "$value" "$win")
      echo "round $round: $line"
      read -r _ _ tps _ <<<"$line"
      SUM[$server-$workload]=$(( ${SUM[$server-$workload]:-0} + tps ))
    done
  done
done
echo "# mean TPS"
read -r -a names <<<"${SERVERS:-memext memcached}"
for workload in ${WORKLOADS:-flash ram}; do
  first=$(( ${SUM[${names[0]}-$workload]} / ROUNDS ))
  line=$(printf '%-6s' "$workload")
  for server in "${names[@]}"; do
    mean=$(( ${SUM[$server-$workload]} / ROUNDS ))
    ratio=$(python3 -c "print(f'{$mean/$first:.3f}' if $first else 'n/a')")
    line+=$(printf '  %s %8d (%s/%s %s)' "$server" "$mean" "$server" "${names[0]}" "$ratio")
  done
  echo "$line"
done
