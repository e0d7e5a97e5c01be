// The body every trace reader fuzz target shares: the input is a trace file
// (zstd-compressed or not) read by one format's reader, lenient then strict.
// The input buffer is 4 KiB instead of open_trace's 1 MiB: records and lines
// then straddle refills, and a run costs no megabyte to allocate.
//
// Checked beyond the sanitizers: a reader fails only with TraceError; the
// records it delivers are counted in stats().records, in strict mode none is
// skipped as malformed, kept error messages stay within max_error_messages;
// no more records come out than a cap (the replay's concern beyond it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz_util.h"
#include "traces/trace_error.h"
#include "traces/trace_input.h"
#include "traces/trace_reader.h"
#include "traces/trace_request.h"

namespace memext::fuzzing {

inline std::unique_ptr<TraceReader> open_reader(const MemoryFile& file, TraceFormat format,
                                                const TraceReadOptions& options) {
  if (format == TraceFormat::kAuto) return open_trace(file.path(), options);
  return make_trace_reader(format, std::make_unique<TraceInput>(file.path(), 4096), options);
}

inline void read_trace(const MemoryFile& file, TraceFormat format, bool strict) {
  constexpr uint64_t kMaxRecords = 20'000;
  TraceReadOptions options;
  options.format = format;
  options.strict = strict;
  options.max_error_messages = 4;
  uint64_t delivered = 0;
  try {
    auto reader = open_reader(file, format, options);
    fuzz_check(reader->format() == format, "the reader is not of the format asked for");
    reader->expected_records();
    TraceRequest batch[7];
    bool more = true;
    while (more && delivered < kMaxRecords) {
      // Both ways of reading, alternately.
      if (delivered % 2 == 0) {
        TraceRequest r;
        more = reader->next(r);
        if (more) ++delivered;
      } else {
        const size_t n = reader->next_batch(batch, 7);
        delivered += n;
        more = n > 0;
      }
      fuzz_check(reader->stats().records == delivered, "stats().records miscounts");
    }
    fuzz_check(reader->stats().errors.size() <= options.max_error_messages,
               "more error messages kept than asked");
    if (strict) fuzz_check(reader->stats().malformed == 0, "strict mode skipped a record");
  } catch (const TraceError& e) {
    fuzz_check(std::string_view(e.what()).size() > 0, "a TraceError without a message");
  }
}

inline int fuzz_trace(const uint8_t* data, size_t size, TraceFormat format) {
  const MemoryFile file(std::string_view(reinterpret_cast<const char*>(data), size));
  read_trace(file, format, false);
  read_trace(file, format, true);
  return 0;
}

}  // namespace memext::fuzzing
