// server/src/record_options.h — the request recorder's settings
// (request_recorder.h): -o record_path, record_sample and record_max_bytes,
// and the same values given to the `record start` command. Pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace memext::server {

struct RecordSettings {
  std::string prefix;   // files PREFIX.0001.mxt.zst, PREFIX.0002.mxt.zst, ...
  double sample = 1.0;  // keys kept: 0 < R <= 1
  // A file is closed and the next begun once it holds this many bytes (it may
  // end a little past it); 0 = one file.
  uint64_t max_bytes = uint64_t{1} << 30;
};

// The smallest max_bytes accepted (other than 0).
inline constexpr uint64_t kRecordMinMaxBytes = 64u << 10;

// Each returns "" when `text` is fine, else what is wrong and what is allowed.
// A sample rate: "0.1".
std::string parse_record_sample(std::string_view text, double& out);
// A size: "1048576", "64k", "256m", "1g"; 0 = no rotation.
std::string parse_record_max_bytes(std::string_view text, uint64_t& out);
// A prefix: not empty, and its directory exists.
std::string check_record_prefix(std::string_view prefix);

// PREFIX.NNNN.mxt.zst (four digits or more).
std::string record_file_name(const std::string& prefix, uint32_t number);

// One -o option of record_path, record_sample, record_max_bytes: true when it
// was one (and applied), false for any other name. Throws ConfigError naming
// the bad value. `start` is set by record_path (record from startup).
bool apply_record_suboption(RecordSettings& settings, bool& start, const std::string& name,
                            const std::string& value);

}  // namespace memext::server
