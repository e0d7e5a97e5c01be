#include <doctest/doctest.h>

#include <filesystem>

#include "trace_test_util.h"
#include "traces/trace_key_hash.h"

using namespace memext;
using namespace memext::test;

TEST_CASE("kvcache reader maps columns by header name, in any order") {
  std::vector<TraceRequest> a = read_all(fixture("kvcache-order-a.csv"), {TraceFormat::kKvcache});
  std::vector<TraceRequest> b = read_all(fixture("kvcache-order-b.csv"), {TraceFormat::kKvcache});
  REQUIRE(a.size() == 4);
  CHECK(a == b);

  CHECK(a[0].time_ns == 100000000000ULL);
  CHECK(a[0].key_id == hash_key_bytes("aa11"));
  CHECK(a[0].key_size == 24);
  CHECK(a[0].op == Op::kGet);
  CHECK(a[0].value_size == 87);
  CHECK(a[0].op_count == 1);

  CHECK(a[1].op == Op::kSet);  // SET_LEASE
  CHECK(a[1].op_count == 2);
  CHECK(a[1].ttl == 7200);
  CHECK(a[1].value_size == 300);

  CHECK(a[2].op == Op::kGet);  // GET_LEASE
  CHECK(a[2].op_count == 3);
  CHECK(a[2].key_id == a[0].key_id);
  CHECK(a[3].op == Op::kDelete);
}

TEST_CASE("kvcache reader counts malformed rows and names the field") {
  auto reader = open_trace(fixture("kvcache-malformed.csv"), {TraceFormat::kKvcache});
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].ttl == -1);
  CHECK(reader->stats().malformed == 3);
  const auto& e = reader->stats().errors;
  REQUIRE(e.size() == 3);
  CHECK(e[0].find("line 3: field 'key_size': 'forty'") != std::string::npos);
  CHECK(e[1].find("line 4: field 'op': 'EVICT' is not a kvcache operation") != std::string::npos);
  CHECK(e[2].find("line 5: field '(row)'") != std::string::npos);
  CHECK(e[2].find("has 6 fields, the header has 7") != std::string::npos);

  auto strict = open_trace(fixture("kvcache-malformed.csv"), {TraceFormat::kKvcache, true});
  TraceRequest r;
  CHECK(strict->next(r));
  CHECK_THROWS_WITH_AS(strict->next(r), doctest::Contains("line 3: field 'key_size'"), TraceError);
}

TEST_CASE("kvcache header without a required column is rejected up front") {
  TempDir dir;
  write_file(dir.file("k.csv"), "op_time,key,op,size\n1,a,GET,3\n");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("k.csv"), {TraceFormat::kKvcache}),
                       doctest::Contains("lacks column 'key_size'"), TraceError);
}

// The two real CacheLib samples differ in column order (ttl last in one).
TEST_CASE("kvcache reader reads CacheLib's own sample traces") {
  const char* shared[] = {"/work/shared/traces/cachelib-kvcache-sample-1.csv",
                          "/work/shared/traces/cachelib-kvcache-sample-2.csv"};
  for (const char* path : shared) {
    if (!std::filesystem::exists(path)) {
      MESSAGE("skipped: " << path << " is absent");
      continue;
    }
    CAPTURE(path);
    CHECK(detect_trace_format(path).format == TraceFormat::kKvcache);
    auto reader = open_trace(path, {TraceFormat::kAuto, /*strict=*/true});
    std::vector<TraceRequest> rs = read_all(*reader);
    CHECK(rs.size() == 99);
    CHECK(reader->stats().malformed == 0);
    int sets_with_ttl = 0;
    for (const TraceRequest& r : rs) {
      CHECK(r.time_ns >= 603000000ULL * 1000000000ULL);
      CHECK(r.key_size > 0);
      CHECK(r.op_count >= 1);
      CHECK((r.op == Op::kGet || r.op == Op::kSet || r.op == Op::kDelete));
      sets_with_ttl += r.op == Op::kSet && r.ttl > 0;
    }
    CHECK(sets_with_ttl > 0);
  }
}
