// Field splitting and number parsing shared by the CSV trace readers. Fields
// are views into the current line; nothing here allocates.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace memext {

// Splits on ','; no quoting (no supported trace quotes its fields). Stores at
// most max_fields views and returns the real number of fields.
inline size_t split_fields(std::string_view line, std::string_view* fields, size_t max_fields) {
  size_t count = 0;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    std::string_view f = line.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (count < max_fields) fields[count] = f;
    ++count;
    if (comma == std::string_view::npos) return count;
    start = comma + 1;
  }
}

// Drops a UTF-8 byte order mark, which spreadsheet exports put before headers.
inline std::string_view strip_bom(std::string_view s) {
  return s.starts_with("\xEF\xBB\xBF") ? s.substr(3) : s;
}

inline std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename Int>
bool parse_int(std::string_view s, Int& out) {
  s = trim_spaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

inline bool parse_double(std::string_view s, double& out) {
  s = trim_spaces(s);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Multiplies a count of `unit_ns`-long units into nanoseconds; false on overflow.
inline bool scale_to_ns(uint64_t value, uint64_t unit_ns, uint64_t& out) {
  if (value > std::numeric_limits<uint64_t>::max() / unit_ns) return false;
  out = value * unit_ns;
  return true;
}

// Non-negative seconds with an optional fraction ("12", "12.25") to nanoseconds.
inline bool parse_seconds_to_ns(std::string_view s, uint64_t& out) {
  uint64_t whole = 0;
  if (parse_int(s, whole)) return scale_to_ns(whole, 1000000000ULL, out);
  double d = 0;
  if (!parse_double(s, d) || !(d >= 0) || d >= 1.8e10) return false;
  out = static_cast<uint64_t>(d * 1e9 + 0.5);
  return true;
}

}  // namespace memext
