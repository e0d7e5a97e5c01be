#include <doctest/doctest.h>

#include <cstring>

#include "trace_test_util.h"
#include "traces/trace_detect.h"
#include "traces/trace_native.h"

using namespace memext;
using namespace memext::test;

TEST_CASE("zstd input is recognised by its magic bytes, whatever the file name") {
  TempDir dir;
  std::string csv = read_file(fixture("kvcache-order-a.csv"));
  write_file(dir.file("compressed-without-suffix.csv"), zstd_compress(csv));
  auto reader = open_trace(dir.file("compressed-without-suffix.csv"));
  CHECK(reader->compressed());
  CHECK(reader->format() == TraceFormat::kKvcache);
  CHECK(read_all(*reader) == read_all(fixture("kvcache-order-a.csv")));
}

TEST_CASE("multi-frame zstd streams and large compressed inputs decode completely") {
  TempDir dir;
  std::string text = "key,value_size\n";
  for (int i = 0; i < 200000; ++i)
    text += "key" + std::to_string(i) + "," + std::to_string(i % 1000) + "\n";
  std::string half1 = text.substr(0, text.size() / 2);
  std::string half2 = text.substr(text.size() / 2);
  write_file(dir.file("two-frames"), zstd_compress(half1) + zstd_compress(half2, 9));
  auto reader = open_trace(dir.file("two-frames"));
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 200000);
  CHECK(rs[199999].value_size == 999);
  CHECK(reader->stats().malformed == 0);
}

TEST_CASE("a truncated or corrupt zstd stream is an error, not a short trace") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += std::to_string(i) + ",k" + std::to_string(i) + ",2,10,1,get,0\n";
  std::string z = zstd_compress(text);
  write_file(dir.file("cut.zst"), z.substr(0, z.size() / 2));
  CHECK_THROWS_WITH_AS(read_all(dir.file("cut.zst"), {TraceFormat::kTwitter}),
                       doctest::Contains("truncated zstd stream"), TraceError);
  std::string corrupt = z;
  for (size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  write_file(dir.file("bad.zst"), corrupt);
  CHECK_THROWS_AS(read_all(dir.file("bad.zst"), {TraceFormat::kTwitter}), TraceError);
}

TEST_CASE("format detection from content") {
  TempDir dir;
  CHECK(detect_trace_format(fixture("twitter-small.csv")).format == TraceFormat::kTwitter);
  CHECK(detect_trace_format(fixture("kvcache-order-b.csv")).format == TraceFormat::kKvcache);
  CHECK(detect_trace_format(fixture("generic-seconds.csv")).format == TraceFormat::kCsv);
  CHECK(detect_trace_format(fixture("generic-keyid-us.csv")).format == TraceFormat::kCsv);

  {
    NativeTraceWriter w(dir.file("n.zst"));
    w.write(TraceRequest{});
  }
  DetectedFormat d = detect_trace_format(dir.file("n.zst"));
  CHECK(d.format == TraceFormat::kNative);
  CHECK(d.compressed);

  std::string twitter = read_file(fixture("twitter-small.csv"));
  write_file(dir.file("tw"), zstd_compress(twitter));
  d = detect_trace_format(dir.file("tw"));
  CHECK(d.format == TraceFormat::kTwitter);
  CHECK(d.compressed);
}

TEST_CASE("oracle detection needs whole plausible records") {
  auto rec = [](uint32_t clock, int64_t next) {
    std::string b(24, '\0');
    uint32_t size = 100;
    std::memcpy(b.data(), &clock, 4);
    std::memcpy(b.data() + 12, &size, 4);
    std::memcpy(b.data() + 16, &next, 8);
    return b;
  };
  std::string good = rec(1, 3) + rec(1, -1) + rec(2, 5);
  CHECK(detect_from_prefix(good, good.size()) == TraceFormat::kOracleGeneral);
  CHECK(detect_from_prefix(good, std::nullopt) == TraceFormat::kOracleGeneral);
  CHECK(detect_from_prefix(good, good.size() + 1) == TraceFormat::kAuto);  // not a multiple of 24
  std::string backwards = rec(5, -1) + rec(4, -1);                         // clock goes back
  CHECK(detect_from_prefix(backwards, backwards.size()) == TraceFormat::kAuto);
  std::string split = rec(1, 900) + rec(1, 1);  // vtimes of a file split from a longer trace
  CHECK(detect_from_prefix(split, split.size()) == TraceFormat::kOracleGeneral);
  std::string zero = rec(1, -1) + rec(1, 0);  // vtime 0 is nobody's next access
  CHECK(detect_from_prefix(zero, zero.size()) == TraceFormat::kAuto);
  std::string negative = rec(1, -5);
  CHECK(detect_from_prefix(negative, negative.size()) == TraceFormat::kAuto);
}

TEST_CASE("text detection rules") {
  CHECK(looks_like_twitter_line("12,a,b,c,3,4,1,delete,0"));
  CHECK_FALSE(looks_like_twitter_line("12,key,3,4,1,fetch,0"));
  CHECK_FALSE(looks_like_twitter_line("12,key,3,4,1,get"));
  CHECK(detect_from_prefix("op_time,key,key_size,op,size\n1,a,1,GET,3\n", {}) ==
        TraceFormat::kKvcache);
  CHECK(detect_from_prefix("TIME, KEY ,op\n1,a,get\n", {}) == TraceFormat::kCsv);
  CHECK(detect_from_prefix("hello world\n", {}) == TraceFormat::kAuto);
  CHECK(detect_from_prefix("\xEF\xBB\xBFkey,op\na,get\n", {}) == TraceFormat::kCsv);
}

TEST_CASE("undetectable and empty inputs name the problem and the allowed formats") {
  TempDir dir;
  write_file(dir.file("junk.txt"), "this is not a trace\n");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("junk.txt")),
                       doctest::Contains("cannot detect the trace format"), TraceError);
  CHECK_THROWS_WITH_AS(open_trace(dir.file("junk.txt")),
                       doctest::Contains("native, oracle, twitter, kvcache, csv, watch"), TraceError);
  write_file(dir.file("empty"), "");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("empty")), doctest::Contains("empty trace"), TraceError);
  CHECK_THROWS_WITH_AS(open_trace(dir.file("missing")), doctest::Contains("cannot open"),
                       TraceError);
}

TEST_CASE("format and op names parse back") {
  for (int i = 0; i < kOpCount; ++i) {
    Op op = static_cast<Op>(i);
    CHECK(parse_op_name(op_name(op)) == op);
  }
  CHECK(parse_op_name("DELETE") == Op::kDelete);
  CHECK_FALSE(parse_op_name("fetch").has_value());
  CHECK(parse_trace_format("kvcache") == TraceFormat::kKvcache);
  CHECK(parse_trace_format("Oracle") == TraceFormat::kOracleGeneral);
  CHECK_FALSE(parse_trace_format("parquet").has_value());
}
