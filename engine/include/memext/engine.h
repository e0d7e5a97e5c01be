// memext/engine.h — the RAM cache engine: memcached 1.6.18's items, hash
// table, slab accounting and segmented LRU behind one object.
//
// Memory accounting: value bytes live in ordinary heap buffers (real mode) or
// nowhere (phantom mode), but every item is charged exactly what memcached
// would charge: it takes a chunk of its slab class (or a header chunk plus
// chunks for items above slab_chunk_max), pages of slab_page_size are granted
// to a class on demand under memcached's mem_limit rule, and when a class has
// no free chunk and may not grow, the COLD tail of that class is evicted.
// The accounting (bytes, items, pages, used/free chunks, total_malloced)
// matches a live memcached 1.6.18 for the same commands (see
// tests/unit/core/memcached_accounting_test.cc), in both modes. Background
// work lives beside the engine as step objects: LruMaintainer (juggles, slab
// page automover) and LruCrawler. memcached's asynchronous bump queue: a
// second hit on a COLD item moves it to WARM at once (get()), or, under the
// shared lock with GetOptions::defer_relink, at the next exclusive
// acquisition (apply_deferred_bumps) or the maintainer's next pass beside
// the gets (LruMaintainer::try_step_beside_readers), whichever comes first.
//
// Thread-safety and locking (design and reasons: engine/README.md). The
// engine has no lock of its own; a multi-threaded driver wraps it in one
// EngineLock (memext/engine_lock.h), which guards the whole engine and the
// ExtStore, LruMaintainer and LruCrawler beside it:
//   shared side     try_get_shared() (and ExtStore's try_plan_read_shared,
//                   try_read_buffered_shared, try_finish_read_shared), on
//                   any number of threads at once: it reads items, the
//                   hash table, the clock and write buffers, sets
//                   an item's FETCHED/ACTIVE bits and time atomically, and
//                   adds to per-thread counter stripes (core/shared_counters.h);
//   mutator side    try_store_concurrent() and the LRU maintainer's pass
//                   (LruMaintainer::try_step_beside_readers), one thread at
//                   a time, beside the shared side: they write items, LRU
//                   links, slab accounting and counters no shared get reads,
//                   publish a new item by its hash slot, and leave the
//                   records they unlink for the next exclusive holder;
//   exclusive side  every other call, other background steps included, each
//                   acquisition starting with catch_up() (the lock's
//                   on-exclusive hook): queued moves, retired records.
// prepare_store() needs no lock (it reads only the config); the
// PreparedStore it returns is the calling thread's.
// try_get_shared() declines (nullopt) whenever the get would write anything
// but a counter; the caller then repeats it with get() under the exclusive
// side. A RAM hit's value (GetResult::value) stays valid while the caller
// holds either side. Lock order: EngineLock first, then the driver's own
// locks; no device IO under either side (extstore.h: plan -> IO -> finish).
// The simulator, single-threaded, takes no lock and never calls
// try_get_shared, so its counts and reports are what they always were.
// Time: the engine never reads a clock; call set_time() before operations.
// Errors are result enums; only construction throws (std::invalid_argument).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "memext/config.h"
#include "memext/slabs.h"
#include "memext/stats.h"
#include "memext/time.h"

namespace memext {

namespace core {
class ItemStore;
}
class EventSink;

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };

enum class StoreResult : uint8_t {
  kStored,
  kNotStored,    // add on existing, replace/append/prepend on missing, append to a flash header
  kExists,       // CAS mismatch
  kNotFound,     // cas on a missing item
  kTooLarge,     // item above item_size_max (or key above 250 bytes); a failed set deletes the old
                 // item
  kOutOfMemory,  // no chunk could be had (evictions off, or TEMP-only class); a failed set deletes
                 // the old item
};

enum class DeleteResult : uint8_t { kDeleted, kNotFound, kExists };
enum class TouchResult : uint8_t { kTouched, kNotFound };
enum class DeltaResult : uint8_t { kOk, kNotFound, kNonNumeric, kExists, kOutOfMemory };

// Where a lookup found its item.
enum class HitSource : uint8_t {
  kMiss,
  kRam,          // full item in memory
  kFlashHeader,  // ITEM_HDR: the value lives on flash at GetResult::location
};

enum class LruSegment : uint8_t { kHot = 0, kWarm = 1, kCold = 2, kTemp = 3 };

// Where extstore put an object: the page, the page's version when written
// (so a reused page is detected), the byte offset inside the page and the
// object's length on flash (memcached's ITEM_ntotal of the full item).
struct ExtLocation {
  uint32_t page_id = 0;
  uint32_t page_version = 0;
  uint32_t offset = 0;
  uint32_t len = 0;

  friend bool operator==(const ExtLocation&, const ExtLocation&) = default;
};

// Item metadata reported on a hit (for meta-protocol flags and `gets`).
struct ItemInfo {
  uint32_t client_flags = 0;
  rel_time_t exptime = 0;      // engine-relative; 0 = never expires
  rel_time_t last_access = 0;  // memcached's it->time before this access
  uint64_t cas = 0;
  uint32_t value_len = 0;  // value bytes without "\r\n"
  uint8_t slab_class = 0;
  LruSegment lru = LruSegment::kHot;
  bool fetched = false;  // ITEM_FETCHED before this access
  bool active = false;   // ITEM_ACTIVE before this access
  bool chunked = false;
  // memcached's ITEM_KEY_BINARY: the item was stored with StoreRequest::
  // key_binary, so meta replies show its key base64-encoded. False for a
  // flash header, as memcached's header item does not carry the bit.
  bool key_binary = false;
  // Meta get's recache state (memcached's ITEM_STALE and ITEM_TOKEN_SENT),
  // filled by GetOptions::meta lookups only.
  bool stale = false;       // X: md I or a stale ms I marked the item
  bool token_sent = false;  // Z: an earlier request won the recache token
  bool won = false;         // W: this request won it (and the item now says so)
  bool vivified = false;    // GetOptions::vivify created the item on this miss
  // exptime before this request's T or N changed it: mg prints a `t` flag
  // given before T with the old TTL.
  rel_time_t exptime_before = 0;
};

struct GetResult {
  HitSource source = HitSource::kMiss;
  ItemInfo info;
  // kRam in real mode: the value without "\r\n", valid until the next
  // non-const call on the engine. Empty in phantom mode.
  std::string_view value;
  ExtLocation location;  // kFlashHeader only
  // kFlashHeader only: the CAS the flash object was written with, which a
  // read checks (info.cas is the header's, which the slab page mover and a
  // meta delete's invalidation renew, as memcached does).
  uint64_t object_cas = 0;

  bool hit() const { return source != HitSource::kMiss; }
};

struct GetOptions {
  bool bump = true;     // memcached's do_item_bump (FETCHED/ACTIVE bits, COLD->WARM); false = peek
  bool touch = false;   // gat/gats: also set a new exptime and count as touch
  int64_t exptime = 0;  // client form (see Engine::realtime), used when touch

  // Meta get (mg): report stale/token state and hand out the recache token
  // (W) to the first request that sees a stale item or qualifies by N or R.
  // memcached applies mg's T, N and R in the request's flag order, hence the
  // two order bits.
  bool meta = false;
  bool vivify = false;          // N: on a miss, link an empty item (flags 0) and win its token
  int64_t vivify_exptime = 0;   // N's TTL, client form; the created item's exptime
  bool recache = false;         // R: win when the item's exptime is below this moment
  int64_t recache_exptime = 0;  // R's token, client form
  bool touch_before_recache = false;  // T came before R (R then sees T's exptime)
  bool touch_after_vivify = false;    // T came after N (a created item keeps T's exptime)

  // try_get_shared only: a hit that must move its item from COLD to WARM
  // marks it ACTIVE and queues the move (memcached's lru_bump_async)
  // instead of declining. Only for a driver whose EngineLock runs
  // Engine::apply_deferred_bumps on every exclusive acquisition
  // (EngineLock::set_on_exclusive).
  bool defer_relink = false;

  // try_get_shared only: the caller reports info.last_access (mg's l
  // flag), so the hit declines where a concurrent second hit could be
  // refreshing the time (segmented LRU, outside COLD, not yet ACTIVE).
  // Everywhere else the time it reads is the one get() would report.
  bool reports_last_access = false;
};

struct StoreRequest {
  StoreMode mode = StoreMode::kSet;
  std::string_view key;    // identity in the hash table, 1..250 bytes
  std::string_view value;  // real mode: value bytes without "\r\n"
  uint32_t value_len = 0;  // phantom mode: value length without "\r\n" (real mode ignores it)
  uint32_t client_flags = 0;
  int64_t exptime = 0;  // client form (see Engine::realtime)
  uint64_t cas = 0;     // kCas: required compare value; other modes: 0 = no compare
  // The key length to account when the key bytes given are a stand-in (a
  // trace's 8-byte id for a 40-byte key): the item is sized, in RAM and on
  // flash, as if its key had this length, in phantom and real mode alike.
  // 0 = key.size().
  uint8_t accounted_key_len = 0;
  // false for a store the client did not ask for as such (the initial value
  // binary incr/decr create): memcached counts no cmd_set for it.
  bool count_set = true;
  // ms I with kCas: a CAS older than the item's still stores, but the new
  // item is marked stale and keeps the old exptime and token state
  // (memcached's CAS_STALE).
  bool invalidate = false;
  // The key came base64-encoded (meta b flag): the stored item keeps
  // ITEM_KEY_BINARY. An append or prepend builds a new item without it.
  bool key_binary = false;
};

struct StoreOutcome {
  StoreResult result = StoreResult::kNotStored;
  uint64_t cas = 0;  // the stored item's CAS when kStored
};

struct DeltaOutcome {
  DeltaResult result = DeltaResult::kNotFound;
  uint64_t value = 0;      // new value when kOk
  uint64_t cas = 0;        // new CAS when kOk
  rel_time_t exptime = 0;  // the item's exptime when kOk
};

// A store's work that needs no lock, done before the exclusive side is
// taken: the heap buffer the new item will own, with the key and value
// already copied in (Engine::prepare_store). Engine::store(request,
// prepared) links that buffer instead of allocating and copying under the
// lock, and hands the buffers it frees (the replaced item's, evicted items')
// back here, so their free() runs when this object dies after the lock is
// released. Move-only; owns what it holds. Not thread-safe itself: one
// store's, on one thread.
class PreparedStore {
 public:
  PreparedStore() = default;
  ~PreparedStore();
  PreparedStore(PreparedStore&& other) noexcept;
  PreparedStore& operator=(PreparedStore&& other) noexcept;
  PreparedStore(const PreparedStore&) = delete;
  PreparedStore& operator=(const PreparedStore&) = delete;

 private:
  friend class core::ItemStore;
  static constexpr unsigned kMaxRetired = 8;
  void release();

  char* buffer_ = nullptr;  // key then value bytes, for the request it was built from
  size_t size_ = 0;
  char* retired_[kMaxRetired] = {};
  unsigned retired_count_ = 0;
};

class Engine {
 public:
  // Throws std::invalid_argument when validate_config() rejects the config.
  explicit Engine(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // memcached's current_time. Must not go backwards. Start above 0 (memcached
  // starts near 62: process_started = boot time - 62): exptime 1 is
  // memcached's "already expired" and only counts as past once now >= 1.
  void set_time(rel_time_t now);
  rel_time_t current_time() const;

  // memcached's realtime(): 0 -> 0 (never); 1..30 days -> now + value;
  // larger -> absolute unix time converted via process_started (at or before
  // it -> 1, already expired); negative -> expired immediately.
  rel_time_t realtime(int64_t client_exptime) const;

  // get/gets (touch=false) and gat/gats (touch=true). Expired or flushed
  // items are unlinked and reported as misses (get_expired / get_flushed).
  // With options.meta: mg's vivify/recache/stale rules (see GetOptions).
  GetResult get(std::string_view key, const GetOptions& options = {});

  // get() for a caller holding only the shared side of the EngineLock (see
  // the file comment): the same result and counts as get() when the get
  // changes nothing but counters and the item's FETCHED/ACTIVE bits and time
  // (a miss, or a hit whose bump needs no relink), else nullopt with nothing
  // done or counted (gat, expired or flushed, a COLD hit moving to WARM, a
  // watcher attached, a concurrent hit that set the same bit first): call
  // get() under the exclusive side then. A meta get (options.meta) is served
  // when it writes no meta state: no T (touch), no N on a miss (vivify), no
  // recache token won (R, or a stale item's first sight); its info carries
  // exptime_before, stale and token_sent as get() fills them.
  // A flash header is declined too unless `flash_headers`: then it is a
  // kFlashHeader hit, counted and bumped as get() would, whose read the
  // caller goes on with through ExtStore::try_plan_read_shared (or
  // plan_read under the exclusive side when that declines).
  std::optional<GetResult> try_get_shared(std::string_view key, const GetOptions& options = {},
                                          bool flash_headers = false) const;

  // Applies the COLD -> WARM moves that try_get_shared queued with
  // GetOptions::defer_relink (memcached's maintainer draining its bump
  // buffers), in each thread's order, with the item's and the LRU's state
  // and moves_to_warm exactly as get() would have left them. Cheap when none
  // is queued. Precondition: the exclusive side is held, and is called
  // before anything else runs under it (EngineLock::set_on_exclusive).
  void apply_deferred_bumps();

  // set/add/replace/append/prepend/cas with memcached's result codes.
  StoreOutcome store(const StoreRequest& request);
  StoreOutcome set(std::string_view key, std::string_view value, uint32_t client_flags = 0,
                   int64_t exptime = 0);

  // store()'s allocation and copy, without any lock (it reads only the
  // immutable config): call before taking the exclusive side, then
  // store(request, prepared) under it with the same request, and let
  // `prepared` die after releasing the lock. Same results, items and stats
  // as store(request).
  PreparedStore prepare_store(const StoreRequest& request) const;
  StoreOutcome store(const StoreRequest& request, PreparedStore& prepared);

  // store(request, prepared) for a caller holding EngineLock's mutator side
  // (lock_mutator: one such caller at a time, beside any number of shared
  // gets): the same result, items and counts as store() when it needs
  // nothing a shared get could see half-done, else nullopt: call
  // store(request, prepared) under the exclusive side then. It declines
  // append/prepend, ms I, the unlink of a flash header that is the last
  // object of its page (the key's own, or one its allocation would evict:
  // items evicted before that stay evicted, as they would in store()), a
  // watcher attached, a pool or hash table that
  // would grow, too many records waiting to be recycled. Records it unlinks
  // stay readable until the next exclusive holder's catch_up().
  std::optional<StoreOutcome> try_store_concurrent(const StoreRequest& request,
                                                   PreparedStore& prepared);

  // What shared and mutator holders leave for the exclusive side:
  // apply_deferred_bumps(), then the records try_store_concurrent unlinked
  // go back to the pool. Precondition: as apply_deferred_bumps(); the
  // EngineLock's on-exclusive hook.
  void catch_up();

  TouchResult touch(std::string_view key, int64_t exptime);

  // incr wraps at 2^64; decr floors at 0. The value must be a decimal
  // number (memcached's strtoull rules); phantom items are non-numeric.
  // `cas` 0 = no compare.
  // `count_miss` false: a miss is not counted in incr_misses / decr_misses
  // (binary incr/decr that create the counter instead, as memcached).
  DeltaOutcome incr(std::string_view key, uint64_t delta, uint64_t cas = 0, bool count_miss = true);
  DeltaOutcome decr(std::string_view key, uint64_t delta, uint64_t cas = 0, bool count_miss = true);

  // incr (incr=true) or decr that creates a missing counter holding
  // `initial` (client-form `exptime`): memcached's binary incr/decr and meta
  // `ma N`. Neither the miss nor the creating store is counted (incr_misses,
  // cmd_set). When the create fails, delta.result stays kNotFound and
  // create_result says why.
  struct DeltaOrCreateOutcome {
    DeltaOutcome delta;
    bool created = false;
    StoreResult create_result = StoreResult::kStored;
  };
  DeltaOrCreateOutcome delta_or_create(std::string_view key, bool incr, uint64_t delta,
                                       uint64_t cas, uint64_t initial, int64_t exptime);

  // Hints that `key` is about to be looked up, so a batch driver (the
  // simulator's replay) can overlap the lookup's cache misses with earlier
  // requests: kHashSlot starts loading the key's hash slot; kItem reads that
  // slot and starts loading the item record it names, which only pays once
  // an earlier kHashSlot call has brought the slot in (else the read itself
  // waits for memory). Changes no state or stats.
  enum class PrefetchStage : uint8_t { kHashSlot, kItem };
  void prefetch(std::string_view key, PrefetchStage stage) const;

  // Looks `key` up and drops the answer, so that a store of it that follows
  // under the mutator side finds the hash slot, the record and the key in
  // this core's cache instead of waiting for them inside the serial section
  // (stores run one at a time). Changes no state or stats.
  // Precondition: the caller holds the shared side (or another), as any
  // lookup beside a concurrent store must.
  void warm_lookup(std::string_view key) const;

  // `cas` 0 = unconditional (meta delete with C flag passes one).
  DeleteResult remove(std::string_view key, uint64_t cas = 0);

  // memcached's unlink of the old item when a set cannot be stored (its
  // value too large): drops the key's live item without counting a delete.
  void unlink(std::string_view key);

  // md I: instead of deleting, mark the item stale, give it a new CAS and
  // clear its token so the next mg wins the recache (kDeleted). With
  // `new_ttl` the exptime becomes realtime(exptime). `cas` as for remove.
  DeleteResult invalidate(std::string_view key, uint64_t cas, bool new_ttl, int64_t exptime);

  // ma's T and N: memcached's ma writes the exptime (engine-relative, see
  // realtime()) of the item it changed without counting a touch. False when
  // the key has no live item.
  bool set_expiry(std::string_view key, rel_time_t exptime);

  // flush_all [delay]: items last updated at or before the flush moment are
  // invalid once it has passed (memcached's oldest_live / oldest_cas).
  void flush_all(int64_t delay = 0);

  Stats stats() const;
  const EngineConfig& config() const;

  // Where the engine reports lookups, stores, evictions and extstore work
  // (memext/events.h); nullptr (the default) reports nothing. The sink must
  // outlive the engine's use of it.
  void set_event_sink(EventSink* sink);
  const SlabClassTable& slab_classes() const;

  // Bytes of engine metadata (item records, hash table, key storage), for
  // the per-item overhead benchmark; excludes value bytes.
  uint64_t metadata_bytes() const;

  // Engine internals for the storage layer and LruMaintainer (see
  // engine/src/core/storage_hooks.h); not for server or simulator code.
  core::ItemStore& internals() { return *store_; }

 private:
  std::unique_ptr<core::ItemStore> store_;
};

}  // namespace memext
