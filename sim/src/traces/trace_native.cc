#include "traces/trace_native.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>

#include "traces/trace_error.h"
#include "traces/trace_input.h"
#include "traces/trace_reader.h"

namespace memext {

// The record layout is TraceRequest's own layout on little-endian hosts, so
// encode and decode are one copy (trace_reader.cc checks the byte order).
static_assert(sizeof(TraceRequest) == kNativeRecordBytes);
static_assert(offsetof(TraceRequest, time_ns) == 0);
static_assert(offsetof(TraceRequest, key_id) == 8);
static_assert(offsetof(TraceRequest, next_access) == 16);
static_assert(offsetof(TraceRequest, ttl) == 24);
static_assert(offsetof(TraceRequest, key_size) == 32);
static_assert(offsetof(TraceRequest, value_size) == 36);
static_assert(offsetof(TraceRequest, op_count) == 40);
static_assert(offsetof(TraceRequest, op) == 44);
static_assert(std::is_trivially_copyable_v<TraceRequest>);

namespace {

constexpr size_t kOpOffset = 44;
constexpr size_t kCountOffset = 24;

void put_u32(char* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
void put_u64(char* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}
uint32_t get_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

bool ends_with_zst(std::string_view path) {
  return path.size() >= 4 && path.substr(path.size() - 4) == ".zst";
}

}  // namespace

void NativeTraceWriter::encode(const TraceRequest& r, char* out) {
  std::memcpy(out, &r, kNativeRecordBytes);
  std::memset(out + kOpOffset + 1, 0, kNativeRecordBytes - kOpOffset - 1);  // padding
}

NativeTraceWriter::NativeTraceWriter(std::string path, const NativeWriterOptions& options)
    : path_(std::move(path)), options_(options), pending_(kNativeRecordBytes * 16384) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw TraceError(path_ + ": cannot create: " + std::strerror(errno));
  if (ends_with_zst(path_)) {
    zstd_ = ZSTD_createCCtx();
    if (zstd_ == nullptr) throw TraceError(path_ + ": cannot create a zstd context");
    size_t rc = ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, options_.zstd_level);
    if (ZSTD_isError(rc)) {
      throw TraceError(path_ + ": zstd level " + std::to_string(options_.zstd_level) +
                       " rejected: " + ZSTD_getErrorName(rc));
    }
    if (options_.expected_records != kNativeCountUnknown) {
      ZSTD_CCtx_setPledgedSrcSize(
          zstd_, kNativeHeaderBytes + options_.expected_records * kNativeRecordBytes);
    }
    zout_.resize(ZSTD_CStreamOutSize());
  }
  char header[kNativeHeaderBytes] = {};
  std::memcpy(header, kNativeMagic.data(), kNativeMagic.size());
  put_u32(header + 8, kNativeVersion);
  put_u32(header + 12, kNativeHeaderBytes);
  put_u32(header + 16, kNativeRecordBytes);
  put_u32(header + 20, options_.flags);
  put_u64(header + kCountOffset, options_.expected_records);
  write_out(header, sizeof(header));
}

NativeTraceWriter::~NativeTraceWriter() {
  if (fd_ >= 0) {
    try {
      close();
    } catch (const TraceError&) {
      // A destructor cannot report; callers that care call close() themselves.
    }
  }
  if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
}

void NativeTraceWriter::write_fd(const char* data, size_t n) {
  while (n > 0) {
    ssize_t put = ::write(fd_, data, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      throw TraceError(path_ + ": write failed: " + std::strerror(errno));
    }
    data += put;
    n -= static_cast<size_t>(put);
    bytes_out_ += static_cast<uint64_t>(put);
  }
}

void NativeTraceWriter::write_out(const char* data, size_t n) {
  if (zstd_ == nullptr) {
    write_fd(data, n);
    return;
  }
  ZSTD_inBuffer in{data, n, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{zout_.data(), zout_.size(), 0};
    size_t rc = ZSTD_compressStream2(zstd_, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(rc)) {
      throw TraceError(path_ + ": zstd compression failed: " + ZSTD_getErrorName(rc));
    }
    write_fd(zout_.data(), out.pos);
  }
}

void NativeTraceWriter::flush_pending() {
  write_out(pending_.data(), pending_used_);
  pending_used_ = 0;
}

void NativeTraceWriter::flush() {
  if (fd_ < 0) return;
  flush_pending();
  if (zstd_ == nullptr) return;
  ZSTD_inBuffer in{nullptr, 0, 0};
  size_t remaining;
  do {
    ZSTD_outBuffer out{zout_.data(), zout_.size(), 0};
    remaining = ZSTD_compressStream2(zstd_, &out, &in, ZSTD_e_flush);
    if (ZSTD_isError(remaining)) {
      throw TraceError(path_ + ": zstd compression failed: " + ZSTD_getErrorName(remaining));
    }
    write_fd(zout_.data(), out.pos);
  } while (remaining != 0);
}

void NativeTraceWriter::close() {
  if (fd_ < 0) return;
  flush_pending();
  if (zstd_ != nullptr) {
    if (options_.expected_records != kNativeCountUnknown && options_.expected_records != written_) {
      ::close(fd_);
      fd_ = -1;
      throw TraceError(path_ + ": header promised " + std::to_string(options_.expected_records) +
                       " records but " + std::to_string(written_) + " were written");
    }
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t remaining;
    do {
      ZSTD_outBuffer out{zout_.data(), zout_.size(), 0};
      remaining = ZSTD_compressStream2(zstd_, &out, &in, ZSTD_e_end);
      if (ZSTD_isError(remaining)) {
        throw TraceError(path_ + ": zstd compression failed: " + ZSTD_getErrorName(remaining));
      }
      write_fd(zout_.data(), out.pos);
    } while (remaining != 0);
  } else if (options_.expected_records != written_) {
    char count[8];
    put_u64(count, written_);
    if (::pwrite(fd_, count, sizeof(count), kCountOffset) != sizeof(count)) {
      throw TraceError(path_ + ": cannot patch the record count: " + std::strerror(errno));
    }
  }
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw TraceError(path_ + ": close failed: " + std::strerror(errno));
}

namespace {

class NativeReader final : public TraceReader {
 public:
  NativeReader(std::unique_ptr<TraceInput> in, const TraceReadOptions& options)
      : TraceReader(TraceFormat::kNative, std::move(in), options) {
    char header[kNativeHeaderBytes];
    size_t got = input().read(header, sizeof(header));
    if (got < sizeof(header) || std::string_view(header, 8) != kNativeMagic) {
      throw TraceError(path() + ": not a native memext trace (no " + std::string(kNativeMagic) +
                       " header of " + std::to_string(kNativeHeaderBytes) + " bytes)");
    }
    uint32_t version = get_u32(header + 8);
    uint32_t header_bytes = get_u32(header + 12);
    record_bytes_ = get_u32(header + 16);
    flags_ = get_u32(header + 20);
    expected_ = get_u64(header + kCountOffset);
    if (version != kNativeVersion) {
      throw TraceError(path() + ": native trace version " + std::to_string(version) +
                       " is not supported (this build reads version " +
                       std::to_string(kNativeVersion) + ")");
    }
    if (header_bytes < kNativeHeaderBytes || header_bytes > kNativeMaxHeaderBytes ||
        record_bytes_ < kNativeRecordBytes || record_bytes_ > kNativeMaxRecordBytes) {
      throw TraceError(path() + ": native header has bad sizes (header " +
                       std::to_string(header_bytes) + ", record " + std::to_string(record_bytes_) +
                       "; allowed: header " + std::to_string(kNativeHeaderBytes) + ".." +
                       std::to_string(kNativeMaxHeaderBytes) + ", record " +
                       std::to_string(kNativeRecordBytes) + ".." +
                       std::to_string(kNativeMaxRecordBytes) + " bytes)");
    }
    if (auto size = input().plain_file_size(); size && header_bytes > *size) {
      throw TraceError(path() + ": native header claims " + std::to_string(header_bytes) +
                       " bytes but the file holds " + std::to_string(*size));
    }
    if (auto size = input().plain_file_size(); size && expected_ != kNativeCountUnknown &&
                                               expected_ > (*size - header_bytes) / record_bytes_) {
      // A count the file cannot hold is no estimate: the mismatch is reported
      // as a malformed record at the end, as for any wrong count.
      count_fits_ = false;
    }
    char skip[256];
    for (uint32_t left = header_bytes - kNativeHeaderBytes; left > 0;) {
      const size_t n = std::min<size_t>(left, sizeof skip);
      if (input().read(skip, n) != n) throw TraceError(path() + ": native header truncated");
      left -= static_cast<uint32_t>(n);
    }
  }

  bool second_resolution() const override { return (flags_ & kNativeFlagSecondResolution) != 0; }

  bool next(TraceRequest& out) override { return next_batch(&out, 1) == 1; }

  size_t next_batch(TraceRequest* out, size_t n) override {
    size_t done = 0;
    while (done < n) {
      std::string_view buf = input().fetch(record_bytes_);
      if (buf.size() < record_bytes_) {
        finish(buf.size());
        break;
      }
      size_t whole = std::min(buf.size() / record_bytes_, n - done);
      const char* p = buf.data();
      for (size_t i = 0; i < whole; ++i, p += record_bytes_) {
        ++seen_;
        auto op = static_cast<uint8_t>(p[kOpOffset]);
        if (op >= kOpCount) {
          reject_offset(input().offset() + (p - buf.data()), "op",
                        "op code " + std::to_string(op) + " is not one of 0.." +
                            std::to_string(kOpCount - 1));
          continue;
        }
        std::memcpy(&out[done++], p, kNativeRecordBytes);
      }
      input().consume(whole * record_bytes_);
    }
    stats_.records += done;
    return done;
  }

  std::optional<uint64_t> expected_records() const override {
    if (expected_ == kNativeCountUnknown || !count_fits_) return std::nullopt;
    return expected_;
  }

 private:
  // Called at end of input with `tail` bytes of a partial record left over.
  void finish(size_t tail) {
    if (finished_) return;
    finished_ = true;
    if (tail > 0) {
      uint64_t at = input().offset();
      input().consume(tail);
      reject_offset(at, "record",
                    "truncated record: " + std::to_string(tail) + " of " +
                        std::to_string(record_bytes_) + " bytes");
    }
    if (expected_ != kNativeCountUnknown && expected_ != seen_) {
      reject_offset(input().offset(), "record_count",
                    "header says " + std::to_string(expected_) + " records, file holds " +
                        std::to_string(seen_));
    }
  }

  uint32_t record_bytes_ = kNativeRecordBytes;
  uint32_t flags_ = 0;
  uint64_t expected_ = kNativeCountUnknown;
  uint64_t seen_ = 0;
  bool count_fits_ = true;  // false: the header's count exceeds what the file holds
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<TraceReader> make_native_reader(std::unique_ptr<TraceInput> input,
                                                const TraceReadOptions& options) {
  return std::make_unique<NativeReader>(std::move(input), options);
}

}  // namespace memext
