#include "traces/trace_reader.h"

#include <array>
#include <bit>
#include <cctype>
#include <string>

#include "traces/trace_detect.h"
#include "traces/trace_input.h"

namespace memext {

static_assert(std::endian::native == std::endian::little,
              "trace formats are little-endian and read by memcpy");

namespace {

constexpr std::array<std::string_view, kOpCount> kOpNames = {
    "get",     "gets",   "set",  "add",  "replace", "cas", "append",
    "prepend", "delete", "incr", "decr", "touch",   "gat", "gats"};

constexpr std::array<std::string_view, 6> kFormatNames = {"auto",    "native",  "oracle",
                                                          "twitter", "kvcache", "csv"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace

std::string_view op_name(Op op) {
  auto i = static_cast<size_t>(op);
  return i < kOpNames.size() ? kOpNames[i] : std::string_view("invalid");
}

std::optional<Op> parse_op_name(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (iequals(name, kOpNames[i])) return static_cast<Op>(i);
  }
  return std::nullopt;
}

std::string_view op_names_list() {
  return "get, gets, set, add, replace, cas, append, prepend, delete, incr, decr, touch, gat, "
         "gats";
}

std::string_view trace_format_name(TraceFormat format) {
  return kFormatNames[static_cast<size_t>(format)];
}

std::optional<TraceFormat> parse_trace_format(std::string_view name) {
  for (size_t i = 0; i < kFormatNames.size(); ++i) {
    if (iequals(name, kFormatNames[i])) return static_cast<TraceFormat>(i);
  }
  return std::nullopt;
}

std::string_view trace_format_names_list() {
  return "auto, native, oracle, twitter, kvcache, csv";
}

TraceReader::TraceReader(TraceFormat format, std::unique_ptr<TraceInput> input,
                         const TraceReadOptions& options)
    : format_(format), input_(std::move(input)), options_(options) {}

TraceReader::~TraceReader() = default;

const std::string& TraceReader::path() const {
  return input_->path();
}
bool TraceReader::compressed() const {
  return input_->compressed();
}

size_t TraceReader::next_batch(TraceRequest* out, size_t n) {
  size_t done = 0;
  while (done < n && next(out[done])) ++done;
  return done;
}

void TraceReader::reject(std::string message) {
  if (options_.strict) throw TraceError(message);
  ++stats_.malformed;
  if (stats_.errors.size() < options_.max_error_messages)
    stats_.errors.push_back(std::move(message));
}

void TraceReader::reject_line(uint64_t line, std::string_view field, std::string_view value,
                              std::string_view why) {
  constexpr size_t kMaxQuoted = 80;  // keep messages readable for binary junk
  std::string shown(value.substr(0, kMaxQuoted));
  if (value.size() > kMaxQuoted) shown += "...";
  std::string msg = path() + ": line " + std::to_string(line) + ": field '" + std::string(field) +
                    "': '" + shown + "' " + std::string(why);
  reject(std::move(msg));
}

void TraceReader::reject_offset(uint64_t offset, std::string_view field, std::string_view why) {
  std::string msg = path() + ": byte offset " + std::to_string(offset) +
                    (input_->compressed() ? " (decompressed)" : "") + ": field '" +
                    std::string(field) + "': " + std::string(why);
  reject(std::move(msg));
}

std::unique_ptr<TraceReader> make_trace_reader(TraceFormat format,
                                               std::unique_ptr<TraceInput> input,
                                               const TraceReadOptions& options) {
  switch (format) {
    case TraceFormat::kNative:
      return make_native_reader(std::move(input), options);
    case TraceFormat::kOracleGeneral:
      return make_oracle_reader(std::move(input), options);
    case TraceFormat::kTwitter:
      return make_twitter_reader(std::move(input), options);
    case TraceFormat::kKvcache:
      return make_kvcache_reader(std::move(input), options);
    case TraceFormat::kCsv:
      return make_csv_reader(std::move(input), options);
    case TraceFormat::kAuto:
      break;
  }
  throw TraceError("make_trace_reader: format auto is detected by open_trace, not read");
}

namespace {

TraceFormat detect_or_throw(TraceInput& input) {
  std::string_view prefix = input.peek_prefix(kDetectPrefixBytes);
  TraceFormat f = detect_from_prefix(prefix, input.plain_file_size());
  if (f == TraceFormat::kAuto) {
    std::string shown;
    for (char c : prefix.substr(0, 48)) {
      shown += std::isprint(static_cast<unsigned char>(c)) ? c : '.';
    }
    throw TraceError(input.path() + ": cannot detect the trace format" +
                     (input.compressed() ? " (after zstd decompression)" : "") +
                     " from its first bytes '" + shown + "'; pass --format (" +
                     std::string(trace_format_names_list()) + ")");
  }
  return f;
}

}  // namespace

std::unique_ptr<TraceReader> open_trace(const std::string& path, const TraceReadOptions& options) {
  auto input = std::make_unique<TraceInput>(path);
  // Every format holds at least one record (or a header): an empty file is
  // an error whatever --format says, not an empty replay.
  if (input->peek_prefix(1).empty()) {
    throw TraceError(
        path + ": empty trace (" +
        (input->compressed() ? "no bytes after zstd decompression" : std::string("0 bytes")) +
        "): nothing to read in any format");
  }
  TraceFormat format = options.format;
  if (format == TraceFormat::kAuto) format = detect_or_throw(*input);
  return make_trace_reader(format, std::move(input), options);
}

DetectedFormat detect_trace_format(const std::string& path) {
  TraceInput input(path);
  if (input.peek_prefix(1).empty()) throw TraceError(path + ": empty trace, no format to detect");
  return {detect_or_throw(input), input.compressed()};
}

}  // namespace memext
