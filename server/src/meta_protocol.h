// server/src/meta_protocol.h — memcached 1.6.18's meta commands: mg, ms, md,
// ma, mn, me, with their single-letter flags and return codes (HD, VA, EN,
// NS, EX, NF, MN, ME) and CLIENT_ERROR lines.
//
// Flags are read like memcached's _meta_flag_preparse: every command accepts
// the same letters and ignores those it has no use for, and the error lines
// follow memcached's order of checks. The stale/win machinery (mg N/R, md I,
// ms I, return flags W X Z) is engine state: see memext::GetOptions::meta.
// Not in 1.6.18, so refused as it refuses them: mg/ms/ma E, md x.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "session.h"

namespace memext::server {

struct MetaFlags {
  // The flag letters in request order (for echoing return flags).
  std::vector<char> order;
  // Token text after the letter, by letter ('A'..'z'); present[] says which
  // letters were given.
  std::array<std::string_view, 128> value{};
  std::array<bool, 128> present{};

  bool has(char c) const { return present[static_cast<unsigned char>(c)]; }
  std::string_view get(char c) const { return value[static_cast<unsigned char>(c)]; }
};

enum class MetaFlagError : uint8_t { kNone, kInvalid, kDuplicate, kTooMany };

// Parses flag tokens; `allowed` lists the letters the command accepts. Like
// memcached, a byte from 127 up counts as a duplicate.
MetaFlagError parse_meta_flags(const std::vector<std::string_view>& tokens, size_t first,
                               std::string_view allowed, MetaFlags& flags);

// Handles one meta command line; returns the bytes of `rest` used as data,
// or Session::kNeedMore (ms waiting for its data block).
size_t meta_command(Session& s, const std::vector<std::string_view>& t, std::string_view rest);

}  // namespace memext::server
