"""memcached 1.6.18's meta commands (mg ms md ma mn me), byte for byte
against replies captured from memcached 1.6.18."""

import base64
import os
import re
import shutil
import tempfile
import time
import unittest

from memext_harness import BothServers, ServerProcess, ServerTestCase


class MetaProtocol(ServerTestCase):
    def test_mg_flags_in_request_order(self):
        self.roundtrip(b"ms mk 2\r\nhi\r\nmg mk v\r\nmg mk\r\nmg mk s v f t k O123 h l\r\n"
                       b"mg miss v\r\nmg miss v q\r\nmg miss k O9 q\r\nmn\r\n",
                       b"HD\r\nVA 2\r\nhi\r\nHD\r\nVA 2 s2 f0 t-1 kmk O123 h1 l0\r\nhi\r\nEN\r\n"
                       b"MN\r\n")
        c = self.conn()
        c.send(b"mg mk c\r\n")
        self.assertRegex(c.read_until(b"\r\n"), rb"^HD c\d+\r\n$")

    def test_mg_ttl_and_base64_key(self):
        self.roundtrip(b"ms bk 3 T100\r\nabc\r\nmg YmsK b v k\r\nmg bk T30 t v\r\nmg !!! b v\r\n",
                       b"HD\r\nEN kYmsK b\r\nVA 3 t30\r\nabc\r\nCLIENT_ERROR error decoding key\r\n")
        self.roundtrip(b"mg Yms= b v k\r\n", b"VA 3 kbk\r\nabc\r\n")

    def test_mg_errors(self):
        self.roundtrip(b"mg\r\nmg mk zz\r\nmg mk v v\r\nmx\r\n",
                       b"ERROR\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\nERROR\r\n")
        self.roundtrip(b"mg " + b"a" * 251 + b" v\r\n", b"CLIENT_ERROR bad command line format\r\n")
        self.roundtrip(b"mg mk v O" + b"1" * 33 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n")
        self.roundtrip(b"mg mk" + b" v" * 26 + b"\r\n", b"CLIENT_ERROR options flags are too long\r\n")

    def test_ms_modes_and_return_flags(self):
        c = self.conn()
        c.send(b"ms ms1 2 T0 F5 c k O1 s\r\nhi\r\n")
        self.assertRegex(c.read_until(b"\r\n"), rb"^HD c\d+ kms1 O1\r\n$")
        self.roundtrip(b"ms ms1 2 q\r\nhi\r\nms ms1 2 MA\r\nxx\r\nmg ms1 v f\r\n"
                       b"ms ms_no 2 MA\r\nxx\r\nms ms_new 2 ME\r\nxx\r\nms ms_new 2 ME\r\nxx\r\n"
                       b"ms ms1 2 MZ\r\nxx\r\nmn\r\n",
                       b"HD\r\nVA 4 f0\r\nhixx\r\nNS\r\nHD\r\nNS\r\n"
                       b"CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n")

    def test_ms_cas_and_errors(self):
        self.roundtrip(b"ms mc 2\r\nhi\r\nms mc 2 C1\r\nhi\r\nms mc_no 2 C1\r\nhi\r\n",
                       b"HD\r\nEX\r\nNF\r\n")
        self.roundtrip(b"ms mc S2\r\nhi\r\nms mc\r\nms mc abc\r\nhi\r\nms mc -1\r\n",
                       b"CLIENT_ERROR bad command line format\r\nERROR\r\n"
                       b"CLIENT_ERROR bad command line format\r\n"
                       b"CLIENT_ERROR bad command line format\r\nERROR\r\n"
                       b"CLIENT_ERROR bad command line format\r\n")
        self.roundtrip(b"ms mc 1 E77\r\nz\r\nmn\r\n", b"CLIENT_ERROR invalid flag\r\nMN\r\n")
        self.roundtrip(b"ms mc 1\r\nzzz\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n")

    def test_key_echo_on_miss_and_binary_keys(self):
        self.roundtrip(b"mg miss k O9\r\nmg miss v k\r\nmg miss O9 v s t\r\nmg miss\r\n",
                       b"EN kmiss O9\r\nEN kmiss\r\nEN O9\r\nEN\r\n")
        self.roundtrip(b"ma miss k O1\r\nms mx 1 MR k O2\r\nx\r\nmd bWlzcw== b k O3\r\n"
                       b"ms Yms= 1 b k\r\nx\r\nmd Yms= b k\r\n",
                       b"NF kmiss O1\r\nNS kmx O2\r\nNF kbWlzcw== b O3\r\nHD kYms= b\r\n"
                       b"HD kYms= b\r\n")

    def test_md(self):
        self.roundtrip(b"ms md1 1\r\nx\r\nmd md1\r\nmd md1\r\nmd md1 q\r\nmd md1 k O5\r\nmd md1 C99\r\n",
                       b"HD\r\nHD\r\nNF\r\nNF\r\nNF kmd1 O5\r\nNF\r\n")
        self.roundtrip(b"ms md2 1\r\nx\r\nmd md2 q\r\nmg md2 v\r\n", b"HD\r\nEN\r\n")

    def test_ma(self):
        self.roundtrip(b"ma cnt\r\nma cnt N0 J10\r\nma cnt v\r\nma cnt MD D3 v t k\r\n"
                       b"ma cnt MI D abc\r\nms str 1\r\nx\r\nma str\r\nma cnt q\r\nma cnt MX\r\n"
                       b"mg cnt v\r\n",
                       b"NF\r\nHD\r\nVA 2\r\n11\r\nVA 1 t-1 kcnt\r\n8\r\n"
                       b"CLIENT_ERROR invalid or duplicate flag\r\nHD\r\n"
                       b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                       b"CLIENT_ERROR invalid mode for ma M token\r\nVA 2\r\n9 \r\n")

    def test_me(self):
        c = self.conn()
        c.send(b"me me1\r\nms me1 3\r\nabc\r\nme me1\r\n")
        self.assertEqual(c.expect(b"EN\r\nHD\r\n"), b"EN\r\nHD\r\n")
        self.assertRegex(c.read_until(b"\r\n"),
                         rb"^ME me1 exp=-1 la=0 cas=\d+ fetch=no cls=1 size=65\r\n$")

    def test_meta_noreply_pipeline_ends_with_mn(self):
        self.roundtrip(b"ms q1 1 q\r\na\r\nms q2 1 q\r\nb\r\nmg q1 v q\r\nmg q3 v q\r\nmd q2 q\r\nmn\r\n",
                       b"VA 1\r\na\r\nMN\r\n")


class MetaStaleAndWin(BothServers):
    """mg N/R/T with the W, X and Z return flags, md I and ms I."""

    def test_mg_vivify_on_miss(self):
        self.exchange(b"mg v1 N30 v t s k O1\r\nmg v1 N30 v t\r\nmg v1 v\r\nmg v1 s t f\r\n"
                      b"ms v1 3 T100\r\nabc\r\nmg v1 N30 v t\r\n",
                      b"VA 0 t30 s0 kv1 O1 W\r\n\r\nVA 0 t30 Z\r\n\r\nVA 0 Z\r\n\r\n"
                      b"HD s0 t30 f0 Z\r\nHD\r\nVA 3 t100\r\nabc\r\n")
        # q hides only a miss: the vivified hit is answered.
        self.exchange(b"mg v2 N30 q\r\nmg v2 N30\r\nmg v2 q\r\nmg v3 q\r\nmn\r\n",
                      b"HD W\r\nHD Z\r\nHD Z\r\nMN\r\n")

    def test_mg_recache(self):
        self.exchange(b"ms r1 1 T100\r\nx\r\nmg r1 R30 v t\r\nmg r1 R200 v t\r\n"
                      b"mg r1 R200 v t\r\nms r2 1\r\nx\r\nmg r2 R200 v t\r\n"
                      b"mg r1 R200 t T10\r\nmg r1 t\r\n",
                      b"HD\r\nVA 1 t100\r\nx\r\nVA 1 t100 W\r\nx\r\nVA 1 t100 Z\r\nx\r\n"
                      b"HD\r\nVA 1 t-1\r\nx\r\nHD t100 Z\r\nHD t10 Z\r\n")

    def test_mg_flags_act_in_request_order(self):
        # R sees a T before it; of N and T on a created item the later TTL
        # stays; a t shows the TTL as of its place.
        self.exchange(b"ms o1 1 T100\r\nx\r\nmg o1 T10 R20 t\r\nmg o2 N5 R10 t\r\n"
                      b"mg o2 R10 t\r\nmg o3 T5 N30 t\r\nmg o3 t\r\nmg o4 N30 T5 t\r\n"
                      b"mg o4 t q k\r\nms o5 1 T100\r\nx\r\nmg o5 t T50\r\nmg o5 t\r\n"
                      b"mg o6 t N30\r\nmg o6 t\r\n",
                      b"HD\r\nHD t10 W\r\nHD t5 W\r\nHD t5 Z\r\nHD t30 W\r\nHD t30 Z\r\n"
                      b"HD t5 W\r\nHD t5 ko4 Z\r\nHD\r\nHD t100\r\nHD t50\r\n"
                      b"HD t-1 W\r\nHD t30 Z\r\n")

    def test_md_invalidate(self):
        self.exchange(b"ms j1 1 T100\r\na\r\nmg j1 R200\r\nmd j1 I T30\r\nmg j1 t v\r\n"
                      b"mg j1 t\r\nmd j1 I q\r\nmg j1 t\r\nmd j1 C1 I\r\nmd j1 q\r\nmg j1\r\n"
                      b"md j1 I k O7\r\nmn\r\n",
                      b"HD\r\nHD W\r\nHD\r\nVA 1 t30 X W\r\na\r\nHD t30 Z X\r\n"
                      b"HD t30 X W\r\nEX\r\nEN\r\nNF kj1 O7\r\nMN\r\n")
        # T alone does nothing to md; I without T keeps the TTL.
        self.exchange(b"ms j2 1 T100\r\na\r\nmd j2 I\r\nmg j2 t\r\nmd j2 T5 q\r\nmg j2\r\n",
                      b"HD\r\nHD\r\nHD t100 X W\r\nEN\r\n")

    def test_md_invalidate_gives_a_new_cas(self):
        for _, c in self.each_conn():
            c.send(b"ms j3 1\r\na\r\nmg j3 c\r\n")
            self.assertEqual(c.expect(b"HD\r\n"), b"HD\r\n")
            cas = int(re.match(rb"HD c(\d+)\r\n", c.read_until(b"\r\n")).group(1))
            c.send(b"md j3 I C%d\r\nmg j3 c\r\n" % cas)
            self.assertEqual(c.expect(b"HD\r\n"), b"HD\r\n")
            new_cas = int(re.match(rb"HD c(\d+) X W\r\n", c.read_until(b"\r\n")).group(1))
            self.assertGreater(new_cas, cas)

    def test_ms_invalidate_with_older_cas(self):
        for _, c in self.each_conn():
            c.send(b"ms i1 1 T100\r\na\r\nms i1 1 T100\r\na\r\nmg i1 R200 c\r\n")
            self.assertEqual(c.expect(b"HD\r\nHD\r\n"), b"HD\r\nHD\r\n")
            cas = int(re.match(rb"HD c(\d+) W\r\n", c.read_until(b"\r\n")).group(1))
            c.send(b"ms i1 1 C%d I\r\nb\r\nms i1 1 C%d\r\nb\r\n" % (cas + 1, cas - 1))
            self.assertEqual(c.expect(b"EX\r\nEX\r\n"), b"EX\r\nEX\r\n")
            # Stored stale: the old TTL and the sent token stay, T is ignored.
            c.send(b"ms i1 1 C%d I T5 c k\r\nb\r\n" % (cas - 1))
            new_cas = int(re.match(rb"HD c(\d+) ki1\r\n", c.read_until(b"\r\n")).group(1))
            self.assertGreater(new_cas, cas)
            reply = b"VA 1 t100 Z X\r\nb\r\n"
            c.send(b"mg i1 v t\r\n")
            self.assertEqual(c.expect(reply), reply)
            # Append ignores I; a set clears the stale mark.
            c.send(b"ms i1 1 MA C%d I\r\nc\r\nms i1 1\r\nd\r\nmg i1 v\r\n" % (cas - 1))
            reply = b"EX\r\nHD\r\nVA 1\r\nd\r\n"
            self.assertEqual(c.expect(reply), reply)

    def test_ms_too_large_drops_the_old_item_in_any_mode(self):
        self.exchange(b"ms big1 1\r\nx\r\nms big1 2000000 MA\r\n" + b"a" * 2000000 +
                      b"\r\nmg big1 v\r\n",
                      b"HD\r\nSERVER_ERROR object too large for cache\r\nEN\r\n")

    def test_ms_invalidate_needs_cas(self):
        self.exchange(b"ms i2 1 I\r\nb\r\nmg i2 v\r\nms i3 1 C1 I\r\nb\r\nms i3 1 MR C1 I\r\nb\r\n",
                      b"HD\r\nVA 1\r\nb\r\nNF\r\nNF\r\n")


class MetaFlagParsing(BothServers):
    """memcached 1.6.18's _meta_flag_preparse: one set of letters for every
    command, its error lines and its limits."""

    def test_every_command_accepts_the_whole_letter_set(self):
        self.exchange(b"ms g1 1\r\nx\r\nmg g1 I\r\nmg g1 F1 C1 M1 J1 D1 P L\r\n"
                      b"ms g1 1 R5 N5 t h l u v f J1 D1 P L\r\ny\r\nmg g1 v\r\n"
                      b"ma g2 N0 I\r\nmd g1 v\r\nmg g1\r\n",
                      b"HD\r\nHD\r\nHD\r\nHD\r\nVA 1\r\ny\r\nHD\r\nHD\r\nEN\r\n")

    def test_flags_memcached_1_6_18_does_not_know(self):
        self.exchange(b"ms x1 1\r\nx\r\nmg x1 E1\r\nmg x1 x\r\nmd x1 x\r\nma x1 x\r\n"
                      b"ms x1 1 E5\r\ny\r\nmg x1 v\r\n",
                      b"HD\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\n"
                      b"CLIENT_ERROR invalid or duplicate flag\r\n"
                      b"CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid flag\r\n"
                      b"VA 1\r\nx\r\n")

    def test_bad_tokens_last_error_wins(self):
        self.exchange(b"mg e1 Fabc\r\nmg e1 M12\r\nmg e1 Jx\r\nmg e1 Dx\r\nmg e1 Cx\r\n"
                      b"mg e1 Nx\r\nmg e1 Rx\r\nmg e1 Tx\r\nmg e1 Nx Fx\r\nmg e1 Nx zz\r\n"
                      b"mg e1 Nx Nx\r\nmg !!! b Nx\r\nmg !!! Nx b\r\n",
                      b"CLIENT_ERROR bad command line format\r\n"
                      b"CLIENT_ERROR incorrect length for M token\r\n"
                      b"CLIENT_ERROR invalid numeric initial value\r\n"
                      b"CLIENT_ERROR invalid numeric delta value\r\n"
                      + b"CLIENT_ERROR bad token in command line format\r\n" * 5
                      + b"CLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\n"
                      b"CLIENT_ERROR bad token in command line format\r\n"
                      b"CLIENT_ERROR error decoding key\r\n")
        self.exchange(b"md e1 Nx\r\nms e1 1 Nx\r\nx\r\nms e1 1 Fx\r\nx\r\nms e1 1 M12\r\nx\r\n"
                      b"ms e1 1 Jx Dx\r\nx\r\nma e1 Jx\r\nmn\r\n",
                      b"CLIENT_ERROR invalid or duplicate flag\r\n"
                      b"CLIENT_ERROR bad token in command line format\r\n"
                      b"CLIENT_ERROR bad command line format\r\n"
                      b"CLIENT_ERROR incorrect length for M token\r\n"
                      b"CLIENT_ERROR invalid numeric delta value\r\n"
                      b"CLIENT_ERROR invalid or duplicate flag\r\nMN\r\n")

    def test_limits(self):
        flags17 = b" v k s t c f h l u P L I O1 F1 C1 M1 J1"
        for _, c in self.each_conn():
            c.send(b"ms l1 1\r\nx\r\nmg l1" + flags17 + b"\r\n")
            self.assertEqual(c.expect(b"HD\r\n"), b"HD\r\n")
            self.assertRegex(c.read_until(b"x\r\n"),
                             rb"^VA 1 kl1 s1 t-1 c\d+ f0 h0 l0 O1\r\nx\r\n$")
            reply = (b"CLIENT_ERROR options flags are too long\r\n"
                     b"CLIENT_ERROR options flags too long\r\nERROR\r\n")
            c.send(b"mg l1" + flags17 + b" D1\r\nms l1 abc" + flags17[2:] + b" D1\r\nx\r\n")
            self.assertEqual(c.expect(reply), reply)
        self.exchange(b"mg l1 O" + b"1" * 32 + b"\r\nmg l1 O" + b"1" * 31 + b"\r\n",
                      b"CLIENT_ERROR opaque token too long\r\nHD O" + b"1" * 31 + b"\r\n")
        encoded_long_key = b"YWFh" * 75  # 300 base64 bytes, 225 decoded
        self.exchange(b"mg " + encoded_long_key + b" b v\r\n",
                      b"CLIENT_ERROR bad command line format\r\n")

    def test_me_parses_only_b(self):
        for _, c in self.each_conn():
            c.send(b"ms me2 1 T100\r\nx\r\nme me2 zz v\r\nme bWUy zz b\r\nme !!! b\r\nme\r\n")
            self.assertEqual(c.expect(b"HD\r\n"), b"HD\r\n")
            self.assertRegex(c.read_until(b"\r\n"),
                             rb"^ME me2 exp=-100 la=0 cas=\d+ fetch=no cls=1 size=63\r\n$")
            reply = b"EN\r\n" + b"CLIENT_ERROR bad command line format\r\n" * 2
            self.assertEqual(c.expect(reply), reply)

    def test_ma_applies_t_n_and_T_in_flag_order(self):
        self.exchange(b"ma mt1 N30 t\r\nma mt2 t N30\r\nma mt2 t\r\nma mt3 N30 T5 t\r\n"
                      b"ma mt3 t T100\r\nma mt3 t\r\nma mt4 T5 N30 t\r\nma mt4 t\r\n",
                      b"HD t30\r\nHD t-1\r\nHD t30\r\nHD t5\r\nHD t5\r\nHD t100\r\n"
                      b"HD t30\r\nHD t30\r\n")

    def test_ma_quiet_and_counter_parsing(self):
        self.exchange(b"ma qa q v N0 J5\r\nma qa q v\r\nma qa q\r\nma qb q\r\nmn\r\n",
                      b"VA 1\r\n5\r\nNF\r\nMN\r\n")
        # strtoull rules: leading space and '+' are fine, a CAS mismatch is
        # found before the value is parsed.
        self.exchange(b"ms n1 2\r\n 5\r\nma n1 v\r\nms n2 2\r\n+5\r\nma n2 v\r\n"
                      b"ms n3 2\r\n-1\r\nma n3\r\nms n4 2\r\n5a\r\nma n4 C1\r\nma n4\r\n",
                      b"HD\r\nVA 1\r\n6\r\nHD\r\nVA 1\r\n6\r\nHD\r\n"
                      b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                      b"HD\r\nEX\r\n"
                      b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")

    def test_mode_letters_are_upper_case(self):
        self.exchange(b"ms u1 2\r\n10\r\nms u1 1 Ms\r\nx\r\nms u1 1 Ma\r\nx\r\nms u1 1 Mp\r\nx\r\n"
                      b"ms u1 1 Mr\r\nx\r\nms u1 1 Me\r\nx\r\nma u1 Mi v\r\nma u1 Md v\r\n"
                      b"ma u1 M+ v\r\nma u1 M- v\r\nma u1 MD v\r\n",
                      b"HD\r\n" + b"CLIENT_ERROR invalid mode for ms M token\r\n" * 5
                      + b"CLIENT_ERROR invalid mode for ma M token\r\n" * 2
                      + b"VA 2\r\n11\r\nVA 2\r\n10\r\nVA 1\r\n9\r\n")

    def test_ms_append_with_n_does_not_vivify(self):
        # protocol.txt describes N for append mode; 1.6.18 answers NS.
        self.exchange(b"ms u2 1 MA N30\r\nx\r\nms u2 1 N30 MP\r\nx\r\nmg u2 v\r\n"
                      b"ms u2 1 MA N30 q\r\nx\r\nmn\r\n",
                      b"NS\r\nNS\r\nEN\r\nNS\r\nMN\r\n")


class MetaBinaryKeys(BothServers):
    """memcached 1.6.18's ITEM_KEY_BINARY: an item stored by ms with b prints
    its key base64 in mg's k and in me, whether or not the reading request
    has b; replies that echo the request re-encode its decoded key."""

    def test_mg_and_me_print_the_item_key(self):
        for _, c in self.each_conn():
            c.send(b"ms Ymsx 2 b\r\nhi\r\nmg Ymsx b k v\r\nmg bk1 k v f\r\nme bk1\r\n")
            reply = b"HD\r\nVA 2 kYmsx b\r\nhi\r\nVA 2 kYmsx b f0\r\nhi\r\n"
            self.assertEqual(c.expect(reply), reply)
            self.assertRegex(c.read_until(b"\r\n"),
                             rb"^ME Ymsx exp=-1 la=0 cas=\d+ fetch=yes cls=1 size=64\r\n$")
            reply = b"VALUE bk1 0 2\r\nhi\r\nEND\r\nHD kbk1\r\n"
            c.send(b"get bk1\r\nmd bk1 k\r\n")
            self.assertEqual(c.expect(reply), reply)
        # Stored without b: the bytes, even to a request with b.
        self.exchange(b"ms kkr 1\r\nx\r\nmg a2ty b k\r\nmd a2ty b k\r\n",
                      b"HD\r\nHD kkkr\r\nHD ka2ty b\r\n")

    def test_echoes_are_re_encoded(self):
        # YR== decodes to "a" like YQ== (unused low bits).
        self.exchange(b"ms YR== 1 b k\r\nx\r\nmg a k\r\nmd a k q\r\nmd YR== b k\r\n"
                      b"ma YR== b k\r\nmg YR== b k\r\n",
                      b"HD kYQ== b\r\nHD kYQ== b\r\nNF kYQ== b\r\nNF kYQ== b\r\n"
                      b"EN kYQ== b\r\n")

    def test_which_writes_keep_the_bit(self):
        # Set, add, replace and a stale store take the request's b; append,
        # prepend, a grown incr, ma N and mg N build an item without it; an
        # in-place incr, touch, gat and md I keep it.
        self.exchange(b"ms YjI= 1 b ME\r\nx\r\nmg b2 k\r\nms YjI= 1 b MR\r\ny\r\nmg b2 k\r\n"
                      b"ms b2 1 MR\r\ny\r\nmg b2 k\r\nms YjI= 1 b MA\r\nz\r\nmg b2 k\r\n"
                      b"ms YjI= 1 b\r\nz\r\nms b2 1 MP\r\nz\r\nmg b2 k\r\n",
                      b"HD\r\nHD kYjI= b\r\nHD\r\nHD kYjI= b\r\nHD\r\nHD kb2\r\nHD\r\n"
                      b"HD kb2\r\nHD\r\nHD\r\nHD kb2\r\n")
        self.exchange(b"ms YjE= 2 b\r\n50\r\nma b1\r\nmg b1 k v\r\nma b1 D100\r\nmg b1 k v\r\n"
                      b"ma YjM= b N0 J7 k\r\nmg b3 k\r\nmg YjU= b N30 k\r\nmg b5 k\r\n",
                      b"HD\r\nHD\r\nVA 2 kYjE= b\r\n51\r\nHD\r\nVA 3 kb1\r\n151\r\n"
                      b"HD kYjM= b\r\nHD kb3\r\nHD kb5 W\r\nHD kb5 Z\r\n")
        self.exchange(b"ms YjQ= 1 b\r\nx\r\nmg b4 T30 k\r\nmd b4 I\r\nmg b4 k v\r\n"
                      b"touch b4 10\r\ngat 5 b4\r\nmg b4 k\r\nset b4 0 0 1\r\nz\r\nmg b4 k\r\n",
                      b"HD\r\nHD kYjQ= b\r\nHD\r\nVA 1 kYjQ= b X W\r\nx\r\nTOUCHED\r\n"
                      b"VALUE b4 0 1\r\nx\r\nEND\r\nHD kYjQ= b Z X\r\nSTORED\r\nHD kb4\r\n")
        for _, c in self.each_conn():
            c.send(b"ms b6 1 T100\r\na\r\nms b6 1 T100\r\na\r\nmg b6 c\r\n")
            self.assertEqual(c.expect(b"HD\r\nHD\r\n"), b"HD\r\nHD\r\n")
            cas = int(re.match(rb"HD c(\d+)\r\n", c.read_until(b"\r\n")).group(1))
            c.send(b"ms YjY= 1 b C%d I\r\nb\r\nmg b6 k\r\n" % (cas - 1))
            self.assertEqual(c.expect(b"HD\r\nHD kYjY= b X W\r\n"), b"HD\r\nHD kYjY= b X W\r\n")


class MetaBinaryKeysOnFlash(unittest.TestCase):
    """memcached's extstore header item is a fresh item without
    ITEM_KEY_BINARY: while an item stored with b lives on flash, mg k and me
    print its key's bytes. (ext_recache_rate=0 keeps the headers.)"""

    COUNT = 12000  # 3000-byte values, ~36 MB against -m 16

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="memext-meta-")
        cls.servers = []
        binaries = [None]
        if shutil.which("memcached") is not None:
            binaries.append(shutil.which("memcached"))
        for i, binary in enumerate(binaries):
            path = os.path.join(cls.tmp, "flash%d" % i)
            cls.servers.append(ServerProcess(
                ["-m", "16", "-o", "ext_path=%s:256m,ext_item_age=0,ext_item_size=512,"
                 "ext_recache_rate=0" % path], binary=binary))

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop()
        shutil.rmtree(cls.tmp, True)

    def header_key(self, c):
        value = b"v" * 3000
        batch = []
        for i in range(self.COUNT):
            batch.append(b"ms %s 3000 b q\r\n%s\r\n" % (base64.b64encode(b"f%d" % i), value))
            if len(batch) == 200:
                c.send(b"".join(batch))
                batch = []
        c.send(b"".join(batch) + b"mn\r\n")
        self.assertEqual(c.expect(b"MN\r\n"), b"MN\r\n")
        # A header item is in slab class 1; the full item is not. Looked for
        # across all keys: when the flusher lags (a loaded machine), memcached
        # evicts the oldest items before they reach flash (evicted_unfetched).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for i in range(0, self.COUNT, 31):
                c.send(b"me f%d\r\n" % i)
                if b" cls=1 " in c.read_until(b"\r\n"):
                    return b"f%d" % i
            time.sleep(0.2)
        self.fail("no item reached flash")

    def test_header_prints_the_key_bytes(self):
        for server in self.servers:
            with self.subTest(server=server.binary):
                c = server.connect(timeout=30)
                try:
                    key = self.header_key(c)
                    encoded = base64.b64encode(key)
                    c.send(b"mg %s b k s f\r\nmg %s k\r\n" % (encoded, key))
                    reply = b"HD k%s s3000 f0\r\nHD k%s\r\n" % (key, key)
                    self.assertEqual(c.expect(reply), reply)
                    # A flash read answers with the header's key as well.
                    c.send(b"mg %s k v\r\n" % key)
                    reply = b"VA 3000 k%s\r\n%s\r\n" % (key, b"v" * 3000)
                    self.assertEqual(c.expect(reply), reply)
                    c.send(b"me %s b\r\n" % encoded)
                    self.assertRegex(c.read_until(b"\r\n"), rb"^ME %s exp=-1 .* cls=1 " % key)
                    # Echoes follow the request.
                    c.send(b"md %s b k q\r\nmd %s k\r\n" % (encoded, key))
                    reply = b"NF k%s\r\n" % key
                    self.assertEqual(c.expect(reply), reply)
                finally:
                    c.close()


if __name__ == "__main__":
    unittest.main()
