// Hostile and careless inputs: lengths and counts read from a file are
// bounded by the file (or by a format maximum when compressed), over-long
// text lines are skipped without being buffered, and an empty file is an
// error in every format.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "trace_test_util.h"
#include "traces/trace_detect.h"
#include "traces/trace_native.h"
#include "traces/trace_oracle_pass.h"

using namespace memext;
using namespace memext::test;

namespace {

std::string native_header(uint32_t header_bytes, uint64_t count) {
  char h[kNativeHeaderBytes] = {};
  std::memcpy(h, kNativeMagic.data(), kNativeMagic.size());
  const uint32_t version = kNativeVersion;
  const uint32_t record = kNativeRecordBytes;
  std::memcpy(h + 8, &version, 4);
  std::memcpy(h + 12, &header_bytes, 4);
  std::memcpy(h + 16, &record, 4);
  std::memcpy(h + 24, &count, 8);
  return std::string(h, sizeof h);
}

std::string native_record(uint64_t time_ns, uint64_t key) {
  TraceRequest r;
  r.time_ns = time_ns;
  r.key_id = key;
  r.key_size = 8;
  r.value_size = 100;
  char b[kNativeRecordBytes];
  NativeTraceWriter::encode(r, b);
  return std::string(b, sizeof b);
}

// Runs fn in a child process and returns the child's peak RSS in MB (or
// -1 if it did not exit normally): what opening a file costs, apart from
// whatever this test process has touched before.
long child_peak_rss_mb(void (*fn)(const std::string&), const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    fn(path);
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    ::_exit(static_cast<int>(std::min<long>(usage.ru_maxrss / 1024 / 8, 255)));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return -1;
  return WEXITSTATUS(status) * 8L;
}

void open_and_ignore(const std::string& path) {
  try {
    open_trace(path);
  } catch (const TraceError&) {
    // The error is checked in the parent; here only the memory counts.
  }
}

}  // namespace

TEST_CASE("a native header claiming a huge header is refused without allocating it") {
  TempDir dir;
  const std::string path = dir.file("big-header.mxt");
  write_file(path, native_header(1u << 30, 1) + native_record(0, 1));
  CHECK_THROWS_WITH_AS(open_trace(path), doctest::Contains("allowed: header 32..4096"), TraceError);
  // Reading it must not cost the 1 GiB the header claims.
  const long rss_mb = child_peak_rss_mb(open_and_ignore, path);
  CHECK(rss_mb >= 0);
  // Far below the claim (the child's figure caps at 2040 MB); above what a
  // sanitizer build's child inherits from this test process (~230 MB).
  CHECK(rss_mb < 1024);

  const std::string max_path = dir.file("max-header.mxt");
  write_file(max_path, native_header(0xFFFFFFFFu, 1) + native_record(0, 1));
  CHECK_THROWS_WITH_AS(open_trace(max_path), doctest::Contains("4294967295"), TraceError);

  // Within the format's bound but past the end of the file.
  const std::string past = dir.file("past-end.mxt");
  write_file(past, native_header(4000, 1) + native_record(0, 1));
  CHECK_THROWS_WITH_AS(open_trace(past), doctest::Contains("the file holds 80"), TraceError);
  // A longer header that is really there is skipped.
  const std::string longer = dir.file("longer.mxt");
  write_file(longer, native_header(100, 1) + std::string(68, '\0') + native_record(5, 9));
  const std::vector<TraceRequest> got = read_all(longer);
  REQUIRE(got.size() == 1);
  CHECK(got[0].key_id == 9);
}

TEST_CASE("a native record count the file cannot hold is no estimate and reserves nothing") {
  TempDir dir;
  const uint64_t lie = uint64_t{1} << 40;
  const std::string body = native_header(kNativeHeaderBytes, lie) + native_record(0, 1) +
                           native_record(1, 2) + native_record(2, 1);
  const std::string plain = dir.file("lie.mxt");
  write_file(plain, body);
  {
    auto reader = open_trace(plain);
    CHECK_FALSE(reader->expected_records().has_value());
  }
  // Compressed: the count cannot be checked before reading; the oracle pass
  // (which reserves by it) must not try to allocate 2^40 entries.
  const std::string packed = dir.file("lie.mxt.zst");
  write_file(packed, zstd_compress(body));
  auto reader = open_trace(packed);
  std::vector<int64_t> next;
  CHECK_NOTHROW(next = compute_next_access(*reader));
  REQUIRE(next.size() == 3);
  CHECK(next[0] == 2);
  CHECK(reader->stats().malformed == 1);  // the count mismatch
}

TEST_CASE("an over-long text line is skipped as malformed, not buffered") {
  TempDir dir;
  const std::string good = "0,nz:a,4,10,1,get,0\n";
  const std::string text = good + std::string(20 << 20, 'x') + "\n" + "1,nz:b,4,10,1,get,0\n";
  for (const bool compressed : {false, true}) {
    const std::string path = dir.file(compressed ? "long.csv.zst" : "long.csv");
    write_file(path, compressed ? zstd_compress(text) : text);
    auto reader = open_trace(path, {TraceFormat::kTwitter});
    const std::vector<TraceRequest> got = read_all(*reader);
    CHECK(got.size() == 2);
    REQUIRE(reader->stats().malformed == 1);
    CHECK(reader->stats().errors[0].find("line 2") != std::string::npos);
    CHECK(reader->stats().errors[0].find("longer than 16777216 bytes") != std::string::npos);
  }
  // A header row that long is no header.
  const std::string header = dir.file("long-header.csv");
  write_file(header, "op_time,key," + std::string(17 << 20, 'k') + "\n1,a,1,get,1\n");
  CHECK_THROWS_WITH_AS(open_trace(header, {TraceFormat::kKvcache}),
                       doctest::Contains("header row is longer than"), TraceError);
}

TEST_CASE("an empty file is an error in every format, plain or compressed") {
  TempDir dir;
  const std::string plain = dir.file("empty");
  write_file(plain, "");
  const std::string packed = dir.file("empty.zst");
  write_file(packed, zstd_compress(""));
  for (const TraceFormat format :
       {TraceFormat::kAuto, TraceFormat::kNative, TraceFormat::kOracleGeneral,
        TraceFormat::kTwitter, TraceFormat::kKvcache, TraceFormat::kCsv}) {
    CAPTURE(trace_format_name(format));
    CHECK_THROWS_WITH_AS(open_trace(plain, {format}), doctest::Contains("empty trace (0 bytes)"),
                         TraceError);
    CHECK_THROWS_WITH_AS(open_trace(packed, {format}),
                         doctest::Contains("empty trace (no bytes after zstd decompression)"),
                         TraceError);
  }
}

TEST_CASE("format hints name the format a misread file looks like") {
  TempDir dir;
  const std::string path = dir.file("t.csv");
  write_file(path, "0,nz:a,4,10,1,get,0\n1,nz:b,4,10,1,set,60\n");
  CHECK(sniff_trace_format(path) == TraceFormat::kTwitter);
  CHECK(format_hint(path, TraceFormat::kKvcache)
            .find("looks like twitter, not kvcache: pass "
                  "--format twitter") != std::string::npos);
  CHECK(format_hint(path, TraceFormat::kTwitter).find("probably corrupt") != std::string::npos);
  const std::string junk = dir.file("junk");
  write_file(junk, std::string("\x01\x02\x03", 3));
  CHECK_FALSE(sniff_trace_format(junk).has_value());
  CHECK(format_hint(junk, TraceFormat::kCsv).find("could not be detected") != std::string::npos);
  CHECK_FALSE(sniff_trace_format("-").has_value());
  // A pipe is not opened again: the bytes are the reader's.
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(sniff_trace_format(fifo).has_value());
}
