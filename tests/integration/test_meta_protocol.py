"""memcached 1.6.18's meta commands (mg ms md ma mn me), byte for byte
against replies captured from memcached 1.6.18."""

import re
import unittest

from memext_harness import ServerTestCase


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


if __name__ == "__main__":
    unittest.main()
