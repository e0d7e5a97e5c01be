#!/usr/bin/env bash
# System calls per request of memext-server and of memcached 1.6.18 under the
# same memcaslap load (100-byte values that stay in RAM, 90 % gets), counted
# with perf's syscall tracepoints on the server process. Counts, unlike
# throughput, do not depend on what else the machine is doing, so this is the
# figure to watch for a change to the receive path (issue 10's leak fix added
# a one-byte probe to every receive; session 3's ReceiveOp removed a failed
# recv per request).
#
# Usage: bench/syscalls_per_request.sh [path/to/memext-server]
# Env:   SECONDS_PER_RUN (8) CONCURRENCY (32) THREADS (2)
set -euo pipefail

MEMEXT=${1:-$(dirname "$0")/../build/server/memext-server}
SECS=${SECONDS_PER_RUN:-8}
CONC=${CONCURRENCY:-32}
THREADS=${THREADS:-2}
EVENTS=recvmmsg,recvfrom,read,sendmsg,sendto,write,epoll_wait
USER_FLAG=()
[[ $(id -u) == 0 ]] && USER_FLAG=(-u root)
for tool in memcached memcaslap perf; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
perf stat -e syscalls:sys_enter_recvmmsg true >/dev/null 2>&1 ||
  { echo "perf cannot count syscall tracepoints here" >&2; exit 2; }
WORKDIR=$(mktemp -d /tmp/syscalls-bench.XXXXXX)
trap 'rm -rf "$WORKDIR"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run NAME BINARY: prints "NAME requests syscall=per-request ..."
run() {
  local name=$1 binary=$2 port
  port=$(free_port)
  "$binary" "${USER_FLAG[@]}" -p "$port" -l 127.0.0.1 -U 0 -m 64 -t "$THREADS" -c 4096 &
  local pid=$!
  sleep 1
  printf 'key\n32 32 1\nvalue\n100 100 1\ncmd\n0 0.1\n1 0.9\n' >"$WORKDIR/cfg"
  perf stat -x, -o "$WORKDIR/perf.$name" \
    $(for e in ${EVENTS//,/ }; do printf -- '-e syscalls:sys_enter_%s ' "$e"; done) -p "$pid" &
  local perf_pid=$!
  memcaslap -s "127.0.0.1:$port" -c "$CONC" -T 2 -w 10k -t "${SECS}s" -F "$WORKDIR/cfg" \
    >"$WORKDIR/caslap.$name" 2>&1 || true
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  # Requests served, from the server's own counters (a fresh server).
  local ops
  ops=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"stats\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    data += s.recv(65536)
st = dict(l.split()[1:3] for l in data.decode().splitlines() if l.startswith("STAT "))
print(int(st["cmd_get"]) + int(st["cmd_set"]))
PY
)
  kill "$pid"; wait "$pid" || true
  printf '%-10s requests=%s' "$name" "$ops"
  awk -F, -v ops="$ops" '$3 ~ /sys_enter_/ { sub(/.*sys_enter_/, "", $3); if ($1 > 0) printf " %s=%.3f", $3, $1 / ops }' \
    "$WORKDIR/perf.$name"
  echo
}

run memext "$MEMEXT"
run memcached "$(command -v memcached)"
