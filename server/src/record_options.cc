#include "record_options.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "config.h"

namespace memext::server {

std::string parse_record_sample(std::string_view text, double& out) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double rate = copy.empty() ? 0 : std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno != 0 || !(rate > 0) || rate > 1) {
    return "invalid sample rate '" + copy + "' (allowed: a fraction 0 < R <= 1, e.g. 0.01)";
  }
  out = rate;
  return "";
}

std::string parse_record_max_bytes(std::string_view text, uint64_t& out) {
  const std::string why = "invalid size '" + std::string(text) +
                          "' (allowed: 0 for one file, or bytes from 64k, with an optional k, m "
                          "or g suffix, e.g. 256m)";
  if (text.empty()) return why;
  uint64_t scale = 1;
  switch (text.back()) {
    case 'k':
    case 'K':
      scale = uint64_t{1} << 10;
      break;
    case 'm':
    case 'M':
      scale = uint64_t{1} << 20;
      break;
    case 'g':
    case 'G':
      scale = uint64_t{1} << 30;
      break;
    default:
      break;
  }
  std::string_view digits = scale == 1 ? text : text.substr(0, text.size() - 1);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      value > (uint64_t{1} << 50) / scale) {
    return why;
  }
  value *= scale;
  if (value != 0 && value < kRecordMinMaxBytes) return why;
  out = value;
  return "";
}

std::string check_record_prefix(std::string_view prefix) {
  if (prefix.empty()) return "empty path (allowed: a file name prefix in an existing directory)";
  const std::string text(prefix);
  if (text.back() == '/') {
    return "path '" + text + "' ends in '/' (allowed: a file name prefix, e.g. /var/tmp/trace)";
  }
  const size_t slash = text.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : text.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return "path '" + text + "': directory '" + dir + "' does not exist";
  }
  return "";
}

std::string record_file_name(const std::string& prefix, uint32_t number) {
  char digits[16];
  std::snprintf(digits, sizeof digits, ".%04u", number);
  return prefix + digits + ".mxt.zst";
}

bool apply_record_suboption(RecordSettings& settings, bool& start, const std::string& name,
                            const std::string& value) {
  std::string problem;
  if (name == "record_path") {
    problem = check_record_prefix(value);
    if (problem.empty()) {
      settings.prefix = value;
      start = true;
    }
  } else if (name == "record_sample") {
    problem = parse_record_sample(value, settings.sample);
  } else if (name == "record_max_bytes") {
    problem = parse_record_max_bytes(value, settings.max_bytes);
  } else {
    return false;
  }
  if (!problem.empty()) throw ConfigError("-o " + name + ": " + problem);
  return true;
}

}  // namespace memext::server
