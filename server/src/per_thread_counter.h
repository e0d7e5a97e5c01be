// server/src/per_thread_counter.h — a statistics counter that many worker
// threads bump on every request (bytes_read, bytes_written, ...): memcached
// keeps these in each worker thread's stats, summed when `stats` is read.
// Here each thread adds to a stripe of its own (a cache line apart), so two
// workers never write the same line; load() adds the stripes. The interface
// is std::atomic's fetch_add/load, so call sites read as before.
//
// Thread-safety: fetch_add and load from any thread (relaxed atomics: the
// counts are statistics; a load beside adds sees some of them). Threads
// beyond kStripes share stripes, which stays exact.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace memext::server {

class PerThreadCounter {
 public:
  static constexpr unsigned kStripes = 16;

  PerThreadCounter() : stripes_(std::make_unique<Stripe[]>(kStripes)) {}

  void fetch_add(uint64_t n, std::memory_order = std::memory_order_relaxed) {
    stripes_[stripe_of_this_thread()].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t load(std::memory_order = std::memory_order_relaxed) const {
    uint64_t total = 0;
    for (unsigned i = 0; i < kStripes; ++i) {
      total += stripes_[i].value.load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<uint64_t> value{0};
  };
  static unsigned stripe_of_this_thread() {
    static std::atomic<unsigned> next{0};
    thread_local const unsigned index = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return index;
  }

  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace memext::server
