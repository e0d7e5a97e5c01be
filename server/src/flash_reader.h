// server/src/flash_reader.h — the flash read path of one worker thread.
//
// A get that finds an extstore header item plans the read under the engine
// lock (ExtStore::plan_read); objects still in a write buffer are finished
// on the spot, the rest become PendingFlashRead records. The connection hands
// them to its worker's FlashReader, which queues them on the worker's own
// read devices (one Device per ext_path: io_uring + O_DIRECT, a ring per
// worker) and flushes everything queued in one event-loop round with one
// system call per device; Asio watches each device's completion_fd, so no
// worker ever blocks on flash. Completions finish the read under the engine
// lock (crc check, recache) and fill the response slot reserved in request
// order. When io_uring is refused the reader falls back to pread devices,
// whose reap() does the read on the worker thread (warned once at start).
//
// Locking: the engine lock is held to plan and to finish a read, never while
// a device is submitted to or reaped; its shared side when the ExtStore can
// plan or finish the read there (ExtStore::try_plan_read_shared,
// try_read_buffered_shared, try_finish_read_shared), else the exclusive side. Thread-safety: a
// FlashReader and its devices belong to one worker's io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "lock_holds.h"
#include "memext/device.h"
#include "memext/engine.h"
#include "memext/extstore.h"
#include "response_queue.h"
#include "server_context.h"

namespace boost::asio {
class io_context;
}

namespace memext::server {

struct SharedEngine;

// One planned device read and what to answer with. Owned by the FlashReader
// from submit to completion (the connection may be gone by then).
struct PendingFlashRead {
  std::string key;
  GetResult header;  // value view cleared: only metadata and location
  memext::FlashRead plan;
  ResponseQueue::Segment* slot = nullptr;
  std::string prefix;   // written before the value on a hit ("VALUE k f n\r\n")
  std::string suffix;   // written after the value ("\r\n", "END\r\n" is separate)
  std::string on_miss;  // written instead when the object is gone or corrupt
  // Called on the worker thread once the slot is filled (connection resumes);
  // empty when the connection has closed.
  std::function<void()> done;
  // What `done` needs alive (its connection), held here so that `done` can
  // capture a plain pointer: a std::function whose target holds a
  // shared_ptr allocates, one malloc per flash read.
  std::shared_ptr<void> keep_alive;
  AlignedBuffer buffer;  // at least plan.length bytes, for the device read
  IoRequest io;          // the read on the worker's device (user = this)

  // A record from this thread's pool of finished ones (their strings' and
  // aligned buffer's storage kept), or a new one.
  static std::unique_ptr<PendingFlashRead> make();
  // Returns a finished record to this thread's pool (bounded; the rest are
  // freed). Saves the record's 5 allocations and the 4 KB zeroed buffer of
  // every flash read.
  static void recycle(std::unique_ptr<PendingFlashRead> read);
};

enum class FetchKind : uint8_t { kMiss, kValue, kDeferred };

// Result of looking a key up, RAM and flash alike.
struct Fetch {
  FetchKind kind = FetchKind::kMiss;
  ItemInfo info;
  // kValue: the value, valid while the engine lock is held.
  std::string_view value;
  // kDeferred: the device read to submit; the caller fills slot and texts.
  std::unique_ptr<PendingFlashRead> pending;
  // fetch_and_use: its `use` runs under the shared side (else the exclusive
  // one), so a step it takes next must be the shared variant (ExtStore::
  // try_abort_read_shared).
  bool shared = false;
};

// A kValue fetch: `value` must stay valid while the lock it was read under
// is held.
inline Fetch value_fetch(const ItemInfo& info, std::string_view value, bool shared = false) {
  Fetch f;
  f.kind = FetchKind::kValue;
  f.info = info;
  f.value = value;
  f.shared = shared;
  return f;
}

// Precondition: shared.mutex is held. Engine get (with `options`), and for a
// flash header the read plan: a page that is gone is a miss, a write-buffer
// object is a value now, a device object is deferred. `recache_counter`:
// the connection's (FlashRead::recache_counter), or nullptr.
Fetch fetch_locked(SharedEngine& shared, std::string_view key, const GetOptions& options,
                   uint64_t* recache_counter);

// Precondition: the exclusive side of shared.mutex is held. The read plan of
// a flash header an earlier get returned (counted already), as fetch_locked
// goes on after its get.
Fetch plan_locked(SharedEngine& shared, std::string_view key, const GetResult& header,
                  uint64_t* recache_counter);

// A deferred fetch of a planned device read.
Fetch deferred_fetch(std::string_view key, const GetResult& header, const memext::FlashRead& plan);

// A get under the shared side of shared.mutex when Engine::try_get_shared
// can serve it (a miss, a RAM hit whose bump needs no relink, or a flash
// header whose device read ExtStore::try_plan_read_shared can plan or whose
// object ExtStore::try_read_buffered_shared reads from its write buffer), else
// under the exclusive side: fetch_locked, or plan_locked for a header the
// shared side counted but could not plan. `use(Fetch&)` runs while that side
// is still held: a kValue's value is valid only until it returns. A flash
// hit takes its recache turn from `recache_counter`, the connection's
// (memcached counts per connection), which must outlive the read.
template <class Use>
void fetch_and_use(SharedEngine& shared, std::string_view key, const GetOptions& options,
                   uint64_t* recache_counter, Use&& use) {
  std::optional<GetResult> header;
  {
    GetOptions shared_options = options;
    shared_options.defer_relink = true;  // SharedEngine's lock applies them
    SharedSection lock(shared.mutex, Holder::kGetShared);
    std::optional<GetResult> r =
        shared.engine.try_get_shared(key, shared_options, shared.flash != nullptr);
    if (r && r->source == HitSource::kFlashHeader) {
      if (std::optional<memext::FlashRead> plan = shared.flash->try_plan_read_shared(key, *r)) {
        plan->recache_counter = recache_counter;
        Fetch f = deferred_fetch(key, *r, *plan);
        f.shared = true;
        use(f);
        return;
      }
      if (std::optional<ReadOutcome> o =
              shared.flash->try_read_buffered_shared(key, *r, recache_counter)) {
        Fetch f = value_fetch(o->info, o->value, true);
        use(f);
        return;
      }
      header = std::move(r);
    } else if (r) {
      Fetch f;
      f.shared = true;
      if (r->source == HitSource::kRam) f = value_fetch(r->info, r->value, true);
      use(f);
      return;
    }
  }
  ExclusiveSection lock(shared.mutex, Holder::kGet);
  Fetch f = header ? plan_locked(shared, key, *header, recache_counter)
                   : fetch_locked(shared, key, options, recache_counter);
  use(f);
}

// Per-worker reader over the ext_path files (path and size, config order);
// falls back to pread when io_uring cannot be set up (use_uring() tells).
// Throws std::runtime_error naming the file when one cannot be opened.
class FlashReader {
 public:
  FlashReader(boost::asio::io_context& io, SharedEngine& shared,
              const std::vector<ExtPathConfig>& paths, bool try_uring);
  ~FlashReader();
  FlashReader(const FlashReader&) = delete;
  FlashReader& operator=(const FlashReader&) = delete;

  // Queues a batch (and empties `reads`, keeping its capacity); it is
  // submitted with the rest of this event-loop round's reads. Completion
  // fills each slot and calls its `done`.
  void submit(std::vector<std::unique_ptr<PendingFlashRead>>& reads);

  bool use_uring() const;
  // Why io_uring is not used (empty when it is).
  const std::string& fallback_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Completes one read and fills its slot. Precondition: shared.mutex is held.
void complete_flash_read_locked(SharedEngine& shared, PendingFlashRead& read, int64_t io_result);
// The same under the shared side of shared.mutex, when ExtStore::
// try_finish_read_shared can finish it (a hit needing no recache nor page
// free); false with nothing done otherwise: complete_flash_read_locked then.
bool try_complete_flash_read_shared(SharedEngine& shared, PendingFlashRead& read,
                                    int64_t io_result);

}  // namespace memext::server
