// Helpers for the trace tests: fixture paths, per-test temporary files, and
// reading a whole (small) trace into a vector.
#pragma once

#include <unistd.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "traces/trace_reader.h"

namespace memext::test {

inline std::string fixture(const std::string& name) {
  return std::string(MEMEXT_SOURCE_DIR) + "/tests/fixtures/traces/" + name;
}

// A scratch directory unique to this process, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("memext-traces-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string zstd_compress(const std::string& bytes, int level = 3) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), level);
  out.resize(n);
  return out;
}

inline std::vector<TraceRequest> read_all(TraceReader& reader) {
  std::vector<TraceRequest> out;
  TraceRequest r;
  while (reader.next(r)) out.push_back(r);
  return out;
}

inline std::vector<TraceRequest> read_all(const std::string& path, TraceReadOptions options = {}) {
  auto reader = open_trace(path, options);
  return read_all(*reader);
}

}  // namespace memext::test
