// Shared machinery of the line-oriented (CSV) trace readers: line numbering,
// blank-line skipping and typed field parsing that reports the bad field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "traces/trace_input.h"
#include "traces/trace_reader.h"
#include "traces/trace_text.h"

namespace memext {

class LineTraceReader : public TraceReader {
 public:
  bool next(TraceRequest& out) final {
    std::string_view line;
    while (input().read_line(line)) {
      ++line_no_;
      if (trim_spaces(line).empty()) continue;
      if (parse_line(line, out)) {
        ++stats_.records;
        return true;
      }
    }
    return false;
  }

 protected:
  using TraceReader::TraceReader;

  // Fills `out` from one non-blank line; on a bad field calls a reject helper
  // and returns false (the line is skipped).
  virtual bool parse_line(std::string_view line, TraceRequest& out) = 0;

  // Reads the header row (line 1); throws TraceError if the input is empty.
  std::string_view read_header() {
    std::string_view line;
    if (!input().read_line(line)) throw TraceError(path() + ": empty file, expected a header row");
    ++line_no_;
    return strip_bom(line);
  }

  uint64_t line_no() const { return line_no_; }

  // Splits a data row of a header-driven CSV into exactly fields.size()
  // fields; a row with another count is rejected (and skipped).
  bool split_row(std::string_view line, std::vector<std::string_view>& fields) {
    size_t n = split_fields(line, fields.data(), fields.size());
    if (n == fields.size()) return true;
    reject_line(
        line_no_, "(row)", line,
        "has " + std::to_string(n) + " fields, the header has " + std::to_string(fields.size()));
    return false;
  }

  template <typename Int>
  bool field_int(std::string_view name, std::string_view text, Int& out, std::string_view what) {
    if (parse_int(text, out)) return true;
    reject_line(line_no_, name, text, std::string("is not ") + std::string(what));
    return false;
  }
  bool field_u32(std::string_view name, std::string_view text, uint32_t& out) {
    return field_int(name, text, out, "an unsigned 32-bit integer");
  }
  bool field_seconds(std::string_view name, std::string_view text, uint64_t& out_ns) {
    if (parse_seconds_to_ns(text, out_ns)) return true;
    reject_line(line_no_, name, text, "is not a non-negative number of seconds");
    return false;
  }
  bool field_op(std::string_view name, std::string_view text, Op& out) {
    if (auto op = parse_op_name(trim_spaces(text))) {
      out = *op;
      return true;
    }
    reject_line(line_no_, name, text,
                "is not an operation (allowed: " + std::string(op_names_list()) + ")");
    return false;
  }

 private:
  uint64_t line_no_ = 0;
};

// Lower-cased, trimmed column names of a header row.
std::vector<std::string> split_header(std::string_view line);

}  // namespace memext
