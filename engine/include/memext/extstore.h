// memext/extstore.h — memcached's extstore integration (storage.c): moves
// cold items from the RAM engine to flash pages, reads them back, recaches
// hot ones and compacts fragmented pages.
//
// ExtStore joins an Engine to a PageStore over one Device per ext_path. It
// registers as the engine's header-unlink listener, so every delete,
// overwrite, expiry, eviction or flush of a header item lowers the page's
// object and byte counts (extstore_delete). memcached's two background
// threads become resumable steps that the driver schedules:
//   flusher_step(now)   storage_write_thread: COLD tails -> flash
//   compactor_step(now) storage_compact_thread: one wake-up of the thread
//                       (read a wbuf-sized region, rescue from it, or close
//                       the compacted page)
// each returning the absolute time (driver microseconds) it wants to run
// next; a return equal to `now` means "again right away".
//
// Reads are split so the caller owns the IO: Engine::get() reports a
// kFlashHeader hit; plan_read() says where the object is (still in a write
// buffer, or a byte range of ext_path file N); the caller reads it (server
// worker on its own io_uring ring, simulator on its model device, or
// read_sync()) and hands the bytes to finish_read(), which validates them and
// applies memcached's miss/recache rules. For a multiget, plan every key
// first, submit all device reads together, then finish each as it completes;
// other engine calls may run in between (the page stays pinned).
//
// Object layout on flash (little-endian), written at each object's offset:
//   0  u16 magic 0x4D58       2  u8 key length     3  u8 flags (1 = chunked)
//   4  u32 value length (without "\r\n")           8  u32 client flags
//   12 u32 exptime           16 u32 last access    20 u32 ntotal
//   24 u64 CAS               32 u32 crc32c over bytes 0..31, key and value
//   36 key bytes, value bytes, zero padding up to ntotal.
// ntotal is memcached's ITEM_ntotal of the item (48 + key + 1 + [4 flags] +
// value + 2 + 8), always larger than 36 + key + value, so pages fill and
// fragment exactly as memcached's do. The compactor walks a wbuf by ntotal
// and stops at the first slot without the magic (the zeroed wbuf tail).
//
// Phantom mode (devices whose stores_data() is false): no bytes are written
// or read and no crc is checked; reads check only the page version. The
// compactor cannot parse what it reads, so the store keeps, in phantom mode
// only, a per-page side index of (offset, ntotal, key) for every object
// written; compaction walks that index over the same wbuf-sized regions, so
// rescue/lost/skipped counts mean the same in both modes.
//
// Thread-safety: every call, steps included, runs under the exclusive side
// of the caller's EngineLock (or on the engine's thread), except
// try_plan_read_shared, try_read_buffered_shared, try_finish_read_shared and try_abort_read_shared,
// which run under its shared side, on any number of threads at once; the ExtStore has no lock of
// its own. What the shared side writes: page pins (PageStore, atomic), counter stripes
// (core/shared_counters.h) and the read's recache counter (FlashRead::recache_counter, the
// connection's, advanced only on its thread; or the store's own, an atomic advanced by
// compare-exchange), so the exclusive and shared paths count the same sequence. The Engine and the
// devices are the caller's and must outlive the ExtStore; nothing but the ExtStore may submit IO on
// the devices (readers use their own devices on the same files, see FlashRead). Foreground calls
// (plan_read, finish_read, engine ops reaching the unlink listener) never touch a device.
//
// Locking rule: no device IO under the engine lock. Every IO takes the
// plan -> IO -> finish shape, the IO outside the lock:
//   client read   plan_read (locked) | read on the worker's device | finish_read (locked)
//   compactor     compactor_begin (locked) | read the region on the compactor
//                 thread's device | compactor_finish (locked; re-checks that
//                 the page still has its version, and each rescue that the
//                 engine's header still points at the object)
//   wbuf writes   a step copies items into a wbuf and submits it (locked) to a
//                 device whose IO runs elsewhere (ExtStoreOptions::io_thread);
//                 a later step reaps the completion (locked, never waits).
// Between plan and finish other engine calls run: the page stays pinned (not
// freed nor reused) but may be closed or evicted, and items may be
// overwritten, deleted or moved; the finish steps check for all of these.
// compactor_step() and read_sync() run the three parts back to back on the
// store's own devices (the simulator, tests and tools: one thread, byte for
// byte the same IO as the split calls).
//
// Wbuf flushes (ExtStoreOptions): with async_flush a step only submits a
// full wbuf and goes on filling another, so no step waits for a wbuf write
// (the driver may hold a lock every client needs). The wbuf stays readable
// (kBuffered) until a later step or reap_flushes() reaps the write's
// completion. When max_flushing_wbufs writes are in flight a step stops and
// asks to run again after kWriteSleepMin. The compactor's readback and
// read_sync still wait for their own read, handing any flush completion met
// meanwhile to the page store. Synchronous flushing waits for each write
// inside the step, as memcached's threads do; the simulator's model devices
// rely on that (a wbuf is on the device the moment it is flushed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memext/config.h"
#include "memext/engine.h"
#include "memext/pagestore.h"
#include "memext/time.h"

namespace memext {

class Device;

// memcached's WRITE_SLEEP_MIN (1.6.20; 1.6.18's) and MIN_STORAGE_COMPACT_SLEEP.
inline constexpr Micros kWriteSleepMin = 200;
inline constexpr Micros kWriteSleepMin1618 = 500;

// Whose storage_write_thread the write flusher paces itself as. 1.6.20 (the
// seed): a pass that moved anything runs the next at once, and only then are
// classes that gave nothing backed off. 1.6.18: every pass sleeps (500 us,
// +1 a pass, halved by each move while above 500), a class that gave nothing
// is looked at every Nth pass, N growing by one each time it gives nothing
// (halved at each skip while the sleep is above 5 ms), so with values spread
// over many slab classes items wait longer in COLD, get more RAM hits and
// are more often overwritten before they reach flash.
enum class FlusherPacing : uint8_t { k1_6_20, k1_6_18 };
inline constexpr Micros kMinStorageCompactSleep = 10'000;
// storage_compact_readback's tries of a rescue write refused while the
// compact bucket's wbuf is being written, and its sleep between them.
inline constexpr unsigned kCompactWriteTries = 10;
inline constexpr Micros kCompactWriteRetrySleep = 1'000;

enum class FlashReadKind : uint8_t {
  kMiss,      // the page was reused or freed: already counted as a miss and the
              // header unlinked; do not call finish_read
  kBuffered,  // still in a write buffer: call finish_read right away (no IO)
  kDevice,    // read [offset, offset + length) of ext_path file_index, then finish_read
};

// Where a flash header's object is. Plain data; pass it back unchanged.
//
// A server worker reads kDevice plans with its own ring: open
// file_path(file_index) once per worker with O_RDONLY | O_DIRECT, read
// `length` bytes at `offset` into a buffer aligned to the device's alignment
// (alloc_aligned), and pass the buffer and the read's result to finish_read
// on the engine's strand. The page stays pinned (never freed or rewritten)
// until then.
struct FlashRead {
  FlashReadKind kind = FlashReadKind::kMiss;
  ExtLocation location;
  // kDevice: the byte range to read from the file of config.paths[file_index]
  // (or from `device`), widened to the device's alignment (4096 for O_DIRECT);
  // the object starts `skip` bytes into it and is object_len bytes long.
  uint32_t file_index = 0;
  Device* device = nullptr;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t skip = 0;
  uint32_t object_len = 0;
  ReadPlan plan;  // the page store's pin on the page
  // The recache turn counter this read's hit advances: memcached keeps one
  // per connection (c->recache_counter), so a driver with connections sets
  // its connection's here after planning (only that connection's thread may
  // then finish the read); nullptr = the store's own, one for all (the
  // simulator replays as one client).
  uint64_t* recache_counter = nullptr;
};

enum class ReadStatus : uint8_t {
  kHit,
  kMiss,    // page gone, short read or IO error, or the object is not this key's
  kBadCrc,  // checksum mismatch (also counted as a miss)
};

struct ReadOutcome {
  ReadStatus status = ReadStatus::kMiss;
  // Real-mode hit: the value without "\r\n", pointing into the caller's read
  // buffer (kDevice) or the write buffer (kBuffered, valid until the next
  // ExtStore or engine call). Empty in phantom mode.
  std::string_view value;
  ItemInfo info;          // the header's metadata (flags, CAS, exptime) on a hit
  bool recached = false;  // the item is a RAM item again

  bool hit() const { return status == ReadStatus::kHit; }
};

// The calibrated defaults of ExtStoreOptions::flusher_ns_per_object and
// flusher_ns_per_kib (bench/flusher_cost_bench).
inline constexpr uint32_t kFlusherNsPerObject = 2'000;
inline constexpr uint32_t kFlusherNsPerKib = 1'400;

// How the ExtStore writes full wbufs (see the file comment).
struct ExtStoreOptions {
  // Requires that nothing but the ExtStore submits IO on, or reaps, the
  // devices it was given: a foreign reap would swallow a flush completion.
  bool async_flush = false;
  // Wbuf writes in flight at most (each holds one wbuf of memory).
  unsigned max_flushing_wbufs = 8;
  // open_ext_store wraps each device it opens in make_io_thread_device, and
  // no step ever waits for a write: a compactor rescue that finds every
  // wbuf busy pauses instead (requires async_flush).
  bool io_thread = false;
  // A compactor step rescues from at most this many bytes of its region,
  // then asks to run again at once (0: the whole region in one step, as
  // memcached's compactor thread walks it). Bounds how long one step holds
  // the caller's lock: memcached holds only an item lock per object.
  uint32_t rescue_slice_bytes = 0;
  // A flusher step moves at most about this many bytes of objects (it stops
  // after the object that reaches it), then asks to run again at once and
  // goes on with the same pass (0: a whole pass in one step, as the
  // simulator runs it). Bounds how long one step holds the caller's lock:
  // a pass fills up to a wbuf per class under it, and memcached's write
  // thread holds only an item lock per object.
  uint32_t flusher_slice_bytes = 0;
  // async_flush: memcached's one wbuf per page (PageStoreConfig::
  // one_flush_per_page): a bucket whose full wbuf is being written takes no
  // writes until it completes, which paces the flusher by the device.
  bool one_flush_per_page = true;
  // The write flusher's modelled CPU time per object it moves and per KiB of
  // the object (memcached's storage_write: an LRU pull, a header item, a
  // copy into the wbuf and a crc32c over it; bench/flusher_cost_bench
  // measures it, README.md gives the figures). A step that moved objects
  // asks to run again no sooner than that much after `now`, so in virtual
  // time the flusher moves no more per second than a thread could; on a
  // real clock it is a floor under the time the step really took. 0: free.
  uint32_t flusher_ns_per_object = kFlusherNsPerObject;
  uint32_t flusher_ns_per_kib = kFlusherNsPerKib;
  FlusherPacing flusher_pacing = FlusherPacing::k1_6_20;
};

// A compactor step split around its device read, for a caller that does the
// read without its engine lock (see the file comment). Plain data; pass it
// back unchanged.
struct CompactorRead {
  // False: the step needed no IO and is over; `next` is its wake time.
  bool wanted = false;
  Micros next = 0;
  // Read [offset, offset + length) of the file of config.paths[file_index]
  // (or of `device`, the store's own) into `buffer` (aligned, owned by the
  // store, valid until compactor_finish; null in phantom mode, where the
  // read goes to the model device with no bytes).
  uint32_t file_index = 0;
  Device* device = nullptr;
  uint64_t offset = 0;
  uint32_t length = 0;
  char* buffer = nullptr;
  ReadPlan plan;  // the page store's pin on the page being compacted
};

// open_ext_store's default: the store owns its devices, so nobody else reaps.
inline constexpr ExtStoreOptions kAsyncFlush{true, 8};
// The server's: async flushes whose writes run on an IO thread per device, so
// a step holding the engine lock never enters the kernel for IO nor waits,
// compactor steps that rescue from 64 KB of a region at a time, and flusher
// steps that move 256 KB of objects at a time (a whole pass fills up to a
// 2 MB wbuf per class; memcached holds an item lock per object). Smaller
// flusher slices shortened the gets' waits but, each hold paying the lock's
// hand-over, let a flat-out writer outrun the flusher (engine/README.md).
inline constexpr ExtStoreOptions kIoThread{.async_flush = true,
                                           .max_flushing_wbufs = 8,
                                           .io_thread = true,
                                           .rescue_slice_bytes = 64 * 1024,
                                           .flusher_slice_bytes = 256 * 1024};

// Which device open_ext_store() creates for each ext_path.
enum class ExtDeviceKind : uint8_t { kMemory, kFile, kUring };

struct ExtStoreStats {
  // Worker-thread counters memcached prints in `stats` after get_flushed.
  uint64_t get_extstore = 0;  // flash header reads started
  uint64_t get_aborted_extstore = 0;
  uint64_t get_oom_extstore = 0;  // reads need no RAM item here, so this stays 0
  uint64_t recache_from_extstore = 0;
  uint64_t miss_from_extstore = 0;
  uint64_t badcrc_from_extstore = 0;
  // Compactor counters (`stats`, before the page store's).
  uint64_t compact_lost = 0;
  uint64_t compact_rescues = 0;
  uint64_t compact_skipped = 0;
  PageStoreStats store;
  // `stats extstore`: one entry per page, index = page id.
  std::vector<PageData> pages;

  // (name, value) in memcached's order: get_extstore .. badcrc_from_extstore.
  std::vector<std::pair<std::string_view, uint64_t>> named_get() const;
  // extstore_compact_lost .. extstore_io_queue (then the page store's
  // memext additions).
  std::vector<std::pair<std::string_view, uint64_t>> named_extstore() const;
  // ("0:version", v), ("0:bytes", b), ("0:bucket", n), ("0:free_bucket", f), ...
  std::vector<std::pair<std::string, uint64_t>> named_pages() const;
  // {"stats": {<named_get>, <named_extstore>}, "pages": [{"version",...}]}
  nlohmann::json to_json() const;
};

class ExtStore {
 public:
  // devices[i] backs config.paths[i] (size >= its size_bytes). Settings come
  // from `config` (the engine's config().ext is what memcached would use);
  // compact_under/drop_under of 0 become a quarter of the last ext_path's
  // pages, as storage_init does. Flushes are synchronous unless options ask
  // otherwise: the caller's devices may be shared (the simulator reads
  // through them). Throws std::invalid_argument on a bad configuration (no
  // paths, device count mismatch, page store limits, max_flushing_wbufs 0).
  ExtStore(Engine& engine, const ExtConfig& config, std::vector<Device*> devices,
           const ExtStoreOptions& options = {});
  ~ExtStore();
  ExtStore(const ExtStore&) = delete;
  ExtStore& operator=(const ExtStore&) = delete;

  // One pass of storage_write_thread over the slab classes from
  // slabs_clsid(ext_item_size) up. Returns the next wanted run time.
  Micros flusher_step(Micros now);
  // One wake-up of storage_compact_thread: pick a page and read its first
  // region, rescue from a region read in the previous step, read the next
  // region, or close the page after its last; 10 ms apart while compacting.
  // Returns the next run time.
  // compactor_begin + a read on the store's device + compactor_finish.
  Micros compactor_step(Micros now);
  // The same step split: begin under the engine lock; when it wants a read,
  // do it without the lock and pass its result (bytes read or -errno) to
  // compactor_finish under the lock. Precondition: one compactor step at a
  // time (no compactor_begin/compactor_step until the finish).
  CompactorRead compactor_begin(Micros now);
  Micros compactor_finish(Micros now, const CompactorRead& read, int64_t io_result);

  // Precondition: header.source == kFlashHeader, from Engine::get(key) (a
  // bumping get, as memcached's recache rule reads the bump's effect).
  // Counts get_extstore.
  FlashRead plan_read(std::string_view key, const GetResult& header);
  // Completes a kBuffered or kDevice plan. `buffer` holds the `length` bytes
  // read at `offset` (kDevice; ignored for kBuffered; may be null in phantom
  // mode); io_result is the read's byte count or -errno. Exactly one
  // finish_read or abort_read must follow each kBuffered/kDevice plan.
  ReadOutcome finish_read(std::string_view key, const GetResult& header, const FlashRead& read,
                          const char* buffer, int64_t io_result);
  // The caller gave up before reading (memcached's get_aborted_extstore).
  void abort_read(const FlashRead& read);

  // Stage 2 of the concurrency design (engine/README.md): the same read with
  // the caller holding only the shared side of the EngineLock, `header` from
  // Engine::try_get_shared(key, options, true). A device read is planned as
  // plan_read would (the page pinned with an atomic count, get_extstore and
  // the page store's read counts in per-thread stripes). nullopt, with
  // nothing done or counted, when plan_read would change shared state or
  // read a write buffer (the page is gone and the header must be unlinked,
  // or the object is still in a wbuf: try_read_buffered_shared): call
  // plan_read(key, header) under the exclusive side then (the header's get
  // is already counted).
  std::optional<FlashRead> try_plan_read_shared(std::string_view key, const GetResult& header);
  // finish_read under the shared side for a kDevice plan (from either
  // plan_read or try_plan_read_shared): a hit whose object checks out, that
  // is not due for a recache and whose unpin cannot free the page. Anything
  // else (a short read, a bad crc or foreign object, a recache due, a page
  // waiting to be freed) is nullopt with nothing done or counted and the pin
  // kept: call finish_read with the same arguments under the exclusive side.
  std::optional<ReadOutcome> try_finish_read_shared(std::string_view key, const GetResult& header,
                                                    const FlashRead& read, const char* buffer,
                                                    int64_t io_result);
  // plan_read + finish_read of an object still in a write buffer (a
  // kBuffered plan), under the shared side of the EngineLock, when
  // try_plan_read_shared declined: `header` from Engine::try_get_shared(key,
  // options, true) in the same shared hold. A hit whose object checks out and
  // that is not this read's recache turn counts what the exclusive path
  // counts (get_extstore, objects_read, bytes_read, the recache turn taken
  // from `recache_counter` as FlashRead::recache_counter) and its value
  // points into the wbuf: valid only while this shared hold lasts. Anything
  // else (the object written out or never written, the page gone, a bad or
  // foreign object, a recache due) is nullopt with nothing done or counted:
  // plan_read then under the exclusive side. Wbufs are written and
  // reassigned only under the exclusive side, so the bytes cannot change
  // while the shared side is held.
  std::optional<ReadOutcome> try_read_buffered_shared(std::string_view key, const GetResult& header,
                                                      uint64_t* recache_counter = nullptr);
  // abort_read under the shared side for a kDevice plan (mg without v
  // answers from the header alone): unpins the page and counts
  // get_aborted_extstore as abort_read does. False, with nothing done, when
  // the unpin could free the page: call abort_read under the exclusive side.
  bool try_abort_read_shared(const FlashRead& read);
  // plan_read + synchronous device read + finish_read, into an internal
  // buffer (the value is valid until the next call). For tests and tools.
  // `recache_counter`: the reader's own (FlashRead::recache_counter).
  ReadOutcome read_sync(std::string_view key, const GetResult& header,
                        uint64_t* recache_counter = nullptr);

  // True while a page is being compacted (between its first and last region).
  bool compacting() const;

  // async_flush: reaps finished wbuf writes now (the steps do it as they
  // start), freeing their wbufs; with wait, blocks until at least one
  // finishes if any is in flight. Returns how many finished; 0 when
  // synchronous. For a driver that wants wbufs back early, shutdown, tests.
  size_t reap_flushes(bool wait);
  // async_flush: wbuf writes submitted and not yet reaped.
  unsigned flushes_in_flight() const;

  // memcached's `extstore <name> <value>` runtime tuning. Names: item_size,
  // item_age, low_ttl, recache_rate, compact_under, drop_under, max_sleep,
  // max_frag, drop_unread (an ext_ prefix is accepted too). Returns an empty
  // string when applied, else an error naming the bad name or value and what
  // is allowed (nothing changes then).
  std::string set_option(std::string_view name, std::string_view value);

  // `pages` is filled only with include_pages (a copy per page: skip it when
  // polling often on a large store).
  ExtStoreStats stats(bool include_pages = true) const;
  // `stats settings` lines for extstore, in memcached's order and format
  // (ext_item_size .. ext_drop_unread; max_frag "%.2f", freeratio "%.3f",
  // drop_unread yes/no).
  std::vector<std::pair<std::string_view, std::string>> named_settings() const;
  // The live settings (after set_option and the compact_under default).
  const ExtConfig& config() const;
  // The ext_path behind FlashRead::file_index.
  const std::string& file_path(uint32_t file_index) const;
  const PageStore& page_store() const;

 private:
  friend std::unique_ptr<ExtStore> open_ext_store(Engine&, const ExtConfig&, ExtDeviceKind,
                                                  const ExtStoreOptions&);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Opens one device per config.paths entry (memory: in RAM, sized like the
// path; file: pread/pwrite; uring: io_uring + O_DIRECT) and an ExtStore that
// owns them; flushes are asynchronous by default since no one else can reach
// those devices. Throws what the device factories throw (std::runtime_error
// with the path and errno text) or std::invalid_argument.
std::unique_ptr<ExtStore> open_ext_store(Engine& engine, const ExtConfig& config,
                                         ExtDeviceKind kind,
                                         const ExtStoreOptions& options = kAsyncFlush);

}  // namespace memext
