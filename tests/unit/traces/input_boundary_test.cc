// Records and lines that straddle TraceInput's buffer refills, with the
// smallest buffer (4 KiB) so every few records cross a boundary.
#include <doctest/doctest.h>

#include <cstring>

#include "trace_test_util.h"
#include "traces/trace_input.h"
#include "traces/trace_native.h"

using namespace memext;
using namespace memext::test;

TEST_CASE("CSV lines crossing small buffer refills, plain and zstd") {
  TempDir dir;
  std::string text = "key_id,value_size\n";
  for (int i = 0; i < 5000; ++i) {
    text += std::to_string(i * 7919) + "," + std::to_string(i % 97) + "\r\n";
  }
  write_file(dir.file("plain.csv"), text);
  write_file(dir.file("packed.csv"), zstd_compress(text));
  for (const char* name : {"plain.csv", "packed.csv"}) {
    CAPTURE(name);
    auto reader = make_csv_reader(std::make_unique<TraceInput>(dir.file(name), 4096), {});
    std::vector<TraceRequest> rs = read_all(*reader);
    REQUIRE(rs.size() == 5000);
    bool all_match = true;
    for (int i = 0; i < 5000; ++i) {
      all_match = all_match && rs[i].key_id == static_cast<uint64_t>(i) * 7919 &&
                  rs[i].value_size == static_cast<uint32_t>(i % 97);
    }
    CHECK(all_match);
    CHECK(reader->stats().malformed == 0);
  }
}

TEST_CASE("oracle and native records crossing small buffer refills") {
  TempDir dir;
  std::string oracle;
  for (uint32_t i = 0; i < 3000; ++i) {
    char b[24];
    uint64_t id = i * 31;
    int64_t next = -1;
    std::memcpy(b, &i, 4);
    std::memcpy(b + 4, &id, 8);
    std::memcpy(b + 12, &i, 4);
    std::memcpy(b + 16, &next, 8);
    oracle.append(b, 24);
  }
  write_file(dir.file("o.bin"), oracle);
  auto oracle_reader =
      make_oracle_reader(std::make_unique<TraceInput>(dir.file("o.bin"), 4096), {});
  std::vector<TraceRequest> rs = read_all(*oracle_reader);
  REQUIRE(rs.size() == 3000);
  CHECK(rs[2999].key_id == 2999u * 31);
  CHECK(rs[2999].value_size == 2999u);

  {
    NativeTraceWriter w(dir.file("n.mxt.zst"));
    for (uint32_t i = 0; i < 3000; ++i) {
      TraceRequest r;
      r.key_id = i;
      r.value_size = i * 3;
      w.write(r);
    }
  }
  auto native_reader =
      make_native_reader(std::make_unique<TraceInput>(dir.file("n.mxt.zst"), 4096), {});
  rs = read_all(*native_reader);
  REQUIRE(rs.size() == 3000);
  CHECK(rs[1234].value_size == 1234u * 3);
  CHECK(native_reader->stats().malformed == 0);
}
