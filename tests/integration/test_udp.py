"""memcached 1.6.18's UDP service (-U), byte for byte: the 8-byte frame
header, one message per response object (a multiget's first key sent even
when it missed, later empty ones reused), multi-datagram replies of at most
1400 bytes, dropped multi-datagram requests, binary over UDP, the -p / -U
port rules, UDP refused with extstore, and the connection and byte
counters. Every
exchange runs on memext-server and on Debian's memcached 1.6.18 and the
datagrams must be the same."""

import os
import shutil
import re
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import binary_client as b
from memext_harness import ServerProcess, free_port, free_udp_port

FRAME = struct.Struct(">HHHH")
END_TEXT = b"mn\r\n"


def memcached():
    return shutil.which("memcached")


class UdpClient:
    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(30)

    def close(self):
        self.sock.close()

    def send(self, rid, payload, seq=0, total=1, reserved=0):
        self.sock.sendto(FRAME.pack(rid, seq, total, reserved) + payload,
                         ("127.0.0.1", self.port))

    def request(self, rid, payload, binary=False):
        """Sends payload with a last command whose reply ends the exchange
        (mn, or a binary noop) and returns the datagrams before that reply as
        (request id, seq, count, reserved, payload) tuples."""
        end = b.sentinel() if binary else END_TEXT
        self.send(rid, payload + end)
        out = []
        while True:
            data = self.sock.recv(70000)
            header = FRAME.unpack(data[:8])
            if header[0] != rid:
                continue
            body = data[8:]
            if header[1:3] == (0, 1) and (body == b"MN\r\n" or (
                    binary and body[:2] == b"\x81\x0a" and
                    struct.unpack(">I", body[12:16])[0] == b.SENTINEL)):
                return out
            out.append(header + (body,))


def start_raw(binary, args):
    """A server started with exactly args (no -p or -U of the harness's),
    ready once it answers a UDP version."""
    cmd = [binary, "-l", "127.0.0.1", "-t", "2"] + (["-u", "root"] if os.geteuid() == 0 else [])
    proc = subprocess.Popen(cmd + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc


def wait_for_udp(port, proc):
    deadline = time.monotonic() + 30
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("server exited: %r" % proc.stderr.read())
            s.sendto(FRAME.pack(1, 0, 1, 0) + b"version\r\n", ("127.0.0.1", port))
            try:
                return s.recv(1000)
            except socket.timeout:
                continue
    raise RuntimeError("no UDP answer on port %d" % port)


def listening_sockets(pid):
    """{("tcp", port), ("udp", port)} of the process's listening TCP and
    bound UDP sockets, from /proc."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for kind, files, state in (("tcp", ("tcp", "tcp6"), "0A"), ("udp", ("udp", "udp6"), "07")):
        for name in files:
            try:
                with open("/proc/%d/net/%s" % (pid, name)) as f:
                    rows = f.read().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                cols = row.split()
                if cols[9] in inodes and cols[3] == state:
                    found.add((kind, int(cols[1].split(":")[1], 16)))
    return found


def stop(proc):
    """Stops the server; its exit status (a sanitizer build's leak check
    makes it non-zero)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    report = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        print(report)
    return proc.returncode


class UdpExchanges(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.servers = [ServerProcess(binary=None, udp_port=free_udp_port())]
        if memcached():
            cls.servers.append(ServerProcess(binary=memcached(), udp_port=free_udp_port()))

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop_checked()

    def run_both(self, requests, binary=False):
        """requests: (id, payload); returns memext-server's datagrams after
        checking every server sent the same."""
        results = []
        for server in self.servers:
            client = UdpClient(server.udp_port)
            try:
                results.append([client.request(rid, payload, binary) for rid, payload in requests])
            finally:
                client.close()
        for server, other in zip(self.servers[1:], results[1:]):
            self.assertEqual(results[0], other, "memext-server and %s differ" % server.binary)
        return results[0]

    def test_text_and_meta(self):
        out = self.run_both([
            (1, b"set k 0 0 5\r\nhello\r\n"),
            (2, b"get k\r\n"),
            (3, b"get a b k c k\r\n"),
            (4, b"get a b\r\n"),
            (5, b"set q 0 0 1 noreply\r\nx\r\nmg q v\r\nmg nope v q\r\nmd q q\r\nmg q v\r\n"),
            (6, b"incr n 1\r\nset n 0 0 1\r\n5\r\nincr n 3\r\ntouch n 100\r\ndelete n\r\n"),
            (7, b"version\r\nbogus\r\n"),
        ])
        self.assertEqual(out[1], [(2, 0, 1, 0, b"VALUE k 0 5\r\nhello\r\nEND\r\n")])
        # The first key's response object goes out even though it missed.
        self.assertEqual(out[2], [(3, 0, 0, 0, b""), (3, 0, 1, 0, b"VALUE k 0 5\r\nhello\r\n"),
                                  (3, 0, 1, 0, b"VALUE k 0 5\r\nhello\r\nEND\r\n")])
        self.assertEqual(out[3], [(4, 0, 0, 0, b""), (4, 0, 1, 0, b"END\r\n")])
        self.assertEqual([d[4] for d in out[4]], [b"VA 1\r\nx\r\n", b"EN\r\n"])
        self.assertEqual([d[4] for d in out[5]], [b"NOT_FOUND\r\n", b"STORED\r\n", b"8\r\n",
                                                   b"TOUCHED\r\n", b"DELETED\r\n"])

    def test_large_replies_span_datagrams(self):
        # 1392 payload bytes fill a datagram exactly; one more needs two.
        fits = 1392 - len(b"VALUE x1 0 1368\r\n") - 2 - 5
        self.assertEqual(fits, 1368)
        out = self.run_both([
            (10, b"set big 0 0 5000\r\n" + b"y" * 5000 + b"\r\nset k 0 0 5\r\nhello\r\n"),
            (11, b"get big k big\r\n"),
            (12, b"set x1 0 0 %d\r\n%s\r\nset x2 0 0 %d\r\n%s\r\n" %
             (fits, b"a" * fits, fits + 1, b"b" * (fits + 1))),
            (13, b"get x1\r\nget x2\r\n"),
        ])
        big = out[1]
        self.assertEqual([d[:4] for d in big],
                         [(11, 0, 4, 0), (11, 1, 4, 0), (11, 2, 4, 0), (11, 3, 4, 0),
                          (11, 0, 1, 0), (11, 0, 4, 0), (11, 1, 4, 0), (11, 2, 4, 0),
                          (11, 3, 4, 0)])
        self.assertTrue(all(len(d[4]) == 1392 for d in big[:3]))
        self.assertEqual(b"".join(d[4] for d in big[:4]),
                         b"VALUE big 0 5000\r\n" + b"y" * 5000 + b"\r\n")
        self.assertEqual([d[:3] for d in out[3]], [(13, 0, 1), (13, 0, 2), (13, 1, 2)])
        self.assertEqual(len(out[3][0][4]), 1392)

    def test_binary_over_udp(self):
        x = b.storage_extras()
        out = self.run_both([
            (20, b.request(b.SET, b"bu", x, b"bin") + b.request(b.GETQ, b"bu-none") +
             b.request(b.GETK, b"bu", opaque=4) + b.request(b.VERSION)),
        ], binary=True)
        answers = [b.Response(d[4]) for d in out[0]]
        self.assertEqual([(r.opcode, r.status) for r in answers],
                         [(b.SET, 0), (b.GETK, 0), (b.VERSION, 0)])
        self.assertEqual((answers[1].key, answers[1].value, answers[1].opaque), (b"bu", b"bin", 4))

    def test_frames_memcached_drops_or_ignores(self):
        for server in self.servers:
            client = UdpClient(server.udp_port)
            try:
                with self.subTest(server=server.binary):
                    client.send(30, b"get k\r\n", total=2)     # spans two datagrams: dropped
                    client.sock.sendto(b"\x00\x1f\x00", ("127.0.0.1", server.udp_port))  # short
                    # Sequence number and reserved field of a request do not matter.
                    client.send(32, b"version\r\n" + END_TEXT, seq=3, reserved=5)
                    data = client.sock.recv(70000)
                    self.assertEqual(data, FRAME.pack(32, 0, 1, 0) + b"VERSION 1.6.18\r\n")
            finally:
                client.close()

    def test_udp_connections_and_bytes_counted(self):
        for server in self.servers:
            with self.subTest(server=server.binary), \
                    socket.create_connection(("127.0.0.1", server.port), timeout=30) as tcp:
                def stats():
                    tcp.sendall(b"stats\r\n")
                    data = b""
                    while not data.endswith(b"END\r\n"):
                        data += tcp.recv(65536)
                    return data, {line.split()[1]: int(line.split()[2])
                                  for line in data.decode().split("\r\n")
                                  if line.startswith("STAT ") and line.split()[2].isdigit()}
                first, before = stats()
                client = UdpClient(server.udp_port)
                try:
                    replies = client.request(40, b"get never-set\r\n")
                finally:
                    client.close()
                sent = 8 + len(b"get never-set\r\n" + END_TEXT)
                answered = sum(8 + len(d[4]) for d in replies) + 8 + len(b"MN\r\n")
                # memcached adds a UDP reply's bytes after sending it, so on a
                # loaded machine a stats read can come first: read again
                # (each read's own request and reply count too) until the
                # reply's bytes are in, or give up.
                stats_replies = [first]
                for _ in range(20):
                    reply, after = stats()
                    expected_read = len(b"stats\r\n") * len(stats_replies) + sent
                    expected_written = sum(map(len, stats_replies)) + answered
                    if after["bytes_written"] - before["bytes_written"] >= expected_written:
                        break
                    stats_replies.append(reply)
                    time.sleep(0.05)
                # One UDP connection per worker thread (-t 2) besides this one.
                self.assertEqual(after["curr_connections"], 3)
                self.assertEqual(after["bytes_read"] - before["bytes_read"], expected_read)
                self.assertEqual(after["bytes_written"] - before["bytes_written"],
                                 expected_written)


    def test_udp_connections_in_stats_conns(self):
        # One entry per worker thread (-t 2) beside the TCP listener, with
        # memcached's "UDP" line; descriptors differ between the servers.
        seen = []
        for server in self.servers:
            with self.subTest(server=server.binary), \
                    socket.create_connection(("127.0.0.1", server.port), timeout=30) as tcp:
                tcp.sendall(b"stats conns\r\n")
                data = b""
                while not data.endswith(b"END\r\n"):
                    data += tcp.recv(65536)
                entries = {}
                for l in data.decode().split("\r\n")[:-2]:
                    fd, rest = re.match(r"^STAT (\d+):(.*)$", l).groups()
                    rest = re.sub(r"secs_since_last_cmd \d+$", "secs_since_last_cmd S",
                                  rest.replace(":%d" % server.udp_port, ":UDPPORT")
                                  .replace(":%d" % server.port, ":TCPPORT"))
                    entries.setdefault(fd, []).append(rest)
                # Descriptor numbers (and so the order) differ between them.
                mine = sorted(e for e in entries.values() if "listen_addr" not in e[1])
                self.assertEqual(mine, [
                    ["UDP UDP", "addr udp:127.0.0.1:UDPPORT", "state conn_read",
                     "secs_since_last_cmd S"]] * 2 + [
                    ["addr tcp:127.0.0.1:TCPPORT", "state conn_listening",
                     "secs_since_last_cmd S"]])
                seen.append(mine)
        for other in seen[1:]:
            self.assertEqual(other, seen[0])


class PortRules(unittest.TestCase):
    """-p 0 turns TCP off, -U alone moves the TCP port too, stats settings
    show both."""

    def binaries(self):
        return [os.environ.get("MEMEXT_SERVER", "memext-server")] + (
            [memcached()] if memcached() else [])

    def test_p0_has_no_tcp_and_minus_one_takes_any_port(self):
        for binary in self.binaries():
            udp = free_udp_port()
            proc = start_raw(binary, ["-p", "0", "-U", str(udp)])
            try:
                with self.subTest(binary=binary, args="-p 0"):
                    self.assertEqual(wait_for_udp(udp, proc),
                                     FRAME.pack(1, 0, 1, 0) + b"VERSION 1.6.18\r\n")
                    self.assertEqual(listening_sockets(proc.pid), {("udp", udp)})
            finally:
                self.assertEqual(stop(proc), 0)
            proc = start_raw(binary, ["-p", "-1", "-U", "-1"])
            try:
                with self.subTest(binary=binary, args="-p -1 -U -1"):
                    deadline = time.monotonic() + 30
                    while len(listening_sockets(proc.pid)) < 2 and time.monotonic() < deadline:
                        time.sleep(0.05)
                    found = listening_sockets(proc.pid)
                    self.assertEqual(sorted(kind for kind, _ in found), ["tcp", "udp"])
                    tcp = [port for kind, port in found if kind == "tcp"][0]
                    with socket.create_connection(("127.0.0.1", tcp), timeout=30) as s:
                        s.sendall(b"stats settings\r\n")
                        data = b""
                        while not data.endswith(b"END\r\n"):
                            data += s.recv(65536)
                    self.assertIn(b"STAT tcpport -1\r\nSTAT udpport -1\r\n", data)
            finally:
                self.assertEqual(stop(proc), 0)

    def test_udp_port_alone_moves_tcp(self):
        for binary in self.binaries():
            # A port free for both protocols.
            port = free_port()
            proc = start_raw(binary, ["-U", str(port)])
            try:
                with self.subTest(binary=binary):
                    wait_for_udp(port, proc)
                    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                        s.sendall(b"stats settings\r\n")
                        data = b""
                        while not data.endswith(b"END\r\n"):
                            data += s.recv(65536)
                    self.assertIn(b"STAT tcpport %d\r\nSTAT udpport %d\r\n" % (port, port), data)
            finally:
                self.assertEqual(stop(proc), 0)

    def test_bad_port_is_refused(self):
        binary = os.environ.get("MEMEXT_SERVER", "memext-server")
        r = subprocess.run([binary, "-U", "70000"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("-U: invalid value '70000'", r.stderr)


class UdpWithExtstore(unittest.TestCase):
    """memcached 1.6.18 refuses UDP together with extstore."""

    def test_refused(self):
        for binary in PortRules.binaries(self):
            with tempfile.TemporaryDirectory() as tmp:
                r = subprocess.run([binary, "-U", "-1", "-o",
                                    "ext_path=%s/flash:64m" % tmp] +
                                   (["-u", "root"] if os.geteuid() == 0 else []),
                                   capture_output=True, text=True, timeout=60)
            with self.subTest(binary=binary):
                self.assertEqual(r.returncode, 64)
                self.assertIn("Cannot use UDP with extstore enabled (-U 0 to disable)", r.stderr)


if __name__ == "__main__":
    unittest.main()
