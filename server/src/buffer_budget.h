// server/src/buffer_budget.h — one worker thread's connection buffers as
// memcached 1.6.18 counts them: its `stats` lines read_buf_count,
// read_buf_bytes, read_buf_bytes_free, response_obj_count,
// response_obj_bytes, and -o read_buf_mem_limit with read_buf_oom and
// response_obj_oom.
//
// memcached gives each worker a cache of 16 KB buffers. The cache never
// hands memory back: a buffer given back waits on its free list, and
// read_buf_count is every buffer it ever allocated (at most the limit / -t,
// at least one, under read_buf_mem_limit). A TCP connection takes a buffer
// for each read event (even the one that finds the peer gone) and gives it
// back once everything read has been used. Response objects (one per
// command, one per further key of a multiget, on any transport) live in
// bundles of 13 that are buffers of the same cache: a worker fills the
// bundle at the head of its list of bundles with free slots, takes a new
// one when that list is empty, keeps its last bundle when it empties and
// gives the others back.
// memext keeps neither structure, but counts what memcached would hold, so
// the stats match and a connection is refused where memcached's is: a read
// that finds the cache spent closes the connection (read_buf_oom), a
// command that cannot start a response closes it (response_obj_oom), a
// multiget that cannot start its next key's answers `SERVER_ERROR out of
// memory writing get response`.
// Changed only on the owning worker's thread; snapshot() may be read from
// any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace memext::server {

class BufferBudget {
 public:
  // memcached's READ_BUFFER_SIZE, and how many response objects one holds.
  static constexpr uint64_t kBufferBytes = 16 * 1024;
  static constexpr uint32_t kResponsesPerBuffer = 13;

  // One response object: its bundle and slot.
  struct Response {
    uint32_t bundle = 0;
    uint32_t slot = 0;
  };

  // What the stats lines show for this worker.
  struct Snapshot {
    uint64_t buffers = 0;       // read_buf_count
    uint64_t free_buffers = 0;  // read_buf_bytes_free / 16 KB
    uint64_t responses = 0;     // response_obj_count
    uint64_t bundles = 0;       // response_obj_bytes / 16 KB
  };

  // `limit_bytes` 0: no limit (counting only).
  BufferBudget(uint64_t limit_bytes, uint32_t threads);

  bool take_read_buffer() { return take_buffer(); }
  void give_read_buffer() { give_buffer(); }
  // False when a new bundle is needed and the cache is at its limit.
  bool take_response(Response& out);
  // Precondition: `r` came from take_response and was not given back.
  void give_response(Response r);

  Snapshot snapshot() const;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Bundle {
    bool used[kResponsesPerBuffer] = {};
    uint32_t refcount = 0;
    uint32_t next_check = 0;  // the slot most likely free
    uint32_t prev = kNone;
    uint32_t next = kNone;
    bool listed = false;  // on the list of bundles with free slots
  };

  bool take_buffer();
  void give_buffer();
  void unlink(uint32_t id);
  void push_front(uint32_t id);
  void publish();

  uint64_t limit_ = 0;  // buffers; 0: unlimited
  uint64_t total_ = 0;
  uint64_t free_ = 0;
  uint64_t responses_ = 0;
  uint64_t live_bundles_ = 0;
  std::vector<Bundle> bundles_;
  std::vector<uint32_t> spare_ids_;
  uint32_t head_ = kNone;  // memcached's open bundle

  std::atomic<uint64_t> shown_total_{0};
  std::atomic<uint64_t> shown_free_{0};
  std::atomic<uint64_t> shown_responses_{0};
  std::atomic<uint64_t> shown_bundles_{0};
};

}  // namespace memext::server
