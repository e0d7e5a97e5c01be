// twitter/cache-trace CSV: timestamp (s), anonymized key, key size, value
// size, client id, operation, TTL (s; 0 for non-writes). No header. Keys keep
// their namespaces and may contain commas, so the five fields after the key are
// taken from the right end of the line.
#include "traces/trace_csv.h"
#include "traces/trace_key_hash.h"

namespace memext {
namespace {

class TwitterReader final : public LineTraceReader {
 public:
  bool second_resolution() const override { return true; }

  TwitterReader(std::unique_ptr<TraceInput> in, const TraceReadOptions& options)
      : LineTraceReader(TraceFormat::kTwitter, std::move(in), options) {}

 protected:
  bool parse_line(std::string_view line, TraceRequest& out) override {
    size_t first_comma = line.find(',');
    std::string_view tail[5];
    std::string_view rest = line;
    for (int i = 4; i >= 0; --i) {
      size_t comma = rest.rfind(',');
      if (comma == std::string_view::npos || comma <= first_comma) {
        reject_line(line_no(), "(row)", line, "does not have the 7 twitter columns");
        return false;
      }
      tail[i] = rest.substr(comma + 1);
      rest = rest.substr(0, comma);
    }
    std::string_view key = rest.substr(first_comma + 1);
    int64_t ttl = 0;
    if (!field_seconds("timestamp", line.substr(0, first_comma), out.time_ns) ||
        !field_u32("key_size", tail[0], out.key_size) ||
        !field_u32("value_size", tail[1], out.value_size) ||
        !field_op("operation", tail[3], out.op) ||
        !field_int("ttl", tail[4], ttl, "an integer number of seconds")) {
      return false;
    }
    out.key_id = hash_key_bytes(key);
    out.ttl = ttl;
    out.op_count = 1;
    out.next_access = kNextAccessUnknown;
    return true;
  }
};

}  // namespace

std::unique_ptr<TraceReader> make_twitter_reader(std::unique_ptr<TraceInput> input,
                                                 const TraceReadOptions& options) {
  return std::make_unique<TwitterReader>(std::move(input), options);
}

}  // namespace memext
