"""TLS on memext-server as in memcached 1.6.18 (-Z, -o ssl_*, notls:
listeners, refresh_certs, the TLS stats), each exchange run on memext-server
and Debian's memcached (when installed) with the same flags, through Python's
ssl module. A throw-away CA, server and client certificate are made with
`openssl` for the test run."""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import unittest

import binary_client as b
from memext_harness import ServerProcess, free_port

BINARY = os.environ.get("MEMEXT_SERVER", "memext-server")
MEMCACHED = shutil.which("memcached")
BINARIES = [BINARY] + ([MEMCACHED] if MEMCACHED else [])

CERTS = None  # the temporary directory, made once for the module


def openssl(*args):
    subprocess.run(["openssl", *args], cwd=CERTS, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_cert(name, subject):
    """An EC key and a certificate for it signed by the test CA."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2")


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="memext-tls-")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
            "/CN=memext test CA")
    make_cert("server", "/CN=localhost")
    make_cert("client", "/CN=memext test client")


def tearDownModule():
    shutil.rmtree(CERTS, True)


def path(name):
    return os.path.join(CERTS, name)


def cert_options(extra=""):
    return "ssl_chain_cert=%s,ssl_key=%s%s" % (path("server.pem"), path("server.key"), extra)


def client_context(cert=False, max_version=None):
    ctx = ssl.create_default_context(cafile=path("ca.pem"))
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(path("client.pem"), path("client.key"))
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def tls_connect(port, ctx=None, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return (ctx or client_context()).wrap_socket(sock)


def read_reply(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_until(sock, marker):
    data = b""
    while not data.endswith(marker):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed with %r" % data[-200:])
        data += chunk
    return data


def refused(port, ctx, request=b"version\r\n"):
    """True when a TLS client gets no answer: its handshake fails, or (TLS 1.3
    checks the client's certificate after the client finished) the first read
    fails or meets the end of the connection."""
    try:
        with tls_connect(port, ctx) as s:
            s.sendall(request)
            return s.recv(1000) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def stats_of(sock, group=b""):
    sock.sendall(b"stats %s\r\n" % group if group else b"stats\r\n")
    out = {}
    for line in read_until(sock, b"END\r\n").decode().split("\r\n"):
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == "STAT":
            out[parts[1]] = parts[2]
    return out


class TlsPair(unittest.TestCase):
    """memext-server and memcached with TLS_OPTIONS, each with a TLS listener
    (server.port) and a plain one (server.plain_port, notls:)."""

    TLS_OPTIONS = ""
    EXTRA_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.servers = []
        for binary in BINARIES:
            plain_port = free_port()
            server = ServerProcess(["-Z", "-l", "notls:127.0.0.1:%d" % plain_port, "-o",
                                    cert_options(cls.TLS_OPTIONS), *cls.EXTRA_ARGS],
                                   binary=binary)
            server.plain_port = plain_port
            cls.servers.append(server)

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop_checked()

    def exchange(self, request, reply, ctx=None):
        """The same request on a TLS connection to each server; each must answer `reply`."""
        for server in self.servers:
            with self.subTest(server=server.binary), tls_connect(server.port, ctx) as s:
                s.sendall(request)
                self.assertEqual(read_reply(s, len(reply)), reply)


class TlsProtocols(TlsPair):
    """Text, meta and binary requests over TLS, pipelined, with large values."""

    TLS_OPTIONS = ",ssl_session_cache"

    def test_text_and_meta(self):
        self.exchange(b"set t1 5 0 3\r\nabc\r\nget t1 nokey\r\nappend t1 0 0 2\r\nde\r\n"
                      b"incr n 1\r\nadd n 0 0 1\r\n7\r\nincr n 5\r\ndelete t1 noreply\r\n"
                      b"gets t1\r\nms m1 2 T0 F9\r\nhi\r\nmg m1 v f k s\r\nmn\r\n"
                      b"refresh_certs x noreply\r\nversion\r\n",
                      b"STORED\r\nVALUE t1 5 3\r\nabc\r\nEND\r\nSTORED\r\nNOT_FOUND\r\n"
                      b"STORED\r\n12\r\nEND\r\nHD\r\nVA 2 f9 km1 s2\r\nhi\r\nMN\r\n"
                      b"VERSION 1.6.18\r\n")

    def test_pipelined_batch(self):
        sets = b"".join(b"set p%d 0 0 100\r\n%s\r\n" % (i, bytes([65 + i]) * 100)
                        for i in range(20))
        reply = b"".join(b"VALUE p%d 0 100\r\n%s\r\n" % (i, bytes([65 + i]) * 100)
                         for i in range(20))
        self.exchange(sets + b"get " + b" ".join(b"p%d" % i for i in range(20)) + b"\r\n",
                      b"STORED\r\n" * 20 + reply + b"END\r\n")

    def test_large_values_and_long_pipelines(self):
        """Several TLS records each way: 200 pipelined sets, a 300 KB multiget
        and a 100 KB value. memext-server only: memcached 1.6.18 stalls when
        more than its 16 KB read buffer of TLS input arrives at once (OpenSSL
        keeps the rest, and its event loop waits for the socket)."""
        big = bytes(range(256)) * 400
        sets = b"".join(b"set p%d 0 0 1500\r\n%s\r\n" % (i, bytes([65 + i % 26]) * 1500)
                        for i in range(200))
        keys = b" ".join(b"p%d" % i for i in range(200))
        reply = b"".join(b"VALUE p%d 0 1500\r\n%s\r\n" % (i, bytes([65 + i % 26]) * 1500)
                         for i in range(200))
        expected = (b"STORED\r\n" * 201 + reply + b"END\r\n" +
                    b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(big), big))
        with tls_connect(self.servers[0].port) as s:
            s.sendall(sets + b"set big 0 0 %d\r\n%s\r\nget %s\r\nget big\r\n" %
                      (len(big), big, keys))
            self.assertEqual(read_reply(s, len(expected)), expected)

    def test_binary(self):
        data = (b.request(b.SET, b"bk", b.storage_extras(3), b"value") +
                b.request(b.GETK, b"bk", opaque=7) + b.request(b.GETQ, b"missing") +
                b.request(b.INCR, b"bn", b.delta_extras(1, 40)) + b.request(b.VERSION) +
                b.sentinel())
        results = []
        for server in self.servers:
            with self.subTest(server=server.binary), tls_connect(server.port) as s:
                s.sendall(data)
                results.append(b.normalized(b.read_until_sentinel(s, bytearray(), False)))
        for other in results[1:]:
            self.assertEqual(results[0], other)
        getk = b.Response(results[0][1])
        self.assertEqual((getk.key, getk.value, getk.extras, getk.opaque),
                         (b"bk", b"value", struct.pack(">I", 3), 7))
        self.assertEqual(b.Response(results[0][2]).value, struct.pack(">Q", 40))
        self.assertEqual(b.Response(results[0][3]).value, b"1.6.18")

    def test_plain_client_on_tls_port_is_refused(self):
        for server in self.servers:
            with self.subTest(server=server.binary):
                with socket.create_connection(("127.0.0.1", server.plain_port), timeout=10) as s:
                    before = int(stats_of(s)["ssl_handshake_errors"])
                with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                    s.sendall(b"version\r\n")
                    try:
                        reply = s.recv(1000)
                    except ConnectionResetError:
                        reply = b""
                    self.assertEqual(reply, b"")
                # memcached 1.6.18 counts such a failure only sometimes
                # (not in one run of three here): memext-server always.
                if server.binary != BINARY:
                    continue
                with socket.create_connection(("127.0.0.1", server.plain_port), timeout=10) as s:
                    deadline = time.monotonic() + 10
                    while int(stats_of(s)["ssl_handshake_errors"]) <= before:
                        self.assertLess(time.monotonic(), deadline, "no handshake error counted")
                        time.sleep(0.05)

    def test_notls_listener_speaks_plain(self):
        for server in self.servers:
            with self.subTest(server=server.binary):
                with socket.create_connection(("127.0.0.1", server.plain_port), timeout=10) as s:
                    s.sendall(b"set nt 0 0 2\r\nok\r\nget nt\r\n")
                    self.assertEqual(read_reply(s, 27), b"STORED\r\nVALUE nt 0 2\r\nok\r\nEND\r\n")
                with socket.create_connection(("127.0.0.1", server.plain_port), timeout=10) as s:
                    with self.assertRaises((ssl.SSLError, ConnectionError, socket.timeout)):
                        client_context().wrap_socket(s)

    def test_stats_keys_match(self):
        """`stats` and `stats settings` have memcached's keys, the TLS lines'
        values too (one TLS 1.3 handshake makes two sessions in both)."""
        seen = []
        for server in self.servers:
            with socket.create_connection(("127.0.0.1", server.plain_port), timeout=10) as p:
                sessions = int(stats_of(p)["ssl_new_sessions"])
                with tls_connect(server.port) as s:
                    s.sendall(b"version\r\n")
                    read_reply(s, 16)
                    seen.append((stats_of(s), stats_of(s, b"settings")))
                self.assertEqual(int(seen[-1][0]["ssl_new_sessions"]) - sessions, 2)
        if len(seen) < 2:
            self.skipTest("memcached is not installed")
        (ours, our_settings), (theirs, their_settings) = seen
        self.assertEqual(sorted(ours), sorted(theirs))
        self.assertEqual(sorted(our_settings), sorted(their_settings))
        for key, value in their_settings.items():
            if key.startswith("ssl_"):
                self.assertEqual(our_settings[key], value, key)
        self.assertEqual(list(ours).index("ssl_new_sessions"),
                         list(theirs).index("ssl_new_sessions"))
        for s in (ours, theirs):
            refresh = int(s["time_since_server_cert_refresh"])
            self.assertLess(abs(refresh - (int(s["uptime"]) + 60)), 5, s)


class TlsRefresh(TlsPair):
    """refresh_certs reloads the files: OK, the refresh time reset, and
    memcached's error line when a file went missing."""

    def test_refresh_certs(self):
        self.exchange(b"refresh_certs\r\n", b"OK\r\n")
        for server in self.servers:
            with self.subTest(server=server.binary), tls_connect(server.port) as s:
                self.assertLess(int(stats_of(s)["time_since_server_cert_refresh"]), 5)
        key = path("server.key")
        os.rename(key, key + ".away")
        try:
            self.exchange(b"refresh_certs\r\n",
                          b"Error loading the key: %s : error:80000002:system library::"
                          b"No such file or directory\r\n" % key.encode())
        finally:
            os.rename(key + ".away", key)
        # The old context still serves.
        self.exchange(b"version\r\n", b"VERSION 1.6.18\r\n")

    def test_refresh_without_tls(self):
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess([], binary=binary)
                try:
                    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                        s.sendall(b"refresh_certs noreply\r\n")
                        self.assertEqual(read_reply(s, 23), b"Error TLS not enabled\r\n")
                finally:
                    self.assertEqual(server.stop(), 0)


class TlsClientCertificates(TlsPair):
    """ssl_verify_mode=2 (require) with ssl_ca_cert and ssl_min_version=3: a
    client without a certificate is refused, and a TLS 1.2 client with one;
    a TLS 1.3 client with a certificate from the CA is served."""

    TLS_OPTIONS = None  # set in setUpClass: the CA path exists only then

    @classmethod
    def setUpClass(cls):
        cls.TLS_OPTIONS = ",ssl_verify_mode=2,ssl_min_version=3,ssl_ca_cert=%s" % path("ca.pem")
        super().setUpClass()

    def test_require_client_certificate(self):
        for server in self.servers:
            with self.subTest(server=server.binary):
                self.assertTrue(refused(server.port, client_context()))
        self.exchange(b"version\r\n", b"VERSION 1.6.18\r\n", client_context(cert=True))

    def test_min_version(self):
        for server in self.servers:
            with self.subTest(server=server.binary):
                self.assertTrue(refused(server.port, client_context(
                    cert=True, max_version=ssl.TLSVersion.TLSv1_2)))
                with tls_connect(server.port, client_context(cert=True)) as s:
                    self.assertEqual(s.version(), "TLSv1.3")
                    settings = stats_of(s, b"settings")
                    # memcached prints OpenSSL's flags: PEER|FAIL_IF_NO_PEER_CERT.
                    self.assertEqual((settings["ssl_min_version"], settings["ssl_verify_mode"]),
                                     ("tlsv1.3", "3"))


class TlsFlash(unittest.TestCase):
    """Values on flash come back over TLS, by text and binary gets, pipelined."""

    SIZE = 3000
    COUNT = 4000

    def value(self, i):
        return (b"%06d" % i) * (self.SIZE // 6)

    def test_flash_gets_over_tls(self):
        tmp = tempfile.mkdtemp(prefix="memext-tlsext-")
        self.addCleanup(shutil.rmtree, tmp, True)
        plain = free_port()
        server = ServerProcess(["-m", "8", "-Z", "-l", "notls:127.0.0.1:%d" % plain, "-o",
                                cert_options(",ext_path=%s/flash:256m,ext_item_age=0,"
                                             "ext_item_size=512" % tmp)])
        self.addCleanup(server.stop)
        with tls_connect(server.port, timeout=60) as s:
            s.sendall(b"".join(b"set f%d %d 0 %d noreply\r\n%s\r\n" %
                               (i, i, self.SIZE, self.value(i)) for i in range(self.COUNT)) +
                      b"mn\r\n")
            self.assertEqual(read_reply(s, 4), b"MN\r\n")
        keys = [b"f%d" % i for i in range(0, self.COUNT, 9)]
        deadline = time.monotonic() + 60
        with socket.create_connection(("127.0.0.1", plain), timeout=30) as s:
            while True:
                s.sendall(b"".join(b"me %s\r\n" % k for k in keys))
                data = b""
                while data.count(b"\r\n") < len(keys):
                    data += s.recv(65536)
                flash = [k for k, line in zip(keys, data.split(b"\r\n")) if b" cls=1 " in line]
                if len(flash) >= 5 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        self.assertGreaterEqual(len(flash), 5, "too few keys on flash")
        chosen = flash[:5]
        with tls_connect(server.port, timeout=60) as s:
            before = int(stats_of(s)["get_extstore"])
            request = b"".join(b"get %s\r\nmg %s v\r\n" % (k, k) for k in chosen)
            request += b"get " + b" ".join(chosen) + b"\r\n"
            reply = b""
            for k in chosen:
                v = self.value(int(k[1:]))
                reply += b"VALUE %s %d %d\r\n%s\r\nEND\r\n" % (k, int(k[1:]), len(v), v)
                reply += b"VA %d\r\n%s\r\n" % (len(v), v)
            reply += b"".join(b"VALUE %s %d %d\r\n%s\r\n" % (k, int(k[1:]), self.SIZE,
                                                             self.value(int(k[1:])))
                              for k in chosen) + b"END\r\n"
            s.sendall(request)
            self.assertEqual(read_reply(s, len(reply)), reply)
        # A connection speaks the binary protocol from its first byte on.
        with tls_connect(server.port, timeout=60) as s:
            data = b"".join(b.request(b.GETK, k) for k in chosen) + b.sentinel()
            s.sendall(data)
            out = b.read_until_sentinel(s, bytearray(), False)
            self.assertEqual([(r.key, r.value) for r in out],
                             [(k, self.value(int(k[1:]))) for k in chosen])
        with tls_connect(server.port, timeout=60) as s:
            self.assertGreater(int(stats_of(s)["get_extstore"]), before)
        self.assertEqual(server.stop(), 0)
        self.assertEqual(server.sanitizer_report(), "")


class TlsStartupErrors(unittest.TestCase):
    """Bad TLS settings stop both servers with memcached's message and exit
    status."""

    def run_server(self, binary, *args):
        cmd = [binary, "-p", str(free_port()), "-U", "0", "-l", "127.0.0.1", *args]
        if os.geteuid() == 0:
            cmd[1:1] = ["-u", "root"]
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        return proc.returncode, proc.stderr.decode(errors="replace")

    def expect(self, args, status, message):
        for binary in BINARIES:
            with self.subTest(server=binary, args=args):
                rc, err = self.run_server(binary, *args)
                self.assertEqual(rc, status, err)
                self.assertIn(message, err)

    def test_bad_min_version(self):
        tls = ["-Z", "-o"]
        self.expect(tls + [cert_options(",ssl_min_version=tlsv1.3")], 1,
                    "could not parse argument to ssl_min_version")
        self.expect(tls + [cert_options(",ssl_min_version=4")], 1,
                    "Invalid ssl_min_version. Use help to see valid options.")
        self.expect(tls + [cert_options(",ssl_min_version")], 1,
                    "Missing ssl_min_version argument")
        self.expect(tls + [cert_options(",ssl_verify_mode=-1")], 1,
                    "Invalid ssl_verify_mode. Use help to see valid options.")

    def test_missing_files(self):
        missing = path("missing.pem")
        self.expect(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (missing, path("server.key"))],
                    64, "Error loading the certificate chain: %s : error:80000002:system library::"
                    "No such file or directory" % missing)
        self.expect(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (path("server.pem"), missing)],
                    64, "Error loading the key: %s : error:80000002:system library::"
                    "No such file or directory" % missing)
        self.expect(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (path("server.pem"),
                                                                   path("client.key"))],
                    64, "Error loading the key: %s : error:05800074:x509 certificate routines::"
                    "key values mismatch" % path("client.key"))
        self.expect(["-Z", "-o", cert_options(",ssl_ca_cert=%s" % missing)], 64,
                    "Error loading the CA certificate: %s : error:80000002:system library::"
                    "No such file or directory" % missing)
        self.expect(["-Z", "-o", cert_options(",ssl_ciphers=BOGUS")], 64,
                    "Error setting the provided cipher(s): BOGUS")

    def test_notls_needs_tls(self):
        self.expect(["-l", "notls:127.0.0.1:%d" % free_port()], 71,
                    "'notls' option is valid only when SSL is enabled")


if __name__ == "__main__":
    unittest.main()
