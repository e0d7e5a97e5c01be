"""memext-server's command line: memcached's flags, errors naming the bad
option, --help, -V, -vv's slab class table."""

import os
import subprocess
import unittest

from memext_harness import ServerProcess

BINARY = os.environ.get("MEMEXT_SERVER", "memext-server")


def run(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30)


class CommandLine(unittest.TestCase):
    def test_help_and_version(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--port", "-m", "-t", "-o", "ext_path", "-U", "-u"):
            self.assertIn(flag, r.stdout)
        r = run("-V")
        self.assertEqual(r.returncode, 0)
        self.assertIn("1.6.18", r.stdout)

    def test_bad_options_name_themselves(self):
        for args, needle in ((["-U", "11211"], "UDP is not supported"),
                             (["-o", "no_such_option"], "no_such_option"),
                             (["-o", "ext_item_size=big"], "ext_item_size"),
                             (["-o", "hot_lru_pct=90"], "hot_lru_pct"),
                             (["-t", "abc"], "-t"),
                             (["-m", "lots"], "-m"),
                             (["--bogus"], "bogus"),
                             (["-I", "2m", "-m", "2"], "-I")):
            r = run(*args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(needle, r.stderr, args)

    def test_vv_prints_memcached_slab_table(self):
        server = ServerProcess(["-vv"])
        try:
            pass
        finally:
            self.assertEqual(server.stop(), 0)
        err = server.stderr_text()
        self.assertIn("slab class   1: chunk size        96 perslab   10922\n", err)
        self.assertIn("slab class  39: chunk size    524288 perslab       2\n", err)

    def test_root_requires_u(self):
        if os.geteuid() != 0:
            self.skipTest("not root")
        r = subprocess.run([BINARY, "-p", "0", "-l", "127.0.0.1"], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("can't run as root without the -u switch", r.stderr)

    def test_sigterm_exits_cleanly(self):
        server = ServerProcess(["-m", "16"])
        c = server.connect()
        c.send(b"set a 0 0 1\r\nx\r\n")
        c.expect(b"STORED\r\n")
        self.assertEqual(server.stop(), 0)
        self.assertTrue(c.is_closed())


if __name__ == "__main__":
    unittest.main()
