// CacheLib's kvcache trace CSV (cachebench trace_replay, schema v2): a header
// row names the columns, in any order. Used: op_time (s), key, key_size, op
// (GET, GET_LEASE, SET, SET_LEASE, DELETE or a memcached command name),
// size (value bytes), op_count (default 1), ttl (s, default 0), cache_hits
// (optional: how many of a get record's op_count hit in production, summed
// into TraceReadStats for the report's validation). Other columns (usecase,
// sub_usecase, ...) are ignored.
#include <algorithm>
#include <array>

#include "traces/trace_csv.h"
#include "traces/trace_key_hash.h"

namespace memext {
namespace {

enum Column { kTime, kKey, kKeySize, kOp, kSize, kOpCount, kTtl, kCacheHits, kColumns };
constexpr std::array<std::string_view, kColumns> kNames = {
    "op_time", "key", "key_size", "op", "size", "op_count", "ttl", "cache_hits"};
constexpr bool kRequired[kColumns] = {true, true, true, true, true, false, false, false};

class KvcacheReader final : public LineTraceReader {
 public:
  bool second_resolution() const override { return true; }

  KvcacheReader(std::unique_ptr<TraceInput> in, const TraceReadOptions& options)
      : LineTraceReader(TraceFormat::kKvcache, std::move(in), options) {
    std::vector<std::string> names = split_header(read_header());
    column_.fill(-1);
    for (size_t i = 0; i < names.size(); ++i) {
      for (size_t c = 0; c < kColumns; ++c) {
        if (names[i] == kNames[c]) {
          if (column_[c] >= 0) {
            throw TraceError(path() + ": line 1: column '" + names[i] + "' appears twice");
          }
          column_[c] = static_cast<int>(i);
        }
      }
    }
    for (size_t c = 0; c < kColumns; ++c) {
      if (kRequired[c] && column_[c] < 0) {
        throw TraceError(path() + ": line 1: kvcache header lacks column '" +
                         std::string(kNames[c]) +
                         "' (required: op_time, key, key_size, op, size; optional: op_count, "
                         "ttl, cache_hits)");
      }
    }
    fields_.resize(names.size());
    stats_.has_trace_hits = column_[kCacheHits] >= 0;
  }

 protected:
  bool parse_line(std::string_view line, TraceRequest& out) override {
    if (!split_row(line, fields_)) return false;
    auto f = [&](Column c) { return fields_[column_[c]]; };
    if (!field_seconds("op_time", f(kTime), out.time_ns) ||
        !field_u32("key_size", f(kKeySize), out.key_size) ||
        !field_u32("size", f(kSize), out.value_size) || !parse_kv_op(f(kOp), out.op)) {
      return false;
    }
    out.op_count = 1;
    if (column_[kOpCount] >= 0 && !field_u32("op_count", f(kOpCount), out.op_count)) return false;
    out.ttl = 0;
    if (column_[kTtl] >= 0 && !field_int("ttl", f(kTtl), out.ttl, "an integer number of seconds")) {
      return false;
    }
    uint32_t cache_hits = 0;
    if (column_[kCacheHits] >= 0 && !field_u32("cache_hits", f(kCacheHits), cache_hits)) {
      return false;
    }
    out.key_id = hash_key_bytes(trim_spaces(f(kKey)));
    out.next_access = kNextAccessUnknown;
    if (out.op == Op::kGet) {
      const uint32_t gets = std::max<uint32_t>(out.op_count, 1);
      stats_.trace_gets += gets;
      stats_.trace_hits += std::min(cache_hits, gets);
    }
    return true;
  }

 private:
  bool parse_kv_op(std::string_view text, Op& out) {
    std::string_view t = trim_spaces(text);
    if (t == "GET_LEASE") {
      out = Op::kGet;
      return true;
    }
    if (t == "SET_LEASE") {
      out = Op::kSet;
      return true;
    }
    if (auto op = parse_op_name(t)) {
      out = *op;
      return true;
    }
    reject_line(line_no(), "op", text,
                "is not a kvcache operation (allowed: GET, GET_LEASE, SET, SET_LEASE, DELETE or " +
                    std::string(op_names_list()) + ")");
    return false;
  }

  std::array<int, kColumns> column_{};
  std::vector<std::string_view> fields_;
};

}  // namespace

std::unique_ptr<TraceReader> make_kvcache_reader(std::unique_ptr<TraceInput> input,
                                                 const TraceReadOptions& options) {
  return std::make_unique<KvcacheReader>(std::move(input), options);
}

}  // namespace memext
