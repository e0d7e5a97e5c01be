// The segmented LRU's tail walk and the maintainer's per-class juggle
// (memcached's lru_pull_tail and lru_maintainer_juggle).
#include "core/item_store.h"

#include <cassert>
#include <limits>

namespace memext::core {

namespace {

// memcached's bound on lru_maintainer_juggle's loops.
constexpr int kJuggleIterations = 500;

// The juggle's hot/warm age limit: the COLD tail's age times a factor,
// saturated, because an age near the clock's range (a replay decades long)
// times a factor above 1 does not fit a rel_time_t.
rel_time_t scaled_age(rel_time_t age, double factor) {
  const double scaled = static_cast<double>(age) * factor;
  constexpr auto kMax = std::numeric_limits<rel_time_t>::max();
  return scaled >= static_cast<double>(kMax) ? kMax : static_cast<rel_time_t>(scaled);
}

}  // namespace

int ItemStore::pull_tail(uint32_t clsid, LruSegment segment, uint64_t total_bytes, uint8_t flags,
                         rel_time_t max_age, uint32_t* returned) {
  // Precondition: deferred bumps applied (apply_deferred_bumps), unless a
  // concurrent store runs beside the shared gets that queue them.
  assert(concurrent_ || !bumps_.pending());
  if (clsid == 0) return 0;
  const uint32_t id = lru_id(clsid, segment);
  LruCounters& stats = lru_counters_[id];
  int removed = 0;
  uint32_t stop = kNoItem;
  bool move = false;
  LruSegment move_to = LruSegment::kCold;
  uint64_t limit = 0;
  uint32_t next_up = kNoItem;

  // Walks up from the tail only past items in use or expired ones.
  int tries = 5;
  for (uint32_t search = lrus_[id].tail; tries > 0 && search != kNoItem;
       --tries, search = next_up) {
    Item& it = item(search);
    next_up = it.prev;
    if (is_pinned(search)) {
      stats.lrutail_reflocked++;
      continue;
    }
    const uint8_t it_flags = flags_of(it);
    const bool expired = (it.exptime != 0 && it.exptime < now_) || is_flushed(it);
    // A header's unlink that would empty its flash page changes state that
    // shared flash reads use: only the exclusive side may do it.
    if (concurrent_ && (it_flags & kHdr) && (expired || (flags & kPullEvict)) &&
        !unlink_beside_readers(search)) {
      declined_ = true;
      return removed;
    }
    // Records unlinked beside readers wait in retired_; past its bound
    // only the exclusive side may unlink (it recycles them first).
    if (concurrent_ && (expired || (flags & kPullEvict)) && retired_full()) {
      declined_ = true;
      return removed;
    }
    if (expired) {
      stats.reclaimed++;
      if (!(it_flags & kFetched)) stats.expired_unfetched++;
      unlink(search);
      removed++;
      continue;
    }
    bool evicted = false;
    switch (segment) {
      case LruSegment::kHot:
        limit = total_bytes * config_.hot_lru_pct / 100;
        [[fallthrough]];
      case LruSegment::kWarm:
        if (limit == 0) limit = total_bytes * config_.warm_lru_pct / 100;
        if (it_flags & kActive) {
          clear_flags(it, kActive);
          removed++;
          if (segment == LruSegment::kWarm) {
            stats.moves_within_lru++;
            unlink_q(search);
            link_q(search);
          } else {
            stats.moves_to_warm++;
            move = true;
            move_to = LruSegment::kWarm;
            unlink_q(search);
            stop = search;
          }
        } else if (lrus_[id].bytes > limit || now_ - time_of(it) > max_age) {
          stats.moves_to_cold++;
          move = true;
          move_to = LruSegment::kCold;
          unlink_q(search);
          stop = search;
          removed++;
        } else {
          stop = search;
        }
        break;
      case LruSegment::kCold:
        stop = search;
        if (flags & kPullEvict) {
          if (!config_.evict_to_free) break;
          stats.evicted++;
          stats.evicted_time = now_ - time_of(it);
          if (it.exptime != 0) stats.evicted_nonzero++;
          if (!(it_flags & kFetched)) stats.evicted_unfetched++;
          if (it_flags & kActive) stats.evicted_active++;
          if (EventSink* sink = logging(log_stream::kEvictions))
            sink->eviction(leave_event(search));
          unlink(search);
          removed++;
          evicted = true;
        } else if (flags & kPullReturnItem) {
          *returned = search;
        } else if ((it_flags & kActive) && config_.lru_segmented) {
          stats.moves_to_warm++;
          clear_flags(it, kActive);
          move = true;
          move_to = LruSegment::kWarm;
          unlink_q(search);
          removed++;
        }
        break;
      case LruSegment::kTemp:
        stop = search;
        break;
    }
    if (evicted) return removed;
    if (stop != kNoItem) break;
  }
  if (stop != kNoItem && move) {
    set_lru(item(stop), move_to);
    link_q(stop);
  }
  return removed;
}

int ItemStore::juggle(uint32_t clsid) {
  JuggleState state;
  juggle_some(clsid, state, std::numeric_limits<int>::max());
  return state.moves;
}

void ItemStore::juggle_some(uint32_t clsid, JuggleState& state, int max_iterations) {
  // Precondition: a juggle not over.
  assert(!state.done);
  if (!state.started) {
    state.started = true;
    if (config_.temp_lru) {
      // Only reclaims happen in TEMP; run before sizing the other LRUs.
      for (int i = 0; i < kJuggleIterations && !declined_; ++i) {
        if (pull_tail(clsid, LruSegment::kTemp, 0, 0, 0, nullptr) <= 0) break;
        state.moves++;
      }
    }
    if (config_.lru_segmented) {
      const LruList& cold = lrus_[lru_id(clsid, LruSegment::kCold)];
      rel_time_t cold_age = 0;
      if (cold.tail != kNoItem) cold_age = now_ - time_of(item(cold.tail));
      state.total_bytes = cold.bytes + lrus_[lru_id(clsid, LruSegment::kHot)].bytes +
                          lrus_[lru_id(clsid, LruSegment::kWarm)].bytes;
      state.hot_age = scaled_age(cold_age, config_.hot_max_factor);
      state.warm_age = scaled_age(cold_age, config_.warm_max_factor);
    }
  }
  for (int slice = 0; slice < max_iterations && !declined_; ++slice) {
    if (state.iterations == kJuggleIterations) break;
    state.iterations++;
    int do_more = 0;
    if (pull_tail(clsid, LruSegment::kHot, state.total_bytes, 0, state.hot_age, nullptr) ||
        pull_tail(clsid, LruSegment::kWarm, state.total_bytes, 0, state.warm_age, nullptr)) {
      do_more++;
    }
    if (config_.lru_segmented) {
      do_more += pull_tail(clsid, LruSegment::kCold, state.total_bytes, 0, 0, nullptr);
    }
    if (do_more == 0) {
      state.done = true;
      return;
    }
    state.moves++;
  }
  if (state.iterations == kJuggleIterations) state.done = true;
}

bool ItemStore::try_juggle_some_concurrent(uint32_t clsid, JuggleState& state, int max_iterations) {
  // What a concurrent store may do, a juggle may: moves between segments
  // (links no shared get reads; the segment and ACTIVE bit written
  // atomically) and unlinks that retire their record.
  return may_run_beside_readers() &&
         run_beside_readers([&] { juggle_some(clsid, state, max_iterations); });
}

}  // namespace memext::core
