"""memcached 1.6.18's classic text protocol, byte for byte (every expected
reply below was captured from Debian's memcached 1.6.18)."""

import re
import socket
import threading
import time
import unittest

from memext_harness import BothServers, ServerTestCase


class TextProtocol(ServerTestCase):
    def test_set_get_gets(self):
        self.roundtrip(b"set tg 5 0 3\r\nabc\r\nget tg\r\n",
                       b"STORED\r\nVALUE tg 5 3\r\nabc\r\nEND\r\n")
        c = self.conn()
        c.send(b"gets tg\r\n")
        line = c.read_until(b"\r\n")
        self.assertRegex(line, rb"^VALUE tg 5 3 \d+\r\n$")
        self.assertEqual(c.expect(b"abc\r\nEND\r\n"), b"abc\r\nEND\r\n")

    def test_multiget_keeps_order_and_skips_misses(self):
        self.roundtrip(b"set m1 0 0 1\r\n1\r\nset m2 0 0 1\r\n2\r\nget m2 nope m1 m2\r\n",
                       b"STORED\r\nSTORED\r\nVALUE m2 0 1\r\n2\r\nVALUE m1 0 1\r\n1\r\n"
                       b"VALUE m2 0 1\r\n2\r\nEND\r\n")

    def test_add_replace_append_prepend(self):
        self.roundtrip(b"set ar 0 0 1\r\nx\r\nadd ar 0 0 1\r\ny\r\nreplace ar_no 0 0 1\r\ny\r\n"
                       b"append ar 0 0 2\r\nyy\r\nprepend ar 0 0 1\r\nz\r\nget ar\r\n"
                       b"append ar_no 0 0 1\r\nx\r\nadd ar_new 0 0 1\r\nn\r\n"
                       b"replace ar_new 7 0 1\r\nr\r\nget ar_new\r\n",
                       b"STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\n"
                       b"VALUE ar 0 4\r\nzxyy\r\nEND\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\n"
                       b"VALUE ar_new 7 1\r\nr\r\nEND\r\n")

    def test_cas(self):
        c = self.conn()
        c.send(b"set cs 0 0 1\r\nx\r\ngets cs\r\n")
        c.expect(b"STORED\r\n")
        cas = int(re.match(rb"VALUE cs 0 1 (\d+)\r\n", c.read_until(b"\r\n")).group(1))
        c.expect(b"x\r\nEND\r\n")
        c.send(b"cas cs 0 0 1 %d\r\ny\r\ncas cs 0 0 1 %d\r\nz\r\ncas cs_no 0 0 1 1\r\nx\r\n"
               b"get cs\r\n" % (cas, cas))
        self.assertEqual(c.expect(b"STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE cs 0 1\r\ny\r\nEND\r\n"),
                         b"STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE cs 0 1\r\ny\r\nEND\r\n")
        self.roundtrip(b"cas cs 0 0 1\r\nx\r\n", b"ERROR\r\nERROR\r\n")
        self.roundtrip(b"cas cs 0 0 1 abc\r\nx\r\n",
                       b"CLIENT_ERROR bad command line format\r\nERROR\r\n")

    def test_incr_decr(self):
        self.roundtrip(b"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n\r\nincr\r\n"
                       b"incr n 1 noreply\r\nget n\r\nincr n 18446744073709551616\r\n"
                       b"incr n_no 1\r\n",
                       b"STORED\r\n15\r\n0\r\nERROR\r\nERROR\r\nVALUE n 0 2\r\n1 \r\nEND\r\n"
                       b"CLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\n")
        self.roundtrip(b"set n2 0 0 2\r\n99\r\nincr n2 1\r\nget n2\r\ndecr n2 1\r\nget n2\r\n",
                       b"STORED\r\n100\r\nVALUE n2 0 3\r\n100\r\nEND\r\n99\r\n"
                       b"VALUE n2 0 3\r\n99 \r\nEND\r\n")
        self.roundtrip(b"set n3 0 0 20\r\n18446744073709551615\r\nincr n3 1\r\n",
                       b"STORED\r\n0\r\n")
        self.roundtrip(b"set n4 0 0 3\r\nabc\r\nincr n4 1\r\nincr n4 -1\r\n",
                       b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                       b"CLIENT_ERROR invalid numeric delta argument\r\n")

    def test_delete(self):
        self.roundtrip(b"set d 0 0 1\r\nx\r\ndelete d\r\ndelete d\r\ndelete d 0\r\ndelete d 5\r\n"
                       b"delete d noreply\r\ndelete d 0 noreply\r\ndelete\r\n",
                       b"STORED\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\n"
                       b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
                       b"ERROR\r\n")

    def test_touch_gat_gats(self):
        self.roundtrip(b"set t 3 0 2\r\nhi\r\ntouch t 10\r\ntouch t_no 10\r\ntouch t\r\n"
                       b"touch t abc\r\ntouch t 10 noreply\r\n",
                       b"STORED\r\nTOUCHED\r\nNOT_FOUND\r\nERROR\r\n"
                       b"CLIENT_ERROR invalid exptime argument\r\n")
        c = self.conn()
        c.send(b"gat 10 t t_no\r\ngats 10 t\r\ngat t\r\ngat abc t\r\ngat\r\n")
        self.assertEqual(c.expect(b"VALUE t 3 2\r\nhi\r\nEND\r\n"), b"VALUE t 3 2\r\nhi\r\nEND\r\n")
        self.assertRegex(c.read_until(b"\r\n"), rb"^VALUE t 3 2 \d+\r\n$")
        rest = (b"hi\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\n"
                b"CLIENT_ERROR invalid exptime argument\r\nERROR\r\n")
        self.assertEqual(c.expect(rest), rest)

    def test_expiry_negative_ttl(self):
        self.roundtrip(b"set e 0 -1 1\r\nx\r\nget e\r\n", b"STORED\r\nEND\r\n")

    def test_flush_all(self):
        self.roundtrip(b"set f 0 0 1\r\nx\r\nflush_all\r\nget f\r\nflush_all 0\r\n"
                       b"flush_all abc\r\nflush_all noreply\r\nflush_all 1 2 3\r\n",
                       b"STORED\r\nOK\r\nEND\r\nOK\r\nCLIENT_ERROR invalid exptime argument\r\n"
                       b"ERROR\r\n")

    def test_version_verbosity_misc(self):
        self.roundtrip(b"version\r\nversion x\r\nverbosity\r\nverbosity 1\r\nverbosity 1 noreply\r\n"
                       b"verbosity abc\r\nverbosity 1 2 3\r\nGET a\r\n\r\n  get sp\r\n"
                       b"shutdown\r\n",
                       b"VERSION 1.6.18\r\nVERSION 1.6.18\r\nERROR\r\nOK\r\n"
                       b"CLIENT_ERROR bad command line format\r\nERROR\r\nERROR\r\nERROR\r\n"
                       b"END\r\nERROR: shutdown not enabled\r\n")

    def test_quit_flushes_then_closes(self):
        c = self.conn()
        c.send(b"version\r\nquit\r\nversion\r\n")
        self.assertEqual(c.expect(b"VERSION 1.6.18\r\n"), b"VERSION 1.6.18\r\n")
        self.assertTrue(c.is_closed())

    def test_noreply_everywhere(self):
        self.roundtrip(b"set nr 0 0 1 noreply\r\nx\r\nadd nr 0 0 1 noreply\r\ny\r\n"
                       b"replace nr 0 0 1 noreply\r\nz\r\nappend nr 0 0 1 noreply\r\na\r\n"
                       b"prepend nr 0 0 1 noreply\r\np\r\nincr nr 1 noreply\r\n"
                       b"touch nr 100 noreply\r\nget nr\r\ndelete nr noreply\r\nget nr\r\n"
                       b"set nr 0 0 1 noreply extra\r\nx\r\n",
                       b"VALUE nr 0 3\r\npza\r\nEND\r\nEND\r\nERROR\r\nERROR\r\n")

    def test_pipelining_thousands_in_one_write(self):
        c = self.conn()
        req = b"".join(b"set p%d 0 0 %d\r\n%d\r\n" % (i, len(str(i)), i) for i in range(2000))
        req += b"".join(b"get p%d\r\n" % i for i in range(2000))
        c.send(req)
        want = b"STORED\r\n" * 2000 + b"".join(
            b"VALUE p%d 0 %d\r\n%d\r\nEND\r\n" % (i, len(str(i)), i) for i in range(2000))
        self.assertEqual(c.expect(want), want)

    def test_value_split_across_writes(self):
        c = self.conn()
        c.send(b"get sp1\r\nset sp1 0 0 10\r\nxx")
        self.assertEqual(c.expect(b"END\r\n"), b"END\r\n")
        c.send(b"xxxxxxxx\r\nget sp1\r\n")
        want = b"STORED\r\nVALUE sp1 0 10\r\nxxxxxxxxxx\r\nEND\r\n"
        self.assertEqual(c.expect(want), want)

    def test_request_trickled_byte_by_byte(self):
        # Every byte is its own TCP segment, so every receive is a short read
        # that drains the socket; the server must wait for the next byte's
        # edge each time rather than lose it.
        c = self.conn()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in b"set tr 0 0 5\r\nhello\r\nget tr\r\n":
            c.send(bytes([byte]))
            time.sleep(0.002)
        want = b"STORED\r\nVALUE tr 0 5\r\nhello\r\nEND\r\n"
        self.assertEqual(c.expect(want), want)

    def test_large_value_roundtrip(self):
        value = bytes(range(256)) * 4000  # 1,024,000 bytes incl. \r and \n bytes
        c = self.conn()
        c.send(b"set big 0 0 %d\r\n%s\r\nget big\r\n" % (len(value), value))
        want = b"STORED\r\nVALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(value), value)
        self.assertEqual(c.expect(want), want)


class NulInCommandLine(BothServers):
    """memcached 1.6.18 reads a command line as a C string: a NUL byte ends
    the command there, whatever follows it on the line. Data blocks are
    binary and keep their NULs."""

    def test_text_commands_end_at_nul(self):
        self.exchange(b"set nk 0 0 1\r\nv\r\n", b"STORED\r\n")
        self.exchange(b"get nk\0\r\n", b"VALUE nk 0 1\r\nv\r\nEND\r\n")
        self.exchange(b"get nk\0junk\r\n", b"VALUE nk 0 1\r\nv\r\nEND\r\n")
        self.exchange(b"get nk\0 nk nk\r\n", b"VALUE nk 0 1\r\nv\r\nEND\r\n")
        self.exchange(b"get\0 nk\r\n", b"ERROR\r\n")
        self.exchange(b"version\0junk\r\n", b"VERSION 1.6.18\r\n")
        self.exchange(b"\0\r\nversion\r\n", b"ERROR\r\nVERSION 1.6.18\r\n")
        self.exchange(b"verbosity\0 1\r\n", b"ERROR\r\n")
        self.exchange(b"touch nk 100\0 junk\r\n", b"TOUCHED\r\n")
        self.exchange(b"get nk\0\nversion\r\n", b"VALUE nk 0 1\r\nv\r\nEND\r\nVERSION 1.6.18\r\n")
        for server, c in self.each_conn():
            with self.subTest(server=server.binary):
                c.send(b"gets nk\0 other\r\n")
                self.assertRegex(c.read_until(b"END\r\n"), rb"^VALUE nk 0 1 \d+\r\nv\r\nEND\r\n$")

    def test_storage_and_arithmetic_end_at_nul(self):
        # The length before the NUL counts; the data block after the line is
        # read whole, NULs and all.
        self.exchange(b"set nb 0 0 3\0junk\r\na\0b\r\nget nb\r\n",
                      b"STORED\r\nVALUE nb 0 3\r\na\0b\r\nEND\r\n")
        self.exchange(b"set nc 0 0 1\0\r\nz\r\nget nc\r\n", b"STORED\r\nVALUE nc 0 1\r\nz\r\nEND\r\n")
        self.exchange(b"set nd\0 0 0 1\r\nz\r\nget nd\r\n", b"ERROR\r\nERROR\r\nEND\r\n")
        self.exchange(b"set nn 0 0 1\r\n5\r\nincr nn 1\0 junk\r\n", b"STORED\r\n6\r\n")
        self.exchange(b"incr nn\0 1\r\n", b"ERROR\r\n")
        self.exchange(b"delete nc\0 junk\r\nget nc\r\n", b"DELETED\r\nEND\r\n")

    def test_meta_commands_end_at_nul(self):
        self.exchange(b"ms mk 1\0 junk\r\nz\r\n", b"HD\r\n")
        self.exchange(b"ms mk2 1 T0\0\r\ny\r\n", b"HD\r\n")
        self.exchange(b"mg mk v\0 k\r\n", b"VA 1\r\nz\r\n")
        self.exchange(b"mg mk\0 v\r\n", b"HD\r\n")
        self.exchange(b"mg mk2 v t\0\r\n", b"VA 1 t-1\r\ny\r\n")
        self.exchange(b"mn\0junk\r\n", b"MN\r\n")
        self.exchange(b"ma mn\0\r\n", b"NF\r\n")
        self.exchange(b"md mk\0 q\r\nmn\r\n", b"HD\r\nMN\r\n")
        self.exchange(b"mg mk v\r\n", b"EN\r\n")


class MalformedInput(ServerTestCase):
    """Bad lengths, missing \\r\\n, junk and runaway lines: the right error (or
    close, where memcached closes) while other connections keep working."""

    def assert_others_work(self):
        self.roundtrip(b"set ok 0 0 2\r\nok\r\nget ok\r\n", b"STORED\r\nVALUE ok 0 2\r\nok\r\nEND\r\n")

    def test_bad_lengths(self):
        self.roundtrip(b"set a 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n")
        self.roundtrip(b"set a 0 0 abc\r\n", b"CLIENT_ERROR bad command line format\r\n")
        self.roundtrip(b"set a 0 0 1x\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        self.roundtrip(b"set a 0 0\r\n", b"ERROR\r\n")
        self.roundtrip(b"set a 0 0 1 2 3 4\r\nx\r\n", b"ERROR\r\nERROR\r\n")
        self.roundtrip(b"set a -1 0 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        # memcached truncates 64-bit numbers into its 32-bit fields.
        self.roundtrip(b"set a 4294967296 0 1\r\nx\r\nget a\r\n",
                       b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
        self.roundtrip(b"set a 0 0 4294967297\r\nx\r\nget a\r\n",
                       b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
        self.assert_others_work()

    def test_bad_data_chunk(self):
        self.roundtrip(b"set bd 0 0 1\r\nx\r\nset bd 0 0 1\r\nxyz\r\nget bd\r\n",
                       b"STORED\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE bd 0 1\r\nx\r\nEND\r\n")
        self.roundtrip(b"set bd2 0 0 1\nx\nget bd2\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        self.roundtrip(b"set bd 0 0 1 noreply\r\nxyz\r\nget bd\r\n",
                       b"ERROR\r\nVALUE bd 0 1\r\nx\r\nEND\r\n")

    def test_huge_length_is_swallowed_and_old_value_dropped(self):
        c = self.conn()
        c.send(b"set hl 0 0 1\r\nx\r\n")
        c.expect(b"STORED\r\n")
        c.send(b"set hl 0 0 2000000\r\n" + b"x" * 2000000 + b"\r\nget hl\r\nversion\r\n")
        want = b"SERVER_ERROR object too large for cache\r\nEND\r\nVERSION 1.6.18\r\n"
        self.assertEqual(c.expect(want), want)
        self.assert_others_work()

    def test_key_too_long(self):
        self.roundtrip(b"set " + b"k" * 251 + b" 0 0 1\r\nx\r\n",
                       b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        self.roundtrip(b"get a " + b"b" * 251 + b" c\r\nversion\r\n",
                       b"CLIENT_ERROR bad command line format\r\nVERSION 1.6.18\r\n")

    def test_binary_junk(self):
        self.roundtrip(b"\x00\xff\x80junk\r\nversion\r\n", b"ERROR\r\nVERSION 1.6.18\r\n")
        self.assert_others_work()

    def test_runaway_line_closes_without_reply(self):
        c = self.conn()
        other = self.conn()
        c.send(b"version\r\n" + b"x" * 3000)
        self.assertTrue(c.is_closed())
        self.assertEqual(c.buf, b"")
        other.send(b"version\r\n")
        self.assertEqual(other.expect(b"VERSION 1.6.18\r\n"), b"VERSION 1.6.18\r\n")

    def test_two_megabyte_line_without_newline(self):
        c = self.conn()
        try:
            c.send(b"x" * 2000000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(c.is_closed())
        self.assert_others_work()

    def test_long_multiget_line_is_kept(self):
        keys = b" ".join(b"k%05d" % i for i in range(2000))
        c = self.conn()
        c.send(b"set k00007 0 0 1\r\n7\r\n")
        c.expect(b"STORED\r\n")
        c.send(b"get " + keys[:5000])
        self.assertTrue(c.nothing_pending(0.5))
        c.send(keys[5000:] + b"\r\n")
        want = b"VALUE k00007 0 1\r\n7\r\nEND\r\n"
        self.assertEqual(c.expect(want), want)

    def test_many_connections_in_parallel_while_one_misbehaves(self):
        errors = []

        def worker(n):
            try:
                c = self.server.connect()
                for i in range(200):
                    c.send(b"set w%d_%d 0 0 3\r\nabc\r\nget w%d_%d\r\n" % (n, i, n, i))
                    want = b"STORED\r\nVALUE w%d_%d 0 3\r\nabc\r\nEND\r\n" % (n, i)
                    if c.expect(want) != want:
                        errors.append(n)
                c.close()
            except Exception as e:  # noqa: BLE001 - collected for the assertion
                errors.append(repr(e))

        bad = self.conn()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        # (0x80 first would make it a binary-protocol connection.)
        bad.send(b"\xff" * 5000)
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertTrue(bad.is_closed())


class ConnectionLimit(ServerTestCase):
    # memcached 1.6.18 -t 2 -l ADDR -c 20 admits 4 clients (see
    # test_operator_flags.ConnectionLimits); it cannot start with -c 3.
    SERVER_ARGS = ("-c", "20")

    def test_over_limit_gets_error_and_close(self):
        # The harness's start-up probe connection is closed by the server
        # asynchronously; until it is gone it still takes one of the 3 slots.
        first = self.conn()
        deadline = time.monotonic() + 10
        while True:
            first.send(b"stats\r\n")
            stats = first.read_until(b"END\r\n")
            if re.search(rb"STAT curr_connections 1\r\n", stats) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        held = [first, self.conn(), self.conn(), self.conn()]
        for c in held:
            c.send(b"version\r\n")
            self.assertEqual(c.expect(b"VERSION 1.6.18\r\n"), b"VERSION 1.6.18\r\n")
        extra = self.conn()
        self.assertEqual(extra.expect(b"ERROR Too many open connections\r\n"),
                         b"ERROR Too many open connections\r\n")
        self.assertTrue(extra.is_closed())


if __name__ == "__main__":
    unittest.main()
