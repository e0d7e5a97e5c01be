#!/usr/bin/env python3
"""Get latency under compaction, memext-server against memcached, same run.

For each server (same flags): one writer process overwrites KEYS keys of
VALUE bytes at random, flat out (noreply sets, pipelined), so the flash tier
fragments and compacts continuously; one reader process times every single
get (one request in flight) for SECONDS. Prints p50/p99/p99.9/max and the
gets served for each, then the memext/memcached ratios. Never run by ctest.

usage: bench/latency_client.py [--memext build/server/memext-server]
         [--memcached /usr/bin/memcached] [--seconds 20] [--keys 30000]
         [--value 4096] [--dir /tmp]
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
    s = connect(port)
    value = b"v" * value_len
    rng = random.Random(1)
    while not stop.is_set():
        batch = b"".join(b"set key:%d 0 0 %d noreply\r\n%s\r\n" % (rng.randrange(keys), value_len,
                                                                      value) for _ in range(64))
        s.sendall(batch)
    s.close()


def reader(port, keys, seconds, out):
    s = connect(port)
    rng = random.Random(2)
    lat = []
    end = time.monotonic() + seconds
    buf = b""
    while time.monotonic() < end:
        key = b"key:%d" % rng.randrange(keys)
        t0 = time.perf_counter()
        s.sendall(b"get " + key + b"\r\n")
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("server closed the connection")
            buf += chunk
        lat.append(time.perf_counter() - t0)
        buf = b""
    s.close()
    out.put(lat)


def run(binary, name, args):
    path = os.path.join(args.dir, "latency_client_%s_%d" % (name, os.getpid()))
    port = free_port()
    flags = [f.replace("{path}", path) for f in FLAGS]
    cmd = [binary, "-p", str(port), "-U", "0", "-l", "127.0.0.1"] + flags
    if os.geteuid() == 0:
        cmd += ["-u", "root"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        connect(port).close()
        stop = mp.Event()
        out = mp.Queue()
        w = mp.Process(target=writer, args=(port, args.keys, args.value, stop))
        w.start()
        time.sleep(2)  # the tier fills and starts compacting
        r = mp.Process(target=reader, args=(port, args.keys, args.seconds, out))
        r.start()
        lat = out.get()
        r.join()
        stop.set()
        w.join()
        stats = {}
        s = connect(port)
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += s.recv(65536)
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "STAT":
                stats[parts[1]] = parts[2]
        s.close()
    finally:
        server.terminate()
        server.wait()
        if os.path.exists(path):
            os.remove(path)
    lat.sort()

    def at(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3

    res = {"p50": at(0.5), "p99": at(0.99), "p99.9": at(0.999), "max": lat[-1] * 1e3,
           "gets": len(lat)}
    print("%-9s get latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%d gets; "
          "evictions %s, extstore_compact_rescues %s, get_extstore %s)" %
          (name, res["p50"], res["p99"], res["p99.9"], res["max"], res["gets"],
           stats.get("evictions"), stats.get("extstore_compact_rescues"),
           stats.get("get_extstore")), flush=True)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--memext", default=os.path.join(root, "build/server/memext-server"))
    p.add_argument("--memcached", default="/usr/bin/memcached")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--keys", type=int, default=30000)
    p.add_argument("--value", type=int, default=4096)
    p.add_argument("--dir", default="/tmp")
    args = p.parse_args()
    for b in (args.memext, args.memcached):
        if not os.access(b, os.X_OK):
            sys.exit("not an executable: %s" % b)
    if args.seconds <= 0 or args.keys <= 0 or args.value <= 0:
        sys.exit("--seconds, --keys and --value must be positive")
    m = run(args.memext, "memext", args)
    c = run(args.memcached, "memcached", args)
    print("memext/memcached: p99 %.2fx  p99.9 %.2fx  max %.2fx  gets served %.2fx" %
          (m["p99"] / c["p99"], m["p99.9"] / c["p99.9"], m["max"] / c["max"],
           m["gets"] / c["gets"]))


if __name__ == "__main__":
    main()
