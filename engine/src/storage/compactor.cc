// The compactor: memcached's storage_compact_thread, storage_compact_check
// and storage_compact_readback as a step that reads back one wbuf-sized
// region of the page being compacted per call.
#include <cassert>
#include <cstring>
#include <vector>

#include "storage/ext_store_impl.h"
#include "storage/flash_object.h"

namespace memext {

Micros ExtStore::Impl::compactor_step(Micros now) {
  const CompactorRead read = compactor_begin(now);
  if (!read.wanted) return read.next;
  IoRequest req{IoOp::kRead, read.offset, read.length, read.buffer};
  // Nothing else is ever in flight while a synchronous store runs a step.
  const int64_t rc =
      options.async_flush ? device_io(*read.device, &req) : submit_and_wait(*read.device, &req);
  return compactor_finish(now, read, rc);
}

CompactorRead ExtStore::Impl::compactor_begin(Micros now) {
  CompactorRead read = compactor_wake(now);
  if (!read.wanted) read.next = compactor_sleep_until(now, read.next);
  return read;
}

Micros ExtStore::Impl::compactor_finish(Micros now, const CompactorRead& read, int64_t io_result) {
  return compactor_sleep_until(now, compactor_read_done(now, read, io_result));
}

Micros ExtStore::Impl::compactor_sleep_until(Micros now, Micros next) {
  // A rescue waiting on a busy wbuf (1 ms) or a sliced region (at once) is
  // still inside the same wake-up.
  if (next - now < kMinStorageCompactSleep) return next;
  // With no default page free, memcached's maintenance thread evicts the
  // oldest page now rather than when a writer next needs one, so a page the
  // compactor would move next is often gone first. The pass's record of the
  // pages is what the next check picks from; none is made while a page is
  // being compacted (a pass at its end comes before the next check).
  store->run_maintenance(!compacting);
  return next;
}

CompactorRead ExtStore::Impl::compactor_wake(Micros now) {
  // Rescues need free wbufs; finished writes give theirs back.
  reap_flushes(false);
  if (!compacting && compact_check()) {
    compacting = true;
    compact_offset = 0;
    region_loaded = false;
    rescue_busy_tries = 0;
    log_compaction({CompactStep::kStart, compact_page, compact_version});
  }
  CompactorRead read;
  if (!compacting) {
    if (compact_sleep < config.max_sleep_us) compact_sleep += config.max_sleep_us;
    read.next = now + compact_sleep;
    return read;
  }
  // storage_compact_thread does one thing per wake-up, 10 ms apart: submit
  // a region's read, rescue from the region once its read is done, or close
  // the page after its last region. A page of N regions takes 2N + 1 steps.
  if (region_loaded) {
    read.next = compactor_advance(now, true);
    return read;
  }
  if (compact_offset >= store->page_size()) {
    store->close_page(compact_page, compact_version);
    compacting = false;
    log_compaction({CompactStep::kEnd, compact_page});
    compact_sleep = kMinStorageCompactSleep;
    read.next = now + compact_sleep;
    return read;
  }
  const uint32_t len = store->wbuf_size();
  read.plan = store->prepare_read(compact_page, compact_version,
                                  static_cast<uint32_t>(compact_offset), len);
  switch (read.plan.source) {
    case ReadSource::kMiss:
      read.next = compactor_advance(now, false);
      return read;
    case ReadSource::kWbuf:
      if (stores_data) {
        readback.reserve(len);
        std::memcpy(readback.data(), read.plan.wbuf_data, len);
      }
      region_loaded_now(compact_offset);
      compact_sleep = kMinStorageCompactSleep;
      read.next = now + compact_sleep;
      return read;
    case ReadSource::kDevice:
      break;
  }
  read.wanted = true;
  read.file_index = read.plan.file;
  read.device = read.plan.device;
  read.offset = read.plan.aligned_offset;
  read.length = read.plan.aligned_len;
  if (stores_data) {
    readback.reserve(len);
    // A region starts on a wbuf boundary, so on any device whose alignment
    // divides the wbuf size it is read in place.
    const bool direct = read.plan.skip == 0 && read.plan.aligned_len == len;
    if (!direct) readback_bounce.reserve(read.plan.aligned_len);
    read.buffer = direct ? readback.data() : readback_bounce.data();
  }
  return read;
}

Micros ExtStore::Impl::compactor_read_done(Micros now, const CompactorRead& read,
                                           int64_t io_result) {
  assert(read.wanted && compacting && !region_loaded);
  const bool same = store->finish_read(read.plan);
  // The lock was released during the read: the page may have been evicted
  // or closed meanwhile (the pin only kept it from being reused), and then
  // its objects are no longer the engine's.
  const bool ok = same && io_result == static_cast<int64_t>(read.length) &&
                  store->check(compact_page, compact_version);
  if (!ok) return compactor_advance(now, false);
  if (stores_data && read.buffer != readback.data()) {
    std::memcpy(readback.data(), read.buffer + read.plan.skip, store->wbuf_size());
  }
  region_loaded_now(compact_offset);
  // The rescues wait for the thread's next wake-up.
  compact_sleep = kMinStorageCompactSleep;
  return now + compact_sleep;
}

void ExtStore::Impl::region_loaded_now(uint64_t offset) {
  region_pos = 0;
  region_start_counts = {counters.compact_rescues, counters.compact_lost, counters.compact_skipped};
  CompactEvent event{CompactStep::kReadStart, compact_page};
  event.offset = offset;
  log_compaction(event);
  // A closed page gains no objects, so the headers pointing at it when its
  // compaction begins include every object that can still be live; each
  // rescue checks its header again, as for objects read back.
  if (!stores_data && offset == 0) {
    engine.hooks().headers_on_page(compact_page, static_cast<uint32_t>(compact_version),
                                   &phantom_objects);
    phantom_pos = 0;
  }
  region_loaded = true;
}

Micros ExtStore::Impl::compactor_advance(Micros now, bool region_loaded_ok) {
  switch (region_loaded_ok ? rescue_region(compact_offset) : Region::kGone) {
    case Region::kDone: {
      CompactEvent event{CompactStep::kReadEnd, compact_page};
      event.offset = store->wbuf_size();
      event.rescues = counters.compact_rescues - region_start_counts[0];
      event.lost = counters.compact_lost - region_start_counts[1];
      event.skipped = counters.compact_skipped - region_start_counts[2];
      log_compaction(event);
      compact_offset += store->wbuf_size();
      break;
    }
    case Region::kPaused:
      // A rescue found the compact bucket's wbuf still being written:
      // memcached's compactor sleeps 1 ms before each of its ten tries; here
      // the step ends so the engine lock is not held while the wbuf drains.
      return now + kCompactWriteRetrySleep;
    case Region::kSliced:
      return now;  // the caller's lock was held long enough: go on at once
    case Region::kGone:
      compacting = false;  // the page went away under us: abort
      log_compaction({CompactStep::kAbort, compact_page});
      break;
  }
  // Finish a compaction quickly.
  compact_sleep = kMinStorageCompactSleep;
  return now + compact_sleep;
}

void ExtStore::Impl::log_compaction(const CompactEvent& event) {
  if (EventSink* sink = engine.hooks().logging(log_stream::kSysevents)) sink->compaction(event);
}

// Compacts only when few pages are free; then picks the oldest page whose
// live bytes are under the fragmentation limit, or with drop_unread and very
// few free pages the oldest page outright. lowttl pages are left to expire.
// The free pages are counted now, but the pages are those of the last
// maintenance pass, as memcached's: a page that pass evicted may be picked
// (its first read misses and the compaction aborts), and one that fell
// under the limit since waits for the next pass.
bool ExtStore::Impl::compact_check() {
  const PageStoreStats st = store->stats();
  if (st.pages_used == 0 || st.pages_free > config.compact_under) return false;
  drop_unread = false;
  double rate = config.max_frag;
  if (config.frag_policy == ExtFragPolicy::kSlewed) {
    // Free pages lower the limit, so very empty pages are defragmented early.
    rate *= 1.0 - static_cast<double>(st.pages_free) / static_cast<double>(st.page_count);
  }
  const auto frag_limit = static_cast<uint64_t>(static_cast<double>(st.page_size) * rate);
  CompactEvent fraginfo{CompactStep::kFragInfo};
  fraginfo.frag_ratio = rate;
  fraginfo.frag_limit = frag_limit;
  log_compaction(fraginfo);
  uint64_t low_version = UINT64_MAX;
  uint64_t lowest_version = UINT64_MAX;
  uint32_t low_page = 0;
  uint32_t lowest_page = 0;
  const std::vector<PageData>& pages = store->maintenance_page_data();
  for (uint32_t id = 0; id < pages.size(); ++id) {
    const PageData& p = pages[id];
    if (!p.compactable() || p.bucket == static_cast<uint8_t>(PageBucket::kLowTtl)) continue;
    if (p.version < lowest_version) {
      lowest_page = id;
      lowest_version = p.version;
    }
    if (p.bytes_used < frag_limit && p.version < low_version) {
      low_page = id;
      low_version = p.version;
    }
  }
  if (low_version != UINT64_MAX) {
    compact_page = low_page;
    compact_version = low_version;
    return true;
  }
  if (lowest_version != UINT64_MAX && config.drop_unread && st.pages_free <= config.drop_under) {
    compact_page = lowest_page;
    compact_version = lowest_version;
    drop_unread = true;
    return true;
  }
  return false;
}

ExtStore::Impl::Region ExtStore::Impl::rescue_region(uint64_t offset) {
  assert(region_loaded);
  const uint32_t len = store->wbuf_size();
  const auto at = static_cast<uint32_t>(offset);
  // A paused region is resumed from what was read then: every rescue checks
  // the engine's header, so objects that changed meanwhile are passed over.
  const char* region = readback.data();
  const uint32_t slice_end =
      options.rescue_slice_bytes == 0 ? len : region_pos + options.rescue_slice_bytes;
  if (stores_data) {
    while (len - region_pos >= storage::kObjectHeaderSize) {
      if (region_pos >= slice_end) return Region::kSliced;
      storage::ObjectFields fields;
      const char* object = region + region_pos;
      // Zeroed space ends the wbuf; a damaged object ends it too, since the
      // stride to the next object cannot be trusted.
      if (storage::decode_object(object, len - region_pos, &fields) != storage::ObjectCheck::kOk) {
        break;
      }
      const core::ItemHandle handle = engine.hooks().find(fields.key);
      if (rescue(handle, at + region_pos, fields.ntotal, object) == Move::kBusy) {
        return Region::kPaused;
      }
      region_pos += fields.ntotal;
    }
  } else {
    uint64_t walked = 0;
    for (; phantom_pos < phantom_objects.size() && phantom_objects[phantom_pos].offset < at + len;
         ++phantom_pos) {
      const core::PageObject& object = phantom_objects[phantom_pos];
      if (options.rescue_slice_bytes != 0 && walked >= options.rescue_slice_bytes) {
        return Region::kSliced;
      }
      walked += object.len;
      if (rescue(object.handle, object.offset, object.len, nullptr) == Move::kBusy) {
        return Region::kPaused;
      }
    }
  }
  region_loaded = false;
  return Region::kDone;
}

// One object of the page being compacted: if the engine still has a live
// header pointing exactly here, move the object to the compact bucket (or
// drop it when dropping unread COLD items). Dead objects are passed over
// uncounted, as in memcached.
ExtStore::Impl::Move ExtStore::Impl::rescue(core::ItemHandle handle, uint32_t offset,
                                            uint32_t ntotal, const char* object) {
  core::StorageHooks& hooks = engine.hooks();
  if (handle == core::kNoHandle || !hooks.is_linked(handle)) return Move::kNotMoved;
  const core::ItemView header = hooks.view(handle);
  const rel_time_t now = hooks.current_time();
  if (!header.is_header || hooks.is_flushed(handle) ||
      (header.exptime != 0 && header.exptime <= now)) {
    return Move::kNotMoved;
  }
  // Page, version and offset must all match: a key overwritten and flushed
  // again may have an older copy on the same page.
  const ExtLocation& at = header.location;
  if (at.page_id != compact_page || at.page_version != static_cast<uint32_t>(compact_version) ||
      at.offset != offset) {
    return Move::kNotMoved;
  }
  const bool skip = drop_unread && header.lru == LruSegment::kCold;
  if (skip) {
    store->delete_objects(compact_page, compact_version, 1, ntotal);
    ++counters.compact_skipped;
    return Move::kNotMoved;
  }
  WriteSlot slot;
  const auto bucket = static_cast<unsigned>(PageBucket::kCompact);
  const WriteStatus st = request_slot(bucket, ntotal, &slot);
  // Refused while the compact bucket's wbuf is being written: memcached
  // tries ten times, 1 ms apart, then counts the object lost. Nothing has
  // changed yet, so the region pauses and this object is tried again.
  if (st == WriteStatus::kBusy && ++rescue_busy_tries < kCompactWriteTries) return Move::kBusy;
  rescue_busy_tries = 0;
  bool rescued = false;
  if (st == WriteStatus::kOk) {
    if (slot.buf != nullptr && object != nullptr) std::memcpy(slot.buf, object, ntotal);
    const ExtLocation relocated{slot.page_id, static_cast<uint32_t>(slot.page_version), slot.offset,
                                ntotal};
    rescued = hooks.rewrite_header(handle, at, relocated) == core::HeaderRewrite::kRewritten;
    if (rescued) store->write_commit(slot);
  }
  store->delete_objects(compact_page, compact_version, 1, ntotal);
  if (!rescued) {
    ++counters.compact_lost;
    return Move::kNotMoved;
  }
  ++counters.compact_rescues;
  return Move::kMoved;
}

}  // namespace memext
