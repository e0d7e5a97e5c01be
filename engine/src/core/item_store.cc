#include "core/item_store.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/storage_hooks.h"

namespace memext::core {

ItemStore::ItemStore(const EngineConfig& config)
    : config_(config),
      classes_(config),
      slabs_(config_, classes_),
      // The simulator's (phantom) items keep short keys inline and no heap
      // buffers: nothing for key hints to prefetch.
      index_(KeyIndex::kDefaultPower, !config.phantom) {}

ItemStore::~ItemStore() {
  for (uint32_t n = 0; n < pool_used_; ++n) {
    Item& it = item(n);
    if (it.key_len != 0 && !(it.flags & kInlineKey)) delete[] it.data.ptr;
  }
  for (char* buffer : freeable_) delete[] buffer;
}

std::string_view ItemStore::value_of(const Item& it) const {
  if (config_.phantom || (flags_of(it) & kHdr)) return {};
  return {it.data.ptr + it.key_len, it.nbytes - 2};
}

void ItemStore::set_location(uint32_t n, const ExtLocation& location) {
  assert(locations_.size() > (n >> kPoolShift) && locations_[n >> kPoolShift] != nullptr);
  locations_[n >> kPoolShift][n & kPoolMask].location = location;
}

void ItemStore::set_location(uint32_t n, const ExtLocation& location, uint64_t object_cas) {
  const uint32_t page = n >> kPoolShift;
  if (page >= locations_.size()) locations_.resize(page + 1);
  if (locations_[page] == nullptr) {
    locations_[page] = std::make_unique<HeaderRecord[]>(size_t{1} << kPoolShift);
    ++location_pages_;
  }
  locations_[page][n & kPoolMask] = HeaderRecord{location, object_cas};
}

uint64_t ItemStore::ntotal(const Item& it) const {
  return item_total_size(it.nkey, it.nbytes, it.client_flags, config_.use_cas);
}

uint64_t ItemStore::lru_bytes(const Item& it) const {
  if (flags_of(it) & kHdr) return ntotal(it) - it.nbytes + kItemHdrDataSize;
  return ntotal(it);
}

uint32_t ItemStore::charged_bytes(const Item& it) const {
  const uint32_t charged = (flags_of(it) & kHdr) ? kItemHdrDataSize : it.nbytes;
  return static_cast<uint32_t>(item_total_size(it.nkey, charged, it.client_flags, config_.use_cas));
}

uint32_t ItemStore::new_record() {
  if (free_records_ != kNoItem) {
    uint32_t n = free_records_;
    free_records_ = item(n).next;
    return n;
  }
  // Slots name items by record number, with kDataChunkBit and two markers
  // above: numbers stay below 2^31.
  assert(pool_used_ < kDataChunkBit);
  // Precondition: a concurrent store never grows the pool (readers index it).
  assert(!concurrent_ || (pool_used_ >> kPoolShift) < pool_.size());
  if ((pool_used_ >> kPoolShift) >= pool_.size()) {
    pool_.push_back(std::make_unique<Item[]>(size_t{1} << kPoolShift));
    chunk_refs_.push_back(std::make_unique<ChunkRef[]>(size_t{1} << kPoolShift));
  }
  return pool_used_++;
}

ChunkRef ItemStore::alloc_pull(uint32_t requested, uint32_t clsid, uint32_t owner) {
  // memcached's do_item_alloc_pull: up to 10 rounds of "try the slab class,
  // else evict from the COLD tail, else push HOT down to COLD".
  int round = 0;
  ChunkRef ref;
  for (; round < 10; ++round) {
    if (!config_.lru_segmented) pull_tail(clsid, LruSegment::kCold, 0, 0, 0, nullptr);
    ref = slabs_.alloc(clsid, requested, owner);
    if (ref.valid()) break;
    if (pull_tail(clsid, LruSegment::kCold, 0, kPullEvict, 0, nullptr) <= 0) {
      if (declined_ || !config_.lru_segmented) break;
      pull_tail(clsid, LruSegment::kHot, 0, 0, 0, nullptr);
    }
    if (declined_) break;
  }
  if (declined_) ref = ChunkRef{};
  if (round > 0) lru_counters_[lru_id(clsid, LruSegment::kHot)].direct_reclaims += round;
  return ref;
}

bool ItemStore::charge_chunks(uint32_t n, uint64_t total, uint8_t nkey, uint32_t client_flags,
                              uint32_t nbytes) {
  // memcached's large items: a header chunk (item + item_chunk header) and
  // data chunks of at most slab_chunk_max, the last sized to what is left.
  const uint32_t suffix = client_flags != 0 ? kClientFlagsSize : 0;
  const uint32_t htotal =
      kItemHeaderSize + nkey + 1 + suffix + kItemChunkHeaderSize + (config_.use_cas ? kCasSize : 0);
  (void)total;
  std::vector<ChunkCharge> charges;
  const uint32_t hdr_id = classes_.clsid(htotal);
  const ChunkRef header = alloc_pull(htotal, hdr_id, n);
  if (!header.valid()) return false;
  charges.push_back({static_cast<uint8_t>(hdr_id), htotal, header});
  const uint32_t chunk_max = classes_.slab_chunk_max();
  uint64_t remain = nbytes;
  while (remain > 0) {
    uint32_t size =
        static_cast<uint32_t>(std::min<uint64_t>(remain + kItemChunkHeaderSize, chunk_max));
    uint32_t id = classes_.clsid(size);
    ChunkRef ref = alloc_pull(size, id, n | kDataChunkBit);
    if (!ref.valid() && size != chunk_max) {
      // memcached falls back to the largest class when the tail's class is full.
      size = chunk_max;
      id = classes_.clsid(size);
      ref = alloc_pull(size, id, n | kDataChunkBit);
    }
    if (!ref.valid()) {
      for (const ChunkCharge& c : charges) slabs_.free(c.clsid, c.ref, c.requested);
      return false;
    }
    charges.push_back({static_cast<uint8_t>(id), size, ref});
    remain -= std::min<uint64_t>(remain, size - kItemChunkHeaderSize);
  }
  chunk_ref(n) = header;
  chunk_charges_[n] = std::move(charges);
  return true;
}

uint32_t ItemStore::alloc_item(std::string_view key, uint8_t nkey, uint32_t client_flags,
                               rel_time_t exptime, uint32_t nbytes, bool header_item,
                               char* prebuilt) {
  const uint32_t charged_bytes = header_item ? kItemHdrDataSize : nbytes;
  const uint64_t total = item_total_size(nkey, charged_bytes, client_flags, config_.use_cas);
  const uint32_t id = classes_.clsid(total);
  if (id == 0) return kNoItem;

  const uint32_t n = new_record();
  bool ok;
  if (total > classes_.slab_chunk_max()) {
    ok = charge_chunks(n, total, nkey, client_flags, nbytes);
  } else {
    chunk_ref(n) = alloc_pull(static_cast<uint32_t>(total), id, n);
    ok = chunk_ref(n).valid();
  }
  if (!ok) {
    if (!declined_) lru_counters_[lru_id(id, LruSegment::kHot)].outofmemory++;
    free_record(n);
    return kNoItem;
  }

  Item& it = item(n);
  it = Item{};
  it.clsid = static_cast<uint8_t>(id);
  if (config_.temp_lru && exptime - now_ <= config_.temporary_ttl) {
    it.lru = static_cast<uint8_t>(LruSegment::kTemp);
  } else if (config_.lru_segmented) {
    it.lru = static_cast<uint8_t>(LruSegment::kHot);
  } else {
    it.lru = static_cast<uint8_t>(LruSegment::kCold);
  }
  if (total > classes_.slab_chunk_max()) it.flags |= kChunked;
  if (header_item) {
    it.flags |= kHdr;
    set_location(n, ExtLocation{}, 0);  // location_of may read it before the caller sets it
  }
  it.nkey = nkey;
  it.key_len = static_cast<uint8_t>(key.size());
  it.nbytes = nbytes;
  it.client_flags = client_flags;
  it.exptime = exptime;

  const size_t payload_len = (header_item || config_.phantom) ? 0 : nbytes - 2;
  if (payload_len == 0 && key.size() <= sizeof(it.data.bytes)) {
    it.flags |= kInlineKey;
    std::memcpy(it.data.bytes, key.data(), key.size());
  } else if (prebuilt != nullptr) {
    it.data.ptr = prebuilt;
    heap_bytes_ += key.size() + payload_len;
  } else {
    it.data.ptr = new char[key.size() + payload_len];
    std::memcpy(it.data.ptr, key.data(), key.size());
    heap_bytes_ += key.size() + payload_len;
  }
  return n;
}

void ItemStore::free_item(uint32_t n) {
  Item& it = item(n);
  const uint8_t flags = flags_of(it);
  // A chunk the page mover claimed (evicting the item) is not freed again.
  if (flags & kChunked) {
    auto found = chunk_charges_.find(n);
    for (const ChunkCharge& c : found->second) {
      if (c.ref.valid()) slabs_.free(c.clsid, c.ref, c.requested);
    }
    chunk_charges_.erase(found);
  } else if (chunk_ref(n).valid()) {
    slabs_.free(it.clsid, chunk_ref(n), charged_bytes(it));
  }
  chunk_ref(n) = ChunkRef{};
  const bool heap_buffer = !(flags & kInlineKey);
  const size_t payload_len = ((flags & kHdr) || config_.phantom) ? 0 : it.nbytes - 2;
  const uint64_t buffer_bytes = heap_buffer ? it.key_len + payload_len : 0;
  heap_bytes_ -= buffer_bytes;
  if (concurrent_) {
    // A shared get may still be reading the record and its buffer: both
    // wait for the next exclusive holder (recycle_retired).
    retired_bytes_ += buffer_bytes;
    retired_.push_back(n);
    return;
  }
  if (heap_buffer) {
    if (retire_to_ != nullptr && retire_to_->retired_count_ < PreparedStore::kMaxRetired) {
      retire_to_->retired_[retire_to_->retired_count_++] = it.data.ptr;
    } else {
      delete[] it.data.ptr;
    }
  }
  free_record(n);
}

void ItemStore::free_record(uint32_t n) {
  item(n) = Item{};
  item(n).next = free_records_;
  free_records_ = n;
}

void ItemStore::link_q(uint32_t n) {
  Item& it = item(n);
  LruList& list = lrus_[lru_id(it.clsid, static_cast<LruSegment>(it.lru))];
  it.prev = kNoItem;
  it.next = list.head;
  if (list.head != kNoItem) item(list.head).prev = n;
  list.head = n;
  if (list.tail == kNoItem) list.tail = n;
  list.count++;
  list.bytes += lru_bytes(it);
}

void ItemStore::unlink_q(uint32_t n) {
  Item& it = item(n);
  LruList& list = lrus_[lru_id(it.clsid, static_cast<LruSegment>(it.lru))];
  if (list.head == n) list.head = it.next;
  if (list.tail == n) list.tail = it.prev;
  if (it.next != kNoItem) item(it.next).prev = it.prev;
  if (it.prev != kNoItem) item(it.prev).next = it.next;
  it.prev = it.next = kNoItem;
  list.count--;
  list.bytes -= lru_bytes(it);
}

void ItemStore::attach(uint32_t n) {
  ++index_changes_;
  Item& it = item(n);
  add_flags(it, kLinked);
  set_time_of(it, now_);
  counters_.curr_bytes += ntotal(it);
  counters_.curr_items++;
  counters_.total_items++;
  if (flags_of(it) & kHdr) {
    counters_.header_items++;
    counters_.header_chunk_bytes += classes_[it.clsid].size;
  }
  it.cas = config_.use_cas ? next_cas() : 0;
}

void ItemStore::detach(uint32_t n) {
  ++index_changes_;
  Item& it = item(n);
  clear_flags(it, kLinked);
  counters_.curr_bytes -= ntotal(it);
  counters_.curr_items--;
  const bool header = (flags_of(it) & kHdr) != 0;
  if (header) {
    counters_.header_items--;
    counters_.header_chunk_bytes -= classes_[it.clsid].size;
  }
  unlink_q(n);
  if (header && listener_ != nullptr) listener_->on_header_unlinked(location_of(n), ntotal(it));
}

void ItemStore::link(uint32_t n) {
  // Precondition: a concurrent store never grows the table (readers probe it).
  assert(!concurrent_ || index_.has_room_for_insert());
  attach(n);
  index_.insert(hash_key(key_of(item(n))), n, key_hint(n));
  link_q(n);
}

void ItemStore::unlink(uint32_t n) {
  if (flags_of(item(n)) & kLinked) {
    index_.erase(hash_key(key_of(item(n))), n);
    detach(n);
  }
  free_item(n);
}

void ItemStore::replace(uint32_t old_n, uint32_t new_n) {
  if (!(flags_of(item(old_n)) & kLinked)) {
    unlink(old_n);
    link(new_n);
    return;
  }
  // The new item takes the old one's hash slot, so a get beside a
  // concurrent store finds one of the two, never neither; counts, CAS and
  // LRU order are unlink-then-link's.
  const uint64_t hash = hash_key(key_of(item(old_n)));
  attach(new_n);
  index_.replace(hash, old_n, new_n, key_hint(new_n));
  detach(old_n);
  link_q(new_n);
  free_item(old_n);
}

void ItemStore::recycle_retired() {
  // The buffers are no reader's now, but freeing them here would lengthen
  // the exclusive hold (one free() each, and one burst of frees of buffers
  // other threads allocated overflows glibc's per-thread cache into the
  // allocating thread's arena lock, a futex sleep under the engine lock):
  // concurrent stores take them, a few each, and free them after the lock
  // (hand_over_freeable). Past the bound (no stores come) they go here.
  for (const uint32_t n : retired_) {
    const Item& it = item(n);
    if (!(it.flags & kInlineKey)) {
      if (freeable_.size() < kMaxRetired && freeable_bytes_ < kMaxRetiredBytes) {
        freeable_.push_back(it.data.ptr);
        freeable_bytes_ +=
            it.key_len + (((it.flags & kHdr) || config_.phantom) ? 0 : it.nbytes - 2);
      } else {
        delete[] it.data.ptr;
      }
    }
    free_record(n);
  }
  retired_.clear();
  retired_bytes_ = 0;
}

void ItemStore::hand_over_freeable(PreparedStore& prepared) {
  // Two a store: more than the one or two records a store retires, so the
  // list drains, and few enough that the frees land in the storing
  // thread's glibc cache, from which its next prepare_store allocates.
  for (int handed = 0;
       handed < 2 && !freeable_.empty() && prepared.retired_count_ < PreparedStore::kMaxRetired;
       ++handed) {
    prepared.retired_[prepared.retired_count_++] = freeable_.back();
    freeable_.pop_back();
  }
  if (freeable_.empty()) freeable_bytes_ = 0;
}

uint32_t ItemStore::find(std::string_view key) const {
  const uint64_t hash = hash_key(key);
  if (key.size() > kInlineKeyMax) {
    return index_.find(hash, [&](uint32_t m) { return key_of(item(m)) == key; });
  }
  // Short keys (every trace key id) compare as one zero-padded word instead
  // of a memcmp call: inline keys are stored zero-padded by alloc_item.
  uint64_t word = 0;
  std::memcpy(&word, key.data(), key.size());
  const uint8_t len = static_cast<uint8_t>(key.size());
  return index_.find(hash, [&](uint32_t m) {
    const Item& it = item(m);
    if (it.key_len != len) return false;
    if (flags_of(it) & kInlineKey) {
      uint64_t stored;
      std::memcpy(&stored, it.data.bytes, sizeof stored);
      return stored == word;
    }
    return std::memcmp(it.data.ptr, key.data(), len) == 0;
  });
}

bool ItemStore::unlink_beside_readers(uint32_t n) const {
  if (!(flags_of(item(n)) & kHdr) || listener_ == nullptr) return true;
  return listener_->unlink_beside_readers(location_of(n));
}

bool ItemStore::header_valid(uint32_t n) const {
  return listener_ == nullptr || listener_->header_valid(location_of(n));
}

bool ItemStore::is_flushed(const Item& it) const {
  if (!flush_pending_ || oldest_live_ > now_) return false;
  if (flush_by_time_ && time_of(it) <= oldest_live_) return true;
  return oldest_cas_ != 0 && it.cas != 0 && it.cas < oldest_cas_;
}

uint32_t ItemStore::live_item(uint32_t n, std::string_view key, bool bump_item) {
  // Precondition: n is find(key).
  assert(n == find(key));
  LookupStatus status = LookupStatus::kNotFound;
  uint32_t live = kNoItem;
  if (n != kNoItem) {
    const Item& it = item(n);
    if (is_flushed(it)) {
      unlink(n);
      counters_.get_flushed++;
      status = LookupStatus::kFlushed;
    } else if (it.exptime != 0 && it.exptime <= now_) {
      unlink(n);
      counters_.get_expired++;
      status = LookupStatus::kExpired;
    } else {
      if (bump_item) bump(n);
      status = LookupStatus::kFound;
      live = n;
    }
  }
  EventSink* sink = logging(log_stream::kFetchers);
  if (sink != nullptr && !quiet_lookups_) {
    ItemGetEvent event{key, status};
    if (live != kNoItem) {
      event.clsid = item(live).clsid;
      event.value_len = item(live).nbytes - 2;
    }
    sink->item_get(event);
  }
  return live;
}

ItemLeaveEvent ItemStore::leave_event(uint32_t n) const {
  const Item& it = item(n);
  ItemLeaveEvent event;
  event.key = key_of(it);
  event.fetched = (flags_of(it) & kFetched) != 0;
  event.ttl = it.exptime > 0 ? int64_t{it.exptime} - int64_t{now_} : -1;
  event.last_access = now_ - time_of(it);
  event.clsid = it.clsid;
  event.value_len = it.nbytes - 2;
  return event;
}

void ItemStore::bump(uint32_t n) {
  // memcached's do_item_bump: the first hit sets FETCHED, the second ACTIVE;
  // an ACTIVE item in COLD goes to WARM (memcached defers this to the LRU
  // maintainer's bump queue; here it happens at once).
  Item& it = item(n);
  if (!config_.lru_segmented) {
    it.flags |= kFetched;
    update(n);
    return;
  }
  if (it.flags & kActive) return;
  if (!(it.flags & kFetched)) {
    it.flags |= kFetched;
    return;
  }
  it.flags |= kActive;
  if (static_cast<LruSegment>(it.lru) != LruSegment::kCold) {
    it.time = now_;
  } else {
    update(n);
  }
}

void ItemStore::update(uint32_t n) {
  Item& it = item(n);
  const uint8_t flags = flags_of(it);
  if (!(flags & kLinked)) return;
  const rel_time_t stale_before = now_ - kItemUpdateInterval;
  if (config_.lru_segmented) {
    if (lru_of(it) == LruSegment::kCold && (flags & kActive)) {
      set_time_of(it, now_);
      unlink_q(n);
      set_lru(it, LruSegment::kWarm);
      clear_flags(it, kActive);
      link_q(n);
      lru_counters_[lru_id(it.clsid, LruSegment::kWarm)].moves_to_warm++;
    } else if (time_of(it) < stale_before) {
      set_time_of(it, now_);
    }
  } else if (time_of(it) < stale_before) {
    set_time_of(it, now_);
    unlink_q(n);
    link_q(n);
  }
}

}  // namespace memext::core
