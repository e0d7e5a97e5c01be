// memext/options.h — memcached's command-line options, parsed into
// EngineConfig.
//
// Shared by memext-server and memext-sim so both accept memcached's spelling
// (`-m 64`, `-I 2m`, `-o hot_lru_pct=30,ext_path=/f:64g`). No Boost: callers
// with their own CLI library hand each (name, value) pair to
// apply_memcached_option. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memext/config.h"

namespace memext {

enum class OptionStatus : uint8_t {
  kApplied,        // value stored in the config
  kUnknownOption,  // not an engine option; the caller may handle it itself
  kInvalidValue,   // error names the option, the bad value and what is allowed
};

struct OptionResult {
  OptionStatus status = OptionStatus::kApplied;
  std::string error;
  // When memcached 1.6.18 refuses the same value: the line it prints and its
  // exit status (a drop-in server prints these instead of `error`).
  std::string memcached_line;
  int memcached_exit_status = 0;

  bool ok() const { return status == OptionStatus::kApplied; }
};

// Applies one option. `name` is either a short flag without the dash ("m",
// "f", "n", "I", "M", "C") or an -o sub-option name ("hot_lru_pct",
// "ext_path", "no_lru_maintainer", ...). Flag-like sub-options take an empty
// value. Units follow memcached: -m in megabytes, -I with k/m suffixes,
// slab_chunk_max in bytes (what 1.6.18's code reads, whatever its -h says),
// ext_page_size/ext_wbuf_size in megabytes, ext_path sizes with k/m/g/t/p suffixes.
OptionResult apply_memcached_option(EngineConfig& config, std::string_view name,
                                    std::string_view value);

// Splits "a=1,b,c=2" into {{"a","1"},{"b",""},{"c","2"}}.
std::vector<std::pair<std::string, std::string>> parse_suboptions(std::string_view csv);

// parse_suboptions + apply_memcached_option for each; stops at the first
// option that is not applied.
OptionResult apply_memcached_suboptions(EngineConfig& config, std::string_view csv);

// A config that cannot be used: `message` explains it; `memcached_line` and
// `memcached_exit_status` are what memcached 1.6.18 prints and exits with for
// the same config (empty line when memcached has no such check).
struct ConfigProblem {
  std::string message;
  std::string memcached_line;
  int memcached_exit_status = 0;

  bool empty() const { return message.empty(); }
};

// Cross-option checks memcached makes at startup (item_size_max against
// slab_chunk_max, page size and memory limit; LRU percentages; growth
// factor; extstore's write buffer).
ConfigProblem check_config(const EngineConfig& config);
// check_config's message; empty when the config is usable.
std::string validate_config(const EngineConfig& config);

// Parses "64", "64k", "2m", "1g", "4t", "1p" (case-insensitive, powers of
// 1024) into bytes. False on a malformed number or overflow.
bool parse_size_with_unit(std::string_view text, uint64_t& bytes);

}  // namespace memext
