// The commands (memcached's do_item_get callers, do_store_item,
// do_add_delta, delete, touch, flush_all) on top of the item layer.
#include <cassert>
#include <cstring>

#include "core/item_store.h"

namespace memext::core {

namespace {

ItemInfo info_of(const Item& it, const ItemStore& store) {
  ItemInfo info;
  info.client_flags = it.client_flags;
  info.exptime = it.exptime;
  info.last_access = time_of(it);
  info.cas = it.cas;
  info.value_len = it.nbytes - 2;
  info.slab_class = it.clsid;
  info.lru = lru_of(it);
  const uint8_t flags = flags_of(it);
  info.fetched = (flags & kFetched) != 0;
  info.active = (flags & kActive) != 0;
  info.chunked = (flags & kChunked) != 0;
  info.key_binary = (it.key_flags & kKeyBinary) && !(flags & kHdr);
  (void)store;
  return info;
}

// The key length an item is sized by: the caller's accounted length for a
// stand-in key (the simulator's 8-byte trace id for a 40-byte key), in
// phantom and real mode alike, so that both size a trace's items the same.
uint8_t accounted_nkey(const StoreRequest& request) {
  return request.accounted_key_len != 0 ? request.accounted_key_len
                                        : static_cast<uint8_t>(request.key.size());
}

// memcached's safe_strtoull on an item's value (strtoull base 10, then a
// space or the end): leading whitespace and a sign are accepted, a negative
// result is refused. The "\r\n" after the value ends the number.
bool parse_counter(std::string_view text, uint64_t& value) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  uint64_t v = 0;
  const size_t digits_start = i;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;  // ERANGE
    v = v * 10 + digit;
  }
  if (i == digits_start) return false;
  if (i < text.size() && !is_space(text[i]) && text[i] != '\0') return false;
  if (negative) v = 0 - v;
  // strtoull negates "-N"; memcached refuses the result only when it reads as
  // a negative signed number.
  if (negative && static_cast<int64_t>(v) < 0) return false;
  value = v;
  return true;
}

}  // namespace

rel_time_t ItemStore::realtime(int64_t exptime) const {
  if (exptime == 0) return 0;
  if (exptime < 0) exptime = kRealtimeMaxDelta + 1;  // memcached: negative = already expired
  if (exptime > kRealtimeMaxDelta) {
    if (exptime <= config_.process_started) return 1;
    return static_cast<rel_time_t>(exptime - config_.process_started);
  }
  return static_cast<rel_time_t>(exptime + now_);
}

GetResult ItemStore::get(std::string_view key, const GetOptions& options) {
  assert(!bumps_.pending());  // Precondition: deferred bumps applied (apply_deferred_bumps)
  GetResult result;
  // memcached counts gat/gats as touches only, not as gets.
  if (options.touch) {
    counters_.cmd_touch++;
  } else {
    counters_.cmd_get++;
  }
  const uint32_t n = find_live(key, false);
  if (n == kNoItem) {
    if (options.touch) {
      counters_.touch_misses++;
    } else {
      counters_.get_misses++;
    }
    return result;
  }
  Item& it = item(n);
  result.info = info_of(it, *this);
  // Hits count against the LRU the item was found in (memcached moves a
  // COLD hit to WARM only later, from its bump queue).
  const uint32_t found_in = lru_id(it.clsid, static_cast<LruSegment>(it.lru));
  if (options.bump) bump(n);
  if (options.touch) {
    it.exptime = realtime(options.exptime);
    class_counters_[it.clsid].touch_hits++;
  } else {
    lru_counters_[found_in].hits++;
    class_counters_[it.clsid].get_hits++;
  }
  result.info.exptime = it.exptime;
  if (it.flags & kHdr) {
    result.source = HitSource::kFlashHeader;
    result.location = location_of(n);
    result.object_cas = object_cas_of(n);
  } else {
    result.source = HitSource::kRam;
    result.value = value_of(it);
  }
  return result;
}

std::optional<GetResult> ItemStore::try_get_shared(std::string_view key, const GetOptions& options,
                                                   bool flash_headers) const {
  // What get() does, without the writes that need the exclusive lock: no gat
  // (exptime), no meta state (a vivified item, a recache token), no unlink
  // of an expired or flushed item, no relink (a COLD hit moving to WARM, a
  // flat LRU's refresh), and a flash header only for a caller that goes on
  // with its read (ExtStore's shared read path). Everything else read here,
  // the header's location included, is written only under the exclusive
  // lock; flags and time are written here too, atomically (see flags_of).
  if (options.touch) return std::nullopt;
  // A `watch fetchers` watcher sees every lookup: get() logs it.
  if (logging(log_stream::kFetchers) != nullptr) return std::nullopt;
  // A hit is always right; a miss beside a concurrent store's unlink may be
  // false (KeyIndex): look again under the erase seqlock, a few times, then
  // leave it to the exclusive side. Hits never read the version, whose line
  // every erase (an eviction's) writes.
  uint32_t n = find(key);
  for (int tries = 0; n == kNoItem; ++tries) {
    const uint64_t version = index_.version();
    n = find(key);
    if (n == kNoItem && index_.missed_reliably(version)) break;
    if (n == kNoItem && tries == 3) return std::nullopt;
  }
  if (n == kNoItem && options.meta && options.vivify) return std::nullopt;  // N links an item
  SharedGetCounters::Stripe& counts = shared_gets_.mine();
  if (!shared_gets_used_.load(std::memory_order_relaxed)) {
    shared_gets_used_.store(true, std::memory_order_relaxed);
  }
  GetResult result;
  if (n == kNoItem) {
    SharedGetCounters::add(counts.cmd_get);
    SharedGetCounters::add(counts.get_misses);
    return result;
  }
  // const_cast: the item's flags and time are the shared path's to write
  // (atomically), as memcached's item lock lets a get set them.
  Item& it = const_cast<Item&>(item(n));
  // Acquire: a second hit refreshes the time before it releases ACTIVE
  // (below), so seeing ACTIVE here means seeing that time.
  const uint8_t flags = __atomic_load_n(&it.flags, __ATOMIC_ACQUIRE);
  if ((flags & kHdr) && !flash_headers) return std::nullopt;
  if (is_flushed(it) || (it.exptime != 0 && it.exptime <= now_)) return std::nullopt;
  const LruSegment segment = lru_of(it);
  const bool in_cold = segment == LruSegment::kCold;
  // COLD and ACTIVE: its move to WARM is still queued (get() would find it
  // in WARM); the exclusive side applies the queue first.
  if (config_.lru_segmented && in_cold && (flags & kActive)) return std::nullopt;
  // meta_get's token rules: the first request to see a stale item, or one
  // whose R finds the item expiring before its token, wins the recache
  // token, which is a write.
  if (options.meta && !(flags & kTokenSent)) {
    if (flags & kStale) return std::nullopt;
    if (options.recache && it.exptime != 0 && it.exptime < realtime(options.recache_exptime)) {
      return std::nullopt;
    }
  }
  // Until ACTIVE is set a concurrent second hit may be writing the time.
  if (options.reports_last_access && config_.lru_segmented && !in_cold && !(flags & kActive)) {
    return std::nullopt;
  }
  // bump()'s writes, where they need no relink.
  uint8_t set_flags = 0;
  bool refresh_time = false;
  bool defer_move = false;
  if (options.bump) {
    if (config_.lru_segmented) {
      if (!(flags & kActive)) {
        if (!(flags & kFetched)) {
          set_flags = kFetched;
        } else if (!in_cold) {
          set_flags = kActive;
          refresh_time = true;
        } else if (options.defer_relink) {
          defer_move = true;  // COLD -> WARM, queued
        } else {
          return std::nullopt;
        }
      }
    } else {
      if (time_of(it) < now_ - kItemUpdateInterval) return std::nullopt;  // relink
      if (!(flags & kFetched)) set_flags = kFetched;
    }
  }
  result.info = info_of(it, *this);
  // The bits this hit's transition was chosen from: the state before it.
  result.info.fetched = (flags & kFetched) != 0;
  result.info.active = (flags & kActive) != 0;
  if (options.meta) {
    result.info.exptime_before = it.exptime;
    result.info.stale = (flags & kStale) != 0;
    result.info.token_sent = (flags & kTokenSent) != 0;
  }
  if (defer_move) {
    // ACTIVE first, as lru_bump_async's caller does: it claims the move, so
    // a concurrent second hit declines instead of queueing it twice.
    if (__atomic_fetch_or(&it.flags, kActive, __ATOMIC_RELAXED) & kActive) return std::nullopt;
    const BumpQueue::Push queued = bumps_.push(n);
    if (queued != BumpQueue::Push::kQueued) {
      __atomic_fetch_and(&it.flags, static_cast<uint8_t>(~kActive), __ATOMIC_RELAXED);
      // Full: the exclusive side drains the stripe and moves the item at
      // once, as get() would. Being drained beside this get (the
      // maintainer's pass, on another thread): the hit is served without
      // its move, as memcached serves a hit whose lru_bump_async found its
      // buffer full; the item stays in COLD, not ACTIVE.
      if (queued == BumpQueue::Push::kFull) return std::nullopt;
    }
  }
  if (set_flags != 0) {
    // The time before the ACTIVE bit that publishes it. A concurrent hit
    // that set the bit first made this transition (and wrote the same
    // time): this hit is the next one, which get() decides.
    if (refresh_time) __atomic_store_n(&it.time, now_, __ATOMIC_RELAXED);
    if (__atomic_fetch_or(&it.flags, set_flags, __ATOMIC_RELEASE) & set_flags) return std::nullopt;
  }
  SharedGetCounters::add(counts.cmd_get);
  SharedGetCounters::add(counts.lru_hits[lru_id(it.clsid, segment)]);
  SharedGetCounters::add(counts.class_get_hits[it.clsid]);
  if (flags & kHdr) {
    result.source = HitSource::kFlashHeader;
    result.location = location_of(n);
    result.object_cas = object_cas_of(n);
    return result;
  }
  result.source = HitSource::kRam;
  result.value = value_of(it);
  return result;
}

void ItemStore::apply_deferred_bumps() {
  bumps_.drain([this](uint32_t n) {
    // With only shared gets since the get queued it, the item is still
    // linked, in COLD and ACTIVE, and update() moves it as bump() would
    // have. A concurrent store may have evicted or replaced it since (its
    // record waits in retired_, recycled only after this drain), or moved
    // it already (add's update): update() then does what is left, if
    // anything, as memcached's maintainer finds a bumped item gone.
    assert(concurrent_stores_seen_ || ((item(n).flags & kLinked) && (item(n).flags & kActive) &&
                                       static_cast<LruSegment>(item(n).lru) == LruSegment::kCold));
    update(n);
  });
}

uint32_t ItemStore::apply_deferred_bumps_beside_readers() {
  // A concurrent store may have unlinked or moved a queued item since its
  // get queued it; update() does what is left, as in apply_deferred_bumps.
  concurrent_stores_seen_ = true;
  return bumps_.drain_beside_pushes([this](uint32_t n) { update(n); });
}

void ItemStore::catch_up() {
  apply_deferred_bumps();
  recycle_retired();
}

std::optional<StoreOutcome> ItemStore::try_store_concurrent(const StoreRequest& request,
                                                            PreparedStore& prepared) {
  // What store() does when it needs nothing shared gets could be reading
  // half-changed: no new pool page or hash table growth (readers index
  // both), no flash page emptied by a header's unlink (page state that
  // shared flash reads use), no append/prepend (two allocations) or stale
  // store, no watcher (its lines are written in lock order). Records it
  // frees wait in retired_ until the next exclusive holder; when too many
  // wait, decline.
  if (request.mode == StoreMode::kAppend || request.mode == StoreMode::kPrepend ||
      request.invalidate) {
    return std::nullopt;
  }
  if (!may_run_beside_readers()) return std::nullopt;
  if (free_records_ == kNoItem && (pool_used_ >> kPoolShift) >= pool_.size()) return std::nullopt;
  if (!index_.has_room_for_insert()) return std::nullopt;
  const KnownLookup existing{find(request.key), index_changes_};
  if (existing.n != kNoItem && !unlink_beside_readers(existing.n)) return std::nullopt;
  StoreOutcome outcome;
  if (!run_beside_readers([&] { outcome = store_item(request, &prepared, &existing); })) {
    return std::nullopt;
  }
  hand_over_freeable(prepared);
  return outcome;
}

TouchResult ItemStore::touch(std::string_view key, int64_t exptime) {
  counters_.cmd_touch++;
  const uint32_t n = find_live(key, true);
  if (n == kNoItem) {
    counters_.touch_misses++;
    return TouchResult::kNotFound;
  }
  Item& it = item(n);
  it.exptime = realtime(exptime);
  class_counters_[it.clsid].touch_hits++;
  return TouchResult::kTouched;
}

PreparedStore ItemStore::prepare_store(const StoreRequest& request) const {
  // Only what alloc_item would put in a heap buffer for this request.
  PreparedStore prepared;
  const std::string_view key = request.key;
  const std::string_view value = request.value;
  if (config_.phantom || key.empty() || key.size() > kKeyMaxLength) return prepared;
  if (value.empty() && key.size() <= kInlineKeyMax) return prepared;  // an inline key
  if (value.size() + 2 > UINT32_MAX ||
      classes_.clsid(item_total_size(accounted_nkey(request),
                                     static_cast<uint32_t>(value.size() + 2), request.client_flags,
                                     config_.use_cas)) == 0) {
    return prepared;
  }
  prepared.size_ = key.size() + value.size();
  prepared.buffer_ = new char[prepared.size_];
  std::memcpy(prepared.buffer_, key.data(), key.size());
  std::memcpy(prepared.buffer_ + key.size(), value.data(), value.size());
  return prepared;
}

StoreOutcome ItemStore::store(const StoreRequest& request, PreparedStore& prepared) {
  assert(retire_to_ == nullptr);
  retire_to_ = &prepared;
  const StoreOutcome outcome = store_item(request, &prepared);
  retire_to_ = nullptr;
  hand_over_freeable(prepared);
  return outcome;
}

StoreOutcome ItemStore::store(const StoreRequest& request) {
  return store_item(request, nullptr);
}

StoreOutcome ItemStore::store_item(const StoreRequest& request, PreparedStore* prepared,
                                   const KnownLookup* known) {
  // Precondition: deferred bumps applied (apply_deferred_bumps), unless
  // this is a concurrent store beside the shared gets that queue them.
  assert(concurrent_ || !bumps_.pending());
  // Precondition: a concurrent store passes its lookup, an exclusive one none.
  assert(concurrent_ == (known != nullptr));
  StoreOutcome outcome;
  const std::string_view key = request.key;
  const uint8_t nkey = accounted_nkey(request);
  const uint64_t value_len = config_.phantom ? request.value_len : request.value.size();
  const auto fits_no_class = [&] {
    return key.empty() || key.size() > kKeyMaxLength || value_len + 2 > UINT32_MAX ||
           classes_.clsid(item_total_size(nkey, static_cast<uint32_t>(value_len + 2),
                                          request.client_flags, config_.use_cas)) == 0;
  };
  char* prebuilt = nullptr;
  if (prepared != nullptr && prepared->buffer_ != nullptr) {
    // Precondition: prepared from this request (prepare_store).
    assert(!fits_no_class() && prepared->size_ == key.size() + request.value.size());
    prebuilt = prepared->buffer_;
  }
  // prepare_store built a buffer only for a request that fits a class: the
  // hold skips the class search it already made outside the lock.
  const bool too_large = prebuilt == nullptr && fits_no_class();
  uint32_t new_n = kNoItem;
  if (!too_large) {
    new_n = alloc_item(key, nkey, request.client_flags, realtime(request.exptime),
                       static_cast<uint32_t>(value_len + 2), false, prebuilt);
    if (new_n != kNoItem && prebuilt != nullptr) prepared->buffer_ = nullptr;  // the item's now
  }
  if (declined_) return outcome;  // try_store_concurrent repeats it exclusively
  // The key's item, looked up once: nothing below links or unlinks before
  // its last use (live_item).
  uint32_t found = kNoItem;
  if (known != nullptr) {
    // The caller's lookup stands unless the allocation linked or unlinked
    // (its evictions).
    found = known->index_changes == index_changes_ ? known->n : find(key);
    // The allocation's evictions may have left the old header the last
    // object of its page, and every path below (a replace, or a failed
    // set's unlink) may unlink it: that is the exclusive side's then. The
    // new item goes (its buffer with it: the retry builds its own).
    if (found != kNoItem && !unlink_beside_readers(found)) {
      if (new_n != kNoItem) free_item(new_n);
      declined_ = true;
      return outcome;
    }
  }
  const auto find_live_key = [&] {
    return known != nullptr ? live_item(found, key, false) : find_live(key, false);
  };
  if (new_n == kNoItem) {
    // memcached drops the old value when a set cannot be stored, so a
    // failed set never leaves stale data behind.
    outcome.result = too_large ? StoreResult::kTooLarge : StoreResult::kOutOfMemory;
    // memcached logs a failed store without its item (1.6.18 fills clsid and
    // cfd from the wrong arguments there; memext logs 0 for the unknowns).
    if (EventSink* sink = logging(log_stream::kMutations)) {
      sink->item_store(ItemStoreEvent{key, outcome.result, request.mode});
    }
    if (request.mode == StoreMode::kSet && !key.empty() && key.size() <= kKeyMaxLength) {
      const uint32_t old_n = find_live_key();
      if (old_n != kNoItem) unlink(old_n);
    }
    return outcome;
  }
  Item& fresh = item(new_n);
  if (request.key_binary) fresh.key_flags |= kKeyBinary;
  if (!config_.phantom && prebuilt == nullptr) {
    std::memcpy(payload(fresh), request.value.data(), request.value.size());
  }
  if (request.count_set) class_counters_[fresh.clsid].cmd_set++;

  const uint32_t old_n = find_live_key();
  StoreResult result;
  uint32_t stored_n = new_n;
  if (old_n != kNoItem) {
    result = store_existing(request, new_n, old_n, stored_n);
  } else {
    switch (request.mode) {
      case StoreMode::kAdd:
      case StoreMode::kSet:
        link(new_n);
        result = StoreResult::kStored;
        break;
      case StoreMode::kCas:
        counters_.cas_misses++;
        result = StoreResult::kNotFound;
        break;
      default:
        result = StoreResult::kNotStored;
        break;
    }
  }
  outcome.result = result;
  if (result == StoreResult::kStored) outcome.cas = item(stored_n).cas;
  if (EventSink* sink = logging(log_stream::kMutations)) {
    // memcached logs the item it linked (append's combined one), else the
    // one the command built.
    const Item& built = item(result == StoreResult::kStored ? stored_n : new_n);
    sink->item_store(ItemStoreEvent{key, result, request.mode,
                                    built.exptime != 0 ? built.exptime - now_ : 0, built.clsid,
                                    built.nbytes - 2});
  }
  if (!(flags_of(item(new_n)) & kLinked)) free_item(new_n);
  return outcome;
}

StoreResult ItemStore::store_existing(const StoreRequest& request, uint32_t new_n, uint32_t old_n,
                                      uint32_t& stored_n) {
  Item& old_it = item(old_n);
  const bool cas_given = request.cas != 0;
  const bool cas_match = cas_given && request.cas == old_it.cas;
  switch (request.mode) {
    case StoreMode::kAdd:
      update(old_n);  // add on an existing item still promotes it
      return StoreResult::kNotStored;
    case StoreMode::kCas:
      if (cas_match) {
        class_counters_[old_it.clsid].cas_hits++;
        replace(old_n, new_n);
        return StoreResult::kStored;
      }
      if (request.invalidate && cas_given && request.cas < old_it.cas) {
        store_stale(old_n, new_n);
        return StoreResult::kStored;
      }
      class_counters_[old_it.clsid].cas_badval++;
      return StoreResult::kExists;
    case StoreMode::kAppend:
    case StoreMode::kPrepend: {
      if (cas_given && !cas_match) return StoreResult::kExists;
      if (flags_of(old_it) & kHdr) return StoreResult::kNotStored;  // not on flash items
      const Item& add_it = item(new_n);
      const uint32_t nbytes = add_it.nbytes + old_it.nbytes - 2;
      pin(old_n);
      pin(new_n);
      const uint32_t combined =
          alloc_item(request.key, old_it.nkey, old_it.client_flags, old_it.exptime, nbytes, false);
      unpin();
      if (combined == kNoItem) return StoreResult::kNotStored;
      if (!config_.phantom) {
        const std::string_view old_value = value_of(item(old_n));
        const std::string_view add_value = value_of(item(new_n));
        char* out = payload(item(combined));
        if (request.mode == StoreMode::kAppend) {
          std::memcpy(out, old_value.data(), old_value.size());
          std::memcpy(out + old_value.size(), add_value.data(), add_value.size());
        } else {
          std::memcpy(out, add_value.data(), add_value.size());
          std::memcpy(out + add_value.size(), old_value.data(), old_value.size());
        }
      }
      replace(old_n, combined);
      stored_n = combined;
      return StoreResult::kStored;
    }
    case StoreMode::kSet:
    case StoreMode::kReplace:
      replace(old_n, new_n);
      return StoreResult::kStored;
  }
  return StoreResult::kNotStored;
}

DeltaOutcome ItemStore::delta(std::string_view key, bool incr, uint64_t amount, uint64_t cas,
                              bool count_miss) {
  DeltaOutcome outcome;
  const uint32_t n = find_live(key, false);
  if (n == kNoItem) {
    if (count_miss) (incr ? counters_.incr_misses : counters_.decr_misses)++;
    outcome.result = DeltaResult::kNotFound;
    return outcome;
  }
  Item& it = item(n);
  uint64_t value = 0;
  // memcached checks the CAS before it parses the value.
  if (it.nbytes <= 2 || (it.flags & kChunked)) {
    outcome.result = DeltaResult::kNonNumeric;
    return outcome;
  }
  if (cas != 0 && it.cas != cas) {
    outcome.result = DeltaResult::kExists;
    return outcome;
  }
  if ((it.flags & kHdr) || config_.phantom || !parse_counter(value_of(it), value)) {
    outcome.result = DeltaResult::kNonNumeric;
    return outcome;
  }
  if (incr) {
    value += amount;  // wraps at 2^64 like memcached
    class_counters_[it.clsid].incr_hits++;
  } else {
    value = amount > value ? 0 : value - amount;
    class_counters_[it.clsid].decr_hits++;
  }
  outcome.exptime = it.exptime;  // a grown copy keeps it too
  char digits[24];
  const std::string text = std::to_string(value);
  std::memcpy(digits, text.data(), text.size());
  const uint32_t len = static_cast<uint32_t>(text.size());
  if (len + 2 <= it.nbytes) {
    // Fits: rewrite in place, padding with spaces as memcached does.
    char* out = payload(it);
    std::memcpy(out, digits, len);
    std::memset(out + len, ' ', it.nbytes - 2 - len);
    it.cas = config_.use_cas ? next_cas() : 0;
    update(n);
    outcome.cas = it.cas;
  } else {
    pin(n);
    const uint32_t grown = alloc_item(key, it.nkey, it.client_flags, it.exptime, len + 2, false);
    unpin();
    if (grown == kNoItem) {
      outcome.result = DeltaResult::kOutOfMemory;
      return outcome;
    }
    std::memcpy(payload(item(grown)), digits, len);
    replace(n, grown);
    outcome.cas = item(grown).cas;
  }
  outcome.result = DeltaResult::kOk;
  outcome.value = value;
  return outcome;
}

uint32_t ItemStore::find_deletable(std::string_view key, uint64_t cas, DeleteResult& refused) {
  const uint32_t n = find_live(key, false);
  if (n == kNoItem) {
    counters_.delete_misses++;
    refused = DeleteResult::kNotFound;
    return kNoItem;
  }
  if (cas != 0 && item(n).cas != cas) {
    counters_.delete_misses++;  // memcached's md counts a CAS mismatch as a miss
    refused = DeleteResult::kExists;
    return kNoItem;
  }
  return n;
}

void ItemStore::unlink_key(std::string_view key) {
  const uint32_t n = find_live(key, false);
  if (n != kNoItem) unlink(n);
}

DeleteResult ItemStore::remove(std::string_view key, uint64_t cas) {
  assert(!bumps_.pending());  // Precondition: deferred bumps applied (apply_deferred_bumps)
  DeleteResult refused;
  const uint32_t n = find_deletable(key, cas, refused);
  if (n == kNoItem) return refused;
  Item& it = item(n);
  class_counters_[it.clsid].delete_hits++;
  unlink(n);
  return DeleteResult::kDeleted;
}

void ItemStore::flush_all(int64_t delay) {
  // memcached's process_flush_all with CAS on: items stamped at or before
  // the second before the flush moment are dead, and an immediate flush
  // also kills items of the current second by CAS, so later stores in the
  // same second survive.
  counters_.cmd_flush++;
  const rel_time_t new_oldest = delay > 0 ? realtime(delay) : now_;
  flush_pending_ = true;
  if (config_.use_cas) {
    flush_by_time_ = new_oldest != 0;
    oldest_live_ = new_oldest == 0 ? 0 : new_oldest - 1;
    if (oldest_live_ <= now_) oldest_cas_ = next_cas();
  } else {
    flush_by_time_ = true;
    oldest_live_ = new_oldest;
  }
}

}  // namespace memext::core
