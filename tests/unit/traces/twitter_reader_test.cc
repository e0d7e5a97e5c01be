#include <doctest/doctest.h>

#include "trace_test_util.h"
#include "traces/trace_key_hash.h"

using namespace memext;
using namespace memext::test;

TEST_CASE("twitter reader parses rows and skips malformed ones with their line numbers") {
  auto reader = open_trace(fixture("twitter-small.csv"), {TraceFormat::kTwitter});
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 5);
  CHECK(reader->stats().records == 5);
  CHECK(reader->stats().malformed == 4);

  CHECK(rs[0].op == Op::kGet);
  CHECK(rs[0].time_ns == 0);
  CHECK(rs[0].key_id == hash_key_bytes("nz:u:eeW511W3dcH3de3d15ec"));
  CHECK(rs[0].key_size == 23);
  CHECK(rs[0].value_size == 120);
  CHECK(rs[0].ttl == 0);
  CHECK(rs[0].next_access == kNextAccessUnknown);
  CHECK(rs[1].op == Op::kSet);
  CHECK(rs[1].ttl == 3600);
  CHECK(rs[1].key_id == rs[0].key_id);

  // The key itself contains commas: the columns after it are found from the right.
  CHECK(rs[2].key_id == hash_key_bytes("a:b,c:with,commas"));
  CHECK(rs[2].key_size == 17);
  CHECK(rs[2].value_size == 5);
  CHECK(rs[2].op == Op::kGets);
  CHECK(rs[2].time_ns == 1000000000ULL);

  CHECK(rs[3].op == Op::kDelete);
  CHECK(rs[4].op == Op::kCas);
  CHECK(rs[4].ttl == 60);
  CHECK(rs[4].time_ns == 6000000000ULL);

  const auto& errors = reader->stats().errors;
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].find("line 5: field 'value_size': 'bad'") != std::string::npos);
  CHECK(errors[1].find("line 6: field 'operation': 'frobnicate'") != std::string::npos);
  CHECK(errors[2].find("line 7") != std::string::npos);
  CHECK(errors[3].find("line 9: field 'timestamp': 'x'") != std::string::npos);
}

TEST_CASE("twitter reader in strict mode throws at the first malformed line") {
  TraceReadOptions o{TraceFormat::kTwitter, /*strict=*/true};
  auto reader = open_trace(fixture("twitter-small.csv"), o);
  TraceRequest r;
  int good = 0;
  try {
    while (reader->next(r)) ++good;
    FAIL("expected a TraceError");
  } catch (const TraceError& e) {
    std::string msg = e.what();
    CHECK(msg.find("twitter-small.csv: line 5: field 'value_size'") != std::string::npos);
    CHECK(msg.find("unsigned 32-bit integer") != std::string::npos);
  }
  CHECK(good == 3);
}

TEST_CASE("error messages kept are capped but the malformed count is exact") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "1,k,3,zz,1,get,0\n";
  text += "2,k,3,4,1,get,0\n";
  write_file(dir.file("t.csv"), text);
  TraceReadOptions o{TraceFormat::kTwitter};
  o.max_error_messages = 3;
  auto reader = open_trace(dir.file("t.csv"), o);
  CHECK(read_all(*reader).size() == 1);
  CHECK(reader->stats().malformed == 40);
  CHECK(reader->stats().errors.size() == 3);
}
