"""The extstore flash tier through the network: items pushed to flash by the
flusher (small -m, ext_item_age=0) come back intact, multigets mix RAM and
flash hits in request order, and a restart on a new flash file works."""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from memext_harness import ServerProcess, free_port


def value_for(i, size):
    seed = hashlib.sha256(b"%d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]


def logged_write_errors(server):
    # `stats` has memcached's keys only: the count of failed flash writes is
    # in the log line.
    return max([0] + [int(n) for n in re.findall(r"extstore_write_errors (\d+)",
                                                 server.stderr_text())])


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

    def header_on_flash(self, conn, i):
        """True when f<i>'s value is on flash (its RAM item is an extstore
        header, in slab class 1)."""
        conn.send(b"me f%d\r\n" % i)
        return b" cls=1 " in conn.read_until(b"\r\n")

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
                # A miss (an item evicted before the flusher reached it, when
                # the machine is slow) echoes the key, as memcached 1.6.18 does.
                if line == b"EN kf%d\r\n" % i:
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
                s = self.wait_for_flash(c, 500)
                # Read back items that are on flash now (the oldest may have been
                # evicted before the flusher reached them on a slow machine).
                on_flash = [i for i in range(0, 8000, 10)
                            if self.header_on_flash(c, i)][:50]
                self.assertTrue(on_flash, s)
                # memcached recaches an item hit twice (FETCHED and ACTIVE); it
                # marks the second hit ACTIVE when its LRU maintainer takes the
                # queued bump, so the reads go on until that has happened.
                deadline = time.monotonic() + 30
                while True:
                    self.assertGreater(self.check_values(c, on_flash), 0)
                    s = stats(c)
                    if int(s["recache_from_extstore"]) > 0 or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
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


class ExtstoreErrors(unittest.TestCase):
    """What the operator is told when the flash tier cannot be used."""

    MISSING = "/nonexistent-memext-dir/flash"

    def start_without_flash(self, *extra):
        """Each server (memext, then memcached when installed) started on an
        ext_path in a missing directory: (binary, its CompletedProcess)."""
        binaries = [os.environ.get("MEMEXT_SERVER", "memext-server")]
        if shutil.which("memcached"):
            binaries.append(shutil.which("memcached"))
        for binary in binaries:
            args = [binary, *extra, "-U", "0", "-l", "127.0.0.1",
                    "-o", "ext_path=%s:64m" % self.MISSING]
            if os.geteuid() == 0:
                args += ["-u", "root"]
            yield binary, subprocess.run(args, capture_output=True, text=True, timeout=60)

    def test_missing_directory_names_the_real_cause_and_fails_like_memcached(self):
        for n, (binary, r) in enumerate(self.start_without_flash("-p", "0")):
            with self.subTest(binary=binary):
                # memcached 1.6.18: "extstore open: No such file or directory",
                # "Failed to initialize external storage: failed to open file", status 1.
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("No such file or directory", r.stderr)
                if n == 0:
                    self.assertIn(self.MISSING + ": open failed: No such file or directory",
                                  r.stderr)
                    self.assertIn("failed to initialize external storage", r.stderr)
                    self.assertNotIn("io_uring", r.stderr)

    def test_no_listener_before_the_flash_files_are_open(self):
        # memcached 1.6.18 opens its ext_path files before it binds (strace:
        # setuid, open, bind, listen): a client that connects finds the store
        # ready, and a store that cannot open never listened. memext-server
        # once listened first: a test that named the next server's file by
        # counting the files already there gave memcached memext's file, and
        # memcached's writes turned memext's objects into bad-crc misses.
        for binary, r in self.start_without_flash("-vv", "-p", str(free_port())):
            with self.subTest(binary=binary):
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("No such file or directory", r.stderr)
                # -vv prints "<fd server listening" as each listener is bound.
                self.assertNotIn("server listening", r.stderr)

    def test_failed_flash_writes_are_logged_rate_limited(self):
        # A filesystem that fills up: ext2 has no fallocate, so the flash file
        # is sparse and the flusher's writes fail with ENOSPC once the 8 MB
        # filesystem is full.
        if os.geteuid() != 0 or not shutil.which("mkfs.ext2"):
            self.skipTest("needs root and mkfs.ext2 to mount a small filesystem")
        tmp = tempfile.mkdtemp(prefix="memext-enospc-")
        self.addCleanup(shutil.rmtree, tmp, True)
        image, mnt = os.path.join(tmp, "fs.img"), os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        with open(image, "wb") as f:
            f.truncate(8 << 20)
        subprocess.run(["mkfs.ext2", "-q", "-F", image], check=True, capture_output=True)
        if subprocess.run(["mount", "-o", "loop", image, mnt], capture_output=True).returncode:
            self.skipTest("cannot loop-mount here")
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
        server = ServerProcess(["-m", "16", "-o",
                                "ext_page_size=2,ext_wbuf_size=2,ext_path=%s:64m,"
                                "ext_item_age=0,ext_item_size=512" % os.path.join(mnt, "flash")])
        try:
            c = server.connect(timeout=30)
            started = time.monotonic()
            errors = 0
            size = 3000
            for round_ in range(40):
                batch = []
                for i in range(2000):
                    v = value_for(i, size)
                    batch.append(b"set w%d_%d 0 0 %d\r\n%s\r\n" % (round_, i, len(v), v))
                c.send(b"".join(batch))
                for _ in range(2000):
                    self.assertEqual(c.expect(b"STORED\r\n"), b"STORED\r\n")
                errors = logged_write_errors(server)
                if errors >= 5:
                    break
            # The flusher writes behind the replies and logs at most once a
            # second, so the count may reach the log after the last round.
            deadline = time.monotonic() + 30
            while errors < 5 and time.monotonic() < deadline:
                time.sleep(0.2)
                errors = logged_write_errors(server)
            self.assertGreaterEqual(errors, 5, server.stderr_text())
            elapsed = time.monotonic() - started
            c.close()
        finally:
            self.assertEqual(server.stop(), 0, server.stderr_text())
        lines = [l for l in server.stderr_text().splitlines() if "flash write" in l]
        self.assertTrue(lines, server.stderr_text())
        self.assertRegex(lines[0], r"^memext-server: extstore: \d+ flash writes? failed \(No space "
                                   r"left on device\); .*\(extstore_write_errors \d+\)$")
        # One line a second at most, however many writes fail.
        self.assertLessEqual(len(lines), int(elapsed) + 3, lines)
        totals = [int(re.search(r"extstore_write_errors (\d+)", l).group(1)) for l in lines]
        self.assertEqual(totals, sorted(set(totals)))


if __name__ == "__main__":
    unittest.main()
