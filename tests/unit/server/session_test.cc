#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "meta_protocol.h"
#include "session.h"
#include "session_fixture.h"

using namespace memext::server;

namespace {

using Fixture = testing::SessionFixture;

}  // namespace

TEST_CASE("pipelined storage and retrieval answer in order") {
  Fixture f;
  CHECK(f.run("set a 5 0 1\r\nx\r\nget a b\r\nadd a 0 0 1\r\ny\r\nappend a 0 0 2\r\nyz\r\n"
              "get a\r\ndelete a\r\ndelete a\r\n") ==
        "STORED\r\nVALUE a 5 1\r\nx\r\nEND\r\nNOT_STORED\r\nSTORED\r\nVALUE a 5 3\r\nxyz\r\n"
        "END\r\nDELETED\r\nNOT_FOUND\r\n");
}

TEST_CASE("noreply suppresses replies, errors of bad lines stay") {
  Fixture f;
  CHECK(f.run("set a 0 0 1 noreply\r\nx\r\nincr a 1 noreply\r\nget a\r\n") ==
        "VALUE a 0 1\r\nx\r\nEND\r\n");
  CHECK(f.run("delete a 5\r\n") ==
        "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
}

TEST_CASE("memcached's error lines") {
  Fixture f;
  CHECK(f.run("bogus\r\n") == "ERROR\r\n");
  CHECK(f.run("\r\n") == "ERROR\r\n");
  CHECK(f.run("get\r\n") == "ERROR\r\n");
  CHECK(f.run("set a 0 0 -1\r\n") == "CLIENT_ERROR bad command line format\r\n");
  CHECK(f.run("set a abc 0 1\r\nx\r\n") == "CLIENT_ERROR bad command line format\r\nERROR\r\n");
  CHECK(f.run("set a 0 0 1\r\nxyz\r\n") == "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
  CHECK(f.run("set n 0 0 3\r\nabc\r\nincr n 1\r\n") ==
        "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
  CHECK(f.run("incr n -1\r\n") == "CLIENT_ERROR invalid numeric delta argument\r\n");
  CHECK(f.run("touch n abc\r\n") == "CLIENT_ERROR invalid exptime argument\r\n");
  CHECK(f.run("get " + std::string(251, 'k') + "\r\n") ==
        "CLIENT_ERROR bad command line format\r\n");
  CHECK(f.run("version\r\n") == "VERSION 1.6.18\r\n");
  CHECK(f.run("flush_all abc\r\n") == "CLIENT_ERROR invalid exptime argument\r\n");
}

TEST_CASE("a NUL ends the command line as in memcached; data blocks keep theirs") {
  using namespace std::string_literals;
  Fixture f;
  CHECK(f.run("set k 0 0 3\0junk\r\na\0b\r\n"s) == "STORED\r\n");
  CHECK(f.run("get k\0\r\n"s) == "VALUE k 0 3\r\na\0b\r\nEND\r\n"s);
  CHECK(f.run("get k\0 other\r\nversion\0junk\r\n"s) ==
        "VALUE k 0 3\r\na\0b\r\nEND\r\nVERSION 1.6.18\r\n"s);
  CHECK(f.run("get\0 k\r\n\0\r\n"s) == "ERROR\r\nERROR\r\n");
  CHECK(f.run("mn\0junk\r\nmg k\0 v\r\n"s) == "MN\r\nHD\r\n");
}

TEST_CASE("a store waits for its data block and says how much it needs") {
  Fixture f;
  Session s(f.ctx);
  size_t used = 99;
  CHECK(f.run("get a\r\nset b 0 0 10\r\nxx", s, &used) == "END\r\n");
  CHECK(used == 7);
  CHECK(s.bytes_wanted() == std::string("set b 0 0 10\r\n").size() + 12);
  CHECK(f.run("set b 0 0 10\r\n0123456789\r\nget b\r\n", s) ==
        "STORED\r\nVALUE b 0 10\r\n0123456789\r\nEND\r\n");
}

TEST_CASE("an oversized value is refused and its data swallowed") {
  Fixture f;
  Session s(f.ctx);
  std::string big(2'000'000, 'x');
  f.run("set big 0 0 1\r\nx\r\n", s);
  size_t used = 0;
  std::string out = f.run("set big 0 0 2000000\r\n" + big.substr(0, 1000), s, &used);
  CHECK(s.swallowing());
  CHECK(out == "SERVER_ERROR object too large for cache\r\n");
  CHECK(f.run(big.substr(1000) + "\r\nget big\r\n", s) == "END\r\n");
  CHECK_FALSE(s.swallowing());
}

TEST_CASE("a line without newline past 2048 bytes closes unless it is a multiget") {
  Fixture f;
  Session junk(f.ctx);
  f.run(std::string(3000, 'x'), junk);
  CHECK(junk.closing());
  CHECK(junk.discard_output());
  Session multiget(f.ctx);
  f.run("get " + std::string(3000, 'k'), multiget);
  CHECK_FALSE(multiget.closing());
  Session quit(f.ctx);
  CHECK(f.run("version\r\nquit\r\nversion\r\n", quit) == "VERSION 1.6.18\r\n");
  CHECK(quit.closing());
  CHECK_FALSE(quit.discard_output());
}

TEST_CASE("meta commands") {
  Fixture f;
  CHECK(f.run("ms mk 2 T0 F5 c k O1\r\nhi\r\n").starts_with("HD c"));
  CHECK(f.run("mg mk s v f t k O123\r\n") == "VA 2 s2 f5 t-1 kmk O123\r\nhi\r\n");
  CHECK(f.run("mg miss v\r\nmg miss v q\r\nmn\r\n") == "EN\r\nMN\r\n");
  CHECK(f.run("mg bWs= b v k\r\n") == "VA 2 kmk\r\nhi\r\n");
  CHECK(f.run("mg mk zz\r\nmg mk v v\r\n") ==
        "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\n");
  CHECK(f.run("ms mk 2 MA\r\nxx\r\nmg mk v\r\n") == "HD\r\nVA 4\r\nhixx\r\n");
  CHECK(f.run("ms mk 2 MZ\r\nxx\r\nmn\r\n") ==
        "CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n");
  CHECK(f.run("md mk q\r\nmd mk q\r\nmd mk k O5\r\n") == "NF\r\nNF kmk O5\r\n");
  CHECK(f.run("ma cnt\r\nma cnt N0 J10\r\nma cnt v\r\nma cnt MD D3 v k\r\n") ==
        "NF\r\nHD\r\nVA 2\r\n11\r\nVA 1 kcnt\r\n8\r\n");
  std::string me = f.run("ms mk 3\r\nabc\r\nme mk\r\nme miss\r\n");
  CHECK(me.starts_with("HD\r\nME mk exp=-1 la=0 cas="));
  CHECK(me.ends_with(" fetch=no cls=1 size=64\r\nEN\r\n"));
  CHECK(f.run("mg mk v O" + std::string(33, '1') + "\r\n") ==
        "CLIENT_ERROR opaque token too long\r\n");
}

TEST_CASE("meta flag parser") {
  MetaFlags flags;
  std::vector<std::string_view> t = {"mg", "key", "v", "T30", "O1"};
  CHECK(parse_meta_flags(t, 2, "vTO", flags) == MetaFlagError::kNone);
  CHECK(flags.has('T'));
  CHECK(flags.get('T') == "30");
  CHECK(flags.order == std::vector<char>{'v', 'T', 'O'});
  MetaFlags dup;
  std::vector<std::string_view> d = {"mg", "key", "v", "v"};
  CHECK(parse_meta_flags(d, 2, "v", dup) == MetaFlagError::kDuplicate);
  MetaFlags bad;
  CHECK(parse_meta_flags(t, 2, "v", bad) == MetaFlagError::kInvalid);
}
