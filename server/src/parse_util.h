// server/src/parse_util.h — memcached's request tokenizer and number rules.
//
// memcached splits a command line on single spaces (runs of spaces collapse)
// and parses numbers with strtol/strtoul/strtoull, accepting what those accept
// (leading whitespace, '+', trailing whitespace) and truncating 64-bit results
// into 32-bit fields the way its safe_strto* helpers do. Matching that keeps
// replies byte-identical for odd input. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memext::server {

// Splits on ' ' into `tokens` (cleared first); empty tokens are skipped.
void tokenize(std::string_view line, std::vector<std::string_view>& tokens);

// memcached's safe_strtol: int32 (64-bit strtol, then truncated).
bool parse_int32(std::string_view token, int32_t& out);
// memcached's safe_strtoul: uint32 (truncated), rejects negative numbers.
bool parse_uint32(std::string_view token, uint32_t& out);
// memcached's safe_strtoull: rejects negative numbers and overflow.
bool parse_uint64(std::string_view token, uint64_t& out);
// memcached's safe_strtoll.
bool parse_int64(std::string_view token, int64_t& out);
// memcached's safe_strtod: strtod's syntax (so "nan" and "inf" too), out of
// range rejected.
bool parse_double(std::string_view token, double& out);

// Appends v in decimal, as memcached's replies print numbers.
void append_uint(std::string& out, uint64_t v);

// Base64 (RFC 4648, with padding) for meta-protocol binary keys. Decode
// returns false on malformed input.
bool base64_decode(std::string_view in, std::string& out);
void base64_encode(std::string_view in, std::string& out);

}  // namespace memext::server
