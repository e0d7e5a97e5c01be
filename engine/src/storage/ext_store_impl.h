// storage/ext_store_impl.h — ExtStore's state, shared by the files that
// implement its parts (flusher, reads, compactor, settings and stats).
// Private to the storage library. Not thread-safe: called under the
// caller's engine lock (see extstore.h for what runs outside it).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/shared_counters.h"
#include "core/storage_hooks.h"
#include "memext/device.h"
#include "memext/extstore.h"
#include "memext/pagestore.h"
#include "storage/engine_access.h"

namespace memext {

struct ExtStore::Impl final : core::HeaderUnlinkListener {
  // What one attempt to move an item (flusher) or rescue an object
  // (compactor) came to. kBusy: every wbuf is being written; nothing changed,
  // retry in a later step.
  enum class Move : uint8_t { kMoved, kNotMoved, kBusy };
  // How far readback_region got.
  enum class Region : uint8_t { kDone, kPaused, kSliced, kGone };

  Impl(Engine& engine, const ExtConfig& config, std::vector<Device*> devices,
       const ExtStoreOptions& options);
  ~Impl();

  void on_header_unlinked(const ExtLocation& location, uint64_t ntotal) override;
  bool header_valid(const ExtLocation& location) const override;
  bool unlink_beside_readers(const ExtLocation& location) const override;

  // ---- flusher (flusher.cc) ----
  Micros flusher_step(Micros now);
  // storage_write: moves the COLD tail item of clsid to flash if it is old
  // enough. On kMoved *new_wbuf tells whether it was the first object of a
  // write buffer and *moved_ntotal is the object's length.
  Move write_cold_tail(uint8_t clsid, uint32_t item_age, bool* new_wbuf, uint32_t* moved_ntotal);
  // write_request that, on kBusy, reaps finished flushes and tries once more.
  WriteStatus request_slot(unsigned bucket, uint32_t len, WriteSlot* slot);

  // ---- reads (reads.cc) ----
  FlashRead plan_read(std::string_view key, const GetResult& header);
  ReadOutcome finish_read(std::string_view key, const GetResult& header, const FlashRead& read,
                          const char* buffer, int64_t io_result);
  void abort_read(const FlashRead& read);
  bool try_abort_read_shared(const FlashRead& read);
  std::optional<FlashRead> try_plan_read_shared(std::string_view key, const GetResult& header);
  std::optional<ReadOutcome> try_finish_read_shared(std::string_view key, const GetResult& header,
                                                    const FlashRead& read, const char* buffer,
                                                    int64_t io_result);
  std::optional<ReadOutcome> try_read_buffered_shared(std::string_view key, const GetResult& header,
                                                      uint64_t* recache_counter);
  // Whether memcached's recache rule looks at this hit at all (its time
  // test), before the recache counter has its say.
  bool recache_candidate(const GetResult& header) const;
  // The shared side's turn of the recache counter for a candidate: advances
  // it when this hit is not the one to recache; false (unchanged) when it is,
  // which only finish_read under the exclusive side may do.
  bool skip_recache_shared(const FlashRead& read);
  // The hit's object as finish_read checks it; false for anything finish_read
  // would count as a miss.
  bool object_matches(std::string_view key, const GetResult& header, const FlashRead& read,
                      const char* object, ReadOutcome* outcome) const;
  ReadOutcome read_sync(std::string_view key, const GetResult& header, uint64_t* recache_counter);
  ReadOutcome miss(std::string_view key, const ExtLocation& location, bool badcrc);
  void maybe_recache(std::string_view key, const GetResult& header, const FlashRead& read,
                     ReadOutcome& outcome);

  // ---- compactor (compactor.cc) ----
  Micros compactor_step(Micros now);
  CompactorRead compactor_begin(Micros now);
  Micros compactor_finish(Micros now, const CompactorRead& read, int64_t io_result);
  CompactorRead compactor_wake(Micros now);
  Micros compactor_read_done(Micros now, const CompactorRead& read, int64_t io_result);
  // What the thread does before each sleep (extstore_run_maint): the store's
  // maintenance pass. Not on the short 1 ms waits inside a rescue.
  Micros compactor_sleep_until(Micros now, Micros next);
  bool compact_check();
  // After the region at compact_offset was loaded (or could not be): rescue
  // its objects, move on, and say when to run next.
  Micros compactor_advance(Micros now, bool region_loaded_ok);
  // The first part of a region: the readback buffer holds it (kWbuf), or
  // marks it loaded in phantom mode.
  void region_loaded_now(uint64_t offset);
  // A compact_* line for `watch sysevents` (memext/events.h).
  void log_compaction(const CompactEvent& event);
  // storage_compact_readback over the loaded region at `offset` of the page
  // being compacted. kPaused keeps the region and the position in it for the
  // next step (every wbuf busy); kSliced too, once rescue_slice_bytes of
  // it were walked in this step (the next step goes on at once).
  Region rescue_region(uint64_t offset);
  // `handle` is the engine's item for the object's key (real mode: found by
  // key; phantom: the header that pointed here when compaction began);
  // rescue itself checks it is still the live header for this object.
  Move rescue(core::ItemHandle handle, uint32_t offset, uint32_t ntotal, const char* object);

  // ---- device IO (ext_store.cc) ----
  // Submits req and waits for it; other completions met on the way are
  // flushes and go to the page store. Returns the result or -errno.
  int64_t device_io(Device& device, IoRequest* req);
  size_t reap_flushes(bool wait);

  // ---- settings and stats (ext_store.cc) ----
  std::string set_option(std::string_view name, std::string_view value);
  ExtStoreStats stats(bool include_pages) const;

  char* scratch(size_t len);  // aligned read buffer for read_sync

  storage::EngineAccess engine;
  ExtConfig config;
  std::vector<Device*> devices;
  std::vector<std::unique_ptr<Device>> owned_devices;
  std::unique_ptr<PageStore> store;
  bool stores_data = true;
  ExtStoreOptions options;

  // storage_write_thread's locals.
  std::array<uint32_t, kMaxSlabClasses> backoff{};
  uint32_t counter = 0;
  Micros write_sleep = kWriteSleepMin;
  // One pass of its outer loop, kept between steps when
  // ExtStoreOptions::flusher_slice_bytes ends a step inside the pass.
  struct FlusherPass {
    bool running = false;
    uint32_t clsid = 0;     // the class being moved from
    bool in_class = false;  // clsid's fields below are set
    bool moving = false;    // clsid's COLD LRU had a tail to move
    bool first = true;
    bool did_move = false;
    uint64_t target = 0;
    uint64_t chunks_free = 0;
    bool have_pressure = false;
    storage::SlabPressure pressure;
    bool do_sleep = true;
    uint64_t moved_objects = 0;
    uint64_t moved_bytes = 0;
  };
  FlusherPass flusher_pass;

  // storage_compact_thread's locals.
  Micros compact_sleep = 0;
  bool compacting = false;
  uint32_t compact_page = 0;
  uint64_t compact_version = 0;
  uint64_t compact_offset = 0;
  bool drop_unread = false;
  // Tries of the current object's rescue refused by a busy wbuf.
  unsigned rescue_busy_tries = 0;
  AlignedBuffer readback;
  // A region read on a device whose alignment does not divide the wbuf: its
  // own buffer, since read_sync's scratch may be used while the read is out.
  AlignedBuffer readback_bounce;
  // A region paused on kBusy: readback (or phantom_region) still holds it.
  bool region_loaded = false;
  uint32_t region_pos = 0;  // byte offset into readback (real mode)
  // Rescues, lost and skipped when the region was loaded: its compact_read_end
  // log line gives the region's own.
  std::array<uint64_t, 3> region_start_counts{};
  // Phantom page store: nothing can be read back, so the page's live objects
  // are asked of the engine when its compaction begins (headers_on_page);
  // phantom_pos is the next one to rescue.
  std::vector<core::PageObject> phantom_objects;
  size_t phantom_pos = 0;

  // The recache turns of reads without a counter of their own
  // (FlashRead::recache_counter). Atomic: the shared side advances it too
  // (skip_recache_shared).
  std::atomic<uint64_t> recache_counter{0};
  // get_extstore and get_aborted_extstore counted under the shared side
  // (stats() adds them).
  static constexpr size_t kSharedGetExtstore = 0;
  static constexpr size_t kSharedGetAborted = 1;
  core::StripedCounters<2> shared_get_extstore;
  AlignedBuffer read_buf;

  ExtStoreStats counters;  // the worker and compactor counters only
};

}  // namespace memext
