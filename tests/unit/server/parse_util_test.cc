#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "parse_util.h"

using namespace memext::server;

TEST_CASE("tokenize splits on spaces and collapses runs") {
  std::vector<std::string_view> t;
  tokenize("  get  a b ", t);
  REQUIRE(t.size() == 3);
  CHECK(t[0] == "get");
  CHECK(t[1] == "a");
  CHECK(t[2] == "b");
  tokenize("", t);
  CHECK(t.empty());
  tokenize("get a\rx", t);
  REQUIRE(t.size() == 2);
  CHECK(t[1] == "a\rx");
}

TEST_CASE("parse_int32 follows memcached's safe_strtol (64-bit parse, truncation)") {
  int32_t v = 0;
  CHECK(parse_int32("12", v));
  CHECK(v == 12);
  CHECK(parse_int32("+1", v));
  CHECK(v == 1);
  CHECK(parse_int32("-1", v));
  CHECK(v == -1);
  CHECK(parse_int32("4294967297", v));
  CHECK(v == 1);
  CHECK_FALSE(parse_int32("1x", v));
  CHECK_FALSE(parse_int32("abc", v));
  CHECK_FALSE(parse_int32("99999999999999999999", v));
}

TEST_CASE("parse_uint32 rejects negative numbers and truncates large ones") {
  uint32_t v = 7;
  CHECK_FALSE(parse_uint32("-1", v));
  CHECK(parse_uint32("4294967296", v));
  CHECK(v == 0);
  CHECK(parse_uint32("4294967295", v));
  CHECK(v == 4294967295u);
}

TEST_CASE("parse_uint64 rejects overflow and negatives") {
  uint64_t v = 0;
  CHECK(parse_uint64("18446744073709551615", v));
  CHECK(v == UINT64_MAX);
  CHECK_FALSE(parse_uint64("18446744073709551616", v));
  CHECK_FALSE(parse_uint64("-1", v));
  CHECK_FALSE(parse_uint64("", v));
}

TEST_CASE("base64 round trip and malformed input") {
  std::string enc, dec;
  for (std::string s : {"", "m", "mk", "mkx", "hello world\x01\xff"}) {
    enc.clear();
    base64_encode(s, enc);
    if (s.empty()) continue;
    REQUIRE(base64_decode(enc, dec));
    CHECK(dec == s);
  }
  CHECK(base64_decode("bWs=", dec));
  CHECK(dec == "mk");
  CHECK_FALSE(base64_decode("!!!", dec));
  CHECK_FALSE(base64_decode("bW=s", dec));
}
