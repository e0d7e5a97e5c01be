#include <doctest/doctest.h>

#include <cstring>

#include "trace_test_util.h"
#include "traces/trace_native.h"
#include "traces/trace_oracle_pass.h"

using namespace memext;
using namespace memext::test;

namespace {

std::string oracle_record(uint32_t clock, uint64_t id, uint32_t size, int64_t next) {
  char b[24];
  std::memcpy(b, &clock, 4);
  std::memcpy(b + 4, &id, 8);
  std::memcpy(b + 12, &size, 4);
  std::memcpy(b + 16, &next, 8);
  return std::string(b, 24);
}

TraceRequest sample_request(uint64_t i) {
  TraceRequest r;
  r.time_ns = 1000 * i + 7;
  r.key_id = 0x0123456789abcdefULL ^ (i * 977);
  r.next_access = i % 3 == 0 ? kNextAccessUnknown : static_cast<int64_t>(i + 5);
  r.ttl = static_cast<int64_t>(i % 4) * 60;
  r.key_size = 10 + static_cast<uint32_t>(i % 200);
  r.value_size = static_cast<uint32_t>(i * 31 % 100000);
  r.op_count = 1 + static_cast<uint32_t>(i % 2);
  r.op = static_cast<Op>(i % kOpCount);
  return r;
}

}  // namespace

TEST_CASE("oracleGeneral records become gets of 8-byte keys") {
  TempDir dir;
  std::string bytes = oracle_record(10, 111, 500, 2) + oracle_record(10, 222, 600, -1) +
                      oracle_record(12, 111, 500, -1);
  write_file(dir.file("t.oracleGeneral.bin"), bytes);
  auto reader = open_trace(dir.file("t.oracleGeneral.bin"));
  CHECK(reader->format() == TraceFormat::kOracleGeneral);
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].time_ns == 10000000000ULL);
  CHECK(rs[0].key_id == 111);
  CHECK(rs[0].key_size == 8);
  CHECK(rs[0].value_size == 500);
  CHECK(rs[0].op == Op::kGet);
  CHECK(rs[0].next_access == 2);
  CHECK(rs[1].next_access == kNextAccessNever);
  CHECK(rs[2].time_ns == 12000000000ULL);
  CHECK(reader->stats().malformed == 0);
  CHECK(reader->expected_records() == 3u);
}

TEST_CASE("oracleGeneral: bad next access and a truncated tail are located by byte offset") {
  TempDir dir;
  std::string bytes = oracle_record(1, 1, 10, 5) + oracle_record(1, 2, 10, -7) +
                      oracle_record(2, 3, 10, -1) + std::string(10, '\x01');
  write_file(dir.file("o.bin"), bytes);
  auto reader = open_trace(dir.file("o.bin"), {TraceFormat::kOracleGeneral});
  CHECK(read_all(*reader).size() == 2);
  CHECK(reader->stats().malformed == 2);
  const auto& e = reader->stats().errors;
  REQUIRE(e.size() == 2);
  CHECK(e[0].find("byte offset 24: field 'next_access_vtime': -7") != std::string::npos);
  CHECK(e[1].find("byte offset 72: field 'record': truncated record: 10 of 24 bytes") !=
        std::string::npos);

  auto strict = open_trace(dir.file("o.bin"), {TraceFormat::kOracleGeneral, true});
  TraceRequest r;
  CHECK(strict->next(r));
  CHECK_THROWS_WITH_AS(strict->next(r), doctest::Contains("byte offset 24"), TraceError);
}

TEST_CASE("native writer and reader round trip, plain and zstd") {
  TempDir dir;
  for (const char* name : {"t.mxt", "t.mxt.zst"}) {
    CAPTURE(name);
    const std::string path = dir.file(name);
    NativeTraceWriter w(path);
    for (uint64_t i = 0; i < 50000; ++i) w.write(sample_request(i));
    w.close();
    CHECK(w.compressed() == std::string(name).ends_with(".zst"));

    auto reader = open_trace(path);
    CHECK(reader->format() == TraceFormat::kNative);
    // Only a plain file gets the real count patched into its header.
    if (w.compressed()) {
      CHECK_FALSE(reader->expected_records().has_value());
    } else {
      CHECK(reader->expected_records() == 50000u);
    }
    CHECK(reader->compressed() == w.compressed());
    TraceRequest batch[777];
    uint64_t i = 0;
    bool all_equal = true;
    while (size_t n = reader->next_batch(batch, 777)) {
      for (size_t k = 0; k < n; ++k) all_equal = all_equal && batch[k] == sample_request(i++);
    }
    CHECK(all_equal);
    CHECK(i == 50000);
    CHECK(reader->stats().records == 50000);
    CHECK(reader->stats().malformed == 0);
  }
  // The plain file: header + fixed records, count patched in at close.
  std::string plain = read_file(dir.file("t.mxt"));
  CHECK(plain.size() == kNativeHeaderBytes + 50000 * kNativeRecordBytes);
  uint64_t count;
  std::memcpy(&count, plain.data() + 24, 8);
  CHECK(count == 50000);
}

TEST_CASE("native records have a fixed little-endian layout") {
  TraceRequest r;
  r.time_ns = 0x0102030405060708ULL;
  r.key_id = 0x1112131415161718ULL;
  r.next_access = -1;
  r.ttl = 300;
  r.key_size = 0x21222324;
  r.value_size = 0x31323334;
  r.op_count = 3;
  r.op = Op::kTouch;
  char b[kNativeRecordBytes];
  std::memset(b, 0x55, sizeof(b));
  NativeTraceWriter::encode(r, b);
  const unsigned char expected[kNativeRecordBytes] = {
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17, 0x16, 0x15,
      0x14, 0x13, 0x12, 0x11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x2c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x23, 0x22, 0x21,
      0x34, 0x33, 0x32, 0x31, 0x03, 0x00, 0x00, 0x00, 11,   0x00, 0x00, 0x00};
  CHECK(std::memcmp(b, expected, sizeof(b)) == 0);
}

TEST_CASE("native reader: bad op byte, truncation and count mismatch") {
  TempDir dir;
  {
    NativeTraceWriter w(dir.file("n.mxt"));
    for (uint64_t i = 0; i < 4; ++i) w.write(sample_request(i));
  }
  std::string bytes = read_file(dir.file("n.mxt"));
  bytes[kNativeHeaderBytes + kNativeRecordBytes + 44] = 99;  // record 1's op
  bytes.resize(bytes.size() - 20);                           // cut record 3
  write_file(dir.file("bad.mxt"), bytes);
  auto reader = open_trace(dir.file("bad.mxt"));
  std::vector<TraceRequest> rs = read_all(*reader);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0] == sample_request(0));
  CHECK(rs[1] == sample_request(2));
  const auto& e = reader->stats().errors;
  REQUIRE(e.size() == 3);
  CHECK(e[0].find("byte offset 80: field 'op': op code 99") != std::string::npos);
  CHECK(e[1].find("byte offset 176: field 'record': truncated record: 28 of 48") !=
        std::string::npos);
  CHECK(e[2].find("header says 4 records, file holds 3") != std::string::npos);
  CHECK(reader->stats().malformed == 3);
}

TEST_CASE("native reader refuses other versions and non-native files") {
  TempDir dir;
  {
    NativeTraceWriter w(dir.file("v.mxt"));
    w.write(sample_request(1));
  }
  std::string bytes = read_file(dir.file("v.mxt"));
  bytes[8] = 9;
  write_file(dir.file("v9.mxt"), bytes);
  CHECK_THROWS_WITH_AS(open_trace(dir.file("v9.mxt")),
                       doctest::Contains("version 9 is not supported"), TraceError);
  write_file(dir.file("x.csv"), "key\na\n");
  CHECK_THROWS_WITH_AS(open_trace(dir.file("x.csv"), {TraceFormat::kNative}),
                       doctest::Contains("not a native memext trace"), TraceError);
}

TEST_CASE("a compressed native writer must receive the promised record count") {
  TempDir dir;
  NativeWriterOptions o;
  o.expected_records = 5;
  NativeTraceWriter w(dir.file("p.mxt.zst"), o);
  w.write(sample_request(0));
  CHECK_THROWS_WITH_AS(w.close(), doctest::Contains("promised 5 records but 1"), TraceError);
}

TEST_CASE("oracle pass gives each request the index of its key's next request") {
  TempDir dir;
  write_file(dir.file("k.csv"), "key_id\n5\n6\n5\n7\n6\n5\n");
  auto reader = open_trace(dir.file("k.csv"));
  std::vector<int64_t> next = compute_next_access(*reader);
  const std::vector<int64_t> expected = {
      2, 4, 5, kNextAccessNever, kNextAccessNever, kNextAccessNever};
  CHECK(next == expected);
}
