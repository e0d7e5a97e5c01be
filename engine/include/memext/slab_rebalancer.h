// memext/slab_rebalancer.h — memcached's slab rebalancer thread as a step
// object: it carries out the page moves that `slabs reassign`
// (memext/tuning.h) and the slab automover (LruMaintainer) request.
//
// A request only records the move (memcached's slab_rebalance_signal); the
// steps then walk the source class's first page a slice at a time, rescuing
// its live items into free chunks of the class elsewhere, evicting those
// that find none, and hand the page to the destination class or the global
// page pool (see core/page_mover.h for what happens to each chunk). While a
// move is under way `stats` shows slab_reassign_running 1 and a further
// request is refused (BUSY). Not thread-safe; drive it on the engine's
// thread, or under whatever serializes the engine.
#pragma once

#include <cstdint>

#include "memext/time.h"

namespace memext {

class Engine;

// step()'s answer when no move is requested: the driver decides how soon to
// look again (the server polls, the simulator re-arms after a maintainer step).
inline constexpr Micros kRebalancerIdle = UINT64_MAX;
// Chunks of the page looked at per step: keeps one step's hold of the engine
// short (memcached takes its locks for slab_bulk_check = 1 chunk at a time).
inline constexpr uint32_t kRebalanceChunksPerStep = 256;

class SlabRebalancer {
 public:
  explicit SlabRebalancer(Engine& engine);

  // Does one slice of the requested or running move at driver time `now`
  // (microseconds) and returns when it wants to run next: `now` while the
  // page is being walked, now + 1 ms after a slice that met busy items
  // (memcached's usleep(1000)), kRebalancerIdle once nothing is pending.
  Micros step(Micros now);

  // A move has been requested or is under way.
  bool wants_to_run() const;

  // Steps run so far (moves are counted in the engine's stats).
  uint64_t steps() const { return steps_; }

 private:
  Engine& engine_;
  uint64_t steps_ = 0;
};

}  // namespace memext
