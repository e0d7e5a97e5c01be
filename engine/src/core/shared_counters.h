// core/shared_counters.h — the counters a get bumps when it runs under the
// shared side of the EngineLock (ItemStore::try_get_shared): cmd_get,
// get_misses, per-class get_hits and per-LRU hits. Each thread adds to a
// stripe of its own (a cache line apart from the others') with relaxed
// atomics, so concurrent readers never write a shared line; stats() adds
// the stripes to the exclusive path's plain counters. Single-threaded
// drivers (the simulator) never touch them: their counts stay in the plain
// counters, and every stripe stays zero.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "memext/slabs.h"

namespace memext::core {

class SharedGetCounters {
 public:
  static constexpr unsigned kStripes = 16;
  static constexpr unsigned kLruIds = kMaxSlabClasses * 4;  // kLruSegments per class

  struct alignas(64) Stripe {
    std::atomic<uint64_t> cmd_get{0};
    std::atomic<uint64_t> get_misses{0};
    std::array<std::atomic<uint64_t>, kMaxSlabClasses> class_get_hits{};
    std::array<std::atomic<uint64_t>, kLruIds> lru_hits{};
  };

  SharedGetCounters() : stripes_(std::make_unique<Stripe[]>(kStripes)) {}

  // The calling thread's stripe; threads beyond kStripes share stripes
  // (still exact: the adds are atomic).
  Stripe& mine() const;

  static void add(std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t cmd_get() const {
    return sum([](const Stripe& s) -> auto& { return s.cmd_get; });
  }
  uint64_t get_misses() const {
    return sum([](const Stripe& s) -> auto& { return s.get_misses; });
  }
  uint64_t class_get_hits(uint32_t clsid) const {
    return sum([clsid](const Stripe& s) -> auto& { return s.class_get_hits[clsid]; });
  }
  uint64_t lru_hits(uint32_t lru) const {
    return sum([lru](const Stripe& s) -> auto& { return s.lru_hits[lru]; });
  }

 private:
  template <class Field>
  uint64_t sum(Field field) const {
    uint64_t total = 0;
    for (unsigned i = 0; i < kStripes; ++i) {
      total += field(stripes_[i]).load(std::memory_order_relaxed);
    }
    return total;
  }

  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace memext::core

namespace memext::core {

// The calling thread's stripe number for StripedCounters (round-robin over
// threads, fixed for a thread's life).
inline unsigned this_thread_stripe(unsigned stripes) {
  static std::atomic<unsigned> next{0};
  thread_local const unsigned index = next.fetch_add(1, std::memory_order_relaxed);
  return index % stripes;
}

// N counters that other modules bump under the shared side of the EngineLock
// (the page store's read counts, extstore's flash gets): the same striping
// as SharedGetCounters, by index instead of by name. The exclusive side
// keeps its own plain counters and adds sum(i) when it reports them.
template <size_t N>
class StripedCounters {
 public:
  static constexpr unsigned kStripes = 16;

  StripedCounters() : stripes_(std::make_unique<Stripe[]>(kStripes)) {}

  void add(size_t i, uint64_t n = 1) {
    stripes_[this_thread_stripe(kStripes)].values[i].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t sum(size_t i) const {
    uint64_t total = 0;
    for (unsigned s = 0; s < kStripes; ++s) {
      total += stripes_[s].values[i].load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<uint64_t>, N> values{};
  };
  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace memext::core
