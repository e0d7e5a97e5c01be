// Content-based trace format detection (rules in traces/README.md), split from
// the readers so each rule can be tested on bytes alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "traces/trace_reader.h"

namespace memext {

// How many decompressed bytes detection looks at.
inline constexpr size_t kDetectPrefixBytes = 64 * 1024;

// kAuto when no rule matches. `plain_size` is the file size for uncompressed
// regular files (oracle traces must be a whole number of records).
TraceFormat detect_from_prefix(std::string_view prefix, std::optional<uint64_t> plain_size);

// True if every byte looks like text (no control bytes except tab, CR, LF).
bool looks_like_text(std::string_view prefix);
// A twitter/cache-trace row: timestamp, key, key size, value size, client id,
// operation, TTL (the key may itself contain commas).
bool looks_like_twitter_line(std::string_view line);
// memcached `watch` log lines: the first line (after an "OK" reply) is
// "ts=... gid=..." or a skipped=N marker.
bool looks_like_watch(std::string_view prefix);
// Whole leading oracleGeneral records that are plausible: next access -1 or
// positive, non-decreasing clock, some non-zero size. (Not "greater than the
// record's index": a file split from a longer trace keeps the original's
// virtual times.)
bool looks_like_oracle(std::string_view prefix, std::optional<uint64_t> plain_size);

// The format `path` looks like by the rules above (decompressing zstd), or
// nullopt when no rule matches or the file cannot be read again (stdin, a
// pipe: anything but a regular file).
// For telling a user which --format a misread file wants.
std::optional<TraceFormat> sniff_trace_format(const std::string& path);

// A sentence about a trace read as `used` that went wrong: which format the
// file looks like and what to pass, or that it looks like `used` (so it is
// probably corrupt), or that no format could be detected.
std::string format_hint(const std::string& path, TraceFormat used);

}  // namespace memext
