#!/usr/bin/env python3
"""Write storm against a live server: evictions, misses and rescues.

One writer process overwrites KEYS keys of VALUE bytes at random, flat out
(pipelined noreply sets), while one reader times single gets, for SECONDS,
with the flags of issue 14 (-m 32 -t 2, 8 MB pages, 2 MB wbufs, 256 MB of
flash, ext_item_size=64, ext_item_age=0). Prints the counters the simulator
predicts (cmd_set, get_hits/get_misses, evictions, extstore_objects_written,
extstore_compact_rescues, ...) and the writer's achieved set rate, which a
generated trace for `memext-sim replay` takes as its rate. Never run by
ctest.

usage: bench/write_storm.py SERVER [--seconds 10] [--keys 30000] [--value 4096]
"""
import argparse
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import time

FLAGS = ["-m", "32", "-t", "2", "-o",
         "ext_page_size=8,ext_wbuf_size=2,ext_path={path}:256m,ext_item_size=64,ext_item_age=0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, deadline=10.0):
    end = time.monotonic() + deadline
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def writer(port, keys, value_len, stop):
    """Pipelined noreply sets of random keys, 64 a batch, until stop."""
    s = connect(port)
    value = b"v" * value_len
    rng = random.Random(1)
    while not stop.is_set():
        s.sendall(b"".join(b"set key:%d 0 0 %d noreply\r\n%s\r\n" %
                           (rng.randrange(keys), value_len, value) for _ in range(64)))
    s.close()


def reader(port, keys, seconds, out):
    """Single gets of random keys, one in flight, for `seconds`; puts the
    latencies on out."""
    s = connect(port)
    rng = random.Random(2)
    lat = []
    end = time.monotonic() + seconds
    buf = b""
    while time.monotonic() < end:
        t0 = time.perf_counter()
        s.sendall(b"get key:%d\r\n" % rng.randrange(keys))
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("server closed the connection")
            buf += chunk
        lat.append(time.perf_counter() - t0)
        buf = b""
    s.close()
    out.put(lat)

COUNTERS = ["cmd_set", "cmd_get", "get_hits", "get_misses", "get_extstore", "evictions",
            "extstore_objects_written", "extstore_compact_rescues", "extstore_compact_lost",
            "extstore_page_evictions", "extstore_pages_used", "miss_from_extstore",
            "evicted_unfetched"]


def watch_sysevents(port, stop, out):
    """Counts memcached's `watch sysevents` lines by type (compact_start,
    compact_read_end, compact_end, compact_abort, ...) and sums rescues."""
    s = connect(port)
    s.sendall(b"watch sysevents\r\n")
    s.settimeout(0.2)
    counts = {}
    buf = b""
    while not stop.is_set():
        try:
            chunk = s.recv(65536)
        except OSError:
            continue
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            for field in line.split():
                if field.startswith(b"type="):
                    t = field[5:].decode()
                    counts[t] = counts.get(t, 0) + 1
    s.close()
    out.put(counts)


def stats(port):
    s = connect(port)
    s.sendall(b"stats\r\n")
    data = b""
    while not data.endswith(b"END\r\n"):
        data += s.recv(65536)
    s.close()
    out = {}
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT":
            out[parts[1]] = parts[2]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("server")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--keys", type=int, default=30000)
    p.add_argument("--value", type=int, default=4096)
    p.add_argument("--dir", default="/tmp")
    a = p.parse_args()
    if not os.access(a.server, os.X_OK):
        sys.exit("not an executable: %s" % a.server)
    path = os.path.join(a.dir, "write_storm_%d" % os.getpid())
    port = free_port()
    cmd = [a.server, "-p", str(port), "-U", "0", "-l", "127.0.0.1"] + \
        [f.replace("{path}", path) for f in FLAGS]
    if os.geteuid() == 0:
        cmd += ["-u", "root"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        connect(port).close()
        stop = mp.Event()
        out = mp.Queue()
        w = mp.Process(target=writer, args=(port, a.keys, a.value, stop))
        r = mp.Process(target=reader, args=(port, a.keys, a.seconds, out))
        watch_out = mp.Queue()
        wa = mp.Process(target=watch_sysevents, args=(port, stop, watch_out))
        wa.start()
        t0 = time.monotonic()
        w.start()
        r.start()
        lat = out.get()
        r.join()
        stop.set()
        w.join()
        events = watch_out.get()
        wa.join()
        elapsed = time.monotonic() - t0
        st = stats(port)
    finally:
        server.terminate()
        server.wait()
        if os.path.exists(path):
            os.remove(path)
    gets = int(st.get("get_hits", 0)) + int(st.get("get_misses", 0))
    print("%s: %.1f s, %d gets by the reader" % (os.path.basename(a.server), elapsed, len(lat)))
    for name in COUNTERS:
        print("  %-28s %s" % (name, st.get(name, "-")))
    print("  sysevents: %s" % " ".join("%s=%d" % kv for kv in sorted(events.items())))
    print("  set rate %.0f/s, get rate %.0f/s, get miss ratio %.4f" %
          (int(st["cmd_set"]) / elapsed, gets / elapsed,
           int(st.get("get_misses", 0)) / max(1, gets)))


if __name__ == "__main__":
    main()
