// Trace reader throughput: records/s for next() and next_batch() over a native
// trace (plain and zstd) and the same requests as generic CSV. With no TRACE
// argument it generates a 10M-request trace (traces/workloads/bench-10m.json's
// shape) in a scratch directory first. Prints one line per case.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gen/gen_trace.h"
#include "gen/workload.h"
#include "traces/trace_reader.h"

namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds of this process: on a shared machine the wall clock measures the
// neighbours too, so both rates are printed.
double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

struct Result {
  uint64_t records = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t checksum = 0;  // keeps the loop from being optimised away
};

Result read_with_next(const std::string& path) {
  auto reader = memext::open_trace(path);
  Result r;
  auto start = Clock::now();
  double cpu_start = cpu_seconds();
  memext::TraceRequest req;
  while (reader->next(req)) {
    ++r.records;
    r.checksum += req.key_id ^ req.value_size;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_seconds = cpu_seconds() - cpu_start;
  return r;
}

Result read_with_batches(const std::string& path) {
  auto reader = memext::open_trace(path);
  Result r;
  auto start = Clock::now();
  double cpu_start = cpu_seconds();
  std::vector<memext::TraceRequest> batch(4096);
  while (size_t n = reader->next_batch(batch.data(), batch.size())) {
    for (size_t i = 0; i < n; ++i) r.checksum += batch[i].key_id ^ batch[i].value_size;
    r.records += n;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_seconds = cpu_seconds() - cpu_start;
  return r;
}

void report(const char* what, const std::string& path, const Result& r) {
  std::printf(
      "%-12s %-40s %10llu records  wall %7.3f s %7.2f M/s  cpu %7.3f s %7.2f M/s  (sum %llx)\n",
      what, path.c_str(), static_cast<unsigned long long>(r.records), r.seconds,
      r.records / r.seconds / 1e6, r.cpu_seconds, r.records / r.cpu_seconds / 1e6,
      static_cast<unsigned long long>(r.checksum));
  std::fflush(stdout);
}

memext::WorkloadSpec bench_spec(uint64_t requests) {
  return memext::parse_workload(nlohmann::json{
      {"requests", requests},
      {"keys", requests / 10 + 1},
      {"zipf_alpha", 1.0},
      {"key_size", {{"dist", "uniform"}, {"min", 10}, {"max", 40}}},
      {"value_size",
       {{"dist", "lognormal"}, {"median", 400}, {"sigma", 1.2}, {"min", 1}, {"max", 500000}}},
      {"ttl", nlohmann::json::array({{{"ttl", 0}, {"weight", 1}}, {{"ttl", 600}, {"weight", 1}}})},
      {"ops", {{"get", 0.9}, {"set", 0.1}}},
      {"first_access", "set"},
      {"one_hit_wonder", 0.02},
      {"rate", 100000},
      {"seed", 1}});
}

// The same requests as generic CSV (key_id column), for the text-reader figure.
void write_csv(const std::string& native, const std::string& csv) {
  auto reader = memext::open_trace(native);
  std::ofstream out(csv);
  out << "time_ns,key_id,key_size,value_size,op,ttl\n";
  memext::TraceRequest r;
  char line[160];
  while (reader->next(r)) {
    int n = std::snprintf(
        line, sizeof(line), "%llu,%llu,%u,%u,%s,%lld\n", static_cast<unsigned long long>(r.time_ns),
        static_cast<unsigned long long>(r.key_id), r.key_size, r.value_size,
        std::string(memext::op_name(r.op)).c_str(), static_cast<long long>(r.ttl));
    out.write(line, n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t requests = 10000000;
  std::vector<std::string> traces;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf(
          "usage: trace_read_bench [--requests N] [TRACE...]\n\n"
          "Measures trace reading in records/s. Without TRACE, generates an N-request\n"
          "(default 10000000) native trace, its .zst and a generic CSV copy in a scratch\n"
          "directory, reads each, then removes them.\n");
      return 0;
    }
    if (!std::strcmp(argv[i], "--requests") && i + 1 < argc) {
      requests = std::strtoull(argv[++i], nullptr, 10);
      if (requests == 0) {
        std::fprintf(stderr, "--requests '%s' is not a positive integer\n", argv[i]);
        return 2;
      }
      continue;
    }
    traces.push_back(argv[i]);
  }
  try {
    std::filesystem::path scratch;
    if (traces.empty()) {
      scratch = std::filesystem::temp_directory_path() / "memext-trace-read-bench";
      std::filesystem::create_directories(scratch);
      memext::WorkloadSpec spec = bench_spec(requests);
      std::string plain = (scratch / "bench.mxt").string();
      std::string zst = (scratch / "bench.mxt.zst").string();
      std::string csv = (scratch / "bench.csv").string();
      auto start = Clock::now();
      memext::generate_trace_file(spec, plain);
      double gen_s = std::chrono::duration<double>(Clock::now() - start).count();
      std::printf("generated %llu requests in %.2f s (%.2f M req/s)\n",
                  static_cast<unsigned long long>(requests), gen_s, requests / gen_s / 1e6);
      memext::generate_trace_file(spec, zst);
      write_csv(plain, csv);
      traces = {plain, zst, csv};
    }
    for (const std::string& t : traces) {
      report("next()", t, read_with_next(t));
      report("next_batch()", t, read_with_batches(t));
    }
    if (!scratch.empty()) std::filesystem::remove_all(scratch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trace_read_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
