// Content-based trace format detection (rules in traces/README.md), split from
// the readers so each rule can be tested on bytes alone.
#pragma once

#include <cstdint>
#include <optional>
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
// Whole leading oracleGeneral records that are plausible: next access -1 or
// positive, non-decreasing clock, some non-zero size. (Not "greater than the
// record's index": a file split from a longer trace keeps the original's
// virtual times.)
bool looks_like_oracle(std::string_view prefix, std::optional<uint64_t> plain_size);

}  // namespace memext
