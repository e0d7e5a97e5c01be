// memext/lru_maintainer.h — memcached's LRU maintainer thread as a step
// object.
//
// Each step juggles the slab classes whose backoff has elapsed (HOT/WARM
// tails to COLD by size and age caps, active COLD items to WARM, expired
// items reclaimed) and returns when it wants to run next. Per-class backoff
// is memcached's: from 1 ms (MIN_LRU_MAINTAINER_SLEEP) growing by 1/8 while a
// class has nothing to do, up to 1 s (MAX_LRU_MAINTAINER_SLEEP), halved when
// it moved something. Not thread-safe; drive it on the engine's thread.
#pragma once

#include <array>
#include <cstdint>

#include "memext/slabs.h"
#include "memext/time.h"

namespace memext {

class Engine;

inline constexpr Micros kMinLruMaintainerSleep = 1'000;
inline constexpr Micros kMaxLruMaintainerSleep = 1'000'000;

class LruMaintainer {
 public:
  explicit LruMaintainer(Engine& engine);

  // Does one pass at driver time `now` (microseconds) and returns the
  // absolute time of the next wanted pass. The engine's current_time
  // (seconds) is the driver's to keep up to date.
  Micros step(Micros now);

  uint64_t juggles() const { return juggles_; }

 private:
  Engine& engine_;
  std::array<Micros, kMaxSlabClasses> next_juggle_{};
  std::array<Micros, kMaxSlabClasses> backoff_{};
  uint64_t juggles_ = 0;
};

}  // namespace memext
