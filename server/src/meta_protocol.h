// server/src/meta_protocol.h — memcached 1.6.18's meta commands: mg, ms, md,
// ma, mn, me, with their single-letter flags and return codes (HD, VA, EN,
// NS, EX, NF, MN, ME) and CLIENT_ERROR lines.
//
// Parsing (flag letters, tokens, duplicates) is a plain function so tests can
// check it without an engine. The stale/win machinery (mg N/R vivify and
// recache tokens, I invalidate, W/X/Z) needs per-item state the engine does
// not keep yet; those flags are refused with "CLIENT_ERROR invalid flag".
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

// Parses flag tokens; `allowed` lists the letters the command accepts.
MetaFlagError parse_meta_flags(const std::vector<std::string_view>& tokens, size_t first,
                               std::string_view allowed, MetaFlags& flags);

// Handles one meta command line; returns the bytes of `rest` used as data,
// or Session::kNeedMore (ms waiting for its data block).
size_t meta_command(Session& s, const std::vector<std::string_view>& t, std::string_view rest);

}  // namespace memext::server
