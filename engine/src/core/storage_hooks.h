// core/storage_hooks.h — what the extstore layer (engine/src/storage) may do
// to the RAM engine, mirroring the item calls memcached's storage.c makes.
//
// Handles are item numbers, valid until the next call that can unlink items
// (any engine operation, any hook except the const peeks). Not thread-safe;
// call on the engine's thread. Private to the engine libraries.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "memext/engine.h"
#include "memext/events.h"

namespace memext::core {

class ItemStore;
class SlabAllocator;
struct AutomoveSample;

// Called whenever an ITEM_HDR item is unlinked for any reason (delete,
// overwrite, expiry found lazily or at a tail, eviction, flush, recache), so
// the page store can drop the object from its page's counts like
// extstore_delete(). The location may name a page that has since been
// reused; implementations compare page_version and ignore stale ones.
//
// The LRU crawler also asks it whether a header's flash copy still exists
// (memcached's storage_validate_item: the page still has that version).
class HeaderUnlinkListener {
 public:
  virtual void on_header_unlinked(const ExtLocation& location, uint64_t ntotal) = 0;
  virtual bool header_valid(const ExtLocation& location) const = 0;
  // Whether on_header_unlinked(location) may run beside shared flash reads
  // (ItemStore::try_store_concurrent): it leaves their page state alone.
  virtual bool unlink_beside_readers(const ExtLocation& location) const = 0;

 protected:
  ~HeaderUnlinkListener() = default;
};

using ItemHandle = uint32_t;
inline constexpr ItemHandle kNoHandle = UINT32_MAX;

// A read-only look at one item.
struct ItemView {
  std::string_view key;
  std::string_view value;  // real-mode full items only (without "\r\n")
  uint64_t ntotal = 0;     // memcached's ITEM_ntotal: the object's size on flash
  uint32_t nbytes = 0;     // value length with "\r\n"
  uint32_t client_flags = 0;
  rel_time_t time = 0;
  rel_time_t exptime = 0;
  uint64_t cas = 0;
  uint8_t slab_class = 0;
  uint8_t nkey = 0;  // accounted key length
  LruSegment lru = LruSegment::kHot;
  bool is_header = false;
  bool chunked = false;
  bool fetched = false;
  bool active = false;
  ExtLocation location;  // is_header only
};

enum class HeaderRewrite : uint8_t { kRewritten, kNotFound, kMismatch };

// One live header's object on a flash page (headers_on_page).
struct PageObject {
  uint32_t offset = 0;
  uint32_t len = 0;  // the location's len: the object's ntotal
  ItemHandle handle = kNoHandle;
};
enum class RecacheResult : uint8_t { kRecached, kNotFound, kMismatch, kOutOfMemory };

class StorageHooks {
 public:
  explicit StorageHooks(Engine& engine);

  void set_header_unlink_listener(HeaderUnlinkListener* listener);

  const SlabClassTable& slab_classes() const;
  const EngineConfig& config() const;
  rel_time_t current_time() const;

  // memcached's lru_pull_tail(clsid, COLD_LRU, 0, LRU_PULL_RETURN_ITEM):
  // reclaims expired/flushed items at the COLD tail (up to 5 looked at) and
  // returns the first live one without moving it, or kNoHandle.
  ItemHandle pull_cold_tail(uint8_t clsid);

  // Peeks without side effects: COLD tail of a class, then towards the head.
  ItemHandle cold_tail(uint8_t clsid) const;
  ItemHandle towards_head(ItemHandle handle) const;
  ItemView view(ItemHandle handle) const;

  // The linked item for `key` without bumping, reclaiming or counting;
  // kNoHandle when absent (it may be expired or flushed: see is_flushed).
  ItemHandle find(std::string_view key) const;
  // Whether the handle names a linked item (handles from an earlier call may
  // name freed or reused records).
  bool is_linked(ItemHandle handle) const;
  // memcached's item_is_flushed for a linked item.
  bool is_flushed(ItemHandle handle) const;
  // slabs_available_chunks(): free chunks in a class's pages.
  uint64_t free_chunks(uint8_t clsid) const;
  // global_page_pool_size(): pages malloced but not yet given to a class.
  uint64_t global_page_pool() const;

  // storage_write's swap: allocates a header item (48 + key + 1 + flags +
  // 12 + 8 bytes, HOT LRU of its class) and replaces `handle` with it,
  // keeping CAS, flags and exptime; like memcached's fresh header item it is
  // not FETCHED and does not report ITEM_KEY_BINARY, which it keeps for the
  // recache (the flash copy has it). False when no memory for the header could be had (the item
  // stays).
  bool replace_with_header(ItemHandle handle, const ExtLocation& location);

  // Compaction: the live header for `key` at `expected` is moved to
  // `relocated`. kNotFound/kMismatch mean the object is dead (memcached
  // counts those as skipped).
  HeaderRewrite rewrite_header(std::string_view key, const ExtLocation& expected,
                               const ExtLocation& relocated);
  // The same for the header item `handle` (kNotFound when it is no longer
  // linked). Locations are unique per written object, so this is the key
  // lookup's answer without the key.
  HeaderRewrite rewrite_header(ItemHandle handle, const ExtLocation& expected,
                               const ExtLocation& relocated);

  // Replaces *out with the linked headers whose location is on page_id at
  // page_version, in offset order: the live objects of that page, for a
  // compactor that cannot read them back (phantom page store). Walks every
  // item record's location: O(items), meant for once per compacted page.
  void headers_on_page(uint32_t page_id, uint32_t page_version, std::vector<PageObject>* out) const;

  // Recache: the header for `key` at `expected` becomes a full RAM item
  // again, as memcached links the copy it read: client flags, exptime and
  // ITEM_KEY_BINARY kept, FETCHED/ACTIVE as when the value was written to
  // flash, at the head of COLD, with a new CAS. `value` is the value without
  // "\r\n" (real mode) and is ignored in phantom mode. The header unlink is
  // reported to the listener.
  RecacheResult replace_header_with_item(std::string_view key, const ExtLocation& expected,
                                         std::string_view value);

  // A read found the object gone (page reused, bad crc): unlink the header
  // if it still points at `expected`. True when something was unlinked.
  bool unlink_header(std::string_view key, const ExtLocation& expected);

  // The slab page accounting, for LruMaintainer's page mover
  // (slabs_reassign); the store's other users never move pages.
  SlabAllocator& slab_allocator();
  // The engine's settings, for runtime tuning (memext/tuning.h) only.
  EngineConfig& mutable_config();
  // memcached's fill_item_stats_automove + fill_slab_stats_automove, read
  // straight from the counters (no Stats snapshot: it may run every 1 ms).
  void fill_automove_sample(AutomoveSample& sample) const;

  // The engine's event sink when it wants `stream` now (memext/events.h).
  EventSink* logging(uint32_t stream) const;
  // memcached's extwrite log fields of a linked item.
  ItemLeaveEvent leave_event(ItemHandle handle) const;

 private:
  // Whether `handle` is a header item whose flash object is at `expected`:
  // locations are unique per written object, so this names one object.
  bool header_at(ItemHandle handle, const ExtLocation& expected) const;

  ItemStore& store_;
};

}  // namespace memext::core
