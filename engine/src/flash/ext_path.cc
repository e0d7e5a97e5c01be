// Bucket names and the ext_path=FILE:SIZE[:bucket] grammar.
#include <array>
#include <charconv>
#include <string>

#include "memext/pagestore.h"

namespace memext {

namespace {

constexpr std::array<std::string_view, kPageBucketCount> kBucketNames = {
    "default", "compact", "chunked", "lowttl", "coldcompact", "old"};

std::string allowed_buckets() {
  std::string out;
  for (auto name : kBucketNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// memcached's storage_conf_parse multipliers: powers of 1024.
uint64_t unit_multiplier(char unit) {
  switch (unit) {
    case 'm':
    case 'M':
      return 1ull << 20;
    case 'g':
    case 'G':
      return 1ull << 30;
    case 't':
    case 'T':
      return 1ull << 40;
    case 'p':
    case 'P':
      return 1ull << 50;
    default:
      return 0;
  }
}

bool parse_size(std::string_view text, uint64_t* bytes, std::string* error) {
  std::string quoted(1, '\'');
  quoted.append(text);
  quoted += '\'';
  if (text.empty()) {
    *error = "ext_path size is empty; expected a whole number with a unit m, g, t or p (e.g. 64g)";
    return false;
  }
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  if (unit >= '0' && unit <= '9') {
    *error = "ext_path size " + quoted + " needs a unit: m, g, t or p (e.g. 64g)";
    return false;
  }
  const uint64_t multiplier = unit_multiplier(unit);
  if (multiplier == 0) {
    *error = "ext_path size " + quoted + " has unit '" + std::string(1, unit) +
             "'; allowed units are m, g, t and p (MB, GB, TB, PB)";
    return false;
  }
  uint64_t count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    *error = "ext_path size " + quoted + " is not a whole number followed by m, g, t or p";
    return false;
  }
  if (count == 0) {
    *error = "ext_path size " + quoted + " must be greater than zero";
    return false;
  }
  if (count > UINT64_MAX / multiplier) {
    *error = "ext_path size " + quoted + " is too large";
    return false;
  }
  *bytes = count * multiplier;
  return true;
}

}  // namespace

std::string_view page_bucket_name(unsigned bucket) {
  return bucket < kBucketNames.size() ? kBucketNames[bucket] : "unknown";
}

std::optional<PageBucket> page_bucket_from_name(std::string_view name) {
  for (unsigned i = 0; i < kBucketNames.size(); ++i) {
    if (kBucketNames[i] == name) return static_cast<PageBucket>(i);
  }
  return std::nullopt;
}

std::optional<ExtPathSpec> parse_ext_path(std::string_view arg, std::string* error) {
  const size_t first = arg.find(':');
  if (first == 0 || arg.empty()) {
    *error = "ext_path '" + std::string(arg) + "' has no file name; expected FILE:SIZE[:bucket]";
    return std::nullopt;
  }
  if (first == std::string_view::npos || first + 1 == arg.size()) {
    *error = "ext_path '" + std::string(arg) +
             "' has no size; expected FILE:SIZE[:bucket], e.g. /data/extstore:64g";
    return std::nullopt;
  }
  ExtPathSpec spec;
  spec.path = std::string(arg.substr(0, first));
  std::string_view rest = arg.substr(first + 1);
  const size_t second = rest.find(':');
  const std::string_view size_text = rest.substr(0, second);
  if (!parse_size(size_text, &spec.size_bytes, error)) return std::nullopt;
  if (second != std::string_view::npos) {
    // Like memcached, everything after the second ':' is the bucket name.
    const std::string_view bucket = rest.substr(second + 1);
    const auto parsed = page_bucket_from_name(bucket);
    if (!parsed) {
      *error = "unknown extstore bucket '" + std::string(bucket) +
               "' in ext_path; allowed: " + allowed_buckets();
      return std::nullopt;
    }
    spec.free_bucket = *parsed;
  }
  return spec;
}

uint64_t ext_path_page_count(const ExtPathSpec& spec, uint64_t page_size, std::string* error) {
  const uint64_t pages = page_size == 0 ? 0 : spec.size_bytes / page_size;
  if (pages == 0) {
    *error = "ext_path " + spec.path + ": size " + std::to_string(spec.size_bytes) +
             " bytes is smaller than one page (ext_page_size " + std::to_string(page_size) +
             " bytes)";
  }
  return pages;
}

std::string memcached_extstore_limits_error(uint64_t page_size, uint64_t wbuf_size,
                                            uint64_t total_pages) {
  constexpr uint64_t kTwoMb = 2ull << 20;
  if (wbuf_size == 0 || page_size % wbuf_size != 0) {
    return "page_size must be divisible by wbuf_size";
  }
  if (page_size % kTwoMb != 0 || wbuf_size % kTwoMb != 0) {
    return "page_size and wbuf_size must be divisible by 1024*1024*2";
  }
  if (total_pages >= UINT16_MAX) {
    return "page_count must total to < 65536. Increase page_size or lower path sizes";
  }
  return {};
}

}  // namespace memext
