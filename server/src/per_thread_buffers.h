// Per-thread buffers owned by one object (a logger, a recorder): each worker
// thread writes its own buffer without a lock, and the owner's drain thread
// walks them all. A thread finds its buffer through a thread-local cache
// keyed by the owner's instance id, so two owners (tests run several
// servers in one process) never share one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace memext::server {

// A process-wide id for an owner of per-thread buffers.
inline uint64_t next_buffer_owner_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// Returns the calling thread's buffer in `buffers` (appending one under
// `mutex` on the thread's first call for this owner). The buffers live as
// long as the vector; the caller guards every other use of it with `mutex`.
template <class Buffer>
Buffer& this_thread_buffer(uint64_t owner_id, std::mutex& mutex,
                           std::vector<std::unique_ptr<Buffer>>& buffers) {
  thread_local uint64_t cached_owner = 0;
  thread_local Buffer* cached = nullptr;
  if (cached_owner == owner_id) return *cached;
  std::lock_guard lock(mutex);
  buffers.push_back(std::make_unique<Buffer>());
  cached_owner = owner_id;
  cached = buffers.back().get();
  return *cached;
}

}  // namespace memext::server
