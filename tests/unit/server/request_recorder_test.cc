#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "record_options.h"
#include "request_recorder.h"
#include "traces/trace_reader.h"

using namespace memext;
using namespace memext::server;

namespace {

std::vector<TraceRequest> read_all(const std::string& path) {
  TraceReadOptions options;
  options.strict = true;
  auto reader = open_trace(path, options);
  std::vector<TraceRequest> out;
  TraceRequest r;
  while (reader->next(r)) out.push_back(r);
  return out;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/memext-recorder-test-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string prefix(const char* stem) const { return (path / stem).string(); }
};

}  // namespace

TEST_CASE("record option values: sample rates and sizes, errors naming the value") {
  double rate = 0;
  CHECK(parse_record_sample("0.25", rate) == "");
  CHECK(rate == 0.25);
  CHECK(parse_record_sample("1", rate) == "");
  for (const char* bad : {"0", "-0.5", "1.01", "nan", "abc", "", "0.5x"}) {
    CHECK(parse_record_sample(bad, rate) == "invalid sample rate '" + std::string(bad) +
                                                "' (allowed: a fraction 0 < R <= 1, e.g. 0.01)");
  }
  uint64_t bytes = 0;
  CHECK(parse_record_max_bytes("64k", bytes) == "");
  CHECK(bytes == 65536);
  CHECK(parse_record_max_bytes("3m", bytes) == "");
  CHECK(bytes == 3u << 20);
  CHECK(parse_record_max_bytes("2G", bytes) == "");
  CHECK(bytes == uint64_t{2} << 30);
  CHECK(parse_record_max_bytes("0", bytes) == "");
  CHECK(bytes == 0);
  for (const char* bad : {"65535", "1k", "m", "12x", "-1", "99999999999g"}) {
    CHECK(parse_record_max_bytes(bad, bytes).starts_with("invalid size '" + std::string(bad)));
  }
  CHECK(record_file_name("/x/t", 3) == "/x/t.0003.mxt.zst");
  CHECK(record_file_name("t", 12345) == "t.12345.mxt.zst");
}

TEST_CASE("two threads recording: every request once, each thread's order, the sample's keys") {
  TempDir dir;
  RequestRecorder recorder(1 << 16);
  RecordSettings settings;
  settings.prefix = dir.prefix("r");
  settings.sample = 0.3;
  REQUIRE(recorder.start(settings) == "");
  CHECK(recorder.start(settings).starts_with("already recording to "));
  constexpr int kPerThread = 20000;
  auto work = [&](int thread) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string key = "t" + std::to_string(thread) + ":" + std::to_string(i);
      recorder.record(Op::kSet, key, static_cast<uint32_t>(i), thread);
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  CHECK(recorder.stop());
  CHECK_FALSE(recorder.stop());
  recorder.record(Op::kGet, "after stop", 0, 0);
  const std::vector<TraceRequest> got = read_all(settings.prefix + ".0001.mxt.zst");
  const KeySampler sampler(0.3);
  std::vector<std::vector<TraceRequest>> expected(2);
  for (int thread = 0; thread < 2; ++thread) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string key = "t" + std::to_string(thread) + ":" + std::to_string(i);
      if (!sampler.keeps(hash_key_bytes(key))) continue;
      TraceRequest r;
      r.key_id = hash_key_bytes(key);
      r.key_size = static_cast<uint32_t>(key.size());
      r.value_size = static_cast<uint32_t>(i);
      r.ttl = thread;
      r.op = Op::kSet;
      expected[thread].push_back(r);
    }
  }
  std::vector<std::vector<TraceRequest>> per_thread(2);
  for (TraceRequest r : got) {
    CHECK(r.time_ns % 1000 == 0);
    r.time_ns = 0;
    per_thread[static_cast<size_t>(r.ttl)].push_back(r);
  }
  CHECK(per_thread == expected);
  const RequestRecorder::Status st = recorder.status();
  CHECK_FALSE(st.recording);
  CHECK(st.recorded == got.size());
  CHECK(st.dropped == 0);
  CHECK(st.files == 1);
  CHECK(st.bytes == std::filesystem::file_size(settings.prefix + ".0001.mxt.zst"));
}

TEST_CASE("rotation by size: complete files, numbering continues, nothing overwritten") {
  TempDir dir;
  RequestRecorder recorder(1 << 17);
  RecordSettings settings;
  settings.prefix = dir.prefix("rot");
  settings.max_bytes = kRecordMinMaxBytes;
  for (int round = 0; round < 2; ++round) {
    REQUIRE(recorder.start(settings) == "");
    for (int i = 0; i < 40000; ++i) recorder.record(Op::kGet, "k" + std::to_string(i), 10, 0);
    REQUIRE(recorder.stop());
  }
  uint64_t total = 0;
  uint32_t number = 1;
  for (; std::filesystem::exists(record_file_name(settings.prefix, number)); ++number) {
    const std::string file = record_file_name(settings.prefix, number);
    total += read_all(file).size();
  }
  CHECK(number - 1 >= 6);
  CHECK(total == 80000);
  CHECK(recorder.status().files >= 3);
}

TEST_CASE("a full buffer drops and counts; a file that cannot be created is an error") {
  TempDir dir;
  RecordSettings settings;
  settings.prefix = dir.prefix("missing/dir/x");
  RequestRecorder recorder(4);
  CHECK(recorder.start(settings).find("cannot create") != std::string::npos);
  CHECK_FALSE(recorder.stop());
  settings.prefix = dir.prefix("small");
  REQUIRE(recorder.start(settings) == "");
  // The writer takes the buffer every 10 ms; 1000 requests at once overflow 4.
  for (int i = 0; i < 1000; ++i) recorder.record(Op::kGet, "k", 1, 0);
  REQUIRE(recorder.stop());
  const RequestRecorder::Status st = recorder.status();
  CHECK(st.recorded + st.dropped == 1000);
  CHECK(st.dropped > 0);
  CHECK(read_all(settings.prefix + ".0001.mxt.zst").size() == st.recorded);
}
