// server/src/buffer_budget.h — memcached's -o read_buf_mem_limit on one
// worker thread.
//
// memcached gives each worker a cache of 16 KB buffers, limited to its share
// of read_buf_mem_limit (the limit / -t, at least one buffer). A connection
// takes a buffer to read into and gives it back once everything read has
// been used; responses take 13-object bundles of the same buffers (one
// object per command, one per key of a multiget) until they are written.
// memext keeps neither structure, but counts what memcached would hold, so a
// connection is refused where memcached's is: a read that finds the budget
// spent closes the connection (read_buf_oom), a command that cannot start a
// response closes it (response_obj_oom), a multiget that cannot start its
// next key's answers `SERVER_ERROR out of memory writing get response`.
// Owned by a worker; used only on its thread.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

namespace memext::server {

class BufferBudget {
 public:
  // memcached's READ_BUFFER_SIZE, and how many response objects one holds.
  static constexpr uint64_t kBufferBytes = 16 * 1024;
  static constexpr size_t kResponsesPerBuffer = 13;

  // `limit_bytes` 0: no limit (counting only).
  BufferBudget(uint64_t limit_bytes, uint32_t threads) {
    if (limit_bytes == 0) return;
    assert(threads > 0);
    const uint64_t share = limit_bytes / threads;
    buffers_ = share < kBufferBytes ? 1 : static_cast<size_t>(share / kBufferBytes);
  }

  bool take_read_buffer() {
    if (!fits(read_buffers_ + 1, responses_)) return false;
    ++read_buffers_;
    return true;
  }
  void give_read_buffer() {
    assert(read_buffers_ > 0);
    --read_buffers_;
  }
  bool take_response() {
    if (!fits(read_buffers_, responses_ + 1)) return false;
    ++responses_;
    return true;
  }
  void give_responses(size_t n) {
    assert(responses_ >= n);
    responses_ -= n;
  }

 private:
  bool fits(size_t read_buffers, size_t responses) const {
    if (buffers_ == 0) return true;
    const size_t bundles = (responses + kResponsesPerBuffer - 1) / kResponsesPerBuffer;
    return read_buffers + bundles <= buffers_;
  }

  size_t buffers_ = 0;  // 0: unlimited
  size_t read_buffers_ = 0;
  size_t responses_ = 0;
};

}  // namespace memext::server
