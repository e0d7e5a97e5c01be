"""Starts memext-server (or memcached) on a free loopback port for one test
and stops it afterwards; raw-socket helpers for byte-exact checks.

The server binary comes from the MEMEXT_SERVER environment variable (ctest
sets it to the built target)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curr_connections(server):
    """The server's curr_connections less the asking connection itself."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    for line in data.decode().split("\r\n"):
        parts = line.split()
        if len(parts) == 3 and parts[1] == "curr_connections":
            return int(parts[2]) - 1
    raise AssertionError("no curr_connections in %r" % data)


def sanitizer_build(path):
    """True when the binary at `path` has clang's AddressSanitizer or
    ThreadSanitizer runtime linked in (False when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            image = f.read()
    except OSError:
        return False
    return b"__asan_init" in image or b"__tsan_init" in image


class ServerProcess:
    def __init__(self, args=(), binary=None, udp_port=0):
        self.binary = binary or os.environ.get("MEMEXT_SERVER", "memext-server")
        self.port = free_port()
        self.udp_port = udp_port
        cmd = [self.binary, "-p", str(self.port), "-l", "127.0.0.1", "-U", str(udp_port), "-t", "2"]
        if os.geteuid() == 0:
            cmd += ["-u", "root"]
        cmd += list(args)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early: " + self.stderr_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("server did not start listening")
                time.sleep(0.05)

    def stderr_text(self):
        if self.stderr.closed:
            return self.stderr_cache
        # pread: the server writes through the same open file, so moving its
        # offset (seek + read) would make the server's next line overwrite
        # the start of the file.
        fd = self.stderr.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def sanitizer_report(self):
        """The AddressSanitizer / UBSan / ThreadSanitizer report on the
        server's stderr, or "" (a sanitizer build reports there; neither UBSan
        nor ThreadSanitizer changes the exit status)."""
        text = self.stderr_text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "WARNING: ThreadSanitizer"):
            i = text.find(marker)
            if i >= 0:
                return text[max(0, text.rfind("\n", 0, i)):][:4000]
        return ""

    def sanitized(self):
        """True when the server runs under AddressSanitizer or
        ThreadSanitizer, whose allocators and shadow memory make RSS figures
        meaningless."""
        try:
            with open("/proc/%d/maps" % self.proc.pid) as f:
                maps = f.read()
                if "libasan" in maps or "libtsan" in maps:
                    return True
        except OSError:
            return False
        # clang links the sanitizer runtime into the binary itself.
        return sanitizer_build(self.binary)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.stderr.closed:
            self.stderr_cache = self.stderr_text()
            self.stderr.close()
            # Passed through, so a sanitizer build's findings show in the
            # test log whichever test started the server.
            report = self.sanitizer_report()
            if report:
                sys.stderr.write("\n%s (port %d): sanitizer report:\n%s\n" %
                                 (self.binary, self.port, report))
        return self.proc.returncode

    def stop_checked(self):
        """stop(), asserting a clean exit and no sanitizer report (a test
        class's teardown)."""
        rc = self.stop()
        assert rc == 0, "%s exit status %s: %s" % (self.binary, rc, self.stderr_text())
        report = self.sanitizer_report()
        assert not report, "sanitizer report on the server's stderr:\n" + report

    def connect(self, timeout=5.0):
        return Conn(self.port, timeout)


class Conn:
    """A raw socket with exact-reply helpers."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed with %r buffered" % self.buf)
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def expect(self, reply):
        """Reads len(reply) bytes and returns them (compare with ==); on a
        timeout returns what did arrive, so the comparison shows the diff."""
        try:
            return self.read_exact(len(reply))
        except (socket.timeout, ConnectionError):
            out, self.buf = self.buf, b""
            return out

    def read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed with %r buffered" % self.buf)
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def is_closed(self, wait=2.0):
        """True when the server closed the connection (EOF or reset)."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def nothing_pending(self, wait=0.3):
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
            self.buf += chunk
            return not chunk and not self.buf
        except socket.timeout:
            return not self.buf
        finally:
            self.sock.settimeout(5.0)

    def close(self):
        self.sock.close()


class ServerTestCase(unittest.TestCase):
    """One server per test class; SERVER_ARGS adds command-line flags."""

    SERVER_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(cls.SERVER_ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_checked()

    def setUp(self):
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()

    def conn(self):
        c = self.server.connect()
        self.conns.append(c)
        return c

    def roundtrip(self, request, reply):
        c = self.conn()
        c.send(request)
        self.assertEqual(c.expect(reply), reply)
        self.assertTrue(c.nothing_pending(), "unexpected extra bytes %r" % c.buf)
        return c


class BothServers(ServerTestCase):
    """Runs every exchange on memext-server and, when it is installed, on
    memcached 1.6.18 itself (same SERVER_ARGS), so each expectation is
    checked against both."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.servers = [cls.server]
        memcached = shutil.which("memcached")
        if memcached is not None:
            cls.servers.append(ServerProcess(cls.SERVER_ARGS, binary=memcached))

    @classmethod
    def tearDownClass(cls):
        for extra in cls.servers[1:]:
            extra.stop()
        super().tearDownClass()

    def exchange(self, request, reply):
        for server in self.servers:
            with self.subTest(server=server.binary):
                c = server.connect()
                self.conns.append(c)
                c.send(request)
                self.assertEqual(c.expect(reply), reply)
                self.assertTrue(c.nothing_pending(), "unexpected extra bytes %r" % c.buf)

    def each_conn(self):
        for server in self.servers:
            c = server.connect()
            self.conns.append(c)
            yield server, c
