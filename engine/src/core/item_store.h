// core/item_store.h — the engine's state: items, hash index, slab
// accounting, segmented LRU lists and counters (memcached's items.c,
// assoc.c and the item half of memcached.c).
//
// Items are 48-byte records in a paged pool addressed by 32-bit numbers;
// LRU links are item numbers. Key (and in real mode value) bytes live in one
// heap buffer per item, or inline in the record for keys up to 8 bytes of
// items without value bytes (phantom items, headers). A header's flash
// location lives in a side table by item number, so a header with an inline
// key costs no heap allocation. Thread-safety: that of memext::Engine
// (engine.h): try_get_shared may run on many threads at once, under the
// shared side of the driver's EngineLock, and try_store_concurrent on one
// thread beside them (the lock's mutator side); everything else runs alone.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/bump_queue.h"
#include "core/key_index.h"
#include "core/shared_counters.h"
#include "core/slab_allocator.h"
#include "memext/engine.h"
#include "memext/events.h"

namespace memext::core {

class HeaderUnlinkListener;

enum ItemFlag : uint8_t {
  kLinked = 1,
  kFetched = 2,
  kActive = 4,
  kHdr = 8,         // extstore header: value on flash, ExtLocation in ItemStore's side table
  kChunked = 16,    // above slab_chunk_max: header chunk + data chunks
  kInlineKey = 32,  // key bytes stored in Item::data itself
  kTokenSent = 64,  // memcached's ITEM_TOKEN_SENT: a meta get won the recache token (W)
  kStale = 128,     // memcached's ITEM_STALE: md I / ms I marked the value stale (X)
};

// Item::key_flags bits (ItemFlag has no bit left).
enum KeyFlag : uint8_t {
  // memcached's ITEM_KEY_BINARY: a meta command with b stored the item, so
  // meta replies print its key base64-encoded. On a header (kHdr) the bit
  // describes the flash copy: memcached's fresh header item lacks it, the
  // item a recache reads back has it.
  kKeyBinary = 1,
};

inline constexpr size_t kInlineKeyMax = 8;

// Field order is for lookups: everything KeyIndex's key compare reads (key
// bytes or pointer, key length, flags) sits in the first 16 bytes, which
// never straddle a cache line in a 16-aligned pool of 48-byte records.
struct alignas(16) Item {
  union {
    char* ptr;
    char bytes[kInlineKeyMax];  // kInlineKey: the key, zero-padded (ItemStore::find relies on it)
  } data{};
  uint8_t nkey = 0;       // accounted key length
  uint8_t key_len = 0;    // stored key bytes
  uint8_t clsid = 0;      // slab class whose LRU holds the item
  uint8_t lru = 0;        // LruSegment
  uint8_t flags = 0;      // ItemFlag bits
  uint8_t key_flags = 0;  // KeyFlag bits
  // kHdr only: the kFetched/kActive bits the RAM item had when its value was
  // written to flash. memcached's flash copy keeps the item's it_flags, and a
  // recache links that copy.
  uint8_t flash_flags = 0;
  uint32_t prev = kNoItem;  // LRU neighbours (towards head / towards tail)
  uint32_t next = kNoItem;  // also chains free records
  uint64_t cas = 0;
  rel_time_t time = 0;     // last access (memcached's it->time)
  rel_time_t exptime = 0;  // 0 = never
  uint32_t nbytes = 0;     // value length with "\r\n" (for kHdr: the flash item's)
  uint32_t client_flags = 0;
};
static_assert(sizeof(Item) == 48, "item records are meant to stay compact");
static_assert(offsetof(Item, flags) < 16, "lookup fields must share the first 16 bytes");

// Item::flags and Item::time are the two fields a get under the shared
// lock may write (ItemStore::try_get_shared sets FETCHED/ACTIVE and
// refreshes the time, as do_item_bump does), so every read that can run
// beside it loads them atomically (relaxed: a plain load on x86, the same
// code the single-threaded simulator always ran).
inline uint8_t flags_of(const Item& it) {
  return __atomic_load_n(&it.flags, __ATOMIC_RELAXED);
}
inline rel_time_t time_of(const Item& it) {
  return __atomic_load_n(&it.time, __ATOMIC_RELAXED);
}
// The writes of those two fields, and of Item::lru (which a shared get reads
// while a concurrent store's tail pull moves the item), on items a shared
// get may be reading: a read-modify-write keeps the bits a get sets at the
// same moment.
inline void add_flags(Item& it, uint8_t bits) {
  __atomic_fetch_or(&it.flags, bits, __ATOMIC_RELAXED);
}
inline void clear_flags(Item& it, uint8_t bits) {
  __atomic_fetch_and(&it.flags, static_cast<uint8_t>(~bits), __ATOMIC_RELAXED);
}
inline void set_time_of(Item& it, rel_time_t time) {
  __atomic_store_n(&it.time, time, __ATOMIC_RELAXED);
}
inline LruSegment lru_of(const Item& it) {
  return static_cast<LruSegment>(__atomic_load_n(&it.lru, __ATOMIC_RELAXED));
}
inline void set_lru(Item& it, LruSegment segment) {
  __atomic_store_n(&it.lru, static_cast<uint8_t>(segment), __ATOMIC_RELAXED);
}

inline constexpr uint32_t kLruSegments = 4;
inline uint32_t lru_id(uint32_t clsid, LruSegment segment) {
  return clsid * kLruSegments + static_cast<uint32_t>(segment);
}

// lru_pull_tail flags (memcached's LRU_PULL_*).
enum PullFlag : uint8_t { kPullEvict = 1, kPullReturnItem = 2 };

// Where a juggle in slices (ItemStore::juggle_some) stands.
struct JuggleState {
  bool started = false;
  bool done = false;
  int iterations = 0;  // of the juggle's loop
  int moves = 0;
  uint64_t total_bytes = 0;
  rel_time_t hot_age = 0;
  rel_time_t warm_age = 0;
};

struct LruList {
  uint32_t head = kNoItem;
  uint32_t tail = kNoItem;
  uint64_t count = 0;
  uint64_t bytes = 0;  // memcached's sizes_bytes
};

// Per-LRU counters (memcached's itemstats[id]).
struct LruCounters {
  uint64_t evicted = 0, evicted_nonzero = 0, evicted_unfetched = 0, evicted_active = 0;
  uint32_t evicted_time = 0;
  uint64_t outofmemory = 0, reclaimed = 0, expired_unfetched = 0, lrutail_reflocked = 0;
  uint64_t moves_to_cold = 0, moves_to_warm = 0, moves_within_lru = 0, direct_reclaims = 0;
  uint64_t hits = 0;
};

// Per-slab-class command counters (memcached's slab_stats).
struct ClassCounters {
  uint64_t get_hits = 0, cmd_set = 0, delete_hits = 0, incr_hits = 0, decr_hits = 0;
  uint64_t cas_hits = 0, cas_badval = 0, touch_hits = 0;
};

struct GlobalCounters {
  uint64_t curr_items = 0, total_items = 0, curr_bytes = 0;
  // Linked extstore headers (kHdr) and the slab chunk bytes they hold.
  uint64_t header_items = 0, header_chunk_bytes = 0;
  uint64_t cmd_get = 0, cmd_flush = 0, cmd_touch = 0;
  uint64_t get_misses = 0, get_expired = 0, get_flushed = 0;
  uint64_t delete_misses = 0, incr_misses = 0, decr_misses = 0, cas_misses = 0;
  uint64_t touch_misses = 0, lru_maintainer_juggles = 0;
};

class ItemStore {
 public:
  explicit ItemStore(const EngineConfig& config);
  ~ItemStore();

  // ---- operations behind memext::Engine (item_ops.cc) ----
  void set_time(rel_time_t now) { now_ = now; }
  rel_time_t now() const { return now_; }
  rel_time_t realtime(int64_t client_exptime) const;
  GetResult get(std::string_view key, const GetOptions& options);
  // Engine::try_get_shared: get() when it would change nothing but counters.
  std::optional<GetResult> try_get_shared(std::string_view key, const GetOptions& options,
                                          bool flash_headers) const;
  // Engine::apply_deferred_bumps: the COLD -> WARM moves try_get_shared
  // queued. Precondition: the exclusive side is held.
  void apply_deferred_bumps();
  // The same beside the shared gets that queue them (BumpQueue::
  // drain_beside_pushes); returns how many it applied. Precondition: the
  // mutator side is held.
  uint32_t apply_deferred_bumps_beside_readers();
  StoreOutcome store(const StoreRequest& request);
  // Engine::prepare_store and the store that uses it.
  PreparedStore prepare_store(const StoreRequest& request) const;
  StoreOutcome store(const StoreRequest& request, PreparedStore& prepared);
  // Engine::try_store_concurrent and Engine::catch_up.
  std::optional<StoreOutcome> try_store_concurrent(const StoreRequest& request,
                                                   PreparedStore& prepared);
  void catch_up();
  TouchResult touch(std::string_view key, int64_t exptime);
  DeltaOutcome delta(std::string_view key, bool incr, uint64_t delta, uint64_t cas,
                     bool count_miss = true);
  DeleteResult remove(std::string_view key, uint64_t cas);
  void unlink_key(std::string_view key);  // Engine::unlink
  void flush_all(int64_t delay);
  Stats stats() const;
  uint64_t metadata_bytes() const;

  // ---- meta protocol state: stale items and recache tokens (meta_ops.cc) ----
  GetResult meta_get(std::string_view key, const GetOptions& options);
  DeleteResult invalidate(std::string_view key, uint64_t cas, bool new_ttl, int64_t exptime);
  // ms I's CAS_STALE store: `new_n` replaces `old_n` marked stale, keeping
  // the old exptime and token bit.
  void store_stale(uint32_t old_n, uint32_t new_n);
  bool set_expiry(std::string_view key, rel_time_t exptime);

  // ---- LRU (lru.cc) ----
  // memcached's lru_pull_tail; returns how many items it removed or moved.
  // With kPullReturnItem the COLD tail is reported in *returned, not moved.
  int pull_tail(uint32_t clsid, LruSegment segment, uint64_t total_bytes, uint8_t flags,
                rel_time_t max_age, uint32_t* returned);
  // memcached's lru_maintainer_juggle for one class; returns moves done.
  int juggle(uint32_t clsid);
  // juggle() in slices: continues `state` (fresh: a new juggle) for at most
  // `max_iterations` iterations of its loop (memcached's 500 a juggle);
  // state.done when the juggle is over, with state.moves its result. The
  // ages and sizes the juggle compares against are taken when it starts,
  // so a juggle in slices makes the same moves as one in a single call.
  void juggle_some(uint32_t clsid, JuggleState& state, int max_iterations);
  // juggle_some() beside the shared gets, under the EngineLock's mutator
  // side (memcached's maintainer moves items under per-LRU locks beside its
  // gets): false when it met something only the exclusive side may do (a
  // flash header whose unlink would empty its page, a full retired list, a
  // watcher), after the moves it made; juggle() under the exclusive side
  // then does the rest. Precondition: the mutator side is held.
  bool try_juggle_some_concurrent(uint32_t clsid, JuggleState& state, int max_iterations);
  void count_juggle() { counters_.lru_maintainer_juggles++; }

  // ---- item internals (item_store.cc), shared with storage hooks ----
  Item& item(uint32_t n) { return pool_[n >> kPoolShift][n & kPoolMask]; }
  const Item& item(uint32_t n) const { return pool_[n >> kPoolShift][n & kPoolMask]; }
  std::string_view key_of(const Item& it) const {
    return {(flags_of(it) & kInlineKey) ? it.data.bytes : it.data.ptr, it.key_len};
  }
  std::string_view value_of(const Item& it) const;
  // What KeyIndex prefetches for item n: its key's heap buffer, or nothing.
  const char* key_hint(uint32_t n) const {
    const Item& it = item(n);
    return (flags_of(it) & kInlineKey) ? nullptr : it.data.ptr;
  }
  // A header's entry in the location side table (location_bytes).
  struct HeaderRecord {
    ExtLocation location;
    uint64_t object_cas = 0;
  };
  // The flash location of header item n ({} for other items).
  ExtLocation location_of(uint32_t n) const {
    if (!(flags_of(item(n)) & kHdr)) return {};
    return locations_[n >> kPoolShift][n & kPoolMask].location;
  }
  // The CAS header item n's flash object was written with (0 for other
  // items): the header's own CAS moves on when the slab page mover relinks
  // it or a meta delete invalidates it, as memcached's does, while the
  // object keeps the one it was written with.
  uint64_t object_cas_of(uint32_t n) const {
    if (!(flags_of(item(n)) & kHdr)) return 0;
    return locations_[n >> kPoolShift][n & kPoolMask].object_cas;
  }
  // Precondition: item n is a header (kHdr). The object moves (compaction),
  // keeping its CAS.
  void set_location(uint32_t n, const ExtLocation& location);
  // Precondition: item n is a header (kHdr). A new object.
  void set_location(uint32_t n, const ExtLocation& location, uint64_t object_cas);
  // Bytes of the location side table (part of metadata_bytes).
  uint64_t location_bytes() const { return location_pages_ * kLocationPageBytes; }
  uint64_t ntotal(const Item& it) const;     // memcached's ITEM_ntotal
  uint64_t lru_bytes(const Item& it) const;  // what the item adds to sizes_bytes

  // memcached's do_item_alloc: charges chunk(s), evicting as needed. Returns
  // kNoItem when memory cannot be had (outofmemory counted). The item is not
  // linked; its data buffer holds key bytes and, in real mode, room for the
  // value of a full item.
  // `prebuilt`: a buffer of exactly the item's key and payload bytes, key
  // already copied in, that the item takes ownership of (store's prepared
  // buffer); nullptr = allocate one.
  uint32_t alloc_item(std::string_view key, uint8_t nkey, uint32_t client_flags, rel_time_t exptime,
                      uint32_t nbytes, bool header_item, char* prebuilt = nullptr);
  void free_item(uint32_t n);                    // unlinked item back to the pool and slabs
  void link(uint32_t n);                         // do_item_link: new CAS, hash, LRU head
  void unlink(uint32_t n);                       // do_item_unlink (+ header listener) and free
  void replace(uint32_t old_n, uint32_t new_n);  // unlink + link, sharing the hash slot
  // memcached's do_item_get: a live item or kNoItem, unlinking expired and
  // flushed ones (get_expired / get_flushed); `bump` = do_item_bump.
  // Every call is a lookup memcached logs (fetchers stream).
  uint32_t find_live(std::string_view key, bool bump) { return live_item(find(key), key, bump); }
  // find_live(key, bump) given n = find(key).
  uint32_t live_item(uint32_t n, std::string_view key, bool bump);
  uint32_t find(std::string_view key) const;
  // Cache hints for a later find(key) (Engine::prefetch); change nothing.
  void prefetch_slot(std::string_view key) const { index_.prefetch_slot(hash_key(key)); }
  void prefetch_item(std::string_view key) const {
    const uint32_t n = index_.first_candidate(hash_key(key));
    if (n != kNoItem) __builtin_prefetch(&item(n));
  }
  void bump(uint32_t n);    // do_item_bump
  void update(uint32_t n);  // do_item_update
  bool is_flushed(const Item& it) const;
  void link_q(uint32_t n);
  void unlink_q(uint32_t n);

  char* payload(Item& it) { return it.data.ptr + it.key_len; }
  uint64_t free_chunks(uint32_t clsid) const { return slabs_.free_chunks(clsid); }
  uint64_t global_page_pool() const { return slabs_.global_page_pool(); }
  const EngineConfig& config() const { return config_; }
  const SlabClassTable& classes() const { return classes_; }
  const LruList& lru(uint32_t clsid, LruSegment s) const { return lrus_[lru_id(clsid, s)]; }
  void set_header_listener(HeaderUnlinkListener* listener) { listener_ = listener; }
  void set_event_sink(EventSink* sink) { events_ = sink; }
  // The sink when it wants any of `streams` (log_stream bits) now, else nullptr.
  EventSink* logging(uint32_t streams) const {
    return events_ != nullptr && events_->wants(streams) ? events_ : nullptr;
  }
  // memcached's eviction / extwrite log fields of item n.
  ItemLeaveEvent leave_event(uint32_t n) const;
  // Whether header item n's flash copy still exists (true without a listener).
  bool header_valid(uint32_t n) const;
  // Whether unlinking item n may happen in a concurrent store: not a
  // header, or a header whose unlink leaves shared flash reads' page state
  // alone (HeaderUnlinkListener::unlink_beside_readers).
  bool unlink_beside_readers(uint32_t n) const;

  // Items that lru_pull_tail must skip (memcached's refcount > 1).
  void pin(uint32_t n) { pinned_[pinned_[0] == kNoItem ? 0 : 1] = n; }
  void unpin() { pinned_ = {kNoItem, kNoItem}; }

 private:
  static constexpr uint32_t kPoolShift = 16;
  static constexpr uint32_t kPoolMask = (1u << kPoolShift) - 1;
  static constexpr uint64_t kLocationPageBytes = sizeof(HeaderRecord) << kPoolShift;
  struct ChunkCharge {
    uint8_t clsid;
    uint32_t requested;
    ChunkRef ref;  // invalid once the page mover claimed it
  };

  uint32_t new_record();
  // Record n, cleared, back on the free list (its buffer is the caller's).
  void free_record(uint32_t n);
  // link() and unlink() less the hash table and (unlink) the free.
  void attach(uint32_t n);
  void detach(uint32_t n);
  // The records concurrent stores unlinked, back to the pool. Precondition:
  // the exclusive side is held (no shared get can still be reading them).
  void recycle_retired();
  // Moves buffers recycle_retired left into `prepared`'s free-after-the-lock
  // slots, as many as it has room for. Precondition: the mutator or the
  // exclusive side is held.
  void hand_over_freeable(PreparedStore& prepared);
  ChunkRef& chunk_ref(uint32_t n) { return chunk_refs_[n >> kPoolShift][n & kPoolMask]; }
  // The bytes item n's (non-chunked) chunk is charged for.
  uint32_t charged_bytes(const Item& it) const;
  ChunkRef alloc_pull(uint32_t requested, uint32_t clsid, uint32_t owner);
  bool charge_chunks(uint32_t n, uint64_t total, uint8_t nkey, uint32_t client_flags,
                     uint32_t nbytes);
  uint64_t next_cas() { return ++cas_id_; }
  bool is_pinned(uint32_t n) const { return pinned_[0] == n || pinned_[1] == n; }
  // delete's and md's lookup: the live item for `key` whose CAS matches `cas`
  // (0 = any), else kNoItem with `refused` saying why (delete_misses counted).
  uint32_t find_deletable(std::string_view key, uint64_t cas, DeleteResult& refused);
  // A find(key) and the index_changes_ it was made at: it stands while
  // index_changes_ has not moved.
  struct KnownLookup {
    uint32_t n = kNoItem;
    uint64_t index_changes = 0;
  };
  // store() with, when given, prepare_store's buffer and retire list.
  // `known`: try_store_concurrent's lookup of the key (the concurrent path
  // only); nullptr = look it up after the allocation.
  StoreOutcome store_item(const StoreRequest& request, PreparedStore* prepared,
                          const KnownLookup* known = nullptr);
  StoreResult store_existing(const StoreRequest& request, uint32_t new_n, uint32_t old_n,
                             uint32_t& stored_n);

  EngineConfig config_;
  SlabClassTable classes_;
  alignas(64) SlabAllocator slabs_;
  alignas(64) KeyIndex index_;
  // Field layout: lines that every get reads (index_, pool_, locations_,
  // the block from shared_gets_ to oldest_cas_) hold nothing that a store
  // writes; the store-written fields start lines of their own (alignas),
  // so a set on one core does not evict a get's lines on another.
  std::vector<std::unique_ptr<Item[]>> pool_;
  // Each record's chunk (for a chunked item, its header chunk), parallel to pool_.
  std::vector<std::unique_ptr<ChunkRef[]>> chunk_refs_;
  alignas(64) uint32_t pool_used_ = 0;
  uint32_t free_records_ = kNoItem;
  uint64_t heap_bytes_ = 0;  // key/value buffers
  // Header locations and object CASes, parallel to pool_: one array per
  // pool page, allocated when the page gets its first header (so RAM-only
  // engines have none).
  alignas(64) std::vector<std::unique_ptr<HeaderRecord[]>> locations_;
  uint64_t location_pages_ = 0;
  std::unordered_map<uint32_t, std::vector<ChunkCharge>> chunk_charges_;
  std::array<LruList, kMaxSlabClasses * kLruSegments> lrus_{};
  std::array<LruCounters, kMaxSlabClasses * kLruSegments> lru_counters_{};
  std::array<ClassCounters, kMaxSlabClasses> class_counters_{};
  GlobalCounters counters_;
  // try_get_shared's counts (see core/shared_counters.h); stats() adds them
  // once a shared get has run.
  alignas(64) mutable SharedGetCounters shared_gets_;
  mutable std::atomic<bool> shared_gets_used_{false};
  HeaderUnlinkListener* listener_ = nullptr;
  EventSink* events_ = nullptr;
  rel_time_t now_ = 0;
  bool flush_pending_ = false;  // a flush_all has happened (memcached: oldest_live != 0)
  bool flush_by_time_ = false;  // oldest_live_ applies (false for a flush at time 0)
  rel_time_t oldest_live_ = 0;
  uint64_t oldest_cas_ = 0;
  // The relinks shared gets left for the exclusive side (core/bump_queue.h).
  mutable BumpQueue bumps_;
  // Written by stores and background steps (see the layout note at pool_).
  alignas(64) uint64_t cas_id_ = 0;
  // Every attach and detach (link, unlink, replace): what may change a
  // key's lookup or, through a header's unlink, its flash page's state. A
  // concurrent store's lookup before its allocation (whose evictions may
  // unlink) stands if this has not moved since.
  uint64_t index_changes_ = 0;
  // try_store_concurrent or try_juggle_some_concurrent: set while it runs; set
  // when it met something only the exclusive side may do; whether either
  // ever ran (loosens an assert).
  bool concurrent_ = false;
  bool declined_ = false;
  bool concurrent_stores_seen_ = false;
  // Records (with their buffers) concurrent stores unlinked: shared gets may
  // still read them until the next exclusive holder recycles them. Bounded,
  // so a burst of stores without an exclusive holder costs little memory.
  static constexpr size_t kMaxRetired = 4096;
  static constexpr uint64_t kMaxRetiredBytes = 16 << 20;
  std::vector<uint32_t> retired_;
  uint64_t retired_bytes_ = 0;
  bool retired_full() const {
    return retired_.size() >= kMaxRetired || retired_bytes_ >= kMaxRetiredBytes;
  }
  // What every call beside the shared gets needs first: no watcher (its
  // lines are written in lock order, on the exclusive side) and room in
  // retired_.
  bool may_run_beside_readers() const {
    return logging(log_stream::kFetchers | log_stream::kMutations | log_stream::kEvictions) ==
               nullptr &&
           !retired_full();
  }
  // Runs `body` as a call beside the shared gets (concurrent_ set: unlinks
  // retire, what only the exclusive side may do sets declined_); false when
  // it declined. declined_ is cleared on the way out, because the
  // exclusive retry's allocation and juggle read it.
  template <class Body>
  bool run_beside_readers(Body&& body) {
    concurrent_stores_seen_ = true;
    concurrent_ = true;
    declined_ = false;
    body();
    concurrent_ = false;
    return !std::exchange(declined_, false);
  }
  // Buffers of recycled records, no reader's any more, for the next stores
  // to free after their lock (hand_over_freeable). Bounded as retired_;
  // the bytes are an upper bound until the list empties.
  std::vector<char*> freeable_;
  uint64_t freeable_bytes_ = 0;
  // During store(request, prepared): where free_item hands the buffers it
  // frees, so they are released after the lock.
  PreparedStore* retire_to_ = nullptr;
  std::array<uint32_t, 2> pinned_{kNoItem, kNoItem};
  // Set while meta_get repeats a lookup it has already reported.
  bool quiet_lookups_ = false;

  friend class StorageHooks;
  friend class RestartCodec;
  friend class PageMover;
};

}  // namespace memext::core
