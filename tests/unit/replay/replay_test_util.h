// Helpers for the replay tests: hand-built native traces in a temp dir and a
// Replayer built from command-line style arguments.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "replay/replay.h"
#include "replay/replay_command.h"
#include "replay/sim_options.h"
#include "traces/trace_native.h"
#include "traces/trace_reader.h"
#include "traces/trace_request.h"

namespace memext::replay_test {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

inline TraceRequest req(uint64_t time_ns, Op op, uint64_t key, uint32_t value_size = 0,
                        int64_t ttl = 0, uint32_t key_size = 10) {
  TraceRequest r;
  r.time_ns = time_ns;
  r.op = op;
  r.key_id = key;
  r.key_size = key_size;
  r.value_size = value_size;
  r.ttl = ttl;
  return r;
}

// A fresh directory per test process, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("memext-replay-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n_));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int n_ = 0;
  std::filesystem::path path_;
};

inline std::string write_trace(const TempDir& dir, const std::vector<TraceRequest>& requests,
                               const std::string& name = "trace.mxt") {
  const std::string path = dir.file(name);
  NativeTraceWriter writer(path);
  for (const TraceRequest& r : requests) writer.write(r);
  writer.close();
  return path;
}

// Runs `memext-sim ARGS` through replay_main (args[0] is "replay");
// returns its exit status.
inline int run_replay_main(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return replay_main(static_cast<int>(argv.size()), argv.data());
}

// Parses `memext-sim replay ARGS` into *options; returns the parser's error ("" on success).
inline std::string parse_replay_args(std::vector<std::string> args, SimOptions* options) {
  args.insert(args.begin(), "replay");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parse_sim_options(static_cast<int>(argv.size()), argv.data(), options);
}

inline std::string parse_error(std::vector<std::string> args) {
  SimOptions options;
  return parse_replay_args(std::move(args), &options);
}

inline SimOptions options_from(std::vector<std::string> args) {
  SimOptions options;
  const std::string error = parse_replay_args(std::move(args), &options);
  if (!error.empty()) throw std::invalid_argument(error);
  return options;
}

// Replays `requests` with the given flags (the trace path is added first).
inline std::unique_ptr<Replayer> replay(const std::vector<TraceRequest>& requests,
                                        std::vector<std::string> flags, bool fill_default = false) {
  TempDir dir;
  const std::string path = write_trace(dir, requests);
  flags.insert(flags.begin(), path);
  SimOptions options = options_from(flags);
  auto reader = open_trace(path);
  auto replayer = std::make_unique<Replayer>(options, fill_default);
  replayer->run(*reader);
  return replayer;
}

}  // namespace memext::replay_test
