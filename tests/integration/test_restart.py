"""memcached 1.6.18's restartable cache (-e FILE) on memext-server and
Debian's memcached, compared: a graceful stop (SIGUSR1) keeps the items
(values, flags, CAS, TTLs that ran on during the stop) for a restart with
the same settings; other settings, extstore, a kill -9 or a bad meta file
start empty with memcached's [restart] lines. memcached mmaps FILE while
memext writes its snapshot there at the stop; neither difference shows
to a client."""

import os
import re
import shutil
import signal
import tempfile
import time
import unittest

from memext_harness import ServerProcess

BINARY = os.environ.get("MEMEXT_SERVER", "memext-server")
MEMCACHED = shutil.which("memcached")
BINARIES = [BINARY] + ([MEMCACHED] if MEMCACHED else [])
BASE = ["-m", "64"]


def graceful_stop(server):
    server.proc.send_signal(signal.SIGUSR1)
    server.proc.wait(timeout=60)
    rc = server.stop()
    return rc, server.stderr_text()


def wait_past_stop(meta_path):
    """memcached refuses a restart in the second it stopped (or earlier)."""
    with open(meta_path) as f:
        stop = int(re.search(r"^Kstop_time (\d+)$", f.read(), re.M).group(1))
    while time.time() < stop + 1.05:
        time.sleep(0.05)


def ask(server, request, end=b"END\r\n"):
    c = server.connect(timeout=10)
    c.send(request)
    out = c.read_until(end)
    c.sock.close()
    return out


def stats(server, group=b""):
    text = ask(server, b"stats " + group + b"\r\n" if group else b"stats\r\n").decode()
    return dict(line.split(" ", 2)[1:] for line in text.splitlines() if line.startswith("STAT "))


def restart_lines(text):
    return [line for line in text.splitlines() if line.startswith("[restart]")
            and "recovery" not in line and "memory base" not in line]


class Restart(unittest.TestCase):
    def start(self, d, extra=()):
        return ServerProcess(["-e", os.path.join(d, "mem"), *BASE, *extra], binary=self.binary)

    def fill(self, d):
        """A first life: items stored, a graceful stop; returns the gets reply."""
        server = self.start(d)
        ask(server, b"set plain 5 0 3\r\nabc\r\nset ttl 7 1000 2\r\nhi\r\n"
                    b"set short 9 1 1\r\ny\r\nset big 11 0 200000\r\n" + b"z" * 200000 +
            b"\r\n", b"STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n")
        gets = ask(server, b"gets plain ttl big\r\n")
        rc, err = graceful_stop(server)
        self.assertEqual(rc, 0, err)
        self.assertIn("Gracefully stopping\n", err)
        self.assertIn("[restart] no metadata save file, starting with a clean cache", err)
        self.assertTrue(os.path.exists(os.path.join(d, "mem.meta")))
        wait_past_stop(os.path.join(d, "mem.meta"))
        return gets

    def test_graceful_restart_keeps_items_cas_and_ttls(self):
        seen = []
        for self.binary in BINARIES:
            with self.subTest(server=self.binary), tempfile.TemporaryDirectory() as d:
                self.one_graceful_restart(d, seen)
        # Last CAS before the stop + 2 for the first new item, as memcached.
        self.assertEqual(seen[0][1], b"STORED\r\nVALUE new 0 1 6\r\nn\r\nEND\r\n")
        self.assertEqual(seen[0][2:], ("4", "5", []))
        if len(seen) == 2:
            self.assertEqual(seen[0][1], seen[1][1])
            self.assertEqual(seen[0][4], seen[1][4])

    def one_graceful_restart(self, d, seen):
        gets = self.fill(d)
        with open(os.path.join(d, "mem.meta")) as f:
            meta = f.read()
        self.assertTrue(meta.startswith("Tmain\nKslab_config 1.25\nKmaxbytes 67108864\n"))
        restarted = time.time()
        server = self.start(d, ["-v"])
        try:
            self.assertFalse(os.path.exists(os.path.join(d, "mem.meta")),
                             "a restart invalidates the meta file at once")
            self.assertEqual(ask(server, b"gets plain ttl big\r\n"), gets)
            self.assertEqual(ask(server, b"get short\r\n"), b"END\r\n")  # expired meanwhile
            mg = ask(server, b"mg ttl t f v\r\n", b"\r\nhi\r\n").decode()
            ttl = int(re.search(r" t(\d+)", mg).group(1))
            # The TTL ran on while the server was down (over a second;
            # both servers' clocks tick in whole seconds).
            self.assertLessEqual(ttl, 999)
            self.assertGreater(ttl, 900)
            new = ask(server, b"set new 0 0 1\r\nn\r\ngets new\r\n")
            st = stats(server)
            # Uptime counts from the first start, through the stop.
            self.assertGreaterEqual(int(st["uptime"]), int(time.time() - restarted) + 1)
            settings = stats(server, b"settings")
            self.assertEqual(settings["memory_file"], os.path.join(d, "mem"))
            seen.append((gets, new, st["curr_items"], st["total_items"],
                         restart_lines(server.stderr_text())))
        finally:
            server.stop_checked()

    def test_other_settings_extstore_kill_and_bad_meta_start_empty(self):
        outcomes = []
        for self.binary in BINARIES:
            with self.subTest(server=self.binary), tempfile.TemporaryDirectory() as d:
                outcomes.append(self.empty_starts(d))
        self.assertEqual(outcomes[0][0], [
            "[restart] restart incompatible due to setting for [slab_config] [old value: 1.25]",
            "[restart] missing some metadata lines",
            "[restart] failed to validate metadata, starting with a clean cache"])
        self.assertEqual(outcomes[0][1],
                         ["[restart] memory restart with extstore not presently supported."])
        self.assertEqual(outcomes[0][2],
                         ["[restart] no metadata save file, starting with a clean cache"])
        if len(outcomes) == 2:
            self.assertEqual(outcomes[0], outcomes[1])

    def empty_starts(self, d):
        lines = []
        for extra in (["-f", "1.5"], ["-o", "ext_path=%s/ext:64m" % d]):
            self.fill(d)
            server = self.start(d, extra)
            try:
                self.assertEqual(ask(server, b"get plain\r\n"), b"END\r\n", extra)
                self.assertFalse(os.path.exists(os.path.join(d, "mem.meta")))
            finally:
                server.stop_checked()
            lines.append(restart_lines(server.stderr_text()))
        # kill -9 after a restart: the meta is gone, the next start is clean.
        self.fill(d)
        server = self.start(d)
        self.assertEqual(ask(server, b"get plain\r\n")[:12], b"VALUE plain ")
        server.proc.kill()
        server.proc.wait()
        server.stop()
        server = self.start(d)
        self.assertEqual(ask(server, b"get plain\r\n"), b"END\r\n")
        server.stop_checked()
        lines.append(restart_lines(server.stderr_text()))
        # A garbage meta line.
        self.fill(d)
        path = os.path.join(d, "mem.meta")
        with open(path) as f:
            meta = f.read()
        with open(path, "w") as f:
            f.write(meta.replace("Kuse_cas true\n", "garbage line\n"))
        server = self.start(d)
        self.assertEqual(ask(server, b"get plain\r\n"), b"END\r\n")
        server.stop_checked()
        lines.append(restart_lines(server.stderr_text()))
        return lines

    def test_corrupt_memory_file_starts_empty(self):
        """memext's own snapshot check: a truncated or damaged memory file
        with a valid meta file loads nothing and says why."""
        self.binary = BINARY
        for damage in ("truncate", "flip", "remove"):
            with self.subTest(damage=damage), tempfile.TemporaryDirectory() as d:
                self.fill(d)
                path = os.path.join(d, "mem")
                if damage == "truncate":
                    os.truncate(path, os.path.getsize(path) // 2)
                elif damage == "flip":
                    with open(path, "r+b") as f:
                        f.seek(100)
                        b = f.read(1)
                        f.seek(100)
                        f.write(bytes([b[0] ^ 0xff]))
                else:
                    os.remove(path)
                server = self.start(d)
                try:
                    self.assertEqual(ask(server, b"get plain ttl big\r\n"), b"END\r\n")
                    self.assertEqual(stats(server)["curr_items"], "0")
                finally:
                    server.stop_checked()
                self.assertIn("starting with a clean cache", server.stderr_text())


if __name__ == "__main__":
    unittest.main()
