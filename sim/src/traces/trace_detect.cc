#include "traces/trace_detect.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include "traces/trace_error.h"
#include "traces/trace_native.h"
#include "traces/trace_text.h"

namespace memext {
namespace {

constexpr size_t kOracleRecordBytes = 24;
constexpr size_t kOracleRecordsChecked = 1024;

std::string lower(std::string_view s) {
  std::string out(trim_spaces(s));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The header row's lower-cased column names, or empty if it is not a header.
std::vector<std::string> header_names(std::string_view line) {
  std::vector<std::string> names;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    std::string name = lower(line.substr(start, comma - start));
    if (!is_identifier(name)) return {};
    names.push_back(std::move(name));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return names;
}

bool has(const std::vector<std::string>& names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

bool is_twitter_op(std::string_view s) {
  static constexpr std::string_view kOps[] = {
      "get", "gets", "set", "add", "replace", "cas", "append", "prepend", "delete", "incr", "decr"};
  return std::find(std::begin(kOps), std::end(kOps), s) != std::end(kOps);
}

}  // namespace

bool looks_like_text(std::string_view prefix) {
  return std::none_of(prefix.begin(), prefix.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
  });
}

bool looks_like_twitter_line(std::string_view line) {
  std::string_view f[8];
  size_t n = split_fields(line, f, 8);
  if (n < 7) return false;
  // Fields after the key are counted from the right, since keys may hold commas.
  std::string_view tail[5];
  std::string_view rest = line;
  for (int i = 4; i >= 0; --i) {
    size_t comma = rest.rfind(',');
    tail[i] = rest.substr(comma + 1);
    rest = rest.substr(0, comma);
  }
  uint64_t u = 0;
  int64_t ttl = 0;
  return parse_int(f[0], u) && parse_int(tail[0], u) && parse_int(tail[1], u) && !tail[2].empty() &&
         is_twitter_op(tail[3]) && parse_int(tail[4], ttl);
}

bool looks_like_oracle(std::string_view prefix, std::optional<uint64_t> plain_size) {
  if (plain_size && *plain_size % kOracleRecordBytes != 0) return false;
  size_t records = std::min(prefix.size() / kOracleRecordBytes, kOracleRecordsChecked);
  if (records == 0) return false;
  uint32_t last_clock = 0;
  bool any_size = false;
  for (size_t i = 0; i < records; ++i) {
    const char* p = prefix.data() + i * kOracleRecordBytes;
    uint32_t clock;
    uint32_t size;
    int64_t next;
    std::memcpy(&clock, p, 4);
    std::memcpy(&size, p + 12, 4);
    std::memcpy(&next, p + 16, 8);
    if (clock < last_clock) return false;
    if (next != -1 && next <= 0) return false;  // a later request's index, or -1
    last_clock = clock;
    any_size = any_size || size != 0;
  }
  return any_size;
}

bool looks_like_watch(std::string_view prefix) {
  std::string_view line = strip_bom(prefix.substr(0, prefix.find('\n')));
  if (line.starts_with("OK")) {  // the watch command's reply, when saved with the log
    const size_t nl = prefix.find('\n');
    if (nl == std::string_view::npos) return false;
    prefix.remove_prefix(nl + 1);
    line = prefix.substr(0, prefix.find('\n'));
  }
  return (line.starts_with("ts=") && line.find(" gid=") != std::string_view::npos) ||
         line.starts_with("skipped=");
}

TraceFormat detect_from_prefix(std::string_view prefix, std::optional<uint64_t> plain_size) {
  if (prefix.size() >= kNativeMagic.size() &&
      prefix.substr(0, kNativeMagic.size()) == kNativeMagic) {
    return TraceFormat::kNative;
  }
  if (looks_like_text(prefix)) {
    size_t nl = prefix.find('\n');
    std::string_view first = strip_bom(prefix.substr(0, nl));
    if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
    if (looks_like_watch(prefix)) return TraceFormat::kWatch;
    std::vector<std::string> names = header_names(first);
    if (has(names, "op_time") && has(names, "key") && has(names, "op"))
      return TraceFormat::kKvcache;
    if (has(names, "key") || has(names, "key_id")) return TraceFormat::kCsv;
    if (looks_like_twitter_line(first)) return TraceFormat::kTwitter;
    return TraceFormat::kAuto;
  }
  if (looks_like_oracle(prefix, plain_size)) return TraceFormat::kOracleGeneral;
  return TraceFormat::kAuto;
}

std::optional<TraceFormat> sniff_trace_format(const std::string& path) {
  // Opening it again must not take bytes from a pipe the reader still reads.
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  try {
    const TraceFormat format = detect_trace_format(path).format;
    if (format != TraceFormat::kAuto) return format;
  } catch (const TraceError&) {
    // Undetectable or unreadable: no hint to give.
  }
  return std::nullopt;
}

std::string format_hint(const std::string& path, TraceFormat used) {
  const std::optional<TraceFormat> seen = sniff_trace_format(path);
  const std::string used_name(trace_format_name(used));
  if (!seen) {
    return "its format could not be detected either (formats: " +
           std::string(trace_format_names_list()) + "; see traces/README.md)";
  }
  const std::string seen_name(trace_format_name(*seen));
  if (*seen == used) {
    return "the file does look like " + used_name + ", so it is probably corrupt or truncated";
  }
  return "the file looks like " + seen_name + ", not " + used_name + ": pass --format " + seen_name;
}

}  // namespace memext
