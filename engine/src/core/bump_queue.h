// core/bump_queue.h — the relinks that gets under the shared side of the
// EngineLock leave for the exclusive side: memcached's per-thread LRU bump
// buffer (lru_bump_buf, filled by lru_bump_async, drained by the LRU
// maintainer). A second hit on a COLD item must move it to WARM, which
// rewrites LRU links other readers walk; under the shared side the get only
// marks the item ACTIVE (as memcached does before queueing it) and records
// its number here. Whoever next takes the exclusive side applies every
// queued relink before anything else runs (EngineLock's on-exclusive hook,
// Engine::apply_deferred_bumps), so no exclusive operation, stats call or
// background step ever sees a queued bump, and a get that finds one still
// queued (COLD and ACTIVE) declines to the exclusive side.
//
// Thread-safety: push() runs under the shared side, on any number of
// threads; each thread writes a stripe of its own (threads beyond kStripes
// share one, reserving slots with an atomic add). drain() and pending() run
// under the exclusive side: no push can run then, and the lock's handoff
// orders every earlier push before them.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>

namespace memext::core {

class BumpQueue {
 public:
  static constexpr unsigned kStripes = 16;
  // Per stripe; memcached's bump buffer holds 8 KB of entries. A full
  // stripe makes the get decline to the exclusive side (which drains).
  static constexpr uint32_t kCapacity = 256;

  BumpQueue() : stripes_(std::make_unique<Stripe[]>(kStripes)) {}

  // Records item n on the calling thread's stripe; false when it is full.
  bool push(uint32_t n) {
    Stripe& stripe = mine();
    const uint32_t slot = stripe.used.fetch_add(1, std::memory_order_relaxed);
    if (slot >= kCapacity) {
      stripe.used.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    stripe.items[slot] = n;
    if (!pending_.load(std::memory_order_relaxed)) pending_.store(true, std::memory_order_relaxed);
    return true;
  }

  // Precondition: the exclusive side is held (or no thread pushes).
  bool pending() const { return pending_.load(std::memory_order_relaxed); }

  // Calls apply(n) for every queued item, a thread's items in the order it
  // queued them, and empties the queue. Precondition: as pending().
  template <class Apply>
  void drain(Apply&& apply) {
    if (!pending()) return;
    for (unsigned s = 0; s < kStripes; ++s) {
      Stripe& stripe = stripes_[s];
      const uint32_t used = stripe.used.load(std::memory_order_relaxed);
      assert(used <= kCapacity);
      for (uint32_t i = 0; i < used; ++i) apply(stripe.items[i]);
      stripe.used.store(0, std::memory_order_relaxed);
    }
    pending_.store(false, std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<uint32_t> used{0};
    std::array<uint32_t, kCapacity> items{};
  };
  Stripe& mine();

  std::unique_ptr<Stripe[]> stripes_;
  alignas(64) std::atomic<bool> pending_{false};
};

}  // namespace memext::core
