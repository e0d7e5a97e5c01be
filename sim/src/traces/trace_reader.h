// Streaming trace readers: every supported trace format (traces/README.md) is
// read one TraceRequest at a time through TraceReader, with malformed records
// either skipped and counted (default) or fatal (strict). open_trace() detects
// the format and zstd compression from the file's content.
// A reader is single-threaded and owns its input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traces/trace_error.h"
#include "traces/trace_request.h"

namespace memext {

class TraceInput;

enum class TraceFormat : uint8_t {
  kAuto,           // detect from content (open_trace only)
  kNative,         // our binary format, magic "MEMEXTTR"
  kOracleGeneral,  // libCacheSim oracleGeneral, 24-byte records
  kTwitter,        // twitter/cache-trace CSV, 7 columns, no header
  kKvcache,        // CacheLib kvcache CSV with header (op_time,key,key_size,op,...)
  kCsv,            // generic CSV with a header naming our columns
};

// "auto", "native", "oracle", "twitter", "kvcache", "csv".
std::string_view trace_format_name(TraceFormat format);
std::optional<TraceFormat> parse_trace_format(std::string_view name);
// "auto, native, oracle, twitter, kvcache, csv": for error messages.
std::string_view trace_format_names_list();

struct TraceReadOptions {
  TraceFormat format = TraceFormat::kAuto;
  // Throw TraceError at the first malformed record instead of skipping it.
  bool strict = false;
  // How many malformed-record messages stats() keeps (the count is exact).
  size_t max_error_messages = 16;
};

struct TraceReadStats {
  uint64_t records = 0;    // records delivered by next()
  uint64_t malformed = 0;  // records skipped as malformed
  // The production cache's own outcome, when the format records one (kvcache
  // cache_hits): gets (op_count summed over get records) and how many of them
  // hit, over the records delivered.
  bool has_trace_hits = false;
  uint64_t trace_gets = 0;
  uint64_t trace_hits = 0;
  // The first max_error_messages messages, each "PATH: line N: ..." or
  // "PATH: byte offset N: ...".
  std::vector<std::string> errors;
};

class TraceReader {
 public:
  virtual ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  // Fills `out` with the next well-formed request; false at end of trace.
  // Throws TraceError on I/O errors, and on malformed records when strict.
  virtual bool next(TraceRequest& out) = 0;
  // Reads up to n requests; returns how many (0 = end). One virtual call per
  // batch, for replay loops that want no per-request dispatch.
  virtual size_t next_batch(TraceRequest* out, size_t n);

  // Records the trace says it holds, when known without reading it: the
  // native header's count (also for .zst), or an uncompressed oracleGeneral
  // file's size / 24. Counts malformed records too; for progress and ETAs.
  virtual std::optional<uint64_t> expected_records() const { return std::nullopt; }

  TraceFormat format() const { return format_; }
  const TraceReadStats& stats() const { return stats_; }
  const std::string& path() const;
  bool compressed() const;

 protected:
  TraceReader(TraceFormat format, std::unique_ptr<TraceInput> input,
              const TraceReadOptions& options);

  // Reports a malformed record at a text line: throws when strict, else counts
  // it and keeps the message. `field` names the column, `value` its text.
  void reject_line(uint64_t line, std::string_view field, std::string_view value,
                   std::string_view why);
  // Same for binary formats, located by decompressed byte offset.
  void reject_offset(uint64_t offset, std::string_view field, std::string_view why);

  TraceInput& input() { return *input_; }
  TraceReadStats stats_;

 private:
  void reject(std::string message);

  TraceFormat format_;
  std::unique_ptr<TraceInput> input_;
  TraceReadOptions options_;
};

// Opens `path` ("-" = stdin), decompressing zstd by its magic bytes, with the
// format from options.format or detected (see detect rules in traces/README.md).
// Throws TraceError when the file cannot be read, is empty (every format), or
// its format is not detected.
std::unique_ptr<TraceReader> open_trace(const std::string& path,
                                        const TraceReadOptions& options = {});

struct DetectedFormat {
  TraceFormat format = TraceFormat::kAuto;
  bool compressed = false;
};
// The detection open_trace uses, without building a reader. Throws TraceError
// naming what was seen when no rule matches.
DetectedFormat detect_trace_format(const std::string& path);

// The reader for `format` (not kAuto) over an opened input: open_trace's
// last step, for callers that open the input themselves (the fuzz targets,
// with a small buffer). Throws TraceError for kAuto.
std::unique_ptr<TraceReader> make_trace_reader(TraceFormat format,
                                               std::unique_ptr<TraceInput> input,
                                               const TraceReadOptions& options);

// Readers for a known format over an opened input (make_trace_reader calls these).
std::unique_ptr<TraceReader> make_native_reader(std::unique_ptr<TraceInput> input,
                                                const TraceReadOptions& options);
std::unique_ptr<TraceReader> make_oracle_reader(std::unique_ptr<TraceInput> input,
                                                const TraceReadOptions& options);
std::unique_ptr<TraceReader> make_twitter_reader(std::unique_ptr<TraceInput> input,
                                                 const TraceReadOptions& options);
std::unique_ptr<TraceReader> make_kvcache_reader(std::unique_ptr<TraceInput> input,
                                                 const TraceReadOptions& options);
std::unique_ptr<TraceReader> make_csv_reader(std::unique_ptr<TraceInput> input,
                                             const TraceReadOptions& options);

}  // namespace memext
