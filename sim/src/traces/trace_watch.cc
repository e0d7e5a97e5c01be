// A saved memcached `watch fetchers mutations` log (watch_log.h) read as a
// trace: each line parsed, the item_get / item_store events assembled into
// requests in the server's log order.
#include "traces/trace_input.h"
#include "traces/trace_reader.h"
#include "traces/trace_text.h"
#include "traces/watch_log.h"

namespace memext {
namespace {

class WatchReader final : public TraceReader {
 public:
  WatchReader(std::unique_ptr<TraceInput> in, const TraceReadOptions& options)
      : TraceReader(TraceFormat::kWatch, std::move(in), options) {}

  bool next(TraceRequest& out) override {
    while (!assembler_.next(out)) {
      if (!read_more()) return false;
    }
    ++stats_.records;
    return true;
  }

 private:
  // Feeds lines to the assembler until it has a request or the log ends.
  // False once the log has ended and every request has been let out.
  bool read_more() {
    if (ended_) return false;
    std::string_view text;
    while (input().read_line(text)) {
      ++line_no_;
      if (input().line_too_long()) {
        reject_line(line_no_, "(line)", text,
                    "is longer than " + std::to_string(TraceInput::kMaxLineBytes) +
                        " bytes (no watch log line is)");
        continue;
      }
      if (trim_spaces(text).empty()) continue;
      WatchLine line = parse_watch_line(text);
      switch (line.kind) {
        case WatchLineKind::kEvent:
          assembler_.add(std::move(line.event));
          update_stats();
          return true;
        case WatchLineKind::kSkipped:
          stats_.source_dropped_lines += line.skipped;
          break;
        case WatchLineKind::kOther:
          ++stats_.ignored_lines;
          break;
        case WatchLineKind::kMalformed:
          reject_line(line_no_, line.field, line.bad, line.why);
          break;
      }
    }
    ended_ = true;
    assembler_.finish();
    update_stats();
    return true;
  }

  void update_stats() {
    stats_.store_lookups = assembler_.counts().store_lookups;
    stats_.unsized_gets = assembler_.counts().unsized_skipped;
  }

  WatchAssembler assembler_;
  uint64_t line_no_ = 0;
  bool ended_ = false;
};

}  // namespace

std::unique_ptr<TraceReader> make_watch_reader(std::unique_ptr<TraceInput> input,
                                               const TraceReadOptions& options) {
  return std::make_unique<WatchReader>(std::move(input), options);
}

}  // namespace memext
