// flash/page_pins.h — the page store's page pins (device reads in flight),
// striped by thread. A pin or an unpin writes one counter on the calling
// thread's stripe, a line apart from the other stripes and from the pages'
// own fields, so device reads of the same pages on two cores move no line
// between them: with the pin in the page record, every flash get wrote the
// line that every other flash get of that page reads (twice: pin, unpin).
// count() sums a page's stripes; only the exclusive side asks (whether a
// page may be freed), when no pin can change (see memext/pagestore.h).
//
// Thread-safety: pin and unpin from any thread at once (relaxed atomic
// adds; the EngineLock orders them against count()). Threads beyond
// kStripes share stripes, which stays exact.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>

#include "core/shared_counters.h"

namespace memext {

class PagePins {
 public:
  static constexpr unsigned kStripes = 16;

  explicit PagePins(uint32_t pages)
      : pages_(pages),
        stride_((pages + kPerLine - 1) / kPerLine * kPerLine),
        counters_(std::make_unique<Line[]>(size_t{kStripes} * stride_ / kPerLine)) {}

  // Pins `page` on the calling thread's stripe; returns the stripe, which
  // the matching unpin names (it may run on another thread).
  uint8_t pin(uint32_t page) {
    const auto stripe = static_cast<uint8_t>(core::this_thread_stripe(kStripes));
    counter(stripe, page).fetch_add(1, std::memory_order_relaxed);
    return stripe;
  }
  // Precondition: a pin of `page` on `stripe` not yet dropped.
  void unpin(uint32_t page, uint8_t stripe) {
    const uint32_t before = counter(stripe, page).fetch_sub(1, std::memory_order_relaxed);
    assert(before > 0);
    (void)before;
  }
  // Drops a pin of `page` on `stripe` if that stripe holds one (the
  // exclusive finish of a read whose plan may not have pinned).
  void unpin_if_pinned(uint32_t page, uint8_t stripe) {
    std::atomic<uint32_t>& c = counter(stripe, page);
    if (c.load(std::memory_order_relaxed) > 0) c.fetch_sub(1, std::memory_order_relaxed);
  }
  uint32_t count(uint32_t page) const {
    uint32_t total = 0;
    for (unsigned s = 0; s < kStripes; ++s) {
      total += counter(static_cast<uint8_t>(s), page).load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  static constexpr uint32_t kPerLine = 64 / sizeof(std::atomic<uint32_t>);
  struct alignas(64) Line {
    std::atomic<uint32_t> values[kPerLine]{};
  };

  std::atomic<uint32_t>& counter(uint8_t stripe, uint32_t page) const {
    assert(stripe < kStripes && page < pages_);
    const size_t i = size_t{stripe} * stride_ + page;
    return counters_[i / kPerLine].values[i % kPerLine];
  }

  uint32_t pages_;
  uint32_t stride_;  // counters per stripe: the page count rounded up to whole lines
  std::unique_ptr<Line[]> counters_;
};

}  // namespace memext
