#include "core/storage_hooks.h"

#include <algorithm>
#include <cstring>

#include "core/item_store.h"
#include "core/slab_automove.h"

namespace memext::core {

StorageHooks::StorageHooks(Engine& engine) : store_(engine.internals()) {}

EventSink* StorageHooks::logging(uint32_t stream) const {
  return store_.logging(stream);
}

ItemLeaveEvent StorageHooks::leave_event(ItemHandle handle) const {
  return store_.leave_event(handle);
}

void StorageHooks::set_header_unlink_listener(HeaderUnlinkListener* listener) {
  store_.set_header_listener(listener);
}

const SlabClassTable& StorageHooks::slab_classes() const {
  return store_.classes();
}
const EngineConfig& StorageHooks::config() const {
  return store_.config();
}
rel_time_t StorageHooks::current_time() const {
  return store_.now();
}

ItemHandle StorageHooks::pull_cold_tail(uint8_t clsid) {
  uint32_t returned = kNoItem;
  store_.pull_tail(clsid, LruSegment::kCold, 0, kPullReturnItem, 0, &returned);
  return returned;
}

ItemHandle StorageHooks::cold_tail(uint8_t clsid) const {
  return store_.lru(clsid, LruSegment::kCold).tail;
}

ItemHandle StorageHooks::towards_head(ItemHandle handle) const {
  return store_.item(handle).prev;
}

ItemView StorageHooks::view(ItemHandle handle) const {
  const Item& it = store_.item(handle);
  ItemView v;
  v.key = store_.key_of(it);
  v.value = store_.value_of(it);
  v.ntotal = store_.ntotal(it);
  v.nbytes = it.nbytes;
  v.client_flags = it.client_flags;
  v.time = it.time;
  v.exptime = it.exptime;
  v.cas = it.cas;
  v.slab_class = it.clsid;
  v.nkey = it.nkey;
  v.lru = static_cast<LruSegment>(it.lru);
  v.is_header = (it.flags & kHdr) != 0;
  v.chunked = (it.flags & kChunked) != 0;
  v.fetched = (it.flags & kFetched) != 0;
  v.active = (it.flags & kActive) != 0;
  v.location = store_.location_of(handle);
  return v;
}

ItemHandle StorageHooks::find(std::string_view key) const {
  return store_.find(key);
}

bool StorageHooks::header_at(ItemHandle handle, const ExtLocation& expected) const {
  return (store_.item(handle).flags & kHdr) && store_.location_of(handle) == expected;
}

bool StorageHooks::is_linked(ItemHandle handle) const {
  return (store_.item(handle).flags & kLinked) != 0;
}

bool StorageHooks::is_flushed(ItemHandle handle) const {
  return store_.is_flushed(store_.item(handle));
}

uint64_t StorageHooks::free_chunks(uint8_t clsid) const {
  return store_.free_chunks(clsid);
}

uint64_t StorageHooks::global_page_pool() const {
  return store_.global_page_pool();
}

bool StorageHooks::replace_with_header(ItemHandle handle, const ExtLocation& location) {
  Item& it = store_.item(handle);
  if (!(it.flags & kLinked) || (it.flags & kHdr)) return false;
  store_.pin(handle);
  const std::string key(store_.key_of(it));
  const uint32_t hdr = store_.alloc_item(key, it.nkey, it.client_flags, it.exptime, 0, true);
  store_.unpin();
  if (hdr == kNoItem) return false;
  Item& original = store_.item(handle);
  Item& header = store_.item(hdr);
  header.nbytes = original.nbytes;        // memcached overloads nbytes with the flash item's
  header.key_flags = original.key_flags;  // kept for the recache, hidden from ItemInfo
  header.flash_flags = original.flags & (kFetched | kActive);
  const uint64_t cas = original.cas;
  store_.set_location(hdr, location, cas);  // the flusher wrote the object with it
  // memcached's storage_write links a fresh header item: ITEM_FETCHED (and
  // ITEM_ACTIVE) of the RAM item are not carried over.
  store_.replace(handle, hdr);
  store_.item(hdr).cas = cas;
  return true;
}

HeaderRewrite StorageHooks::rewrite_header(std::string_view key, const ExtLocation& expected,
                                           const ExtLocation& relocated) {
  const uint32_t n = store_.find(key);
  if (n == kNoItem) return HeaderRewrite::kNotFound;
  return rewrite_header(n, expected, relocated);
}

HeaderRewrite StorageHooks::rewrite_header(ItemHandle handle, const ExtLocation& expected,
                                           const ExtLocation& relocated) {
  if (!(store_.item(handle).flags & kLinked)) return HeaderRewrite::kNotFound;
  if (!header_at(handle, expected)) return HeaderRewrite::kMismatch;
  store_.set_location(handle, relocated);
  return HeaderRewrite::kRewritten;
}

void StorageHooks::headers_on_page(uint32_t page_id, uint32_t page_version,
                                   std::vector<PageObject>* out) const {
  out->clear();
  constexpr uint32_t kPageRecords = uint32_t{1} << ItemStore::kPoolShift;
  for (uint32_t page = 0; page < store_.locations_.size(); ++page) {
    const ItemStore::HeaderRecord* records = store_.locations_[page].get();
    if (records == nullptr) continue;  // no header was ever made in this pool page
    const uint32_t first = page * kPageRecords;
    const uint32_t count = std::min(kPageRecords, store_.pool_used_ - first);
    for (uint32_t i = 0; i < count; ++i) {
      // Records that are not (or no longer) headers keep stale locations.
      const ExtLocation& loc = records[i].location;
      if (loc.page_id != page_id || loc.page_version != page_version) continue;
      const uint8_t flags = store_.item(first + i).flags;
      if ((flags & kLinked) && (flags & kHdr)) out->push_back({loc.offset, loc.len, first + i});
    }
  }
  std::sort(out->begin(), out->end(),
            [](const PageObject& a, const PageObject& b) { return a.offset < b.offset; });
}

RecacheResult StorageHooks::replace_header_with_item(std::string_view key,
                                                     const ExtLocation& expected,
                                                     std::string_view value) {
  const uint32_t n = store_.find(key);
  if (n == kNoItem) return RecacheResult::kNotFound;
  if (!header_at(n, expected)) return RecacheResult::kMismatch;
  Item& it = store_.item(n);
  store_.pin(n);
  const uint32_t full =
      store_.alloc_item(key, it.nkey, it.client_flags, it.exptime, it.nbytes, false);
  store_.unpin();
  if (full == kNoItem) return RecacheResult::kOutOfMemory;
  Item& header = store_.item(n);
  if (!store_.config().phantom) {
    std::memcpy(store_.payload(store_.item(full)), value.data(),
                std::min<size_t>(value.size(), header.nbytes - 2));
  }
  const uint8_t written_flags = header.flash_flags;
  const uint8_t key_flags = header.key_flags;
  // memcached links the item as it reads it back: the copy was written from
  // the COLD tail with the flags the item had then, and linking gives it a
  // new CAS.
  store_.item(full).lru = static_cast<uint8_t>(LruSegment::kCold);
  store_.replace(n, full);
  Item& linked = store_.item(full);
  linked.flags |= written_flags;
  linked.key_flags = key_flags;
  return RecacheResult::kRecached;
}

SlabAllocator& StorageHooks::slab_allocator() {
  return store_.slabs_;
}

EngineConfig& StorageHooks::mutable_config() {
  return store_.config_;
}

void StorageHooks::fill_automove_sample(AutomoveSample& sample) const {
  const SlabClassTable& classes = store_.classes();
  const SlabAllocator& slabs = store_.slabs_;
  for (uint32_t id = 1; id <= classes.largest(); ++id) {
    AutomoveClassSample& cls = sample.classes[id];
    cls.chunk_size = classes[id].size;
    cls.chunks_per_page = classes[id].perslab;
    cls.total_pages = slabs.state(id).pages;
    cls.free_chunks = slabs.free_chunks(id);
    cls.evicted = 0;
    cls.outofmemory = 0;
    for (uint32_t seg = 0; seg < kLruSegments; ++seg) {
      cls.evicted += store_.lru_counters_[id * kLruSegments + seg].evicted;
      cls.outofmemory += store_.lru_counters_[id * kLruSegments + seg].outofmemory;
    }
    const uint32_t tail = store_.lrus_[lru_id(id, LruSegment::kCold)].tail;
    cls.age = tail == kNoItem ? 0 : store_.now() - store_.item(tail).time;
  }
  sample.classes[0].total_pages = slabs.global_page_pool();
  sample.mem_limit_reached = slabs.mem_limit_reached();
}

bool StorageHooks::unlink_header(std::string_view key, const ExtLocation& expected) {
  const uint32_t n = store_.find(key);
  if (n == kNoItem || !header_at(n, expected)) return false;
  store_.unlink(n);
  return true;
}

}  // namespace memext::core
