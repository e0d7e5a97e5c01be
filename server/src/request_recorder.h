// server/src/request_recorder.h — memext-server's own request recorder:
// every request (or a sample of keys by hash) written as a native trace
// (traces/README.md, zstd) that memext-sim replays, rotated by size.
//
// Flow: a worker that handles a request appends one 48-byte TraceRequest to
// its own bounded buffer, under that buffer's mutex only (uncontended but for
// the writer's swap); a full buffer drops the request and counts it, so a
// worker never waits for the disk. The writer thread swaps the buffers out
// every few milliseconds, merges them by time (each worker's own order,
// hence each connection's, kept), compresses and writes them, and closes a
// file and opens the next once it reaches max_bytes. Off, the cost per
// request is one relaxed load.
//
// Keys are sampled with `memext-sim capture --sample`'s and `replay
// --sample`'s rule (traces/trace_sample.h, seed 0, on hash_key_bytes of the
// key), so a recorded and a captured sample hold the same keys.
//
// Thread-safety: record() from any thread; start/stop/status from any thread
// (serialised by control_mutex_). Locks: control_mutex_, then mutex_, then a
// WorkerBuffer::mutex; status_mutex_ alone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "memext/engine.h"
#include "record_options.h"
#include "traces/trace_key_hash.h"
#include "traces/trace_request.h"
#include "traces/trace_sample.h"

namespace memext::server {

// The trace op of a store command.
constexpr Op store_op(StoreMode mode) {
  switch (mode) {
    case StoreMode::kSet:
      return Op::kSet;
    case StoreMode::kAdd:
      return Op::kAdd;
    case StoreMode::kReplace:
      return Op::kReplace;
    case StoreMode::kAppend:
      return Op::kAppend;
    case StoreMode::kPrepend:
      return Op::kPrepend;
    case StoreMode::kCas:
      return Op::kCas;
  }
  return Op::kSet;
}

class RequestRecorder {
 public:
  struct Status {
    bool recording = false;
    RecordSettings settings;  // of the current or last recording
    std::string file;         // the file being written (or the last one)
    uint64_t recorded = 0;    // requests written to the files
    uint64_t dropped = 0;     // requests lost because the writer fell behind
    uint64_t bytes = 0;       // bytes of all this recording's files
    uint64_t files = 0;       // files begun by this recording
    std::string error;        // why the last recording stopped on its own
  };

  // `buffer_records`: each worker's buffer, in requests.
  explicit RequestRecorder(size_t buffer_records = 1 << 15);
  ~RequestRecorder();
  RequestRecorder(const RequestRecorder&) = delete;
  RequestRecorder& operator=(const RequestRecorder&) = delete;

  // The hot path: one relaxed load while not recording.
  void record(Op op, std::string_view key, uint32_t value_size, int64_t ttl) {
    if (!active_.load(std::memory_order_relaxed)) return;
    record_sampled(op, key, value_size, ttl);
  }

  // Opens the first file and starts the writer; "" on success, else the
  // reason (already recording, the file cannot be created).
  std::string start(const RecordSettings& settings);
  // Writes what the buffers hold, closes the file (complete and valid) and
  // joins the writer; false when not recording.
  bool stop();
  Status status() const;

 private:
  struct WorkerBuffer {
    std::mutex mutex;
    std::vector<TraceRequest> records;  // guarded by mutex
    uint64_t dropped = 0;               // guarded by mutex
  };
  class Writer;

  void record_sampled(Op op, std::string_view key, uint32_t value_size, int64_t ttl);
  WorkerBuffer& thread_buffer();
  void run(std::unique_ptr<Writer> writer);
  // Swaps every buffer out into `batches` (one per buffer); returns the drops.
  uint64_t collect(std::vector<std::vector<TraceRequest>>& batches);

  const size_t capacity_;
  const uint64_t instance_;  // tells thread-local buffer caches of recorders apart
  std::atomic<bool> active_{false};
  std::atomic<bool> sample_all_{true};
  std::atomic<uint64_t> sample_threshold_{0};

  std::mutex control_mutex_;  // start / stop
  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;                               // guarded by mutex_
  std::vector<std::unique_ptr<WorkerBuffer>> buffers_;  // guarded by mutex_
  std::thread thread_;

  mutable std::mutex status_mutex_;
  Status status_;  // guarded by status_mutex_
};

}  // namespace memext::server
