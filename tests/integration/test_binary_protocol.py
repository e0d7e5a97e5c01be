"""memcached 1.6.18's binary protocol, byte for byte: every exchange runs on
memext-server and on Debian's memcached 1.6.18 and the answers must be the
same bytes (CAS values renamed by order of appearance, as the two servers'
counters differ). Expected statuses are also asserted on memext-server
alone, so the test means something where memcached is not installed."""

import os
import shutil
import socket
import tempfile
import time
import unittest

import binary_client as b
from memext_harness import BothServers, ServerProcess

NOT_FOUND = b"Not found"
# A flush delay that no later test in the class lives to see.
THIRTY_DAYS = 30 * 24 * 3600


class BinaryProtocol(BothServers):

    def run_both(self, data, expect_close=False):
        """The exchange on every server; they must agree (CAS renamed).
        Returns memext-server's responses."""
        return b.run_both(self, self.servers, data, expect_close)

    def statuses(self, responses):
        return [r if isinstance(r, str) else (r.opcode, r.status) for r in responses]

    def test_get_family(self):
        out = self.run_both(
            b.request(b.GET, b"gf", opaque=1) + b.request(b.GETK, b"gf", opaque=2) +
            b.request(b.GETQ, b"gf") + b.request(b.GETKQ, b"gf") +
            b.request(b.SET, b"gf", b.storage_extras(0xdeadbeef), b"hello", opaque=3) +
            b.request(b.GET, b"gf", opaque=4) + b.request(b.GETK, b"gf", opaque=5) +
            b.request(b.GETQ, b"gf", opaque=6) + b.request(b.GETKQ, b"gf", opaque=7))
        self.assertEqual(out[0].value, NOT_FOUND)
        self.assertEqual((out[1].status, out[1].key, out[1].value), (1, b"gf", b""))
        self.assertEqual(out[2].cas, out[3].cas)
        for r, opaque in zip(out[3:], (4, 5, 6, 7)):
            self.assertEqual((r.status, r.opaque, r.extras), (0, opaque, b"\xde\xad\xbe\xef"))
            self.assertEqual(r.value, b"hello")
        self.assertEqual([r.key for r in out[3:]], [b"", b"gf", b"", b"gf"])

    def test_store_family_and_cas(self):
        x = b.storage_extras
        out = self.run_both(
            b.request(b.ADD, b"sf", x(1), b"a") + b.request(b.ADD, b"sf", x(), b"b") +
            b.request(b.ADDQ, b"sf", x(), b"b") + b.request(b.REPLACE, b"sf-none", x(), b"c") +
            b.request(b.REPLACEQ, b"sf", x(7), b"r") + b.request(b.SETQ, b"sf2", x(), b"q") +
            b.request(b.SET, b"sf", x(), b"c", cas=999999) +
            b.request(b.SET, b"sf-none", x(), b"c", cas=5) +
            b.request(b.GETK, b"sf") + b.request(b.GETK, b"sf2"))
        self.assertEqual(self.statuses(out),
                         [(b.ADD, 0), (b.ADD, 2), (b.ADDQ, 2), (b.REPLACE, 1), (b.SET, 2),
                          (b.SET, 1), (b.GETK, 0), (b.GETK, 0)])
        self.assertEqual(out[1].value, b"Data exists for key.")
        self.assertEqual((out[6].value, out[6].extras), (b"r", b"\0\0\0\x07"))
        # A set with the item's current CAS stores and changes it.
        current = out[6].cas
        out2 = self.run_single_cas(current)
        self.assertEqual(out2[0].status, 0)
        self.assertNotEqual(out2[0].cas, current)
        self.assertEqual(out2[1].status, 2)

    def run_single_cas(self, cas_on_memext):
        """set with the item's CAS, then with the stale one; each server gets
        its own CAS (read back first)."""
        results = []
        for server in self.servers:
            cas = b.exchange(server.port, b.request(b.GET, b"sf") + b.sentinel())[0].cas
            if server is self.server:
                self.assertEqual(cas, cas_on_memext)
            results.append(b.exchange(server.port, b.request(b.SET, b"sf", b.storage_extras(),
                                                             b"n", cas=cas) +
                                      b.request(b.SET, b"sf", b.storage_extras(), b"m", cas=cas) +
                                      b.sentinel()))
        for other in results[1:]:
            self.assertEqual(b.normalized(results[0]), b.normalized(other))
        return results[0]

    def test_append_prepend(self):
        out = self.run_both(
            b.request(b.APPEND, b"ap-none", b"", b"x") +
            b.request(b.SET, b"ap", b.storage_extras(3), b"mid") +
            b.request(b.APPEND, b"ap", b"", b">>") + b.request(b.PREPENDQ, b"ap", b"", b"<<") +
            b.request(b.APPENDQ, b"ap", b"", b"!", cas=12345) + b.request(b.GET, b"ap"))
        self.assertEqual((out[0].status, out[0].value), (5, b"Not stored."))
        self.assertEqual(out[3].status, 2)
        self.assertEqual(out[4].value, b"<<mid>>")

    def test_delete(self):
        out = self.run_both(
            b.request(b.SET, b"dl", b.storage_extras(), b"v") +
            b.request(b.DELETE, b"dl", cas=424242) + b.request(b.DELETE, b"dl") +
            b.request(b.DELETE, b"dl") + b.request(b.DELETEQ, b"dl") +
            b.request(b.SET, b"dl", b.storage_extras(), b"v") + b.request(b.DELETEQ, b"dl") +
            b.request(b.GET, b"dl"))
        self.assertEqual(self.statuses(out), [(b.SET, 0), (b.DELETE, 2), (b.DELETE, 0),
                                              (b.DELETE, 1), (b.DELETEQ, 1), (b.SET, 0),
                                              (b.GET, 1)])
        self.assertEqual(out[2].cas, 0)

    def test_incr_decr(self):
        d = b.delta_extras
        out = self.run_both(
            b.request(b.INCR, b"ct", d(1, 10)) + b.request(b.INCR, b"ct", d(5, 10)) +
            b.request(b.DECR, b"ct", d(100, 10)) + b.request(b.INCRQ, b"ct", d(7)) +
            b.request(b.DECR, b"ct-none", d(1, 10, 0xffffffff)) +
            b.request(b.INCR, b"ct", d(1), cas=77777) +
            b.request(b.SET, b"ct-text", b.storage_extras(), b"abc") +
            b.request(b.INCR, b"ct-text", d(1)) +
            b.request(b.SET, b"ct-max", b.storage_extras(), b"18446744073709551615") +
            b.request(b.INCR, b"ct-max", d(2)) + b.request(b.DECRQ, b"ct", d(1)) +
            b.request(b.GET, b"ct") + b.request(b.INCR, b"ct-exp", d(1, 99, 100)))
        values = [int.from_bytes(r.value, "big") if r.status == 0 and r.opcode in
                  (b.INCR, b.DECR) else r.status for r in out]
        self.assertEqual(values, [10, 15, 0, 1, 2, 0, 6, 0, 1, 0, 99])
        self.assertEqual(out[6].value, b"Non-numeric server-side value for incr or decr")
        self.assertEqual(out[9].value, b"6 ", "memcached pads a shorter number")

    def test_touch_and_gat(self):
        ex = b.touch_extras
        out = self.run_both(
            b.request(b.TOUCH, b"tg", ex(100)) + b.request(b.GATQ, b"tg", ex(100)) +
            b.request(b.GATK, b"tg", ex(100)) +
            b.request(b.SET, b"tg", b.storage_extras(9), b"val") +
            b.request(b.TOUCH, b"tg", ex(100)) + b.request(b.GAT, b"tg", ex(100)) +
            b.request(b.GATK, b"tg", ex(100)) + b.request(b.GATKQ, b"tg", ex(100)) +
            b.request(b.GAT, b"tg", ex(0xFFFFFFFF)) + b.request(b.GAT, b"tg", ex(1)))
        self.assertEqual(self.statuses(out)[:3], [(b.TOUCH, 1), (b.GATK, 1), (b.SET, 0)])
        touch = out[3]
        self.assertEqual((touch.extras, touch.value), (b"\0\0\0\x09", b""))
        self.assertEqual([r.value for r in out[4:]], [b"val"] * 5)

    def test_flush_noop_version(self):
        out = self.run_both(
            b.request(b.SET, b"fl", b.storage_extras(), b"v") + b.request(b.VERSION, opaque=9) +
            b.request(b.NOOP, opaque=10) + b.request(b.FLUSH, b"", b.touch_extras(0)) +
            b.request(b.GET, b"fl") + b.request(b.SET, b"fl", b.storage_extras(), b"v") +
            b.request(b.FLUSHQ) + b.request(b.GET, b"fl") +
            b.request(b.SET, b"fl", b.storage_extras(), b"v") +
            b.request(b.FLUSH, b"", b.touch_extras(THIRTY_DAYS)) + b.request(b.GET, b"fl"))
        self.assertEqual((out[1].value, out[1].opaque), (b"1.6.18", 9))
        self.assertEqual(self.statuses(out)[2:],
                         [(b.NOOP, 0), (b.FLUSH, 0), (b.GET, 1), (b.SET, 0), (b.GET, 1),
                          (b.SET, 0), (b.FLUSH, 0), (b.GET, 0)])

    def test_quit(self):
        out = self.run_both(b.request(b.QUIT, opaque=3) + b.request(b.NOOP), expect_close=True)
        self.assertEqual(self.statuses(out), [(b.QUIT, 0), "EOF"])
        out = self.run_both(b.request(b.NOOP) + b.request(b.QUITQ) + b.request(b.NOOP),
                            expect_close=True)
        self.assertEqual(self.statuses(out), [(b.NOOP, 0), "EOF"])

    def test_malformed_requests_close(self):
        cases = [
            b.request(b.GET, b"k", b"xx"),                         # extras on a get
            b.request(b.SET, b"k", b"abcd", b"v"),                 # 4-byte extras on a set
            b.request(b.SET, b"", b.storage_extras(), b"v"),       # no key
            b.request(b.DELETE, b"k", b"", b"zz"),                 # a body on a delete
            b.request(b.INCR, b"k", b"x" * 16),                    # short extras
            b.request(b.NOOP, b"k"),                               # a key on a noop
            b.request(b.TOUCH, b"k"),                              # no exptime
            b.request(b.FLUSH, b"", b"12345678"),                  # 8-byte extras
            b.request(b.GET, b"a" * 251),                          # key too long
            b.request(0x40, b"a" * 251),                           # ... checked before opcodes
        ]
        for data in cases:
            with self.subTest(request=data[:40]):
                out = self.run_both(data + b.request(b.NOOP), expect_close=True)
                self.assertEqual([(r.status, r.value) for r in out[:-1]],
                                 [(4, b"Invalid arguments")])
                self.assertEqual(out[-1], "EOF")
        # A key longer than the body is refused as unknown.
        bad = b.HEADER.pack(0x80, b.GET, 5, 0, 0, 0, 3, 0, 0) + b"abcde"
        out = self.run_both(bad + b.request(b.NOOP), expect_close=True)
        self.assertEqual([r if isinstance(r, str) else r.status for r in out], [0x81, "EOF"])
        # A bad magic byte after a binary request closes without a reply.
        out = self.run_both(b.request(b.NOOP) + b.request(b.NOOP, magic=0x81), expect_close=True)
        self.assertEqual(self.statuses(out), [(b.NOOP, 0), "EOF"])

    def test_unknown_commands(self):
        # 1.6.18 swallows an unknown command's whole body after reading its
        # key, so the byte after the body is eaten too.
        out = self.run_both(b.request(0x40, b"k", b"", b"abc") + b"X" +
                            b.request(b.VERBOSITY, b"", b.touch_extras(1)) + b"XXXX" +
                            b.request(b.SASL_LIST_MECHS) +
                            b.request(b.SASL_AUTH, b"PLAIN", b"", b"\0u\0p"))
        self.assertEqual([(r.opcode, r.status, r.value) for r in out],
                         [(op, 0x81, b"Unknown command")
                          for op in (0x40, b.VERBOSITY, b.SASL_LIST_MECHS, b.SASL_AUTH)])

    def test_too_large(self):
        big = b"x" * (1024 * 1024 + 10)
        x = b.storage_extras()
        out = self.run_both(
            b.request(b.SET, b"tl", x, b"old") + b.request(b.ADD, b"tl", x, big) +
            b.request(b.REPLACEQ, b"tl", x, big) + b.request(b.APPEND, b"tl", b"", big) +
            b.request(b.GET, b"tl") + b.request(b.SETQ, b"tl", x, big) + b.request(b.GET, b"tl"))
        self.assertEqual(self.statuses(out), [(b.SET, 0), (b.ADD, 3), (b.REPLACEQ, 3),
                                              (b.APPEND, 3), (b.GET, 0), (b.SETQ, 3),
                                              (b.GET, 1)])
        self.assertEqual(out[1].value, b"Too large.")
        self.assertEqual(out[4].value, b"old", "only a set drops the old value")

    def test_binary_keys_and_pipelining(self):
        keys = [b"bk \r\n%d" % i for i in range(20)]
        data = b"".join(b.request(b.SETQ, k, b.storage_extras(i), b"v%d" % i)
                        for i, k in enumerate(keys))
        data += b"".join(b.request(b.GETKQ, k, opaque=i) for i, k in enumerate(keys))
        data += b.request(b.GETKQ, b"bk-missing")
        out = self.run_both(data)
        self.assertEqual([(r.key, r.value, r.opaque) for r in out],
                         [(k, b"v%d" % i, i) for i, k in enumerate(keys)])

    def stat_map(self, responses):
        self.assertEqual((responses[-1].key, responses[-1].value), (b"", b""))
        return {r.key: r.value for r in responses[:-1]}

    def test_stats(self):
        for server in self.servers:
            out = b.exchange(server.port, b.request(b.STAT, opaque=5) + b.sentinel())
            with self.subTest(server=server.binary):
                stats = self.stat_map(out)
                self.assertTrue(all(r.opaque == 5 and r.status == 0 for r in out))
                self.assertEqual(stats[b"version"], b"1.6.18")
                self.assertIn(b"curr_connections", stats)
        # Group names as 1.6.18 matches them; extstore and conns are text-only.
        for group in (b"settings", b"settingsXYZ", b"items", b"slabs"):
            keys = []
            for server in self.servers:
                out = b.exchange(server.port, b.request(b.STAT, group) + b.sentinel())
                keys.append([r.key for r in out])
                self.assertEqual(out[-1].key, b"")
            self.assertIn(b"binding_protocol" if group.startswith(b"settings") else b"",
                          keys[0])
        for group in (b"bogus", b"extstore", b"conns", b"detail x"):
            out = self.run_both(b.request(b.STAT, group))
            self.assertEqual([(r.status, r.value) for r in out], [(1, NOT_FOUND)])
        out = self.run_both(b.request(b.STAT, b"resetXYZ"))
        self.assertEqual([(r.key, r.value) for r in out], [(b"", b"")])
        self.assertEqual(self.stat_map(b.exchange(self.server.port, b.request(
            b.STAT, b"settings") + b.sentinel()))[b"binding_protocol"], b"auto-negotiate")

    def test_stats_match_text_stats(self):
        """The binary groups carry what `stats <group>` says in text."""
        self.run_both(b.request(b.SET, b"st", b.storage_extras(), b"v"))
        for group in (b"items", b"slabs"):
            # Item ages may tick between the two snapshots: items compare names.
            c = self.conn()
            c.send(b"stats " + group + b"\r\n")
            text = c.read_until(b"END\r\n").decode()
            expected = dict(line.split(" ", 2)[1:] for line in text.split("\r\n")
                            if line.startswith("STAT "))
            binary = self.stat_map(b.exchange(self.server.port,
                                              b.request(b.STAT, group) + b.sentinel()))
            binary = {k.decode(): v.decode() for k, v in binary.items()}
            if group == b"items":
                self.assertEqual(sorted(binary), sorted(expected))
            else:
                self.assertEqual(binary, expected)


class BinaryCounters(BothServers):
    """The counters `stats` shows after binary (and text) requests match
    memcached's: an incr (binary, or ma with N) that creates its counter is
    neither a miss nor a set, a too-large set drops the old item without counting a delete, and
    the binary protocol counts no store_too_large."""

    COUNTERS = ("cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
                "get_flushed", "delete_misses", "delete_hits", "incr_misses", "incr_hits",
                "decr_misses", "decr_hits", "cas_misses", "cas_hits", "cas_badval", "touch_hits",
                "touch_misses", "store_too_large", "store_no_memory", "curr_items", "total_items")

    def test_counters(self):
        x = b.storage_extras
        big = b"v" * (1024 * 1024 + 1)
        data = (b.request(b.SET, b"a", x(), b"1") + b.request(b.GET, b"a") +
                b.request(b.GETQ, b"zz") + b.request(b.GETK, b"zz") +
                b.request(b.INCR, b"n", b.delta_extras(1, 5)) +
                b.request(b.INCR, b"n", b.delta_extras(1, 5)) +
                b.request(b.DECR, b"m", b.delta_extras(1, 5, 0xffffffff)) +
                b.request(b.DELETE, b"a") + b.request(b.DELETE, b"a") +
                b.request(b.TOUCH, b"n", b.touch_extras(10)) +
                b.request(b.GAT, b"zz", b.touch_extras(10)) +
                b.request(b.SET, b"n", x(), b"2", cas=999) +
                b.request(b.SET, b"q", x(), b"2", cas=999) +
                b.request(b.APPEND, b"n", b"", b"3") + b.request(b.SET, b"big", x(), big) +
                b.request(b.SET, b"big", x(), b"v") + b.request(b.SET, b"big", x(), big) +
                b.request(b.FLUSH) + b.request(b.GET, b"n"))
        text = (b"set t 0 0 1\r\nv\r\nset t 0 0 %d\r\n%s\r\nset t 0 0 %d\r\n%s\r\n" %
                (len(big), big, len(big), big) + b"ma mx N0 J5\r\nma mx N0\r\nma my\r\n")
        counters = []
        for server in self.servers:
            b.exchange(server.port, data + b.sentinel())
            c = server.connect()
            self.conns.append(c)
            c.send(text + b"stats\r\n")
            c.read_until(b"STAT pid ")
            stats = c.read_until(b"END\r\n").decode()
            values = dict(line.split()[1:3] for line in stats.split("\r\n")
                          if line.startswith("STAT "))
            counters.append({name: values[name] for name in self.COUNTERS})
        for server, other in zip(self.servers[1:], counters[1:]):
            self.assertEqual(counters[0], other, server.binary)
        self.assertEqual((counters[0]["incr_misses"], counters[0]["delete_hits"],
                          counters[0]["store_too_large"]), ("1", "1", "2"))


class ProtocolChoice(unittest.TestCase):
    """-B ascii and -B binary: the other protocol is not understood."""

    def servers(self, mode):
        binaries = [None] + ([shutil.which("memcached")] if shutil.which("memcached") else [])
        return [ServerProcess(["-B", mode], binary=binary) for binary in binaries]

    def test_binary_only(self):
        for server in self.servers("binary"):
            try:
                with self.subTest(server=server.binary):
                    out = b.exchange(server.port, b.request(b.VERSION) + b.sentinel())
                    self.assertEqual(out[0].value, b"1.6.18")
                    stats = b.exchange(server.port, b.request(b.STAT, b"settings") + b.sentinel())
                    self.assertIn((b"binding_protocol", b"binary"),
                                  [(r.key, r.value) for r in stats])
                    # 24 bytes of text: a bad magic byte, closed without a reply.
                    out = b.exchange(server.port, b"version\r\nversion\r\nversion\r\n",
                                     expect_close=True)
                    self.assertEqual(out, ["EOF"])
            finally:
                self.assertEqual(server.stop(), 0)

    def test_ascii_only(self):
        for server in self.servers("ascii"):
            try:
                with self.subTest(server=server.binary):
                    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
                        s.sendall(b.request(b.VERSION) + b"\r\nstats settings\r\n")
                        data = b""
                        while not data.endswith(b"END\r\n"):
                            data += s.recv(65536)
                    self.assertTrue(data.startswith(b"ERROR\r\n"), data[:40])
                    self.assertIn(b"STAT binding_protocol ascii\r\n", data)
            finally:
                self.assertEqual(server.stop(), 0)

    def test_bad_protocol_name(self):
        binary = os.environ.get("MEMEXT_SERVER", "memext-server")
        import subprocess
        r = subprocess.run([binary, "-B", "json"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("json", r.stderr)
        self.assertIn("auto, ascii, binary", r.stderr)


class BinaryFlash(unittest.TestCase):
    """A value on flash is served by binary get, getk, getq and gat as from
    RAM (compared with memcached 1.6.18's extstore on the same exchange)."""

    SIZE = 3000
    COUNT = 6000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memext-binext-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start(self, binary):
        # A name of its own for each server's file, whatever either server
        # has created by now (memcached on memext's file made bad-crc misses).
        path = os.path.join(self.tmp, "flash-%s" % os.path.basename(binary or "memext-server"))
        server = ServerProcess(["-m", "8", "-o", "ext_path=%s:256m,ext_item_age=0,"
                                "ext_item_size=512" % path], binary=binary)
        self.addCleanup(server.stop)
        return server

    def value(self, i):
        return (b"%06d" % i) * (self.SIZE // 6)

    def fill_until_on_flash(self, server):
        data = b"".join(b.request(b.SETQ, b"f%d" % i, b.storage_extras(i), self.value(i))
                        for i in range(self.COUNT))
        b.exchange(server.port, data + b.sentinel())
        deadline = time.monotonic() + 60
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            while time.monotonic() < deadline:
                s.sendall(b"stats\r\n")
                text = b""
                while not text.endswith(b"END\r\n"):
                    text += s.recv(65536)
                for line in text.split(b"\r\n"):
                    if line.startswith(b"STAT extstore_objects_written "):
                        if int(line.split()[2]) >= self.COUNT // 4:
                            return
                time.sleep(0.2)
        self.fail("too little was written to flash")

    def counters(self, server):
        """The item, eviction, slab-move and extstore read counters of `stats`."""
        names = (b"curr_items", b"evictions", b"slabs_moved", b"slab_reassign_evictions_nomem",
                 b"get_extstore", b"miss_from_extstore", b"badcrc_from_extstore",
                 b"recache_from_extstore", b"extstore_page_evictions", b"get_hits")
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"stats\r\n")
            text = b""
            while not text.endswith(b"END\r\n"):
                text += s.recv(65536)
        return {f[1].decode(): f[2].decode() for f in (line.split() for line in text.split(b"\r\n"))
                if len(f) == 3 and f[1] in names}

    def on_flash(self, server, keys):
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"".join(b"me %s\r\n" % k for k in keys))
            data = b""
            while data.count(b"\r\n") < len(keys):
                data += s.recv(65536)
        return {k for k, line in zip(keys, data.split(b"\r\n")) if b" cls=1 " in line}

    def test_flash_values_by_binary_get(self):
        servers = [self.start(None)]
        if shutil.which("memcached"):
            servers.append(self.start(shutil.which("memcached")))
        for server in servers:
            self.fill_until_on_flash(server)
        # The flusher runs on its own time: wait until five keys are on flash
        # in every server.
        keys = [b"f%d" % i for i in range(0, self.COUNT, 7)]
        deadline = time.monotonic() + 60
        while True:
            flash = set(keys)
            for server in servers:
                flash &= self.on_flash(server, keys)
            if len(flash) >= 5 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(len(flash), 5, "too few keys on flash in every server")
        chosen = sorted(flash)[:5]
        # One request at a time on one connection: memcached parses a whole
        # pipelined batch before it submits its flash reads (so a recache
        # shows its new CAS only in later batches) where memext-server waits
        # for each read; and memcached counts ext_recache_rate per connection.
        requests = []
        for k in chosen:
            requests += [b.request(b.GET, k, opaque=1), b.request(b.GETK, k, opaque=2),
                         b.request(b.GETKQ, k, opaque=3), b.request(b.GAT, k, b.touch_extras(0)),
                         b.request(b.TOUCH, k, b.touch_extras(0))]
        results = [b.one_at_a_time(server.port, requests) for server in servers]
        # Without the CAS field: which get recaches (and so gets a new CAS)
        # differs, memcached counting ext_recache_rate per connection and
        # memext per server (a slow ThreadSanitizer run showed it).
        def without_cas(responses):
            return [r if isinstance(r, str) else r.raw[:16] + bytes(8) + r.raw[24:]
                    for r in responses]

        # Which counters moved tells a lost header from a failed flash read
        # (an unexplained miss of every chosen key in one ThreadSanitizer run).
        counters = [self.counters(server) for server in servers]
        for other in results[1:]:
            self.assertEqual(without_cas(results[0]), without_cas(other),
                             "chosen %r, counters %r" % (chosen, counters))
        out = results[0]
        self.assertEqual(len(out), 5 * len(chosen))
        for n, k in enumerate(chosen):
            i = int(k[1:])
            get, getk, getkq, gat, touch = out[5 * n:5 * n + 5]
            for r in (get, getk, getkq, gat):
                self.assertEqual((r.status, r.value, r.extras), (0, self.value(i),
                                                                 i.to_bytes(4, "big")))
            self.assertEqual((getk.key, getkq.key, touch.value), (k, k, b""))


if __name__ == "__main__":
    unittest.main()
