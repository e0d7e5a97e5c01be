#include "memext/lru_maintainer.h"

#include <algorithm>

#include "core/item_store.h"
#include "memext/engine.h"

namespace memext {

LruMaintainer::LruMaintainer(Engine& engine) : engine_(engine) {}

Micros LruMaintainer::step(Micros now) {
  core::ItemStore& store = engine_.internals();
  store.count_juggle();
  ++juggles_;
  Micros to_sleep = kMaxLruMaintainerSleep;
  const uint32_t largest = store.classes().largest();
  for (uint32_t id = 1; id <= largest; ++id) {
    if (next_juggle_[id] > now) {
      to_sleep = std::min(to_sleep, next_juggle_[id] - now);
      continue;
    }
    Micros& backoff = backoff_[id];
    if (store.juggle(id) == 0) {
      // Nothing to do: back off by 1/8 per idle pass, from 1 ms to 1 s.
      backoff = backoff != 0 ? backoff + backoff / 8 : kMinLruMaintainerSleep;
      backoff = std::min(backoff, kMaxLruMaintainerSleep);
    } else if (backoff > 0) {
      backoff /= 2;
      if (backoff < kMinLruMaintainerSleep) backoff = 0;
    }
    next_juggle_[id] = now + backoff;
    to_sleep = std::min(to_sleep, backoff);
  }
  // memcached counts a zero sleep as 1 ms; a step never asks for less.
  return now + std::max(to_sleep, kMinLruMaintainerSleep);
}

}  // namespace memext
