// Generic CSV: a required header row names the columns, in any order and any
// letter case. Columns: one time column (time = seconds, fractional allowed;
// or time_ms / time_us / time_ns = integers), key (text, hashed) or key_id
// (uint64 used as is), key_size, value_size, op, ttl, op_count, next_access.
// Only a key column is required; unknown columns are ignored.
#include <array>

#include "traces/trace_csv.h"
#include "traces/trace_key_hash.h"

namespace memext {
namespace {

enum Column {
  kTimeS,
  kTimeMs,
  kTimeUs,
  kTimeNs,
  kKey,
  kKeyId,
  kKeySize,
  kValueSize,
  kOp,
  kTtl,
  kOpCount,
  kNextAccess,
  kColumns
};
constexpr std::array<std::string_view, kColumns> kNames = {
    "time",     "time_ms",    "time_us", "time_ns", "key",      "key_id",
    "key_size", "value_size", "op",      "ttl",     "op_count", "next_access"};
constexpr uint64_t kUnitNs[4] = {1000000000ULL, 1000000ULL, 1000ULL, 1ULL};

class CsvReader final : public LineTraceReader {
 public:
  CsvReader(std::unique_ptr<TraceInput> in, const TraceReadOptions& options)
      : LineTraceReader(TraceFormat::kCsv, std::move(in), options) {
    std::vector<std::string> names = split_header(read_header());
    column_.fill(-1);
    for (size_t i = 0; i < names.size(); ++i) {
      for (size_t c = 0; c < kColumns; ++c) {
        if (names[i] != kNames[c]) continue;
        if (column_[c] >= 0) {
          throw TraceError(path() + ": line 1: column '" + names[i] + "' appears twice");
        }
        column_[c] = static_cast<int>(i);
      }
    }
    int time_columns = 0;
    for (int c = kTimeS; c <= kTimeNs; ++c) {
      if (column_[c] >= 0) {
        ++time_columns;
        time_column_ = static_cast<Column>(c);
      }
    }
    if (time_columns > 1) {
      throw TraceError(path() + ": line 1: more than one time column (use exactly one of time, " +
                       "time_ms, time_us, time_ns)");
    }
    if ((column_[kKey] >= 0) == (column_[kKeyId] >= 0)) {
      throw TraceError(path() + ": line 1: the header needs exactly one of the columns 'key' or " +
                       "'key_id' (known columns: time|time_ms|time_us|time_ns, key|key_id, " +
                       "key_size, value_size, op, ttl, op_count, next_access)");
    }
    fields_.resize(names.size());
  }

 protected:
  bool parse_line(std::string_view line, TraceRequest& out) override {
    if (!split_row(line, fields_)) return false;
    auto has = [&](Column c) { return column_[c] >= 0; };
    auto f = [&](Column c) { return fields_[column_[c]]; };

    out.time_ns = 0;
    if (time_column_ == kTimeS) {
      if (!field_seconds("time", f(kTimeS), out.time_ns)) return false;
    } else if (time_column_ != kColumns) {
      uint64_t v = 0;
      std::string_view name = kNames[time_column_];
      if (!field_int(name, f(time_column_), v, "an unsigned integer")) return false;
      if (!scale_to_ns(v, kUnitNs[time_column_], out.time_ns)) {
        reject_line(line_no(), name, f(time_column_), "overflows 64-bit nanoseconds");
        return false;
      }
    }
    std::string_view key_text = has(kKey) ? trim_spaces(f(kKey)) : trim_spaces(f(kKeyId));
    if (has(kKey)) {
      out.key_id = hash_key_bytes(key_text);
    } else if (!field_int("key_id", key_text, out.key_id, "an unsigned 64-bit integer")) {
      return false;
    }
    out.key_size = static_cast<uint32_t>(key_text.size());
    if (has(kKeySize) && !field_u32("key_size", f(kKeySize), out.key_size)) return false;
    out.value_size = 0;
    if (has(kValueSize) && !field_u32("value_size", f(kValueSize), out.value_size)) return false;
    out.op = Op::kGet;
    if (has(kOp) && !field_op("op", f(kOp), out.op)) return false;
    out.ttl = 0;
    if (has(kTtl) && !field_int("ttl", f(kTtl), out.ttl, "an integer number of seconds")) {
      return false;
    }
    out.op_count = 1;
    if (has(kOpCount) && !field_u32("op_count", f(kOpCount), out.op_count)) return false;
    out.next_access = kNextAccessUnknown;
    if (has(kNextAccess) && !parse_next_access(f(kNextAccess), out.next_access)) return false;
    return true;
  }

 private:
  // A request index, -1 (unknown) or "never".
  bool parse_next_access(std::string_view text, int64_t& out) {
    std::string_view t = trim_spaces(text);
    if (t == "never") {
      out = kNextAccessNever;
      return true;
    }
    if (parse_int(t, out) && out >= -1) return true;
    reject_line(line_no(), "next_access", text, "is not a request index, -1 (unknown) or 'never'");
    return false;
  }

  std::array<int, kColumns> column_{};
  Column time_column_ = kColumns;  // kColumns: no time column, every time is 0
  std::vector<std::string_view> fields_;
};

}  // namespace

std::unique_ptr<TraceReader> make_csv_reader(std::unique_ptr<TraceInput> input,
                                             const TraceReadOptions& options) {
  return std::make_unique<CsvReader>(std::move(input), options);
}

}  // namespace memext
