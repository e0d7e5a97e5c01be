// How meta replies print keys, against memcached 1.6.18: the k flag of an mg
// hit and me print the item's key, base64 when the item was stored with b
// (ITEM_KEY_BINARY); every other reply echoes the request's key, re-encoded
// from its bytes when it came with b.
#include <doctest/doctest.h>

#include <string>

#include "core/storage_hooks.h"
#include "meta_protocol.h"
#include "session.h"
#include "session_fixture.h"

using namespace memext;
using namespace memext::server;

namespace {

using Fixture = testing::SessionFixture;

}  // namespace

TEST_CASE("an item stored with b prints its key base64 in mg k and me, with or without b") {
  Fixture f;
  CHECK(f.run("ms YTE= 1 b\r\nx\r\nmg a1 k v\r\nmg YTE= b k s\r\n") ==
        "HD\r\nVA 1 kYTE= b\r\nx\r\nHD kYTE= b s1\r\n");
  const std::string me = f.run("me a1\r\nme YTE= b\r\n");
  CHECK(me.starts_with("ME YTE= exp=-1 "));
  CHECK(me.find("\r\nME YTE= exp=-1 ") != std::string::npos);
  // The classic protocol prints the key's bytes.
  CHECK(f.run("get a1\r\n") == "VALUE a1 0 1\r\nx\r\nEND\r\n");
}

TEST_CASE("an item stored without b prints its bytes even to a request with b") {
  Fixture f;
  CHECK(f.run("ms a2 1\r\nx\r\nmg YTI= b k\r\n") == "HD\r\nHD ka2\r\n");
  CHECK(f.run("me YTI= b\r\n").starts_with("ME a2 exp="));
}

TEST_CASE("echoed keys follow the request and are re-encoded from the decoded bytes") {
  Fixture f;
  // "YR==" decodes to "a" like "YQ==" (unused low bits); memcached prints YQ==.
  CHECK(f.run("ms YR== 1 b k\r\nx\r\nmg a k\r\nmd a k q\r\nmd YR== b k\r\nma YR== b k\r\n"
              "mg YR== b k\r\n") ==
        "HD kYQ== b\r\nHD kYQ== b\r\nNF kYQ== b\r\nNF kYQ== b\r\nEN kYQ== b\r\n");
  CHECK(f.run("ms YjI= 1 b\r\n5\r\nma b2 k v\r\nma YjI= b k v\r\n") ==
        "HD\r\nVA 1 kb2\r\n6\r\nVA 1 kYjI= b\r\n7\r\n");
}

TEST_CASE("writes that build a new item drop the bit: append, grown incr, ma N, mg N") {
  Fixture f;
  CHECK(f.run("ms YzE= 3 b\r\nabc\r\nms YzE= 1 b MA\r\nd\r\nmg c1 k v\r\n") ==
        "HD\r\nHD\r\nVA 4 kc1\r\nabcd\r\n");
  CHECK(f.run("ms YzI= 2 b\r\n50\r\nma c2\r\nmg c2 k\r\nma c2 D100\r\nmg c2 k\r\n") ==
        "HD\r\nHD\r\nHD kYzI= b\r\nHD\r\nHD kc2\r\n");
  CHECK(f.run("ma YzM= b N0 J7 k\r\nmg c3 k\r\nmg YzQ= b N30 k\r\nmg c4 k\r\n") ==
        "HD kYzM= b\r\nHD kc3\r\nHD kc4 W\r\nHD kc4 Z\r\n");
}

TEST_CASE("me on a flash header prints the key's bytes; the recached item base64 again") {
  Fixture f;
  Engine& engine = f.shared.engine;
  core::StorageHooks hooks(engine);
  const std::string value(900, 'v');
  CHECK(f.run("ms ZDE= 900 b\r\n" + value + "\r\n") == "HD\r\n");
  const ExtLocation loc{1, 1, 0, 964};
  REQUIRE(hooks.replace_with_header(hooks.find("d1"), loc));
  // This session has no flash store, so only me (which never reads the
  // value) sees the header; mg on headers is in test_meta_protocol.py.
  CHECK(f.run("me d1\r\n").starts_with("ME d1 exp=-1 "));
  REQUIRE(hooks.replace_header_with_item("d1", loc, value) == core::RecacheResult::kRecached);
  CHECK(f.run("mg d1 k\r\n") == "HD kZDE= b\r\n");
  CHECK(f.run("me d1\r\n").starts_with("ME ZDE= exp=-1 "));
}
