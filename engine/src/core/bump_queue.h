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
// share one, reserving slots with a compare-exchange). drain() and
// pending() run under the exclusive side: no push can run then, and the
// lock's handoff orders every earlier push before them. drain_beside_pushes()
// runs under the mutator side (the LRU maintainer's pass, as memcached's
// maintainer drains its bump buffers): it closes each stripe to pushes
// (they fail with kClosed) while it reads what the stripe holds, waiting
// for a push that reserved a slot to fill it, then reopens it.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>

#include "core/spin_wait.h"

namespace memext::core {

class BumpQueue {
 public:
  static constexpr unsigned kStripes = 16;
  // Per stripe; memcached's bump buffer holds 8 KB of entries. A full
  // stripe makes the get decline to the exclusive side (which drains).
  static constexpr uint32_t kCapacity = 256;

  BumpQueue() : stripes_(std::make_unique<Stripe[]>(kStripes)) {}

  enum class Push : uint8_t {
    kQueued,
    kFull,    // the calling thread's stripe holds kCapacity entries
    kClosed,  // drain_beside_pushes is reading the stripe (never on one thread)
  };
  // Records item n on the calling thread's stripe.
  Push push(uint32_t n) {
    Stripe& stripe = mine();
    uint32_t slot = stripe.used.load(std::memory_order_relaxed);
    do {
      if (slot >= kCapacity) return slot == kClosed ? Push::kClosed : Push::kFull;
    } while (!stripe.used.compare_exchange_weak(slot, slot + 1, std::memory_order_relaxed));
    // n + 1: a zero entry is a reserved slot not filled yet.
    stripe.items[slot].store(n + 1, std::memory_order_release);
    if (!pending_.load(std::memory_order_relaxed)) pending_.store(true, std::memory_order_relaxed);
    return Push::kQueued;
  }

  // Precondition: the exclusive side is held (or no thread pushes).
  bool pending() const { return pending_.load(std::memory_order_relaxed); }

  // Calls apply(n) for every queued item, a thread's items in the order it
  // queued them, and empties the queue. Precondition: as pending().
  template <class Apply>
  void drain(Apply&& apply) {
    if (!pending()) return;
    for (unsigned s = 0; s < kStripes; ++s)
      take(stripes_[s], stripes_[s].used.load(std::memory_order_relaxed), apply);
    pending_.store(false, std::memory_order_relaxed);
  }

  // drain() beside pushes; returns how many it applied. pending() stays as
  // it was (a push may be setting it): drain() clears it. Precondition: the
  // mutator side is held (one drainer at a time).
  template <class Apply>
  uint32_t drain_beside_pushes(Apply&& apply) {
    if (!pending_.load(std::memory_order_relaxed)) return 0;
    uint32_t applied = 0;
    for (unsigned s = 0; s < kStripes; ++s) {
      Stripe& stripe = stripes_[s];
      if (stripe.used.load(std::memory_order_relaxed) == 0) continue;
      applied += take(stripe, stripe.used.exchange(kClosed, std::memory_order_acquire), apply);
    }
    return applied;
  }

 private:
  // Stripe::used while drain_beside_pushes reads the stripe.
  static constexpr uint32_t kClosed = kCapacity + 1;
  struct alignas(64) Stripe {
    std::atomic<uint32_t> used{0};
    std::array<std::atomic<uint32_t>, kCapacity> items{};
  };
  Stripe& mine();

  // Applies the first `used` entries of a stripe nothing pushes to (closed
  // by drain_beside_pushes, or the exclusive side), then empties and
  // reopens it.
  template <class Apply>
  static uint32_t take(Stripe& stripe, uint32_t used, Apply& apply) {
    assert(used <= kCapacity);
    for (uint32_t i = 0; i < used; ++i) {
      uint32_t entry;
      // A push that reserved the slot is inside its shared hold, a store
      // away from filling it, unless it was preempted right there: then
      // give it the CPU.
      for (unsigned spins = 0; (entry = stripe.items[i].load(std::memory_order_acquire)) == 0;
           ++spins) {
        pause_or_yield(spins, 1024);
      }
      stripe.items[i].store(0, std::memory_order_relaxed);
      apply(entry - 1);
    }
    stripe.used.store(0, std::memory_order_release);
    return used;
  }

  std::unique_ptr<Stripe[]> stripes_;
  alignas(64) std::atomic<bool> pending_{false};
};

}  // namespace memext::core
