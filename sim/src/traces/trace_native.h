// memext's own binary trace format ("native"): a 32-byte header and fixed
// 48-byte little-endian records that hold a TraceRequest exactly, so reading is
// a copy and a check. Byte layout in traces/README.md. The writer streams,
// optionally through zstd; the reader is make_native_reader (trace_reader.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "traces/trace_request.h"

struct ZSTD_CCtx_s;

namespace memext {

inline constexpr std::string_view kNativeMagic = "MEMEXTTR";
inline constexpr uint32_t kNativeVersion = 1;
inline constexpr uint32_t kNativeHeaderBytes = 32;
inline constexpr uint32_t kNativeRecordBytes = 48;
// Largest header and record sizes a reader accepts (later versions may grow
// them; a corrupt header must not make a reader allocate or skip gigabytes).
inline constexpr uint32_t kNativeMaxHeaderBytes = 4096;
inline constexpr uint32_t kNativeMaxRecordBytes = 4096;
inline constexpr uint64_t kNativeCountUnknown = ~uint64_t{0};
// Header flag: next_access fields carry oracle data.
inline constexpr uint32_t kNativeFlagOracle = 1u << 0;
// Header flag: times are whole seconds copied from a one-second-resolution
// trace (convert --arrival burst), so replays place each second's requests
// within it as they do for the source. Readers that predate it ignore it and
// replay the file as burst.
inline constexpr uint32_t kNativeFlagSecondResolution = 1u << 1;

struct NativeWriterOptions {
  // Record count written into the header; kNativeCountUnknown if not known in
  // advance (uncompressed files get the real count patched in at close()).
  uint64_t expected_records = kNativeCountUnknown;
  // zstd level when compressing; compression is chosen by a ".zst" path suffix.
  int zstd_level = 3;
  uint32_t flags = 0;
};

// Writes a native trace to a file. Not thread-safe. close() (or the destructor,
// which swallows errors) must run for the file to be complete.
class NativeTraceWriter {
 public:
  // Throws TraceError if the file cannot be created.
  NativeTraceWriter(std::string path, const NativeWriterOptions& options = {});
  ~NativeTraceWriter();
  NativeTraceWriter(const NativeTraceWriter&) = delete;
  NativeTraceWriter& operator=(const NativeTraceWriter&) = delete;

  void write(const TraceRequest& r) {
    if (pending_.size() - pending_used_ < kNativeRecordBytes) flush_pending();
    encode(r, pending_.data() + pending_used_);
    pending_used_ += kNativeRecordBytes;
    ++written_;
  }
  // Flushes, finishes the zstd frame, fixes the header count and closes.
  // Throws TraceError on I/O errors or when fewer/more records than
  // expected_records were written into a compressed file.
  void close();
  // Pushes every record written so far to the file (a zstd flush: the data
  // up to here decompresses, the frame is still open), so bytes_written()
  // counts them. A recorder rotating files by size calls it now and then.
  void flush();

  uint64_t records_written() const { return written_; }
  // Bytes handed to the file so far (header included).
  uint64_t bytes_written() const { return bytes_out_; }
  bool compressed() const { return zstd_ != nullptr; }

  static void encode(const TraceRequest& r, char* out);

 private:
  void flush_pending();
  void write_out(const char* data, size_t n);
  void write_fd(const char* data, size_t n);

  std::string path_;
  NativeWriterOptions options_;
  int fd_ = -1;
  ZSTD_CCtx_s* zstd_ = nullptr;
  std::vector<char> pending_;
  size_t pending_used_ = 0;
  std::vector<char> zout_;
  uint64_t written_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace memext
