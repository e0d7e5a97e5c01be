// The write flusher: memcached's storage_write_thread and storage_write as a
// step. One step is one pass of the thread's outer loop.
#include <algorithm>
#include <string>

#include "storage/ext_store_impl.h"
#include "storage/flash_object.h"

namespace memext {

Micros ExtStore::Impl::flusher_step(Micros now) {
  core::StorageHooks& hooks = engine.hooks();
  const SlabClassTable& classes = hooks.slab_classes();
  FlusherPass& pass = flusher_pass;
  const bool pace_1618 = options.flusher_pacing == FlusherPacing::k1_6_18;
  const Micros sleep_min = pace_1618 ? kWriteSleepMin1618 : kWriteSleepMin;
  if (!pass.running) {
    // Finished wbuf writes give their buffers back before new ones are needed.
    reap_flushes(false);
    pass = FlusherPass{};
    pass.running = true;
    pass.clsid = std::max<uint8_t>(1, classes.clsid(config.item_size));
    ++counter;
    write_sleep = std::min<Micros>(write_sleep, config.max_sleep_us);
  }
  uint64_t slice_bytes = 0;
  for (; pass.clsid <= classes.largest(); ++pass.clsid, pass.in_class = false) {
    const auto x = static_cast<uint8_t>(pass.clsid);
    if (!pass.in_class) {
      if (backoff[x] != 0 && counter % backoff[x] != 0) {
        // 1.6.18: long sleeps mean classes are retried sooner.
        if (pace_1618 && write_sleep > 10 * kWriteSleepMin1618) backoff[x] /= 2;
        continue;
      }
      pass.in_class = true;
      pass.did_move = false;
      pass.first = true;
      // An empty COLD LRU cannot give an item; skipping the slab look is only
      // a shortcut to the same outcome.
      pass.moving = hooks.cold_tail(x) != core::kNoHandle;
      pass.target = 0;
      pass.chunks_free = 0;
      // With ext_item_age 0 every age qualifies, so the slab look (the costly
      // part of an idle pass) cannot change the outcome and is skipped.
      if (pass.moving && config.item_age != 0) {
        if (!pass.have_pressure) {
          pass.pressure = engine.slab_pressure(config.slab_automove_freeratio);
          pass.have_pressure = true;
        }
        pass.target = uint64_t{classes[x].perslab} * pass.pressure.target_pages();
        pass.chunks_free = hooks.free_chunks(x);
      }
    }
    // As storage_write_thread: move COLD tails until a write is refused
    // (the item is not old enough, or its bucket's wbuf is full and being
    // written). A synchronous store never refuses for a full wbuf, so there
    // the loop ends once a write opened a new wbuf.
    while (pass.moving) {
      // The slice is used up: the rest of the pass is the next call's.
      if (options.flusher_slice_bytes != 0 && slice_bytes >= options.flusher_slice_bytes) {
        return now;
      }
      // Low on chunks with no spare pages: push items out regardless of age.
      const uint32_t item_age = pass.chunks_free < pass.target ? 0 : config.item_age;
      bool new_wbuf = false;
      uint32_t ntotal = 0;
      if (write_cold_tail(x, item_age, &new_wbuf, &ntotal) != Move::kMoved) break;
      ++pass.chunks_free;
      ++pass.moved_objects;
      pass.moved_bytes += ntotal;
      slice_bytes += ntotal;
      pass.did_move = true;
      pass.do_sleep = false;
      if (write_sleep > sleep_min) write_sleep /= 2;
      if (new_wbuf && !pass.first) break;
      pass.first = false;
    }
    if (pace_1618) {
      if (!pass.did_move) {
        ++backoff[x];
      } else if (backoff[x] != 0) {
        backoff[x] = 1;
      }
    } else {
      backoff[x] = pass.did_move ? 1 : backoff[x] + 1;
    }
  }
  pass.running = false;

  // The thread was busy this long moving objects (see ExtStoreOptions).
  const Micros busy =
      static_cast<Micros>((pass.moved_objects * options.flusher_ns_per_object +
                           pass.moved_bytes * options.flusher_ns_per_kib / 1024 + 999) /
                          1000);
  if (pace_1618) pass.do_sleep = true;  // 1.6.18's thread sleeps after every pass
  if (!pass.do_sleep) return now + busy;
  // 1.6.20: only back off other classes while at least one class is flushing.
  if (!pace_1618) backoff.fill(1);
  const Micros wake = now + busy + write_sleep;
  ++write_sleep;
  return wake;
}

WriteStatus ExtStore::Impl::request_slot(unsigned bucket, uint32_t len, WriteSlot* slot) {
  WriteStatus st = store->write_request(bucket, bucket, len, slot);
  if (st == WriteStatus::kBusy && reap_flushes(false) > 0) {
    st = store->write_request(bucket, bucket, len, slot);
  }
  return st;
}

ExtStore::Impl::Move ExtStore::Impl::write_cold_tail(uint8_t clsid, uint32_t item_age,
                                                     bool* new_wbuf, uint32_t* moved_ntotal) {
  core::StorageHooks& hooks = engine.hooks();
  const core::ItemHandle handle = hooks.pull_cold_tail(clsid);
  if (handle == core::kNoHandle) return Move::kNotMoved;
  const core::ItemView item = hooks.view(handle);
  const rel_time_t now = hooks.current_time();
  // rel_time_t arithmetic wraps exactly as memcached's unsigned math does.
  if (item.is_header || !(item_age == 0 || static_cast<rel_time_t>(now - item.time) > item_age)) {
    return Move::kNotMoved;
  }
  PageBucket bucket = item.chunked ? PageBucket::kChunked : PageBucket::kDefault;
  // Soon-to-expire items share pages so those pages empty together.
  if (static_cast<rel_time_t>(item.exptime - now) < config.low_ttl) bucket = PageBucket::kLowTtl;

  const auto ntotal = static_cast<uint32_t>(item.ntotal);
  const uint32_t value_len = item.nbytes - 2;
  if (stores_data && uint64_t{storage::kObjectHeaderSize} + item.key.size() + value_len > ntotal) {
    return Move::kNotMoved;  // a phantom key stand-in longer than its accounted length
  }
  WriteSlot slot;
  // The item stays in RAM, untouched, when no slot is handed out.
  const WriteStatus st = request_slot(static_cast<unsigned>(bucket), ntotal, &slot);
  if (st == WriteStatus::kBusy) return Move::kBusy;
  if (st != WriteStatus::kOk) return Move::kNotMoved;
  if (slot.buf != nullptr) {
    storage::ObjectFields fields;
    fields.key = item.key;
    fields.value = item.value;
    fields.value_len = value_len;
    fields.client_flags = item.client_flags;
    fields.exptime = item.exptime;
    fields.time = item.time;
    fields.ntotal = ntotal;
    fields.cas = item.cas;
    fields.chunked = item.chunked;
    storage::encode_object(fields, slot.buf);
  }
  const ExtLocation location{slot.page_id, static_cast<uint32_t>(slot.page_version), slot.offset,
                             ntotal};
  // Taken before the swap frees the RAM item (memcached logs it after).
  EventSink* sink = hooks.logging(log_stream::kEvictions);
  ItemLeaveEvent event;
  std::string key_copy;
  if (sink != nullptr) {
    event = hooks.leave_event(handle);
    event.bucket = static_cast<uint8_t>(bucket);
    key_copy = event.key;
    event.key = key_copy;
  }
  // No memory for the header: the slot is left uncommitted and reused.
  if (!hooks.replace_with_header(handle, location)) return Move::kNotMoved;
  if (sink != nullptr) sink->extstore_write(event);
  store->write_commit(slot);
  *new_wbuf = slot.offset % store->wbuf_size() == 0;
  *moved_ntotal = ntotal;
  return Move::kMoved;
}

}  // namespace memext
