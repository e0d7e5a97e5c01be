"""memext-server's command line: memcached's flags, errors naming the bad
option, --help, -V, -vv's slab class table."""

import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from memext_harness import ServerProcess

BINARY = os.environ.get("MEMEXT_SERVER", "memext-server")
SIM = os.environ.get("MEMEXT_SIM")
TRACE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "traces", "samples",
                     "zipf-flash-200k.mxt.zst")


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
        for args, needle in ((["-U", "65536"], "-U: invalid value '65536'"),
                             (["-o", "no_such_option"], "no_such_option"),
                             (["-o", "ext_item_size=big"], "ext_item_size"),
                             (["-o", "hot_lru_pct=90"], "hot_lru_pct"),
                             (["-t", "abc"], "Number of threads must be greater than 0"),  # memcached's line
                             (["-m", "lots"], "-m"),
                             (["--bogus"], "unknown option '--bogus'"),
                             # memcached's line
                             (["-I", "2m", "-m", "2"], "Cannot set item size limit")):
            r = run(*args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(needle, r.stderr, args)

    def test_non_finite_growth_factor_is_refused_like_a_small_one(self):
        # -f nan and -f inf once divided by zero building the slab classes
        # (SIGFPE) in both programs.
        programs = [[BINARY, "-p", "0", "-U", "0"]]
        if SIM:
            programs.append([SIM, "replay", TRACE, "--out", os.devnull])
        for program in programs:
            for factor in ("0.5", "nan", "inf", "-inf"):
                with self.subTest(program=program[0], factor=factor):
                    r = subprocess.run(program + ["-f", factor], capture_output=True, text=True,
                                       timeout=60)
                    self.assertGreater(r.returncode, 0, r.stderr)
                    if factor == "0.5" and program[0] == BINARY:
                        # A number memcached refuses too: its line (test_operator_flags).
                        self.assertEqual(r.stderr, "Factor must be greater than 1\n")
                        continue
                    self.assertIn("invalid value '%s' for option f: growth factor must be a "
                                  "number greater than 1" % factor, r.stderr)

    def test_unknown_flag_is_called_unknown_in_both_programs(self):
        programs = [[BINARY]]
        if SIM:
            programs.append([SIM, "replay", TRACE])
        for program in programs:
            with self.subTest(program=program[0]):
                r = subprocess.run(program + ["--bogus"], capture_output=True, text=True,
                                   timeout=60)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("unknown option", r.stderr)
                self.assertIn("--bogus", r.stderr)
                self.assertNotIn("needs a value", r.stderr)

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
        self.assertEqual(server.stop(), 0, server.stderr_text())
        self.assertEqual(server.sanitizer_report(), "")
        self.assertTrue(c.is_closed())

    def test_sigterm_with_pending_accepts_frees_nothing_in_use(self):
        # A pending accept completed in ~io_context after the Server had freed
        # what its handler uses (tcp and unix listeners alike): AddressSanitizer
        # reported a heap-use-after-free and the exit status was 1.
        for args in ([], ["-c", "100"], ["-o", "no_lru_maintainer"]):
            with self.subTest(args=args):
                server = ServerProcess(args)
                idle = server.connect()
                partial = server.connect()
                partial.send(b"set p 0 0 10\r\nabc")
                self.assertEqual(server.stop(), 0, server.stderr_text())
                self.assertEqual(server.sanitizer_report(), "")
                idle.close()
                partial.close()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "memext.sock")
            args = [BINARY, "-s", path, "-U", "0", "-t", "2"]
            if os.geteuid() == 0:
                args += ["-u", "root"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 20
            while not os.path.exists(path):
                self.assertIsNone(proc.poll(), "server exited early")
                self.assertLess(time.monotonic(), deadline, "no socket file")
                time.sleep(0.05)
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            err = proc.communicate(timeout=60)[1].decode(errors="replace")
            self.assertEqual(proc.returncode, 0, err)
            self.assertNotIn("AddressSanitizer", err)
            self.assertFalse(os.path.exists(path))

    def test_unix_socket(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "memext.sock")
            args = [BINARY, "-s", path, "-U", "0", "-t", "2"]
            if os.geteuid() == 0:
                args += ["-u", "root"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 20
                while not os.path.exists(path):
                    self.assertIsNone(proc.poll(), "server exited early")
                    self.assertLess(time.monotonic(), deadline, "no socket file")
                    time.sleep(0.05)
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(5)
                    # The file appears at bind(), before listen(): until then
                    # a connect is refused.
                    while True:
                        try:
                            s.connect(path)
                            break
                        except ConnectionRefusedError:
                            self.assertLess(time.monotonic(), deadline, "socket never listened")
                            time.sleep(0.05)
                    s.sendall(b"set u 0 0 2\r\nhi\r\nget u\r\nstats settings\r\n")
                    got = b""
                    while not got.endswith(b"END\r\n") or got.count(b"END\r\n") < 2:
                        got += s.recv(65536)
                self.assertTrue(got.startswith(b"STORED\r\nVALUE u 0 2\r\nhi\r\nEND\r\n"))
                self.assertIn(b"STAT domain_socket " + path.encode() + b"\r\n", got)
                self.assertIn(b"STAT tcpport 0\r\n", got)
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=20), 0, proc.stderr.read())


if __name__ == "__main__":
    unittest.main()
