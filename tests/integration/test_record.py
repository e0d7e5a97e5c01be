"""memext-server's own request recorder (`record start|stop|status`, -o
record_path, record_sample, record_max_bytes): the recorded native trace
equals the requests sent (ops, keys, sizes, TTLs, each connection's order),
a sampled recording keeps exactly the keys the sample hash keeps, rotation
leaves several complete files, and bad options and commands are refused.

The trace is read here (zstd -dc and the byte layout of traces/README.md),
so the test needs only the server and runs under ThreadSanitizer too."""

import os
import struct
import subprocess
import tempfile
import unittest

import binary_client as bc
from trace_keys import id_in_sample, key_id
from memext_harness import ServerProcess

# Sets of this many keys, half of them sampled: about 18,000 records, several
# 64 KB files.
KEYS = 36000
OPS = ["get", "gets", "set", "add", "replace", "cas", "append", "prepend", "delete", "incr",
       "decr", "touch", "gat", "gats"]


def in_sample(key, rate):
    """Whether a sampled recording at `rate` keeps the key bytes `key`."""
    return id_in_sample(key_id(key), rate)


def read_trace(path):
    """(time_ns, key_id, ttl, key_size, value_size, op) per record; fails on a
    truncated or incomplete zstd frame (zstd -dc exits non-zero)."""
    data = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    assert data[:8] == b"MEMEXTTR", data[:8]
    version, header, record = struct.unpack_from("<III", data, 8)
    assert (version, header, record) == (1, 32, 48)
    assert (len(data) - header) % record == 0, len(data)
    out = []
    for at in range(header, len(data), record):
        t, kid, _next, ttl, ksize, vsize, count, op = struct.unpack_from("<QQqqIIIB", data, at)
        assert count == 1
        out.append((t, kid, ttl, ksize, vsize, OPS[op]))
    return out


class Recorder(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="memext-record-")
        self.addCleanup(self.dir.cleanup)
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop_checked()

    def start(self, *args):
        self.server = ServerProcess(args)
        return self.server

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def files(self, prefix):
        base = os.path.basename(prefix)
        return sorted(os.path.join(self.dir.name, f) for f in os.listdir(self.dir.name)
                      if f.startswith(base + ".") and f.endswith(".mxt.zst"))

    def command(self, conn, line, end=b"\r\n"):
        conn.send(line + b"\r\n")
        return conn.read_until(end)

    def status(self, conn):
        text = self.command(conn, b"record status", b"END\r\n").decode()
        return dict(l.split(" ", 2)[1:] for l in text.split("\r\n") if l.startswith("STAT "))

    def test_recorded_trace_equals_the_requests_sent(self):
        server = self.start()
        prefix = self.path("t")
        admin = server.connect()
        self.assertEqual(self.command(admin, b"record start " + prefix.encode()), b"OK\r\n")
        # Two connections, each a scripted sequence; the expected records per
        # connection: (op, key, ttl, value_size).
        a, b = server.connect(), server.connect()
        expected = {"a": [], "b": []}
        a.send(b"set alpha 0 300 5\r\nhello\r\n")
        self.assertEqual(a.expect(b"STORED\r\n"), b"STORED\r\n")
        expected["a"].append(("set", b"alpha", 300, 5))
        b.send(b"set gamma 0 0 2\r\nhi\r\nget gamma nothere\r\n")
        b.read_until(b"END\r\n")
        expected["b"] += [("set", b"gamma", 0, 2), ("get", b"gamma", 0, 2),
                          ("get", b"nothere", 0, 0)]
        a.send(b"add beta 3 0 11 noreply\r\nhello world\r\nappend beta 0 0 2\r\n!!\r\n")
        self.assertEqual(a.expect(b"STORED\r\n"), b"STORED\r\n")
        expected["a"] += [("add", b"beta", 0, 11), ("append", b"beta", 0, 2)]
        b.send(b"gets gamma\r\n")
        b.read_until(b"END\r\n")
        expected["b"].append(("gets", b"gamma", 0, 2))
        a.send(b"touch alpha 60\r\ngat 90 alpha\r\n")
        a.read_until(b"END\r\n")
        expected["a"] += [("touch", b"alpha", 60, 0), ("gat", b"alpha", 90, 5)]
        b.send(b"set n 0 0 1\r\n5\r\nincr n 3\r\ndecr n 1\r\ndelete n\r\n")
        b.read_until(b"DELETED\r\n")
        expected["b"] += [("set", b"n", 0, 1), ("incr", b"n", 0, 0), ("decr", b"n", 0, 0),
                          ("delete", b"n", 0, 0)]
        a.send(b"ms meta1 4 T120\r\nabcd\r\nmg meta1 v\r\nmg meta1 T30 s\r\nmd meta1\r\n")
        a.read_until(b"HD\r\n")
        a.read_until(b"VA 4\r\nabcd\r\n")
        a.read_until(b"HD s4\r\n")
        a.read_until(b"HD\r\n")
        expected["a"] += [("set", b"meta1", 120, 4), ("get", b"meta1", 0, 4),
                          ("gat", b"meta1", 30, 4), ("delete", b"meta1", 0, 0)]
        self.assertEqual(self.command(admin, b"record stop"), b"OK\r\n")
        # After stop, nothing more is recorded.
        a.send(b"get alpha\r\n")
        a.read_until(b"END\r\n")
        files = self.files(prefix)
        self.assertEqual([os.path.basename(f) for f in files], ["t.0001.mxt.zst"])
        records = read_trace(files[0])
        by_id = {key_id(k): k for conn in expected.values() for _, k, _, _ in conn}
        got = [(op, by_id[kid], ttl, vsize) for _, kid, ttl, ksize, vsize, op in records]
        for _, kid, _, ksize, _, _ in records:
            self.assertEqual(ksize, len(by_id[kid]))
        # Each connection's requests in its order; together all of them.
        self.assertEqual(len(got), sum(len(v) for v in expected.values()))
        keys_a = {k for _, k, _, _ in expected["a"]}
        self.assertEqual([r for r in got if r[1] in keys_a], expected["a"])
        self.assertEqual([r for r in got if r[1] not in keys_a], expected["b"])
        times = [r[0] for r in records]
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(t % 1000 == 0 for t in times), "microsecond times")
        st = self.status(admin)
        self.assertEqual(st["recording"], "no")
        self.assertEqual(int(st["requests_recorded"]), len(records))
        self.assertEqual(int(st["requests_dropped"]), 0)
        self.assertEqual(int(st["files"]), 1)
        self.assertEqual(int(st["bytes_written"]), os.path.getsize(files[0]))
        # A second recording never overwrites the first.
        self.assertEqual(self.command(admin, b"record start " + prefix.encode()), b"OK\r\n")
        self.assertEqual(self.command(admin, b"record stop"), b"OK\r\n")
        self.assertEqual(len(self.files(prefix)), 2)
        self.assertEqual(len(read_trace(files[0])), len(records))

    def test_binary_protocol_requests_are_recorded(self):
        server = self.start()
        prefix = self.path("b")
        admin = server.connect()
        self.assertEqual(self.command(admin, b"record start " + prefix.encode()), b"OK\r\n")
        bc.one_at_a_time(server.port, [
            bc.request(bc.SET, b"bk", bc.storage_extras(0, 40), b"12345"),
            bc.request(bc.GET, b"bk"),
            bc.request(bc.GETK, b"missing"),
            bc.request(bc.APPEND, b"bk", b"", b"67"),
            bc.request(bc.INCR, b"ctr", bc.delta_extras(1, 5, 0)),
            bc.request(0x1C, b"bk", bc.touch_extras(70)),  # touch
            bc.request(0x1D, b"bk", bc.touch_extras(80)),  # gat
            bc.request(bc.DELETE, b"bk"),
        ])
        self.assertEqual(self.command(admin, b"record stop"), b"OK\r\n")
        names = {key_id(k): k for k in (b"bk", b"missing", b"ctr")}
        got = [(op, names[kid], ttl, vsize)
               for _, kid, ttl, _, vsize, op in read_trace(self.files(prefix)[0])]
        self.assertEqual(got, [("set", b"bk", 40, 5), ("get", b"bk", 0, 5),
                               ("get", b"missing", 0, 0), ("append", b"bk", 0, 2),
                               ("incr", b"ctr", 0, 0), ("touch", b"bk", 70, 0),
                               ("gat", b"bk", 80, 7), ("delete", b"bk", 0, 0)])

    def test_sample_keeps_the_keys_the_sample_hash_keeps_and_rotation(self):
        prefix = self.path("s")
        # From startup, by -o; a file is closed past 64 KB.
        server = self.start("-o", "record_path=%s,record_sample=0.5,record_max_bytes=64k" % prefix)
        conn = server.connect()
        # Distinct keys (repeated ones would compress to nothing).
        keys = [b"key:%d" % i for i in range(KEYS)]
        for at in range(0, KEYS, 3000):
            conn.send(b"".join(b"set %s 0 0 3 noreply\r\nabc\r\n" % k
                               for k in keys[at:at + 3000]))
        conn.send(b"get " + b" ".join(keys[:100]) + b"\r\n")
        conn.read_until(b"END\r\n")
        st = self.status(conn)
        self.assertEqual(st["recording"], "yes")
        self.assertEqual(st["sample"], "0.5")
        # SIGTERM: the last file ends complete too.
        self.server.stop_checked()
        self.server = None
        files = self.files(prefix)
        self.assertGreaterEqual(len(files), 3, files)
        records = []
        for f in files:
            part = read_trace(f)
            self.assertTrue(part)
            records += part
        for f in files[:-1]:
            self.assertLess(os.path.getsize(f), 64 * 1024 * 3 // 2)
        kept = [k for k in keys if in_sample(k, 0.5)]
        self.assertTrue(0.45 * KEYS < len(kept) < 0.55 * KEYS, len(kept))
        sets = [kid for _, kid, _, _, _, op in records if op == "set"]
        self.assertEqual(sets, [key_id(k) for k in kept])
        gets = [kid for _, kid, _, _, _, op in records if op == "get"]
        self.assertEqual(gets, [key_id(k) for k in keys[:100] if in_sample(k, 0.5)])

    def test_bad_commands_are_refused(self):
        server = self.start()
        conn = server.connect()
        cases = [
            (b"record", b"CLIENT_ERROR usage: record start [PATH [SAMPLE [MAX_BYTES]]] | "
                        b"record stop | record status\r\n"),
            (b"record stat", b"CLIENT_ERROR record: unknown subcommand 'stat' (allowed: start, "
                             b"stop, status)\r\n"),
            (b"record stop now", b"CLIENT_ERROR usage: record start [PATH [SAMPLE [MAX_BYTES]]] | "
                                 b"record stop | record status\r\n"),
            (b"record start", b"CLIENT_ERROR record start: no PATH given and no -o record_path "
                              b"set\r\n"),
            (b"record start /no/such/dir/t",
             b"CLIENT_ERROR record start: path '/no/such/dir/t': directory '/no/such/dir' does "
             b"not exist\r\n"),
            (b"record start %s 0" % self.path("t").encode(),
             b"CLIENT_ERROR record start: invalid sample rate '0' (allowed: a fraction "
             b"0 < R <= 1, e.g. 0.01)\r\n"),
            (b"record start %s 1 1000" % self.path("t").encode(),
             b"CLIENT_ERROR record start: invalid size '1000' (allowed: 0 for one file, or bytes "
             b"from 64k, with an optional k, m or g suffix, e.g. 256m)\r\n"),
            (b"record stop", b"CLIENT_ERROR record stop: not recording\r\n"),
        ]
        for line, reply in cases:
            self.assertEqual(self.command(conn, line), reply, line)
        self.assertEqual(self.files(self.path("t")), [])
        self.assertEqual(self.command(conn, b"record start %s" % self.path("t").encode()),
                         b"OK\r\n")
        self.assertEqual(self.command(conn, b"record start %s" % self.path("u").encode()),
                         b"CLIENT_ERROR record start: already recording to %s (record stop "
                         b"first)\r\n" % self.path("t.0001.mxt.zst").encode())
        # The server goes on serving.
        self.assertEqual(self.command(conn, b"version").startswith(b"VERSION "), True)
        self.assertEqual(self.command(conn, b"record stop"), b"OK\r\n")

    def test_bad_options_are_refused_and_watch_off_refuses_record(self):
        binary = os.environ.get("MEMEXT_SERVER", "memext-server")
        cases = [
            ("record_sample=1.5", "-o record_sample: invalid sample rate '1.5'"),
            ("record_max_bytes=12x", "-o record_max_bytes: invalid size '12x'"),
            ("record_path=/no/such/dir/t",
             "-o record_path: path '/no/such/dir/t': directory '/no/such/dir' does not exist"),
        ]
        for option, message in cases:
            r = subprocess.run([binary, "-o", option], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 64, r.stderr)
            self.assertIn("memext-server: " + message, r.stderr)
        server = self.start("-W")
        conn = server.connect()
        self.assertEqual(self.command(conn, b"record status"),
                         b"CLIENT_ERROR record not allowed (-W)\r\n")


if __name__ == "__main__":
    unittest.main()
