#!/usr/bin/env python3
"""Memory per idle connection, and memory given back once they close:
memext-server against memcached 1.6.18, same flags, same client, one after
the other.

For each server: start it, read VmRSS (/proc/PID/status) as the baseline,
open N connections that each send one request and wait for its answer (so
every connection has read once, as a pooled client's would), read VmRSS,
close them all, wait until `curr_connections` is back to the baseline, give
the server a few seconds, and read VmRSS again.

usage: bench/conn_memory.py [--server build/server/memext-server]
                            [--memcached /usr/bin/memcached] [-n 10000]
                            [--request 'version'] [--settle 5]
Prints one line per server and the ratios memext/memcached.
"""

import argparse
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def stat(port, name):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("server closed during stats")
            data += chunk
    for line in data.decode().split("\r\n"):
        parts = line.split()
        if len(parts) == 3 and parts[1] == name:
            return int(parts[2])
    raise RuntimeError("no stat " + name)


def wait_connections(port, want, timeout=120):
    # The stats connection itself counts once.
    deadline = time.monotonic() + timeout
    while True:
        now = stat(port, "curr_connections")
        if now <= want + 1 or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def measure(binary, n, request, settle, extra):
    port = free_port()
    cmd = [binary, "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-t", "4", "-c", str(n + 100)]
    if os.geteuid() == 0:
        cmd += ["-u", "root"]
    cmd += extra
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("%s did not start" % binary)
                time.sleep(0.05)
        baseline_conns = wait_connections(port, 0)
        time.sleep(settle)
        base = rss_kb(proc.pid)
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            socks.append(s)
        # Each connection sends one request; all answers are awaited together.
        sel = selectors.DefaultSelector()
        line = request.encode() + b"\r\n"
        for s in socks:
            s.sendall(line)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        pending = len(socks)
        while pending:
            for key, _ in sel.select(timeout=30):
                key.fileobj.recv(65536)
                sel.unregister(key.fileobj)
                pending -= 1
        sel.close()
        open_conns = stat(port, "curr_connections")
        time.sleep(settle)
        loaded = rss_kb(proc.pid)
        for s in socks:
            s.close()
        left = wait_connections(port, baseline_conns - 1)
        time.sleep(settle)
        after = rss_kb(proc.pid)
        return {"base": base, "loaded": loaded, "after": after, "open": open_conns,
                "left": left}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default=os.path.join(here, "..", "build", "server", "memext-server"))
    p.add_argument("--memcached", default="/usr/bin/memcached")
    p.add_argument("-n", type=int, default=10000, help="connections (default 10000)")
    p.add_argument("--request", default="version", help="the one request each connection sends")
    p.add_argument("--settle", type=float, default=5.0,
                   help="seconds to wait before each RSS reading (default 5)")
    p.add_argument("--flags", default="-m 64", help="flags for both servers (default '-m 64')")
    args = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.n + 1000
    if soft < want:
        if hard < want:
            sys.exit("need %d file descriptors, the hard limit is %d" % (want, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    results = {}
    for name, binary in (("memcached", args.memcached), ("memext", args.server)):
        r = measure(binary, args.n, args.request, args.settle, args.flags.split())
        results[name] = r
        per_conn = (r["loaded"] - r["base"]) / args.n
        print("%-9s  %d conns (curr_connections %d, %d left after close)  RSS base %.1f MB, "
              "open %.1f MB (%.2f KB/conn), after close %.1f MB (retained %.1f MB)" %
              (name, args.n, r["open"], r["left"], r["base"] / 1024, r["loaded"] / 1024,
               per_conn, r["after"] / 1024, (r["after"] - r["base"]) / 1024))
    m, x = results["memcached"], results["memext"]
    mc_per = max((m["loaded"] - m["base"]) / args.n, 1e-9)
    mx_per = (x["loaded"] - x["base"]) / args.n
    print("ratio memext/memcached: KB per idle connection %.2f; retained after close %.1f MB vs "
          "%.1f MB" % (mx_per / mc_per, (x["after"] - x["base"]) / 1024,
                       (m["after"] - m["base"]) / 1024))


if __name__ == "__main__":
    main()
