#include "traces/trace_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "traces/trace_error.h"

namespace memext {
namespace {

constexpr unsigned char kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

TraceInput::TraceInput(std::string path, size_t buffer_bytes)
    : path_(std::move(path)), buf_(std::max<size_t>(buffer_bytes, 4096)) {
  if (path_ == "-") {
    fd_ = STDIN_FILENO;
  } else {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw TraceError(path_ + ": cannot open: " + errno_text());
    owns_fd_ = true;
  }
  struct stat st {};
  const bool regular = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);

  // Sniff the first bytes raw to decide between plain and zstd input.
  while (end_ < sizeof(kZstdMagic)) {
    size_t got = read_raw(buf_.data() + end_, buf_.size() - end_);
    if (got == 0) break;
    end_ += got;
  }
  if (end_ >= sizeof(kZstdMagic) && std::memcmp(buf_.data(), kZstdMagic, 4) == 0) {
    zstd_ = ZSTD_createDCtx();
    if (zstd_ == nullptr) throw TraceError(path_ + ": cannot create a zstd context");
    zbuf_.resize(ZSTD_DStreamInSize() > buf_.size() ? ZSTD_DStreamInSize() : buf_.size());
    std::memcpy(zbuf_.data(), buf_.data(), end_);
    zend_ = end_;
    end_ = 0;
  } else {
    eof_ = end_ == 0;
    if (regular) plain_size_ = static_cast<uint64_t>(st.st_size);
  }
}

TraceInput::~TraceInput() {
  if (zstd_ != nullptr) ZSTD_freeDCtx(zstd_);
  if (owns_fd_) ::close(fd_);
}

size_t TraceInput::read_raw(char* dst, size_t n) {
  if (raw_eof_) return 0;
  for (;;) {
    ssize_t got = ::read(fd_, dst, n);
    if (got > 0) return static_cast<size_t>(got);
    if (got == 0) {
      raw_eof_ = true;
      return 0;
    }
    if (errno != EINTR) throw TraceError(path_ + ": read failed: " + errno_text());
  }
}

size_t TraceInput::decompress_into(char* dst, size_t n) {
  for (;;) {
    if (zbegin_ == zend_ && !raw_eof_) {
      zbegin_ = 0;
      zend_ = read_raw(zbuf_.data(), zbuf_.size());
    }
    ZSTD_inBuffer in{zbuf_.data() + zbegin_, zend_ - zbegin_, 0};
    ZSTD_outBuffer out{dst, n, 0};
    size_t ret = ZSTD_decompressStream(zstd_, &out, &in);
    if (ZSTD_isError(ret)) {
      throw TraceError(path_ + ": zstd decompression failed near compressed byte " +
                       std::to_string(zbegin_ + in.pos) + ": " + ZSTD_getErrorName(ret));
    }
    zbegin_ += in.pos;
    // A call without progress says nothing about the frame: after a frame ends
    // zstd asks for the next frame's header, which is not a truncation.
    if (in.pos > 0 || out.pos > 0) frame_done_ = ret == 0;
    if (out.pos > 0) return out.pos;
    if (zbegin_ == zend_ && raw_eof_) {
      if (!frame_done_) throw TraceError(path_ + ": truncated zstd stream (last frame incomplete)");
      return 0;
    }
  }
}

bool TraceInput::refill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) return true;
  size_t got = zstd_ != nullptr ? decompress_into(buf_.data() + end_, buf_.size() - end_)
                                : read_raw(buf_.data() + end_, buf_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

std::string_view TraceInput::fetch(size_t min_bytes) {
  min_bytes = std::min(min_bytes, buf_.size());
  while (end_ - begin_ < min_bytes && refill()) {
  }
  return {buf_.data() + begin_, end_ - begin_};
}

std::string_view TraceInput::peek_prefix(size_t max_bytes) {
  std::string_view v = fetch(max_bytes);
  return v.substr(0, std::min(v.size(), max_bytes));
}

bool TraceInput::read_line(std::string_view& line) {
  size_t scanned = 0;
  for (;;) {
    const char* start = buf_.data() + begin_;
    size_t avail = end_ - begin_;
    const void* nl = std::memchr(start + scanned, '\n', avail - scanned);
    if (nl != nullptr) {
      size_t len = static_cast<const char*>(nl) - start;
      line = std::string_view(start, len);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      consume(len + 1);
      return true;
    }
    scanned = avail;
    if (begin_ == 0 && end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a very long line
    if (!refill()) {
      if (end_ == begin_) return false;
      line = std::string_view(buf_.data() + begin_, end_ - begin_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      consume(end_ - begin_);
      return true;
    }
  }
}

size_t TraceInput::read(void* dst, size_t n) {
  char* out = static_cast<char*>(dst);
  size_t done = 0;
  while (done < n) {
    if (begin_ == end_ && !refill()) break;
    size_t take = std::min(n - done, end_ - begin_);
    std::memcpy(out + done, buf_.data() + begin_, take);
    consume(take);
    done += take;
  }
  return done;
}

}  // namespace memext
