// Regression (found by tests/fuzz/fuzz_trace_native): a native header
// claiming a header of ~4 GiB made the reader allocate that much before it
// found the file too short. A header is now at most kNativeMaxHeaderBytes,
// checked against the file's size, and skipped without an allocation.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "trace_test_util.h"
#include "traces/trace_error.h"
#include "traces/trace_native.h"
#include "traces/trace_reader.h"

using namespace memext;

namespace {

std::string native_header(uint32_t header_bytes) {
  std::string h = "MEMEXTTR";
  auto put32 = [&h](uint32_t v) {
    for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>(v >> (8 * i)));
  };
  put32(1);             // version
  put32(header_bytes);  // header size
  put32(48);            // record size
  put32(0);             // flags
  h.append(8, '\xff');  // record count unknown
  return h;
}

}  // namespace

TEST_CASE("a native header claiming ~4 GiB is refused, naming the claim and the bound") {
  test::TempDir dir;
  const std::string path = dir.file("huge-header.mxt");
  {
    std::ofstream out(path, std::ios::binary);
    out << native_header(0xFA000020u) << std::string(128, '\0');
  }
  TraceReadOptions options;
  options.format = TraceFormat::kNative;
  try {
    open_trace(path, options);
    FAIL("the corrupt header was accepted");
  } catch (const TraceError& e) {
    const std::string what = e.what();
    CHECK(what.find("4194304032") != std::string::npos);
    CHECK(what.find(std::to_string(kNativeMaxHeaderBytes)) != std::string::npos);
  }
}

TEST_CASE("a native header claiming more bytes than the file holds is refused, naming both") {
  test::TempDir dir;
  const std::string path = dir.file("long-claim.mxt");
  {
    std::ofstream out(path, std::ios::binary);
    out << native_header(kNativeMaxHeaderBytes) << std::string(128, '\0');
  }
  TraceReadOptions options;
  options.format = TraceFormat::kNative;
  try {
    open_trace(path, options);
    FAIL("the header longer than the file was accepted");
  } catch (const TraceError& e) {
    const std::string what = e.what();
    CHECK(what.find(std::to_string(kNativeMaxHeaderBytes)) != std::string::npos);
    CHECK(what.find("160") != std::string::npos);
  }
}

TEST_CASE("a native header longer than 32 bytes is skipped to its end") {
  static_assert(32 + 1000 <= kNativeMaxHeaderBytes);
  test::TempDir dir;
  const std::string path = dir.file("long-header.mxt");
  {
    std::ofstream out(path, std::ios::binary);
    out << native_header(32 + 1000) << std::string(1000, 'x');
  }
  TraceReadOptions options;
  options.format = TraceFormat::kNative;
  auto reader = open_trace(path, options);
  TraceRequest r;
  CHECK(!reader->next(r));
  CHECK(reader->stats().malformed == 0);
}
