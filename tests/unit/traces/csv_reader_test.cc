#include <doctest/doctest.h>

#include "trace_test_util.h"
#include "traces/trace_csv_writer.h"
#include "traces/trace_key_hash.h"

using namespace memext;
using namespace memext::test;

TEST_CASE("generic CSV maps named columns and applies defaults") {
  auto reader = open_trace(fixture("generic-seconds.csv"));
  CHECK(reader->format() == TraceFormat::kCsv);
  CHECK_FALSE(reader->expected_records().has_value());
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 4);
  CHECK(rs[0].op == Op::kSet);
  CHECK(rs[0].time_ns == 500000000ULL);
  CHECK(rs[0].key_id == hash_key_bytes("alpha"));
  CHECK(rs[0].key_size == 5);  // no key_size column: the key text's length
  CHECK(rs[0].value_size == 100);
  CHECK(rs[0].ttl == 30);
  CHECK(rs[0].op_count == 1);
  CHECK(rs[1].time_ns == 1250000000ULL);
  CHECK(rs[1].key_id == rs[0].key_id);
  CHECK(rs[2].op == Op::kDelete);
  CHECK(rs[3].op == Op::kGet);  // "GET": any letter case
}

TEST_CASE("generic CSV with key_id, microseconds and oracle next_access") {
  std::vector<TraceRequest> rs = read_all(fixture("generic-keyid-us.csv"));
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].key_id == 42);
  CHECK(rs[0].time_ns == 1000000ULL);
  CHECK(rs[0].key_size == 8);
  CHECK(rs[0].next_access == 2);
  CHECK(rs[1].next_access == kNextAccessNever);
  CHECK(rs[2].next_access == kNextAccessUnknown);
  CHECK(rs[2].time_ns == 3000000ULL);
}

TEST_CASE("generic CSV skips malformed rows, or throws in strict mode") {
  auto reader = open_trace(fixture("generic-malformed.csv"));
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].op == Op::kSet);
  CHECK(reader->stats().malformed == 4);
  const auto& e = reader->stats().errors;
  REQUIRE(e.size() == 4);
  CHECK(e[0].find("line 3: field 'time': '-2'") != std::string::npos);
  CHECK(e[1].find("line 4: field 'value_size': 'ten'") != std::string::npos);
  CHECK(e[2].find("line 5: field 'op': 'fetch' is not an operation (allowed: get, gets") !=
        std::string::npos);
  CHECK(e[3].find("line 6") != std::string::npos);

  auto strict = open_trace(fixture("generic-malformed.csv"), {TraceFormat::kCsv, true});
  TraceRequest r;
  CHECK(strict->next(r));
  CHECK_THROWS_AS(strict->next(r), TraceError);
}

TEST_CASE("a UTF-8 byte order mark before the header is ignored") {
  TempDir dir;
  write_file(dir.file("bom.csv"), "\xEF\xBB\xBFtime,key,value_size\n2,a,10\n");
  std::vector<TraceRequest> rs = read_all(dir.file("bom.csv"));
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].time_ns == 2000000000ULL);
  CHECK(rs[0].value_size == 10);
}

TEST_CASE("generic CSV header errors name the problem") {
  TempDir dir;
  write_file(dir.file("a.csv"), "time,value_size\n1,2\n");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("a.csv"), {TraceFormat::kCsv}),
                       doctest::Contains("exactly one of the columns 'key' or 'key_id'"),
                       TraceError);
  write_file(dir.file("b.csv"), "time,time_ms,key\n1,2,a\n");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("b.csv"), {TraceFormat::kCsv}),
                       doctest::Contains("more than one time column"), TraceError);
  write_file(dir.file("c.csv"), "key,ttl,TTL\na,1,2\n");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("c.csv"), {TraceFormat::kCsv}),
                       doctest::Contains("'ttl' appears twice"), TraceError);
}

TEST_CASE("lines longer than the input buffer and files without a final newline") {
  TempDir dir;
  std::string key(3 << 20, 'k');  // 3 MB key: the line buffer must grow
  write_file(dir.file("long.csv"), "key,value_size\n" + key + ",7\nshort,8");
  std::vector<TraceRequest> rs = read_all(dir.file("long.csv"));
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].key_size == key.size());
  CHECK(rs[0].key_id == hash_key_bytes(key));
  CHECK(rs[1].value_size == 8);
}

TEST_CASE("CSV writer output reads back as the same requests") {
  TempDir dir;
  std::vector<TraceRequest> in;
  for (uint64_t i = 0; i < 300; ++i) {
    TraceRequest r;
    r.time_ns = i * 1234567;
    r.key_id = ~uint64_t{0} - i;  // ids near 2^64 survive the text form
    r.key_size = 1 + static_cast<uint32_t>(i % 250);
    r.value_size = static_cast<uint32_t>(i * 1000);
    r.op = static_cast<Op>(i % kOpCount);
    r.ttl = static_cast<int64_t>(i % 5) - 1;
    r.op_count = 1 + static_cast<uint32_t>(i % 3);
    r.next_access =
        i % 3 == 0 ? kNextAccessNever : (i % 3 == 1 ? kNextAccessUnknown : int64_t(i) + 9);
    in.push_back(r);
  }
  {
    CsvTraceWriter w(dir.file("out.csv"));
    for (const TraceRequest& r : in) w.write(r);
    w.close();
  }
  auto reader = open_trace(dir.file("out.csv"), {TraceFormat::kAuto, /*strict=*/true});
  CHECK(reader->format() == TraceFormat::kCsv);
  CHECK(read_all(*reader) == in);
}
