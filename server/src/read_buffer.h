// server/src/read_buffer.h — a connection's unread input, sized by need.
//
// memcached gives an idle connection no read buffer. A connection here waits
// for its next request in a small buffer inside the connection object, which
// holds nearly every single request whole. It moves to a 16 KB block when a
// read filled the small buffer (pipelining) or a request is left incomplete,
// to storage sized for the request when a data block is larger, and goes back
// to the small buffer once everything read has been used and the last read
// did not fill its space. So an idle connection costs no buffer, and a 1 MB
// set leaves nothing behind.
//
// 16 KB blocks come from and go back to a small per-thread cache (memcached's
// rbuf cache does the same). Larger storage is mapped and unmapped on its own,
// so its memory goes back to the system when the request is done instead of
// staying in malloc's heap.
//
// Owned by one connection on one thread; not thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace memext::server {

class ReadBuffer {
 public:
  static constexpr size_t kInlineSize = 512;
  static constexpr size_t kBlockSize = 16 * 1024;
  // Free space a read into heap storage gets at least.
  static constexpr size_t kMinReadSpace = 4 * 1024;
  // 16 KB blocks a thread keeps for its next connections.
  static constexpr size_t kCachedBlocks = 16;

  ReadBuffer() = default;
  ~ReadBuffer();
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;

  std::string_view unread() const { return {data_ + begin_, end_ - begin_}; }
  // The first `n` unread bytes were used.
  void consume(size_t n);

  // Chooses where the next read goes. `wanted` is how many unread bytes the
  // pending request needs in all (0 when unknown). Nothing unread and the last
  // read short: the inline buffer (heap storage is given back). Otherwise
  // heap storage of at least max(wanted, 16 KB) with kMinReadSpace free.
  void prepare_read(size_t wanted);
  char* space() { return data_ + end_; }
  size_t space_size() const { return capacity_ - end_; }
  // `n` bytes arrived in space().
  void received(size_t n);

  // The last read filled all its space (more is waiting).
  bool filled() const { return filled_; }
  size_t capacity() const { return capacity_; }
  bool on_heap() const { return data_ != inline_; }
  // Blocks in this thread's cache (tests).
  static size_t cached_blocks();

 private:
  // Moves the unread bytes to the front of new storage of at least `capacity`.
  void grow(size_t capacity);
  void release_heap();

  char* data_ = inline_;
  size_t capacity_ = kInlineSize;
  size_t begin_ = 0;
  size_t end_ = 0;
  // The last read filled all the space it had: more is probably waiting.
  bool filled_ = false;
  char inline_[kInlineSize];
};

}  // namespace memext::server
