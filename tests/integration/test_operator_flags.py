"""memcached 1.6.18's operator flags on memext-server, each exchange run on
both memext-server and Debian's memcached (when installed) and compared:
-F -A -X -W -R -D (stats detail) -i -d -P -r -k -L, -o idle_timeout,
no_modern, a bare slab_automove, MEMCACHED_PORT_FILENAME, and `stats
settings` printing memcached's keys for the same flags."""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import binary_client as bc
from memext_harness import (BothServers, Conn, ServerProcess, free_port, free_udp_port,
                            sanitizer_build)

BINARY = os.environ.get("MEMEXT_SERVER", "memext-server")
MEMCACHED = shutil.which("memcached")
BINARIES = [BINARY] + ([MEMCACHED] if MEMCACHED else [])
# Lines the binary-protocol/TLS work owns (branch binary-udp).
NOT_OURS = ("ssl_", "binding_protocol")


def socket_count(server):
    """The sockets the server process has open (listeners and clients)."""
    fds = "/proc/%d/fd" % server.proc.pid
    count = 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(os.path.join(fds, fd)).startswith("socket:")
        except OSError:
            pass
    return count


def stats(conn, group=b""):
    conn.send(b"stats " + group + b"\r\n" if group else b"stats\r\n")
    return stats_from(conn.read_until(b"END\r\n"))


def stats_from(reply):
    out = {}
    for line in reply.decode().split("\r\n"):
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == "STAT":
            out[parts[1]] = parts[2]
    return out


class GuardFlags(BothServers):
    """-F, -X, -W, -R 3, -D '#': the admin surface they guard."""

    SERVER_ARGS = ("-F", "-X", "-W", "-R", "3", "-D", "#")

    def test_flush_all_refused_and_counted(self):
        self.exchange(b"set a 0 0 1\r\nx\r\nflush_all\r\nflush_all 10\r\nflush_all noreply\r\n"
                      b"get a\r\n",
                      b"STORED\r\nCLIENT_ERROR flush_all not allowed\r\n"
                      b"CLIENT_ERROR flush_all not allowed\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                self.assertGreaterEqual(int(stats(c)["cmd_flush"]), 3)

    def test_binary_flush_refused_uncounted(self):
        # memcached answers it as an auth failure, the quiet one too, and
        # does not count it in cmd_flush (the text command it counts).
        data = (bc.request(bc.SET, b"bf", bc.storage_extras(), b"v") +
                bc.request(bc.FLUSH, opaque=7) +
                bc.request(bc.FLUSH, extras=bc.touch_extras(10), opaque=8) +
                bc.request(bc.FLUSHQ, opaque=9) + bc.request(bc.GETK, b"bf", opaque=10) +
                bc.sentinel())
        seen = []
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                before = int(stats(c)["cmd_flush"])
                out = bc.exchange(server.port, data)
                self.assertEqual([(r.opcode, r.status, r.value) for r in out[1:4]],
                                 [(bc.FLUSH, 0x20, b"Auth failure."),
                                  (bc.FLUSH, 0x20, b"Auth failure."),
                                  (bc.FLUSHQ, 0x20, b"Auth failure.")])
                self.assertEqual(int(stats(c)["cmd_flush"]), before)
                seen.append(bc.normalized(out))
        for other in seen[1:]:
            self.assertEqual(other, seen[0])

    def test_dumping_refused(self):
        self.exchange(b"lru_crawler metadump all\r\n", b"ERROR metadump not allowed\r\n")
        self.exchange(b"stats cachedump 1 0\r\n", b"CLIENT_ERROR stats cachedump not allowed\r\n")

    def test_watch_refused(self):
        self.exchange(b"watch\r\nwatch fetchers\r\n",
                      b"CLIENT_ERROR watch commands not allowed\r\n" * 2)

    def test_settings_show_the_flags(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                s = stats(c, b"settings")
                self.assertEqual((s["flush_enabled"], s["dump_enabled"], s["reqs_per_event"],
                                  s["stat_key_prefix"], s["detail_enabled"],
                                  s["shutdown_command"]), ("no", "no", "3", "#", "yes", "no"))

    def test_requests_per_event_yield(self):
        # memcached yields after every -R requests of one read: 10 -> 3.
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                before = int(stats(c)["conn_yields"])
                d = server.connect()
                self.conns.append(d)
                d.send(b"version\r\n" * 10)
                self.assertEqual(d.expect(b"VERSION 1.6.18\r\n" * 10), b"VERSION 1.6.18\r\n" * 10)
                d.send(b"version\r\n")
                d.expect(b"VERSION 1.6.18\r\n")
                self.assertEqual(int(stats(c)["conn_yields"]) - before, 3)

    def test_stats_detail(self):
        # '#' delimits prefixes; the dump is in memcached's hash order.
        self.exchange(b"stats detail on\r\nset a#1 0 0 1\r\nx\r\nget a#1 a#2 b#3 nokey\r\n"
                      b"set nokey 0 0 1\r\nx\r\ndelete a#1\r\nincr a#5 1\r\ntouch b#1 0\r\n"
                      b"gets b#1\r\nset c:1 0 0 1\r\nx\r\nstats detail dump\r\n"
                      b"stats detail off\r\nget a#1\r\nstats detail dump\r\nstats detail\r\n"
                      b"stats detail on x\r\nstats reset\r\nstats detail dump\r\n",
                      b"OK\r\nSTORED\r\nVALUE a#1 0 1\r\nx\r\nEND\r\nSTORED\r\nDELETED\r\n"
                      b"NOT_FOUND\r\nNOT_FOUND\r\nEND\r\nSTORED\r\n"
                      b"PREFIX b get 2 hit 0 set 0 del 0\r\nPREFIX a get 2 hit 1 set 1 del 1\r\n"
                      b"END\r\nOK\r\nEND\r\n"
                      b"PREFIX b get 2 hit 0 set 0 del 0\r\nPREFIX a get 2 hit 1 set 1 del 1\r\n"
                      b"END\r\nCLIENT_ERROR usage: stats detail on|off|dump\r\nOK\r\nRESET\r\n"
                      b"END\r\n")


class TextCorners(BothServers):
    def test_delete_with_hold_time_and_noreply_is_silent(self):
        self.exchange(b"delete k 10 noreply\r\ndelete k 0 noreply\r\nversion\r\n"
                      b"delete k 10\r\n",
                      b"VERSION 1.6.18\r\n"
                      b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")

    def test_http_request_closes_unanswered(self):
        for request in (b"GET / HTTP/1.0\r\nversion\r\n", b"set a 0 0 1\r\nx\r\nPOST /x HTTP/2\r\n",
                        b"HTTP/1.1\r\n"):
            for server, c in self.each_conn():
                with self.subTest(server=server.binary, request=request):
                    c.send(request)
                    self.assertTrue(c.is_closed(10))
                    self.assertEqual(c.buf, b"")
        self.exchange(b"GET HTTP/1.1 x\r\nversion\r\n", b"ERROR\r\nVERSION 1.6.18\r\n")

    def test_metadump_refuses_pipelined_commands(self):
        self.exchange(b"set a 0 0 1\r\nx\r\nlru_crawler metadump all\r\n",
                      b"STORED\r\nERROR cannot pipeline other commands before metadump\r\n")


class StatsConns(BothServers):
    def test_every_connection_with_its_address_and_state(self):
        for server, asker in self.each_conn():
            with self.subTest(server=server.binary):
                done, fresh, partial = server.connect(), server.connect(), server.connect()
                self.conns += [done, fresh, partial]
                done.send(b"version\r\n")
                done.expect(b"VERSION 1.6.18\r\n")
                partial.send(b"set x 0 0 10\r\nab")
                asker.send(b"version\r\n")
                asker.expect(b"VERSION 1.6.18\r\n")
                time.sleep(0.3)
                asker.send(b"stats conns\r\n")
                lines = asker.read_until(b"END\r\n").decode().split("\r\n")[:-2]
                entries = {}
                for line in lines:
                    stat, key, value = line.split(" ", 2)
                    self.assertEqual(stat, "STAT")
                    fd, name = key.split(":", 1)
                    entries.setdefault(int(fd), {})[name] = value
                by_addr = {e["addr"]: e for e in entries.values()}
                listen = "tcp:127.0.0.1:%d" % server.port
                self.assertEqual(by_addr[listen]["state"], "conn_listening")
                self.assertNotIn("listen_addr", by_addr[listen])
                expected = ((done, "conn_read"), (fresh, "conn_new_cmd"),
                            (partial, "conn_nread"), (asker, "conn_parse_cmd"))
                for conn, state in expected:
                    e = by_addr["tcp:127.0.0.1:%d" % conn.sock.getsockname()[1]]
                    self.assertEqual((e["listen_addr"], e["state"]), (listen, state))
                    self.assertEqual(sorted(e), ["addr", "listen_addr", "secs_since_last_cmd",
                                                 "state"])
                    self.assertGreaterEqual(int(e["secs_since_last_cmd"]), 0)


class CacheDump(BothServers):
    # Without the maintainer every item sits in its class's COLD LRU, which
    # cachedump lists newest first.
    SERVER_ARGS = ("-o", "no_lru_maintainer")

    def test_cachedump_lines_and_errors(self):
        self.exchange(b"set cd1 0 0 1\r\nx\r\nset cd22 5 0 3\r\nxyz\r\n"
                      b"stats cachedump 1 0\r\nstats cachedump 1 1\r\nstats cachedump 1\r\n"
                      b"stats cachedump x 0\r\nstats cachedump 64 0\r\nstats cachedump 0 0\r\n"
                      b"stats cachedump 63 0\r\ndelete cd1\r\ndelete cd22\r\n",
                      b"STORED\r\nSTORED\r\nITEM cd22 [3 b; 0 s]\r\nITEM cd1 [1 b; 0 s]\r\nEND\r\n"
                      b"ITEM cd22 [3 b; 0 s]\r\nEND\r\nCLIENT_ERROR bad command line\r\n"
                      b"CLIENT_ERROR bad command line format\r\nCLIENT_ERROR Illegal slab id\r\n"
                      b"END\r\nEND\r\nDELETED\r\nDELETED\r\n")


class VeryVerbose(unittest.TestCase):
    def test_vv_logs_connections_commands_and_replies(self):
        logs = []
        for binary in BINARIES:
            server = ServerProcess(("-vv",), binary=binary)
            c = server.connect()
            c.send(b"set a 0 0 1\r\nx\r\nget a b\r\ngets a\r\nversion\r\nbogus\r\n"
                   b"mg a v\r\ndelete a\r\nstats detail on\r\nstats detail x\r\nmn\r\n"
                   b"me a\r\nverbosity 1\r\nversion\r\n")
            c.read_until(b"OK\r\nVERSION 1.6.18\r\n")
            c.close()
            # At verbosity 1 nothing of this client's is logged any more (its
            # close neither): its lines were all written before the replies.
            self.assertEqual(server.stop(), 0)
            text = server.stderr_text()
            # Only the one client's lines: the harness's start-up probe
            # connection may log on another worker meanwhile.
            fd = re.search(r"^(\d+): Client using the ascii protocol$", text, re.M).group(1)
            lines = [re.sub(r"^([<>]?)\d+", r"\1N", l) for l in text.split("\n")
                     if re.match(r"^[<>]?%s[ :]" % fd, l) or l == "Exiting normally"]
            # The probe may have had the same descriptor before.
            logs.append(lines[lines.index("N: Client using the ascii protocol") - 1:])
        self.assertEqual(logs[0], [
            "<N new auto-negotiating client connection", "N: Client using the ascii protocol",
            "<N set a 0 0 1", ">N STORED", "<N get a b", ">N sending key a", ">N END",
            "<N gets a", ">N sending key a", ">N END", "<N version", ">N VERSION 1.6.18",
            "<N bogus", ">N ERROR", "<N mg a v", "<N delete a", ">N DELETED",
            "<N stats detail on", ">N OK", "<N stats detail x",
            ">N CLIENT_ERROR usage: stats detail on|off|dump", "<N mn", ">N MN", "<N me a",
            ">N EN", "<N verbosity 1", "Exiting normally"])
        for other in logs[1:]:
            self.assertEqual(other, logs[0])


    def test_vvv_adds_thread_starts_and_lookups(self):
        # -vvv: the crawler's and maintainer's thread starts, and each key
        # lookup (gets, and the lookups of stores, deletes and touches) as
        # "> FOUND KEY k" / "> NOT FOUND k"; none after `verbosity 1`.
        # (The state lines, "N: going from conn_X to conn_Y", are
        # VeryVerboseStates'.)
        logs = []
        for binary in BINARIES:
            server = ServerProcess(("-vvv",), binary=binary)
            c = server.connect()
            c.send(b"set a 0 0 1\r\nx\r\nget b a\r\nset a 0 0 1\r\ny\r\ndelete a\r\n"
                   b"touch a 1\r\nverbosity 1\r\nget a\r\nversion\r\n")
            c.read_until(b"VERSION 1.6.18\r\n")
            c.close()
            self.assertEqual(server.stop(), 0)
            text = server.stderr_text()
            fd = re.search(r"^(\d+): Client using the ascii protocol$", text, re.M).group(1)
            lines = [re.sub(r"^([<>]?)\d+", r"\1N", l) for l in text.split("\n")
                     if re.match(r"^[<>]?%s[ :]" % fd, l) or l.startswith(("> ", "Starting "))]
            lines = [l for l in lines if not l.startswith("N: going from")]
            starts = [l for l in lines if l.startswith("Starting ")]
            # memcached's maintainer thread prints its line itself, before or
            # after the listener's.
            self.assertEqual(sorted(starts), ["Starting LRU crawler background thread",
                                              "Starting LRU maintainer background thread"])
            rest = [l for l in lines if not l.startswith("Starting ")]
            logs.append(rest[rest.index("N: Client using the ascii protocol") - 1:])
        self.assertEqual(logs[0], [
            "<N new auto-negotiating client connection", "N: Client using the ascii protocol",
            "<N set a 0 0 1", "> NOT FOUND a", ">N STORED", "<N get b a", "> NOT FOUND b",
            "> FOUND KEY a", ">N sending key a", ">N END", "<N set a 0 0 1", "> FOUND KEY a",
            ">N STORED", "<N delete a", "> FOUND KEY a", ">N DELETED", "<N touch a 1",
            "> NOT FOUND a", ">N NOT_FOUND", "<N verbosity 1"])
        for other in logs[1:]:
            self.assertEqual(other, logs[0])


def wait_for_log(server, text, count, what):
    """Waits until `text` is in the server's stderr `count` times."""
    deadline = time.monotonic() + 20
    while server.stderr_text().count(text) < count:
        if time.monotonic() > deadline:
            raise AssertionError("no %s in: %s" % (what, server.stderr_text()[-3000:]))
        time.sleep(0.02)


# -vvv exchanges: each step is (bytes to send, reply to wait for or None).
# Each step waits for its reply, so the server reads each step's bytes by
# themselves; what memcached's state lines would say about how a batch's
# bytes arrive (a command line split over reads) is left out, as not
# deterministic. The value of "set b" arrives in three sends that may
# coalesce: memcached reads a value in conn_nread whatever the pieces.
STATE_EXCHANGES = {
    "connect and close": [],
    "commands": [
        (b"set a 0 0 1\r\nx\r\n", b"STORED\r\n"),
        (b"get a\r\n", b"VALUE a 0 1\r\nx\r\nEND\r\n"),
        (b"get zz\r\n", b"END\r\n"),
        (b"get a zz a\r\n", b"VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n"),
        (b"gets zz\r\n", b"END\r\n"),
        (b"set c 0 0 1 noreply\r\nx\r\nmn\r\n", b"MN\r\n"),
        (b"delete c noreply\r\ntouch c 1 noreply\r\nversion\r\n", b"VERSION 1.6.18\r\n"),
        (b"set d 0 0 1\r\nx\r\nget d\r\ndelete d\r\nincr d 1\r\nversion\r\n",
         b"STORED\r\nVALUE d 0 1\r\nx\r\nEND\r\nDELETED\r\nNOT_FOUND\r\n"
         b"VERSION 1.6.18\r\n"),
        (b"mg a v\r\n", b"VA 1\r\nx\r\n"),
        (b"ms e 1\r\nx\r\n", b"HD\r\n"),
        (b"mg zz v q\r\nmn\r\n", b"MN\r\n"),
        (b"ms e x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
        (b"bogus\r\n", b"ERROR\r\n"),
        (b"set bad 0 0 3\r\nabcde\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n"),
        (b"get\r\n", b"ERROR\r\n"),
        (b"stats detail on\r\n", b"OK\r\n"),
        (b"set b 0 0 5\r\n", None), (b"he", None), (b"llo\r\n", b"STORED\r\n"),
        (b"version\r\nquit\r\n", b"VERSION 1.6.18\r\n"),
    ],
    "disconnect mid-value": [(b"set f 0 0 10\r\nabc", None)],
    "disconnect mid-line": [(b"get a", None)],
    "http request": [(b"GET / HTTP/1.0\r\n", None)],
    "watch": [(b"watch\r\n", b"OK\r\n")],
}


def client_lines(text, fd):
    """One client's -vv/-vvv lines with its descriptor as N, and the key
    lookups ("> FOUND KEY k")."""
    lines = []
    for line in text.split("\n"):
        m = re.match(r"^([<>]?)(\d+)([ :].*)$", line)
        if m and m.group(2) == fd:
            lines.append(m.group(1) + "N" + m.group(3))
        elif line.startswith(("> FOUND KEY", "> NOT FOUND")):
            lines.append(line)
    return lines


class VeryVerboseStates(unittest.TestCase):
    def run_exchanges(self, binary, args=("-vvv",)):
        server = ServerProcess(args, binary=binary)
        self.addCleanup(server.stop)
        closed = "going from conn_closing to conn_closed"
        wait_for_log(server, closed, 1, "start-up probe close")
        logs = {}
        for n, (name, steps) in enumerate(STATE_EXCHANGES.items()):
            start = len(server.stderr_text())
            c = server.connect()
            for data, reply in steps:
                c.send(data)
                if reply is not None:
                    self.assertEqual(c.expect(reply), reply, name)
            c.close()
            wait_for_log(server, closed, n + 2, name)
            text = server.stderr_text()[start:]
            fd = re.search(r"^<(\d+) new auto-negotiating client connection$", text, re.M).group(1)
            logs[name] = client_lines(text, fd)
        self.assertEqual(server.stop(), 0)
        return logs

    def test_vvv_state_lines_match_memcached(self):
        # memcached's "N: going from conn_X to conn_Y" for the same
        # exchanges. Descriptors differ (memcached's depend on the files it
        # has open), so both are shown as N.
        logs = [self.run_exchanges(binary) for binary in BINARIES]
        ours = logs[0]
        # memext's own lines must hold what the test is about, memcached or not.
        self.assertEqual(ours["connect and close"], [
            "<N new auto-negotiating client connection",
            "N: going from conn_new_cmd to conn_waiting", "N: going from conn_waiting to conn_read",
            "N: going from conn_read to conn_closing", "<N connection closed.",
            "N: going from conn_closing to conn_closed"])
        self.assertEqual(ours["disconnect mid-value"][-5:], [
            "<N set f 0 0 10", "N: going from conn_parse_cmd to conn_nread",
            "N: going from conn_nread to conn_closing", "<N connection closed.",
            "N: going from conn_closing to conn_closed"])
        for other in logs[1:]:
            for name in STATE_EXCHANGES:
                self.assertEqual(ours[name], other[name], name)


class VeryVerboseCrawler(unittest.TestCase):
    def test_crawler_lines_match_memcached(self):
        # -vvv: the crawler thread's "Kicking LRU crawler off for LRU id" for
        # each LRU a crawl starts (class | segment << 6), "Nothing left to
        # crawl for id" as each ends, then "LRU crawler thread sleeping":
        # the autocrawler's first crawl of every LRU, then a requested one.
        # The order the LRUs end in is memcached's thread's to choose.
        sleeping = "LRU crawler thread sleeping"
        logs = []
        for binary in BINARIES:
            server = ServerProcess(("-vvv",), binary=binary)
            self.addCleanup(server.stop)
            wait_for_log(server, sleeping, 1, "autocrawl")
            start = len(server.stderr_text())
            c = server.connect()
            c.send(b"lru_crawler crawl 1,2\r\n")
            self.assertEqual(c.expect(b"OK\r\n"), b"OK\r\n")
            wait_for_log(server, sleeping, 2, "requested crawl")
            c.close()
            text = server.stderr_text()
            crawls = []
            for part in (text[:start], text[start:]):
                lines = part.split("\n")
                kicked = [l for l in lines if l.startswith("Kicking ")]
                ended = sorted(l for l in lines if l.startswith("Nothing left "))
                crawls.append((kicked, ended, lines.count(sleeping)))
            logs.append(crawls)
        startup, requested = logs[0]
        self.assertEqual(startup[0], ["Kicking LRU crawler off for LRU %d" % i
                                      for i in range(1, 256)])
        self.assertEqual(len(startup[1]), 255)
        self.assertEqual(requested[0], ["Kicking LRU crawler off for LRU %d" % i
                                        for i in (1, 2, 65, 66, 129, 130, 193, 194)])
        self.assertEqual(requested[1], sorted("Nothing left to crawl for %d" % i
                                              for i in (1, 2, 65, 66, 129, 130, 193, 194)))
        self.assertEqual(requested[2], 1)
        for other in logs[1:]:
            self.assertEqual(other, logs[0])


class ShutdownEnabled(unittest.TestCase):
    def test_shutdown_modes(self):
        for binary in BINARIES:
            for command, graceful in ((b"shutdown\r\n", False), (b"shutdown graceful\r\n", True)):
                with self.subTest(server=binary, command=command):
                    server = ServerProcess(("-A", "-v"), binary=binary)
                    c = server.connect()
                    c.send(b"shutdown now\r\n")
                    self.assertEqual(c.expect(b"CLIENT_ERROR invalid shutdown mode\r\n"),
                                     b"CLIENT_ERROR invalid shutdown mode\r\n")
                    c.send(command)
                    self.assertTrue(c.is_closed(10))
                    c.close()
                    server.proc.wait(timeout=30)
                    self.assertEqual(server.stop(), 0)
                    err = server.stderr_text()
                    self.assertIn("Gracefully stopping\n" if graceful else "Exiting normally\n",
                                  err)

    def test_sigint_message_at_v(self):
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(("-v",), binary=binary)
                server.proc.send_signal(signal.SIGINT)
                server.proc.wait(timeout=30)
                self.assertEqual(server.stop(), 0)
                self.assertTrue(server.stderr_text().endswith("Exiting normally\n"),
                                server.stderr_text())


class IdleTimeout(BothServers):
    SERVER_ARGS = ("-o", "idle_timeout=1")

    def test_idle_connection_is_kicked_and_counted(self):
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                idle = server.connect()
                self.conns.append(idle)
                idle.send(b"version\r\n")
                idle.expect(b"VERSION 1.6.18\r\n")
                self.assertTrue(idle.is_closed(30))
                # The stats connection was idle as long: a fresh one asks.
                fresh = server.connect()
                self.conns.append(fresh)
                s = stats(fresh)
                self.assertGreaterEqual(int(s["idle_kicks"]), 1)
                self.assertEqual(stats(fresh, b"settings")["idle_timeout"], "1")


def read_port_file(path):
    """MEMCACHED_PORT_FILENAME's text, once the server has renamed it into
    place (it writes the file after it listens)."""
    deadline = time.monotonic() + 20
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError("no port file " + path)
        time.sleep(0.02)
    with open(path) as f:
        return f.read()


class ConnectionCounts(unittest.TestCase):
    def test_listeners_count_as_connections(self):
        # memcached counts each listening socket and each worker's UDP
        # socket as a connection: all of them in total_connections, and
        # curr_connections less one.
        configs = [(), ("-l", "127.0.0.2"), ("-t", "3", "-U", str(free_udp_port()))]
        for args in configs:
            seen = []
            for binary in BINARIES:
                with self.subTest(server=binary, args=args):
                    server = ServerProcess(args, binary=binary)
                    c = server.connect()
                    deadline = time.monotonic() + 10
                    while True:
                        st = stats(c)
                        counts = int(st["curr_connections"]), int(st["total_connections"])
                        # The harness's start-up probe, once its close is seen.
                        if counts[0] == counts[1] - 2 or time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
                    seen.append(counts)
                    c.close()
                    self.assertEqual(server.stop(), 0)
            self.assertEqual(seen[0], seen[-1], args)


class ConnectionLimits(unittest.TestCase):
    """-c admits exactly memcached's count of clients (memcached refuses a
    socket by its descriptor number), refusing the rest at accept with its
    error line and counting rejected_connections."""

    def test_admitted_count(self):
        counts = {}
        for binary in BINARIES:
            for args, in_use in ((("-c", "30"), 0), (("-c", "50"), 0)):
                server = ServerProcess(args, binary=binary)
                try:
                    baseline = socket_count(server)
                    held, refused = [], 0
                    for _ in range(40):
                        c = server.connect()
                        held.append(c)
                        c.send(b"version\r\n")
                        reply = c.read_until(b"\r\n")
                        if reply == b"ERROR Too many open connections\r\n":
                            self.assertTrue(c.is_closed())
                            refused += 1
                        else:
                            self.assertEqual(reply, b"VERSION 1.6.18\r\n")
                    admitted = 40 - refused
                    for c in held:
                        c.close()
                    # Until the server has closed those sockets, a new
                    # client is still over the limit (refused, and counted).
                    deadline = time.monotonic() + 30
                    while socket_count(server) > baseline:
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.05)
                    c = server.connect()
                    s = stats(c)
                    c.close()
                    counts.setdefault(args, []).append((admitted, s["rejected_connections"]))
                finally:
                    self.assertEqual(server.stop(), 0)
        self.assertEqual(counts[("-c", "30")][0][0], 14)
        self.assertEqual(counts[("-c", "50")][0][0], 34)
        for args, seen in counts.items():
            self.assertEqual(len(set(seen)), 1, (args, seen))

    def test_no_maxconns_fast_stops_accepting(self):
        # memcached's accept fails at its descriptor limit (one client more
        # than maxconns_fast admits): it stops listening (backlog 0) and the
        # next client waits, unanswered, until a connection closes.
        seen = []
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(("-c", "30", "-o", "no_maxconns_fast"), binary=binary)
                held = []
                for _ in range(15):
                    c = server.connect()
                    c.send(b"version\r\n")
                    self.assertEqual(c.read_until(b"\r\n"), b"VERSION 1.6.18\r\n")
                    held.append(c)
                waiting = server.connect()
                waiting.send(b"version\r\n")
                self.assertTrue(waiting.nothing_pending(wait=1.0))
                full = stats(held[1])
                held[0].close()
                waiting.sock.settimeout(60)
                self.assertEqual(waiting.read_until(b"\r\n"), b"VERSION 1.6.18\r\n")
                after = stats(held[1])
                keys = ("accepting_conns", "listen_disabled_num", "curr_connections")
                seen.append(([full[k] for k in keys], [after[k] for k in keys],
                             "rejected_connections" in after))
                self.assertEqual(seen[-1][0][:2], ["0", "1"])
                self.assertEqual(seen[-1][1][:2], ["1", "1"])
                self.assertGreater(int(after["time_in_listen_disabled_us"]), 0)
                for c in held[1:] + [waiting]:
                    c.close()
                self.assertEqual(server.stop(), 0)
        for other in seen[1:]:
            self.assertEqual(other, seen[0])


def hold_unfinished(server, partial, count=64):
    """`count` connections that each sent `partial` (an unfinished request),
    once the server has read it all: each holds a read buffer."""
    held = []
    for _ in range(count):
        h = server.connect()
        h.send(partial)
        held.append(h)
    server_read_everything(server, held)
    return held


def server_read_everything(server, conns):
    """Waits until the server has read all the clients have sent (its side
    of each connection has an empty receive queue in /proc/net/tcp)."""
    local = "0100007F:%04X" % server.port
    wanted = {"0100007F:%04X" % c.sock.getsockname()[1] for c in conns}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        drained = set()
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == local and fields[2] in wanted and fields[4].endswith(":00000000"):
                    drained.add(fields[2])
        if drained == wanted:
            return
        time.sleep(0.05)
    raise AssertionError("the server did not read its clients' bytes")


class ReadBufMemLimit(unittest.TestCase):
    """-o read_buf_mem_limit=1 with -t 1: the worker has 64 buffers of
    16 KB, for connections holding unread input and for response objects
    (13 a buffer, one per command and per multiget key) until written."""

    ARGS = ("-t", "1", "-o", "read_buf_mem_limit=1")

    def test_multiget_out_of_memory(self):
        keys = [b"k%d" % i for i in range(820)]
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(self.ARGS, binary=binary)
                c = server.connect()
                c.send(b"".join(b"set %s 0 0 1 noreply\r\nx\r\n" % k for k in keys[:10]) +
                       b"mn\r\n")
                self.assertEqual(c.expect(b"MN\r\n"), b"MN\r\n")
                # 819 response objects fit beside the read buffer (63 x 13).
                c.send(b"get " + b" ".join(keys[:819]) + b"\r\n")
                reply = c.read_until(b"END\r\n")
                self.assertEqual(reply.count(b"VALUE "), 10)
                oom = b"SERVER_ERROR out of memory writing get response\r\n"
                c.send(b"get " + b" ".join(keys) + b"\r\n")
                self.assertEqual(c.expect(oom), oom)
                # Every unsent response of the connection goes (the STORED
                # and VERSION before it); the commands behind it run.
                c.send(b"set a 0 0 1\r\nx\r\nversion\r\nget " + b" ".join(keys[1:]) +
                       b" a\r\nget a\r\n")
                self.assertEqual(c.expect(oom + b"VALUE a 0 1\r\nx\r\nEND\r\n"),
                                 oom + b"VALUE a 0 1\r\nx\r\nEND\r\n")
                self.assertTrue(c.nothing_pending())
                s = stats(c)
                self.assertEqual((s["response_obj_oom"], s["read_buf_oom"]), ("2", "0"))
                c.send(b"stats reset\r\n")
                self.assertEqual(c.expect(b"RESET\r\n"), b"RESET\r\n")
                self.assertEqual(stats(c)["response_obj_oom"], "0")
                c.close()
                self.assertEqual(server.stop(), 0)

    def test_connections_past_the_limit_are_closed(self):
        seen = []
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(self.ARGS, binary=binary)
                # 64 connections each hold a read buffer with an unfinished line.
                held = hold_unfinished(server, b"get partial")
                probe = server.connect()
                probe.send(b"version\r\n")
                self.assertTrue(probe.is_closed(), "no read buffer: closed (read_buf_oom)")
                held[63].send(b"\r\n")
                self.assertTrue(held[63].is_closed(), "no response object: closed")
                held[0].send(b"\r\nstats\r\n")
                self.assertEqual(held[0].expect(b"END\r\n"), b"END\r\n")
                s = stats_from(held[0].read_until(b"END\r\n"))
                seen.append((s["read_buf_oom"], s["response_obj_oom"]))
                self.assertEqual(seen[-1], ("1", "1"))
                for h in held + [probe]:
                    h.close()
                self.assertEqual(server.stop(), 0)

    def test_flash_reads_of_an_abandoned_multiget_are_aborted(self):
        # Values on flash are read for the keys before the one that finds no
        # response object; the error abandons them (get_aborted_extstore).
        seen = []
        for binary in BINARIES:
            with self.subTest(server=binary), tempfile.TemporaryDirectory() as d:
                server = ServerProcess(self.ARGS + (
                    "-m", "16", "-o", "ext_path=%s/f:256m,ext_item_age=0,ext_item_size=512,"
                    "ext_recache_rate=0" % d), binary=binary)
                c = server.connect()
                value = b"v" * 3000
                for start in range(0, 12000, 500):
                    c.send(b"".join(b"set f%d 0 0 3000 noreply\r\n%s\r\n" % (i, value)
                                    for i in range(start, start + 500)) + b"mn\r\n")
                    self.assertEqual(c.expect(b"MN\r\n"), b"MN\r\n")
                # The oldest write buffers have reached the file.
                deadline = time.monotonic() + 60
                while int(stats(c).get("extstore_bytes_written", 0)) < (12 << 20):
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.1)
                flash = []
                for i in range(300):
                    c.send(b"me f%d\r\n" % i)
                    if b" cls=1 " in c.read_until(b"\r\n"):
                        flash.append(b"f%d" % i)
                self.assertGreater(len(flash), 10)
                keys = flash + [b"miss%d" % i for i in range(819 - len(flash))] + flash
                before = int(stats(c)["get_aborted_extstore"])
                oom = b"SERVER_ERROR out of memory writing get response\r\n"
                c.send(b"get " + b" ".join(keys) + b"\r\n")
                self.assertEqual(c.expect(oom), oom)
                s = stats(c)
                seen.append(int(s["get_aborted_extstore"]) - before)
                self.assertEqual(seen[-1], len(flash))
                self.assertEqual(s["response_obj_oom"], "1")
                # The values are still there.
                c.send(b"get " + b" ".join(flash) + b"\r\n")
                self.assertEqual(c.read_until(b"END\r\n").count(b"VALUE "), len(flash))
                c.close()
                self.assertEqual(server.stop(), 0)


BUFFER_STATS = ("response_obj_oom", "response_obj_count", "response_obj_bytes", "read_buf_count",
                "read_buf_bytes", "read_buf_bytes_free", "read_buf_oom")


def buffer_stats(conn):
    s = stats(conn)
    return {k: s[k] for k in BUFFER_STATS + ("conn_yields",)}


def wait_connections(server, conn, count):
    """Waits until the server has closed all but `count` client connections."""
    deadline = time.monotonic() + 60
    while int(stats(conn)["curr_connections"]) != count:
        if time.monotonic() > deadline:
            raise AssertionError("connections still open")
        time.sleep(0.05)


def udp_request(port, payload, rid=7):
    """The datagrams' payloads answering one UDP request, until none for 1 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(struct.pack(">HHHH", rid, 0, 1, 0) + payload, ("127.0.0.1", port))
        u.settimeout(1.0)
        out = []
        try:
            while True:
                out.append(u.recv(70000)[8:])
        except socket.timeout:
            return out


class ReadBufMemLimitOtherTransports(unittest.TestCase):
    """-o read_buf_mem_limit=1 -t 1 (64 buffers) for binary requests and UDP,
    as memcached 1.6.18: a binary request that finds no response object
    closes its connection, a UDP multiget past the limit answers one
    datagram of SERVER_ERROR; every buffer stat the same on both servers."""

    ARGS = ("-t", "1", "-o", "read_buf_mem_limit=1")

    def test_binary_connections_past_the_limit_are_closed(self):
        seen = []
        get = bc.request(bc.GETK, b"k", opaque=5)
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(self.ARGS, binary=binary)
                held = hold_unfinished(server, get[:10])
                probe = server.connect()
                probe.send(bc.request(bc.NOOP))
                outcome = [probe.is_closed()]
                held[63].send(get[10:])
                outcome.append(held[63].is_closed())
                held[0].send(get[10:])
                outcome.append(bc.Response(held[0].expect(b"x" * 25)).status)
                c = server.connect()
                outcome.append(buffer_stats(c))
                seen.append(outcome)
                self.assertEqual(outcome[:3], [True, True, 1])  # closed, closed, not found
                self.assertEqual(outcome[3]["read_buf_oom"], "1")
                self.assertEqual(outcome[3]["response_obj_oom"], "1")
                for h in held + [probe, c]:
                    h.close()
                self.assertEqual(server.stop(), 0)
        self.assertEqual(seen[1:], seen[:1] * (len(seen) - 1))

    def test_binary_pipeline_holds_responses_until_it_yields(self):
        # memcached writes (and frees) the responses every -R requests, or
        # when the 16 KB read has been parsed: 1,000 quiet gets pass.
        seen = []
        keys = [b"k%d" % i for i in range(1000)]
        for args in ((), ("-R", "5000")):
            for binary in BINARIES:
                with self.subTest(server=binary, args=args):
                    server = ServerProcess(self.ARGS + args, binary=binary)
                    c = server.connect()
                    c.send(b"set k7 0 0 1\r\nx\r\n")
                    self.assertEqual(c.expect(b"STORED\r\n"), b"STORED\r\n")
                    b = server.connect()
                    b.send(b"".join(bc.request(bc.GETKQ, k, opaque=i) for i, k in enumerate(keys))
                           + bc.sentinel())
                    reply = b.expect(b"x" * (25 + 2 + 4) + b"x" * 24)
                    s = buffer_stats(c)
                    seen.append((args, reply, s))
                    self.assertEqual(s["response_obj_oom"], "0")
                    b.close()
                    c.close()
                    self.assertEqual(server.stop(), 0)
        self.assertEqual(seen[1:2], seen[:1])
        self.assertEqual(seen[3:], seen[2:3])
        # -R 5000: a 16 KB read's requests (about 600) hold their responses.
        self.assertGreater(int(seen[-1][2]["read_buf_count"]), 40)

    def test_udp_multiget_out_of_memory(self):
        seen = []
        keys = b" ".join(b"k%d" % i for i in range(900))
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(self.ARGS, binary=binary, udp_port=free_udp_port())
                c = server.connect()
                c.send(b"set k1 0 0 1\r\nx\r\n")
                self.assertEqual(c.expect(b"STORED\r\n"), b"STORED\r\n")
                replies = [udp_request(server.udp_port, b"get k1\r\n"),
                           udp_request(server.udp_port, b"version\r\nget " + keys + b"\r\n"),
                           udp_request(server.udp_port, b"get k1 k2\r\n")]
                seen.append((replies, buffer_stats(c)))
                self.assertEqual(replies[1], [b"SERVER_ERROR out of memory writing get response\r\n"])
                self.assertEqual(seen[-1][1]["response_obj_oom"], "1")
                c.close()
                self.assertEqual(server.stop(), 0)
        self.assertEqual(seen[1:], seen[:1] * (len(seen) - 1))


class BufferStats(unittest.TestCase):
    """`stats` read_buf_* and response_obj_* count memcached's per-worker
    buffer caches: buffers ever allocated (a free list keeps them), those
    free, response objects live and their 13-object bundles (each worker
    keeps its last). Connections go to workers round robin, so every step
    is deterministic; both servers must show the same values."""

    @staticmethod
    def settled(c):
        """The stats once other connections' responses have gone back (only
        the asking command's is live) and two readings agree."""
        deadline = time.monotonic() + 60
        last = buffer_stats(c)
        while True:
            now = buffer_stats(c)
            if now == last and now["response_obj_count"] == "1":
                return now
            if time.monotonic() > deadline:
                raise AssertionError("buffer stats did not settle: %r" % now)
            last = now
            time.sleep(0.05)

    def steps(self, binary, threads):
        server = ServerProcess(("-t", str(threads)), binary=binary)
        out = []
        c = server.connect()
        # The harness's probe connection has been closed (its read of EOF
        # took a buffer too).
        wait_connections(server, c, 1)
        out.append(self.settled(c))
        c.send(b"set a 0 0 1\r\nx\r\nget a\r\n")
        self.assertEqual(c.expect(b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"),
                         b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
        out.append(self.settled(c))
        many = [server.connect() for _ in range(10)]
        for m in many:
            m.send(b"version\r\n")
            self.assertTrue(m.expect(b"VERSION 1.6.18\r\n").startswith(b"VERSION"))
        out.append(self.settled(c))
        for m in many:
            m.send(b"get partial")
        server_read_everything(server, many)
        out.append(self.settled(c))
        for m in many:
            m.close()
        wait_connections(server, c, 1)
        out.append(self.settled(c))
        c.send(b"get " + b" ".join(b"k%d" % i for i in range(100)) + b" a\r\n")
        self.assertEqual(c.expect(b"VALUE a 0 1\r\nx\r\nEND\r\n"), b"VALUE a 0 1\r\nx\r\nEND\r\n")
        out.append(self.settled(c))
        c.send(b"stats reset\r\n")
        self.assertEqual(c.expect(b"RESET\r\n"), b"RESET\r\n")
        out.append(buffer_stats(c))
        c.close()
        self.assertEqual(server.stop(), 0)
        for step in out:
            del step["conn_yields"]
        return out

    def test_same_values_after_the_same_exchanges(self):
        for threads in (1, 4):
            seen = [self.steps(binary, threads) for binary in BINARIES]
            mine = seen[0]
            # One client: its read buffer and the stats command's response.
            self.assertEqual(mine[0]["response_obj_count"], "1")
            self.assertEqual(mine[0]["response_obj_bytes"], "16384")
            # Ten connections holding unread input hold ten more buffers,
            # free again once they close; a 101-key get takes 8 bundles.
            self.assertEqual(int(mine[3]["read_buf_count"]) - int(mine[2]["read_buf_count"]),
                             10 - int(mine[2]["read_buf_bytes_free"]) // 16384)
            self.assertEqual(int(mine[4]["read_buf_bytes_free"]) -
                             int(mine[3]["read_buf_bytes_free"]), 10 * 16384)
            # `stats reset` zeroes the response counters, not the buffers.
            self.assertEqual((mine[6]["response_obj_count"], mine[6]["response_obj_bytes"]),
                             ("0", "0"))
            self.assertEqual(mine[6]["read_buf_count"], mine[5]["read_buf_count"])
            for other in seen[1:]:
                self.assertEqual(other, mine, "-t %d" % threads)


class PreallocatedMemory(unittest.TestCase):
    """-L and -e preallocate as memcached 1.6.18: a slab page per class at
    start (every class shows total_pages 1), -e also the rest of -m into the
    global page pool; -m too small for a page per class is refused with
    memcached's message and exit status 1."""

    def layout(self, binary, args):
        server = ServerProcess(args, binary=binary)
        c = server.connect()
        c.send(b"set a 0 0 5000\r\n" + b"v" * 5000 + b"\r\n")
        self.assertEqual(c.expect(b"STORED\r\n"), b"STORED\r\n")
        slabs = stats(c, b"slabs")
        # Preallocated memory cannot be resized.
        c.send(b"cache_memlimit 100\r\n")
        memlimit = c.read_until(b"\r\n")
        general = stats(c)
        c.close()
        self.assertEqual(server.stop(), 0)
        pages = {k: v for k, v in slabs.items() if k.endswith(":total_pages")}
        return (pages, slabs["active_slabs"], slabs["total_malloced"],
                general["slab_global_page_pool"], general["limit_maxbytes"], memlimit)

    def test_a_page_per_class_at_start(self):
        with tempfile.TemporaryDirectory() as d:
            cases = [("-L",), ("-L", "-m", "39", "-n", "200", "-f", "2"), ("-L", "-I", "4m"),
                     ("-e", d + "/mem", "-m", "48")]
            for args in cases:
                seen = [self.layout(binary, args) for binary in BINARIES]
                self.assertEqual(set(seen[0][0].values()), {"1"}, args)
                for other in seen[1:]:
                    self.assertEqual(other, seen[0], args)
            # -e: all of -m malloced, what no class holds in the pool.
            self.assertEqual(seen[0][2], str(48 << 20))
            self.assertEqual(int(seen[0][3]), 48 - len(seen[0][0]))

    def test_too_little_memory_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            for args in (["-L", "-m", "38"], ["-L", "-n", "200", "-f", "2", "-m", "11"],
                         ["-e", d + "/mem", "-m", "16"]):
                runs = []
                for binary in BINARIES:
                    cmd = [binary, "-p", str(free_port()), "-U", "0", "-l", "127.0.0.1"]
                    if os.geteuid() == 0:
                        cmd += ["-u", "root"]
                    r = subprocess.run(cmd + args, capture_output=True, text=True, timeout=30)
                    lines = [l for l in r.stderr.splitlines() if not l.startswith("[restart]")]
                    runs.append((r.returncode, lines))
                self.assertEqual(runs[0][0], 1, args)
                self.assertIn("max memory must be at least", runs[0][1][-1])
                for other in runs[1:]:
                    self.assertEqual(other, runs[0], args)


class ProcessFlags(unittest.TestCase):
    def run_both(self, args):
        return [subprocess.run([b, *args], capture_output=True, text=True, timeout=30)
                for b in BINARIES]

    def test_license_and_refusals(self):
        for r in self.run_both(["-i"]):
            self.assertEqual(r.returncode, 0)
            self.assertTrue(r.stdout.startswith("memcached 1.6.18"))
        for args, needle in ((["-R", "0"], "-R"), (["-D", ""], "-D"),
                             (["-o", "hash_algorithm=md5"], "hash_algorithm"),
                             (["-o", "idle_timeout=soon"], "idle_timeout")):
            r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(needle, r.stderr)

    def test_daemon_and_pid_file(self):
        for binary in BINARIES:
            with self.subTest(server=binary), tempfile.TemporaryDirectory() as d:
                pid_path = os.path.join(d, "server.pid")
                port = free_port()
                args = [binary, "-d", "-P", pid_path, "-p", str(port), "-l", "127.0.0.1",
                        "-U", "0", "-r"]
                if os.geteuid() == 0:
                    args += ["-u", "root"]
                r = subprocess.run(args, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                deadline = time.monotonic() + 30
                while not os.path.exists(pid_path) and time.monotonic() < deadline:
                    time.sleep(0.05)
                with open(pid_path) as f:
                    pid = int(f.read())
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                self.assertNotEqual(int(fields[1]), os.getpid())  # the starter exited
                self.assertEqual(int(fields[3]), pid)  # a session leader
                # -r keeps the start directory, for the core files.
                self.assertEqual(os.readlink("/proc/%d/cwd" % pid), os.getcwd())
                with open("/proc/%d/limits" % pid) as f:
                    core = [l for l in f if l.startswith("Max core file size")][0]
                self.assertNotEqual(core.split()[4], "0", core)
                os.kill(pid, signal.SIGTERM)
                # The pid file goes before the process exits.
                deadline = time.monotonic() + 60
                while os.path.exists(pid_path) and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertFalse(os.path.exists(pid_path), "-d removes its pid file at exit")

    def test_port_file(self):
        for binary in BINARIES:
            with self.subTest(server=binary), tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "ports")
                os.environ["MEMCACHED_PORT_FILENAME"] = path
                try:
                    server = ServerProcess((), binary=binary)
                finally:
                    del os.environ["MEMCACHED_PORT_FILENAME"]
                try:
                    self.assertEqual(read_port_file(path), "TCP INET: %d\n" % server.port)
                finally:
                    self.assertEqual(server.stop(), 0)

    def test_no_listen_address_listens_on_ipv4_and_ipv6(self):
        # Without -l memcached binds 0.0.0.0, then [::] (v6-only); both count
        # as connections in stats and both are in the port file.
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        seen = []
        for binary in BINARIES:
            with self.subTest(server=binary), tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "ports")
                port = free_port()
                args = [binary, "-p", str(port), "-U", "0"]
                if os.geteuid() == 0:
                    args += ["-u", "root"]
                proc = subprocess.Popen(args, env=dict(os.environ, MEMCACHED_PORT_FILENAME=path),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    ports = read_port_file(path)
                    c = Conn(port, 5.0, host="::1")
                    st = stats(c)
                    seen.append((ports.replace(str(port), "P"), st["curr_connections"],
                                 st["total_connections"]))
                    c.close()
                finally:
                    proc.terminate()
                    self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(seen[0], ("TCP INET: P\nTCP INET6: P\n", "2", "3"))
        self.assertEqual(seen[0], seen[-1])

    def test_lock_memory_and_large_pages_start(self):
        args = ["-L"]
        if not sanitizer_build(BINARY):  # mlockall would pin the sanitizer's shadow memory
            args.append("-k")
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(args, binary=binary)
                c = server.connect()
                c.send(b"version\r\n")
                self.assertEqual(c.expect(b"VERSION 1.6.18\r\n"), b"VERSION 1.6.18\r\n")
                c.close()
                self.assertEqual(server.stop(), 0)


class ConfigRefusals(unittest.TestCase):
    """Command lines memcached refuses are refused with its exact stderr and
    exit status; a repeated flag takes its last value, as memcached's getopt
    loop does."""

    def test_extstore_geometry_and_thread_refusals(self):
        cases = (("ext_page_size=1,ext_path={d}/f:64m",),
                 ("ext_page_size=16,ext_wbuf_size=32,ext_path={d}/f:64m",),
                 ("ext_wbuf_size=1,ext_path={d}/f:64m",),
                 ("ext_page_size=6,ext_wbuf_size=3,ext_path={d}/f:64m",),
                 ("ext_path={d}/f:64m,ext_page_size=8",),
                 ("ext_page_size=8,ext_path={d}/f:64m", "ext_page_size=8"),
                 ("ext_page_size=2,ext_wbuf_size=2,ext_path={d}/f:131070m",))
        user = ["-u", "root"] if os.geteuid() == 0 else []
        for case in cases:
            for extra in ([], ["-t", "0"], ["-t", "2", "-t", "x"]):
                seen = []
                for binary in BINARIES:
                    with self.subTest(server=binary, case=case, extra=extra), \
                            tempfile.TemporaryDirectory() as d:
                        args = [binary, "-p", "0", "-U", "0", *user, *extra]
                        for o in case:
                            args += ["-o", o.format(d=d)]
                        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
                        self.assertNotEqual(r.returncode, 0, r.stderr)
                        seen.append((r.returncode, r.stderr, r.stdout))
                if not extra:
                    self.assertTrue(seen[0][1].startswith(("Failed to initialize external "
                                                           "storage: ", "Must specify")), seen)
                for other in seen[1:]:
                    self.assertEqual(other, seen[0], (case, extra))

    def test_engine_refusals(self):
        # Numbers memcached refuses and cross-option checks: its line and
        # exit status, without memext-server's prefix.
        user = ["-u", "root"] if os.geteuid() == 0 else []
        cases = (["-f", "1.0"], ["-n", "0"], ["-I", "512"], ["-I", "100k"], ["-m", "0"],
                 ["-m", "2", "-I", "2m"], ["-o", "slab_chunk_max=3000"],
                 ["-o", "hot_lru_pct=90"], ["-o", "warm_lru_pct=0"],
                 ["-o", "hot_lru_pct=50,warm_lru_pct=40"], ["-o", "hot_max_factor=0"],
                 ["-o", "warm_max_factor=0"], ["-I", "8m", "-o", "ext_path={d}/f:64m"],
                 ["-I", "4m", "-o", "ext_wbuf_size=2,ext_path={d}/f:64m"])
        for case in cases:
            seen = []
            for binary in BINARIES:
                with self.subTest(server=binary, case=case), tempfile.TemporaryDirectory() as d:
                    args = [binary, "-p", "0", "-U", "0", *user] + [a.format(d=d) for a in case]
                    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
                    self.assertNotEqual(r.returncode, 0, r.stderr)
                    self.assertNotIn("memext-server", r.stderr)
                    seen.append((r.returncode, r.stderr, r.stdout))
            for other in seen[1:]:
                self.assertEqual(other, seen[0], case)

    def test_smallest_legal_geometry_is_served(self):
        # 2 MB pages and buffers: the smallest memcached takes.
        for binary in BINARIES:
            with self.subTest(server=binary), tempfile.TemporaryDirectory() as d:
                server = ServerProcess(("-o", "ext_page_size=2,ext_wbuf_size=2,"
                                        "ext_path=%s/f:64m" % d), binary=binary)
                c = server.connect()
                s = stats(c, b"settings")
                c.close()
                self.assertEqual(server.stop(), 0)
                self.assertEqual(s["ext_wbuf_size"], str(2 << 20))

    def test_repeated_flags_take_the_last_value(self):
        # The harness passes -t 2 itself.
        args = ("-t", "3", "-m", "10", "-m", "20", "-c", "100", "-c", "200", "-M", "-M",
                "-R", "5", "-R", "6", "-D", "#", "-D", "/", "-F", "-F")
        seen = []
        for binary in BINARIES:
            with self.subTest(server=binary):
                server = ServerProcess(args, binary=binary)
                c = server.connect()
                s = stats(c, b"settings")
                c.close()
                self.assertEqual(server.stop(), 0)
                seen.append([s[k] for k in ("num_threads", "maxbytes", "maxconns",
                                            "evictions", "reqs_per_event", "stat_key_prefix",
                                            "flush_enabled")])
        self.assertEqual(seen[0], ["3", str(20 << 20), "200", "off", "6", "/", "no"])
        for other in seen[1:]:
            self.assertEqual(other, seen[0])


DIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "server", "dist")
DEBIAN_CONF = """# stock lines of Debian's /etc/memcached.conf
-d
logfile {log}
-m 64
-p {port}
-u {user}
-l 127.0.0.1
-P {pid}
"""


class StartScripts(unittest.TestCase):
    """Debian's start-memcached (with memext-server as its binary) and
    server/dist/start-memext, on a copy of Debian's stock config."""

    def wait_serving(self, port):
        deadline = time.monotonic() + 30
        while True:
            try:
                c = Conn(port)
                break
            except OSError:
                self.assertLess(time.monotonic(), deadline, "the server never listened")
                time.sleep(0.05)
        c.send(b"stats settings\r\n")
        settings = stats_from(c.read_until(b"END\r\n"))
        c.close()
        return settings

    def stop(self, pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except FileNotFoundError:
                break
            time.sleep(0.05)

    def config(self, d):
        port = free_port()
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        conf = os.path.join(d, "memcached.conf")
        with open(conf, "w") as f:
            f.write(DEBIAN_CONF.format(log=os.path.join(d, "log"), port=port, user=user,
                                       pid=os.path.join(d, "server.pid")))
        return conf, port

    @unittest.skipUnless(os.geteuid() == 0 and os.path.exists(
        "/usr/share/memcached/scripts/start-memcached") and shutil.which("perl"),
        "needs root, perl and Debian's memcached scripts")
    def test_debian_start_memcached_runs_memext(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "start-memcached")
            with open("/usr/share/memcached/scripts/start-memcached") as f:
                text = f.read()
            self.assertIn('"/usr/bin/memcached"', text)
            with open(script, "w") as f:
                f.write(text.replace('"/usr/bin/memcached"', '"%s"' % os.path.abspath(BINARY)))
            conf, port = self.config(d)
            script_pid = os.path.join(d, "script.pid")
            r = subprocess.run(["perl", script, conf, script_pid], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            settings = self.wait_serving(port)
            self.assertEqual((settings["maxbytes"], settings["tcpport"]),
                             (str(64 << 20), str(port)))
            with open(script_pid) as f:
                pid = int(f.read())
            self.stop(pid)
            with open(os.path.join(d, "log")) as f:
                self.assertNotIn("memext-server:", f.read())

    def test_start_memext_daemon_and_foreground(self):
        script = os.path.join(DIST, "start-memext")
        env = dict(os.environ, MEMEXT_SERVER=os.path.abspath(BINARY))
        with tempfile.TemporaryDirectory() as d:
            conf, port = self.config(d)
            pidfile = os.path.join(d, "start.pid")
            r = subprocess.run([script, conf, pidfile], capture_output=True, text=True,
                               timeout=60, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            settings = self.wait_serving(port)
            self.assertEqual(settings["maxbytes"], str(64 << 20))
            with open(pidfile) as f:
                pid = int(f.read())
            self.assertTrue(os.path.exists(os.path.join(d, "server.pid")))
            self.stop(pid)
        with tempfile.TemporaryDirectory() as d:
            conf, port = self.config(d)
            proc = subprocess.Popen([script, "--foreground", conf], env=env,
                                    stderr=subprocess.PIPE)
            try:
                self.wait_serving(port)
            finally:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 0, err)
        r = subprocess.run([script, "/dev/null", "x", "y"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 64)
        self.assertIn("too many arguments", r.stderr)


class SettingsKeys(unittest.TestCase):
    """`stats settings` and `stats` print memcached's keys, in its order, for
    the same flags."""

    CONFIGS = (("-o", "no_modern"),
               ("-A", "-F", "-X", "-R", "7", "-D", "/", "-o", "idle_timeout=30"),
               ("-o", "slab_automove,hash_algorithm=xxh3,watcher_logbuf_size=128,"
                "read_buf_mem_limit=2"),
               ("-o", "ext_path={d}/flash:64m"),
               ("-o", "no_lru_crawler,no_lru_maintainer"),
               ("-o", "ext_path={d}/flash:64m,no_lru_crawler,no_lru_maintainer"))

    @unittest.skipUnless(MEMCACHED, "memcached is not installed")
    def test_same_keys_and_settings(self):
        # curr_connections too: the harness's readiness probe may not be
        # closed on the server's side yet when this test's stats arrive.
        volatile = {"pid", "uptime", "time", "libevent", "rusage_user", "rusage_system",
                    "curr_connections", "total_connections", "connection_structures", "response_obj_count",
                    "response_obj_bytes", "read_buf_count", "read_buf_bytes",
                    "read_buf_bytes_free", "lru_maintainer_juggles", "bytes_read",
                    "bytes_written", "tcpport", "moves_to_cold", "moves_to_warm",
                    "moves_within_lru",
                    # Each server's LRU crawler runs on its own schedule: it
                    # may or may not have checked the one item yet.
                    "crawler_items_checked", "crawler_reclaimed", "lru_crawler_starts"}
        for args in self.CONFIGS:
            with self.subTest(args=args):
                seen = {}
                for binary in BINARIES:
                    with tempfile.TemporaryDirectory() as d:
                        server = ServerProcess([a.format(d=d) for a in args], binary=binary)
                        try:
                            c = server.connect()
                            c.send(b"set a 0 0 1\r\nx\r\n")
                            c.read_until(b"STORED\r\n")
                            seen[binary] = [stats(c, g) for g in (b"settings", b"", b"items",
                                                                  b"slabs")]
                            c.close()
                        finally:
                            server.stop()
                mine, theirs = seen[BINARY], seen[MEMCACHED]
                for group in range(4):
                    ours = [k for k in mine[group] if not k.startswith(NOT_OURS)]
                    ref = [k for k in theirs[group] if not k.startswith(NOT_OURS)]
                    self.assertEqual(ours, ref)
                    for k in ours if group < 2 else ():
                        if k not in volatile and not k.startswith("extstore_"):
                            self.assertEqual(mine[group][k], theirs[group][k], k)


if __name__ == "__main__":
    unittest.main()
