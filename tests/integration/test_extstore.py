"""The extstore flash tier through the network: items pushed to flash by the
flusher (small -m, ext_item_age=0) come back intact, multigets mix RAM and
flash hits in request order, and a restart on a new flash file works."""

import hashlib
import os
import re
import shutil
import tempfile
import time
import unittest

from memext_harness import ServerProcess


def value_for(i, size):
    seed = hashlib.sha256(b"%d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]


def stats(conn, group=b""):
    conn.send(b"stats " + group + b"\r\n" if group else b"stats\r\n")
    text = conn.read_until(b"END\r\n").decode()
    return {m.group(1): m.group(2) for m in re.finditer(r"STAT (\S+) (\S+)\r\n", text)}


class ExtstoreFlash(unittest.TestCase):
    SIZE = 3000
    COUNT = 12000  # ~36 MB of values against -m 16

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memext-ext-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start(self, flash_name):
        path = os.path.join(self.tmp, flash_name)
        return ServerProcess(["-m", "16", "-o",
                              "ext_path=%s:256m,ext_item_age=0,ext_item_size=512" % path]), path

    def fill(self, conn, count, size):
        batch = []
        for i in range(count):
            v = value_for(i, size)
            batch.append(b"set f%d 0 0 %d noreply\r\n%s\r\n" % (i, len(v), v))
            if len(batch) == 200:
                conn.send(b"".join(batch))
                batch = []
        conn.send(b"".join(batch) + b"mn\r\n")
        self.assertEqual(conn.expect(b"MN\r\n"), b"MN\r\n")

    def wait_for_flash(self, conn, minimum):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            s = stats(conn)
            if int(s.get("extstore_objects_written", 0)) >= minimum:
                return s
            time.sleep(0.2)
        self.fail("flusher wrote too little: %s" % stats(conn))

    def check_values(self, conn, keys):
        conn.send(b"get " + b" ".join(b"f%d" % i for i in keys) + b"\r\n")
        found = 0
        while True:
            line = conn.read_until(b"\r\n")
            if line == b"END\r\n":
                break
            m = re.match(rb"VALUE f(\d+) 0 (\d+)\r\n", line)
            self.assertIsNotNone(m, line)
            i, n = int(m.group(1)), int(m.group(2))
            data = conn.read_exact(n + 2)
            self.assertEqual(data[:-2], value_for(i, self.SIZE), "value of f%d corrupted" % i)
            found += 1
        return found

    def test_values_survive_flash_and_multiget_mixes_tiers(self):
        server, _ = self.start("flash1")
        try:
            c = server.connect(timeout=30)
            self.fill(c, self.COUNT, self.SIZE)
            s = self.wait_for_flash(c, 1000)
            self.assertEqual(s["extstore_limit_maxbytes"], str(256 << 20))
            # Multiget over old (flash) and new (RAM) keys, in request order.
            keys = list(range(0, 200)) + list(range(self.COUNT - 100, self.COUNT)) + list(range(200, 400))
            found = self.check_values(c, keys)
            self.assertGreater(found, 300)
            after = stats(c)
            self.assertGreater(int(after["get_extstore"]), 0)
            self.assertEqual(after["badcrc_from_extstore"], "0")
            # Every key read back one by one too (text get and meta get).
            for i in range(0, self.COUNT, 97):
                c.send(b"mg f%d v s k\r\n" % i)
                line = c.read_until(b"\r\n")
                if line == b"EN\r\n":
                    continue
                self.assertEqual(line, b"VA %d s%d kf%d\r\n" % (self.SIZE, self.SIZE, i))
                self.assertEqual(c.read_exact(self.SIZE + 2)[:-2], value_for(i, self.SIZE))
            ext = c
            ext.send(b"stats extstore\r\n")
            self.assertIn(b"STAT 0:version", ext.read_until(b"END\r\n"))
            c.send(b"extstore item_age 5\r\nextstore bogus 1\r\nextstore\r\n")
            self.assertEqual(c.expect(b"OK\r\nERROR\r\nERROR\r\n"), b"OK\r\nERROR\r\nERROR\r\n")
            c.send(b"stats settings\r\n")
            self.assertIn(b"STAT ext_item_age 5\r\n", c.read_until(b"END\r\n"))
            c.close()
        finally:
            self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_recache_in_the_first_minute(self):
        # memcached's clock starts at 62 s, so "hit within the last 60 s" can
        # hold from the start: an item read back from flash a few times is
        # recached (ext_recache_rate=1) on both servers.
        binaries = [None] + ([shutil.which("memcached")] if shutil.which("memcached") else [])
        for i, binary in enumerate(binaries):
            path = os.path.join(self.tmp, "recache%d" % i)
            server = ServerProcess(["-m", "16", "-o", "ext_path=%s:256m,ext_item_age=0,"
                                    "ext_item_size=512,ext_recache_rate=1" % path], binary=binary)
            try:
                c = server.connect(timeout=30)
                self.fill(c, 8000, self.SIZE)
                self.wait_for_flash(c, 500)
                for _ in range(3):
                    self.assertGreater(self.check_values(c, range(0, 50)), 0)
                s = stats(c)
                self.assertLess(int(s["uptime"]), 60)
                self.assertGreater(int(s["recache_from_extstore"]), 0, (binary, s))
                c.close()
            finally:
                self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_restart_on_new_flash_file(self):
        for name in ("flash_a", "flash_b"):
            server, path = self.start(name)
            try:
                c = server.connect(timeout=30)
                c.send(b"get f1\r\n")
                self.assertEqual(c.expect(b"END\r\n"), b"END\r\n")
                self.fill(c, 8000, self.SIZE)
                self.wait_for_flash(c, 500)
                self.assertGreater(self.check_values(c, range(0, 300)), 0)
                self.assertTrue(os.path.exists(path))
                c.close()
            finally:
                self.assertEqual(server.stop(), 0, server.stderr_text())


if __name__ == "__main__":
    unittest.main()
