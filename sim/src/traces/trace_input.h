// Buffered, streaming byte input for trace readers: a file (or stdin) read in
// large blocks, transparently decompressed when it starts with the zstd frame
// magic. Readers see only decompressed bytes and never hold a whole trace.
// Not thread-safe; one reader owns one TraceInput.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ZSTD_DCtx_s;

namespace memext {

class TraceInput {
 public:
  // "-" reads stdin. Throws TraceError if the file cannot be opened.
  explicit TraceInput(std::string path, size_t buffer_bytes = 1 << 20);
  ~TraceInput();
  TraceInput(const TraceInput&) = delete;
  TraceInput& operator=(const TraceInput&) = delete;

  const std::string& path() const { return path_; }
  bool compressed() const { return zstd_ != nullptr; }
  // Size of the file on disk when it is a regular, uncompressed file.
  std::optional<uint64_t> plain_file_size() const { return plain_size_; }

  // Up to max_bytes of the stream's beginning without consuming it (detection).
  std::string_view peek_prefix(size_t max_bytes);

  // Next line without its "\n" (and "\r\n"); the view lives until the next
  // call. A last line without "\n" is still returned. False at end of input.
  bool read_line(std::string_view& line);

  // Copies up to n bytes; returns fewer only at end of input.
  size_t read(void* dst, size_t n);

  // Returns a view of at least min_bytes of contiguous buffered data (fewer only
  // at end of input) and the caller then calls consume(). min_bytes must not
  // exceed the buffer size.
  std::string_view fetch(size_t min_bytes);
  void consume(size_t n) {
    begin_ += n;
    offset_ += n;
  }

  // Decompressed bytes consumed so far: the byte offset readers report.
  uint64_t offset() const { return offset_; }

 private:
  // Moves unread bytes to the buffer start and appends more; false at EOF.
  bool refill();
  size_t read_raw(char* dst, size_t n);
  size_t decompress_into(char* dst, size_t n);

  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::optional<uint64_t> plain_size_;
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t offset_ = 0;
  ZSTD_DCtx_s* zstd_ = nullptr;
  std::vector<char> zbuf_;  // compressed bytes not yet decompressed
  size_t zbegin_ = 0;
  size_t zend_ = 0;
  bool raw_eof_ = false;
  bool frame_done_ = true;  // ZSTD said the last frame is complete
};

}  // namespace memext
