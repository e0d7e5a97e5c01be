"""Authentication as memcached 1.6.18 does it, byte for byte: -S (SASL over
the binary protocol, a sasldb made with saslpasswd2 and a SASL_CONF_PATH
directory holding memcached.conf, which both servers read) and -Y (the ASCII
auth file). Every exchange runs on memext-server and on Debian's memcached
with the same flags and environment and the answers must be the same bytes;
the expected answers are also asserted on memext-server alone, so the test
means something where memcached is not installed. Startup errors (bad
files, flags that cannot go together) compare message and exit status."""

import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import binary_client as b
from memext_harness import BothServers, ServerProcess

SASLPASSWD2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"
MEMCACHED = shutil.which("memcached")
AUTH_FAILURE = b"Auth failure."


def make_sasl_setup(directory):
    """A sasldb with alice/secret (realm: this host, saslpasswd2's default
    and the servers') and memcached.conf naming it; returns the conf dir."""
    db = os.path.join(directory, "sasldb")
    subprocess.run([SASLPASSWD2, "-p", "-c", "-f", db, "-a", "memcached", "alice"],
                   input=b"secret", check=True, timeout=60)
    conf = os.path.join(directory, "conf")
    os.mkdir(conf)
    with open(os.path.join(conf, "memcached.conf"), "w") as f:
        f.write("mech_list: plain cram-md5\nsasldb_path: %s\n" % db)
    return conf


def plain(user, password):
    return b.request(b.SASL_AUTH, b"PLAIN", value=b"\0" + user + b"\0" + password, opaque=0x21)


def stats(port, group=b""):
    """A binary stat group as a dict, after authenticating."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        buf = bytearray()
        sock.sendall(plain(b"alice", b"secret") + b.request(b.STAT, group))
        assert b.read_response(sock, buf).status == 0
        out = {}
        while True:
            r = b.read_response(sock, buf)
            if not r.key:
                return out
            out[r.key.decode()] = r.value.decode()


@unittest.skipUnless(os.path.exists(SASLPASSWD2), "saslpasswd2 (sasl2-bin) not installed")
class Sasl(BothServers):
    SERVER_ARGS = ("-S",)

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        os.environ["SASL_CONF_PATH"] = make_sasl_setup(cls.tmp.name)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def run_both(self, data, expect_close=False):
        """The exchange on every server; they must agree (CAS renamed).
        Returns memext-server's responses."""
        return b.run_both(self, self.servers, data, expect_close)

    def statuses(self, responses):
        return [r if isinstance(r, str) else (r.opcode, r.status, r.value) for r in responses]

    def test_list_mechs_auth_then_commands(self):
        out = self.run_both(
            b.request(b.VERSION, opaque=1) + b.request(b.SASL_LIST_MECHS, opaque=2) +
            plain(b"alice", b"secret") +
            b.request(b.SET, b"k", b.storage_extras(7), b"v", opaque=3) +
            b.request(b.GETQ, b"missing") + b.request(b.GET, b"k", opaque=4))
        self.assertEqual(self.statuses(out), [
            (b.VERSION, 0, b"1.6.18"), (b.SASL_LIST_MECHS, 0, b"PLAIN CRAM-MD5"),
            (b.SASL_AUTH, 0, b"Authenticated"), (b.SET, 0, b""), (b.GET, 0, b"v")])
        self.assertEqual(out[2].opaque, 0x21)

    def test_commands_before_auth_are_refused_and_close(self):
        # Authentication is checked before the key length and the opcode.
        for request in (b.request(b.GET, b"k", opaque=5), b.request(b.NOOP),
                        b.request(b.STAT), b.request(b.QUIT), b.request(b.GETQ, b"k"),
                        b.request(b.GET, b"k" * 300), b.request(0x50, opaque=9)):
            with self.subTest(request=request[:2]):
                out = self.run_both(request, expect_close=True)
                self.assertEqual(self.statuses(out),
                                 [(request[1], 0x20, AUTH_FAILURE), "EOF"])

    def test_failures_keep_the_connection(self):
        out = self.run_both(
            plain(b"alice", b"wrong") + b.request(b.SASL_AUTH, b"FOO", value=b"x") +
            b.request(b.SASL_STEP, b"PLAIN", value=b"\0alice\0secret") +
            b.request(b.SASL_AUTH, b"PLAIN") +
            b.request(b.SASL_AUTH, b"M" * 33, value=b"data") +
            b.request(b.SASL_AUTH, b"PLAIN", value=b"\0alice\0" + b"s" * 600000) +
            plain(b"bob", b"secret") + b.request(b.VERSION))
        self.assertEqual(self.statuses(out), [
            (b.SASL_AUTH, 0x20, AUTH_FAILURE), (b.SASL_AUTH, 0x20, AUTH_FAILURE),
            (b.SASL_STEP, 0x20, AUTH_FAILURE), (b.SASL_AUTH, 0x21, b""),
            (b.SASL_AUTH, 0x04, b"Invalid arguments"), (b.SASL_AUTH, 0x82, b"Out of memory"),
            (b.SASL_AUTH, 0x20, AUTH_FAILURE), (b.VERSION, 0, b"1.6.18")])
        # Still unauthenticated.
        out = self.run_both(plain(b"alice", b"wrong") + b.request(b.GET, b"k"), True)
        self.assertEqual(self.statuses(out)[1:], [(b.GET, 0x20, AUTH_FAILURE), "EOF"])

    def test_malformed_sasl_requests_close(self):
        for request in (b.request(b.SASL_AUTH, b"", value=b"x"),
                        b.request(b.SASL_AUTH, b"PLAIN", extras=b"abcd"),
                        b.request(b.SASL_LIST_MECHS, b"x")):
            out = self.run_both(request, expect_close=True)
            self.assertEqual(self.statuses(out),
                             [(request[1], 0x04, b"Invalid arguments"), "EOF"])

    def test_sasl_commands_reset_authentication(self):
        # memcached makes the connection unauthenticated at every SASL
        # command, and libsasl refuses a second start on one connection.
        out = self.run_both(plain(b"alice", b"secret") + b.request(b.SASL_LIST_MECHS) +
                            b.request(b.GET, b"k"), expect_close=True)
        self.assertEqual(self.statuses(out)[2:], [(b.GET, 0x20, AUTH_FAILURE), "EOF"])
        out = self.run_both(plain(b"alice", b"secret") + plain(b"alice", b"secret") +
                            b.request(b.GET, b"k"), expect_close=True)
        self.assertEqual(self.statuses(out), [
            (b.SASL_AUTH, 0, b"Authenticated"), (b.SASL_AUTH, 0x20, AUTH_FAILURE),
            (b.GET, 0x20, AUTH_FAILURE), "EOF"])

    def test_cram_md5_steps(self):
        # The challenge is random, so only its shape compares.
        for server in self.servers:
            with self.subTest(server=server.binary), \
                    socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                buf = bytearray()
                sock.sendall(b.request(b.SASL_AUTH, b"CRAM-MD5", opaque=1))
                challenge = b.read_response(sock, buf)
                self.assertEqual((challenge.status, challenge.opaque), (0x21, 1))
                self.assertTrue(challenge.value.startswith(b"<"), challenge.value)
                digest = hmac.new(b"secret", challenge.value, hashlib.md5).hexdigest()
                sock.sendall(b.request(b.SASL_STEP, b"CRAM-MD5",
                                       value=b"alice " + digest.encode(), opaque=2) +
                             b.request(b.GET, b"k", opaque=3))
                done = b.read_response(sock, buf)
                self.assertEqual((done.opcode, done.status, done.value),
                                 (b.SASL_STEP, 0, b"Authenticated"))
                self.assertEqual(b.read_response(sock, buf).opaque, 3)

    def test_counts_and_settings(self):
        before = [stats(s.port) for s in self.servers]
        self.run_both(plain(b"alice", b"wrong") + plain(b"alice", b"secret") +
                      b.request(b.SASL_AUTH, b"PLAIN") + b.request(b.SASL_AUTH, b"M" * 40))
        for server, old in zip(self.servers, before):
            new = stats(server.port)
            # The stats connection's own auth counts once.
            self.assertEqual((int(new["auth_cmds"]) - int(old["auth_cmds"]),
                              int(new["auth_errors"]) - int(old["auth_errors"])), (3, 1),
                             server.binary)
            settings = stats(server.port, b"settings")
            self.assertEqual((settings["auth_enabled_sasl"], settings["auth_enabled_ascii"],
                              settings["binding_protocol"]), ("yes", "no", "binary"))

    def test_text_protocol_is_not_spoken(self):
        # -S makes every connection binary: a text line is a bad magic byte
        # once 24 bytes have arrived, and the connection closes unanswered.
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"version\r\n")
                self.assertTrue(c.nothing_pending())
                c.send(b"get some-longer-key-name\r\n")
                self.assertTrue(c.is_closed())
                self.assertEqual(c.buf, b"")


class AsciiAuth(BothServers):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.tmp.name, "users")
        with open(cls.path, "w") as f:
            f.write("alice:secret\r\nbob:pw:with:colons\n")
        cls.SERVER_ARGS = ("-Y", cls.path)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    GOOD = b"set any 0 0 12\r\nalice secret\r\n"

    def test_replies(self):
        cases = [
            (b"version\r\n", b"CLIENT_ERROR unauthenticated\r\n"),
            (self.GOOD + b"version\r\n", b"STORED\r\nVERSION 1.6.18\r\n"),
            (b"set k 1 2 18 noreply\nbob pw:with:colons\r\nget k\r\n", b"STORED\r\nEND\r\n"),
            (b"set k 0 0 11\r\nalice wrong\r\n", b"CLIENT_ERROR authentication failure\r\n"),
            (b"set k 0 0 5\r\nalice\r\n", b"CLIENT_ERROR bad authentication token format\r\n"),
            (b"set k 0 0 12\r\nalice secretXX",
             b"CLIENT_ERROR bad command line termination\r\n"),
            (b"add k 0 0 12\r\n", b"CLIENT_ERROR unauthenticated\r\n"),
            (b"set k 0 0 12x\r\n", b"CLIENT_ERROR unauthenticated\r\n"),
            (b"set k 0 0\r\n", b"CLIENT_ERROR unauthenticated\r\n"),
            (b"set k 0 0 +12\r\nalice secret\r\n", b"STORED\r\n"),
            (b"set k 0 0 14\r\nalice secret\0z\r\n", b"STORED\r\n"),
            # Replies before authentication go into one response object per
            # read in memcached: the last one of a batch is all that is sent.
            (b"set k 0 0 11\r\nalice wrong\r\nversion\r\n", b"CLIENT_ERROR unauthenticated\r\n"),
            (b"set k 0 0 11\r\nalice wrong\r\n" + self.GOOD + b"get k\r\n", b"STORED\r\nEND\r\n"),
        ]
        for request, reply in cases:
            with self.subTest(request=request[:40]):
                self.exchange(request, reply)

    def test_closes(self):
        # Past 2048 bytes without a newline; a block over memcached's 16 KB
        # read buffer (the smallest that cannot fit, then a larger one).
        for request, reply in ((b"x" * 3000, b""),
                               (b"set k 0 0 16383\r\n" + b"alice " + b"s" * 16377 + b"\r\n", b""),
                               (b"set k 0 0 20000\r\n" + b"a " + b"s" * 19998 + b"\r\n", b""),
                               (b"version\r\n" + b"x" * 3000, b"")):
            for server, c in self.each_conn():
                with self.subTest(server=server.binary, request=request[:20]):
                    c.send(request)
                    self.assertTrue(c.is_closed())
                    self.assertEqual(c.buf, reply)

    def test_incomplete_block_waits(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"set k 0 0 12\r\nalice se")
                self.assertTrue(c.nothing_pending())
                c.send(b"cret\r\nversion\r\n")
                self.assertEqual(c.expect(b"STORED\r\nVERSION 1.6.18\r\n"),
                                 b"STORED\r\nVERSION 1.6.18\r\n")

    def text_stats(self, c, group=b""):
        c.send(b"stats " + group + b"\r\n")
        lines = c.read_until(b"END\r\n").decode().split("\r\n")
        return {p[1]: p[2] for p in (line.split(" ", 2) for line in lines) if len(p) == 3}

    def test_counts_and_settings(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(self.GOOD)
                self.assertEqual(c.expect(b"STORED\r\n"), b"STORED\r\n")
                before = self.text_stats(c)
                other = server.connect()
                self.conns.append(other)
                for request in (b"set k 0 0 11\r\nalice wrong\r\n", b"set k 0 0 1\r\nx\r\n",
                                self.GOOD):
                    other.send(request)
                    other.read_until(b"\r\n")
                after = self.text_stats(c)
                self.assertEqual((int(after["auth_cmds"]) - int(before["auth_cmds"]),
                                  int(after["auth_errors"]) - int(before["auth_errors"])), (2, 1))
                settings = self.text_stats(c, b"settings")
                self.assertEqual((settings["auth_enabled_ascii"], settings["auth_enabled_sasl"],
                                  settings["binding_protocol"]), (self.path, "no", "ascii"))


class Startup(unittest.TestCase):
    """Bad auth setups end the process as memcached's do."""

    def run_server(self, binary, args, env=None):
        cmd = [binary, "-p", "0"] + (["-u", "root"] if os.geteuid() == 0 else [])
        try:
            r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=5,
                               env=env)
        except subprocess.TimeoutExpired:
            return None, ""
        return r.returncode, r.stderr

    def check(self, args, status, message, env=None):
        binaries = [os.environ.get("MEMEXT_SERVER", "memext-server")]
        if MEMCACHED:
            binaries.append(MEMCACHED)
        for binary in binaries:
            with self.subTest(binary=binary, args=args):
                rc, err = self.run_server(binary, args, env)
                self.assertEqual(rc, status, err)
                self.assertIn(message, err)

    def test_refused_setups(self):
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "missing")
            malformed = os.path.join(tmp, "malformed")
            with open(malformed, "w") as f:
                f.write("alice:secret\n\n")
            good = os.path.join(tmp, "good")
            with open(good, "w") as f:
                f.write("alice:secret\n")
            self.check(["-Y", missing], 1, "Could not open authfile [%s] for reading, error "
                       "No such file or directory: No such file or directory" % missing)
            self.check(["-Y", malformed], 1, "Authfile [%s] has a malformed entry. Should be "
                       "'user:password'" % malformed)
            self.check(["-Y", good, "-B", "binary"], 64, "ERROR: You cannot allow the BINARY "
                       "protocol while using ascii authentication tokens.")
            self.check(["-Y", missing, "-U", "11311"], 64,
                       "Cannot use UDP with ascii authentication enabled (-U 0 to disable)")
            self.check(["-S", "-B", "auto"], 64,
                       "ERROR: You cannot allow the ASCII protocol while using SASL.")
            self.check(["-S", "-U", "11311"], 64,
                       "ERROR: Cannot enable UDP while using binary SASL authentication.")
            if not any(os.path.exists(p) for p in ("/etc/sasl/memcached.conf",
                                                   "/etc/sasl2/memcached.conf")):
                env = {k: v for k, v in os.environ.items() if k != "SASL_CONF_PATH"}
                self.check(["-S"], 1, "Error initializing sasl.", env)

    def test_auth_file_rules(self):
        # memcached's reader: 8 entries at most, '\r' ends a password, a line
        # without a newline at the end of the file counts.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "users")
            with open(path, "w") as f:
                f.write("".join("u%d:p%d\n" % (i, i) for i in range(9)) + "last:x")
            binaries = [os.environ.get("MEMEXT_SERVER", "memext-server")]
            if MEMCACHED:
                binaries.append(MEMCACHED)
            for binary in binaries:
                proc = ServerProcess(("-Y", path), binary=binary)
                try:
                    with self.subTest(binary=binary):
                        replies = []
                        for user in (b"u0 p0", b"u7 p7", b"u8 p8", b"last x"):
                            c = proc.connect()
                            c.send(b"set k 0 0 %d\r\n%s\r\n" % (len(user), user))
                            replies.append(c.read_until(b"\r\n"))
                            c.close()
                        self.assertEqual(replies, [b"STORED\r\n", b"STORED\r\n",
                                                   b"CLIENT_ERROR authentication failure\r\n",
                                                   b"CLIENT_ERROR authentication failure\r\n"])
                finally:
                    self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    unittest.main()
