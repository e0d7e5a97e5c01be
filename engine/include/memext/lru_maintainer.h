// memext/lru_maintainer.h — memcached's LRU maintainer thread as a step
// object.
//
// Each step juggles the slab classes whose backoff has elapsed (HOT/WARM
// tails to COLD by size and age caps, active COLD items to WARM, expired
// items reclaimed) and returns when it wants to run next. Per-class backoff
// is memcached's: from 1 ms (MIN_LRU_MAINTAINER_SLEEP) growing by 1/8 while a
// class has nothing to do, up to 1 s (MAX_LRU_MAINTAINER_SLEEP), halved when
// it moved something. Once per engine second (slab_automove=1|2 with
// slab_reassign) it also runs the slab page automover — the extstore
// algorithm when ext_path is set — and requests the move of the page it
// picks, which SlabRebalancer (memext/slab_rebalancer.h) carries out; after
// a decision for the global page pool it asks to run again within 1 ms and
// keeps deciding, as memcached does.
//
// Thread-safety: step() needs the engine to itself (the simulator's one
// thread, or the EngineLock's exclusive side); try_step_beside_readers()
// runs under the lock's mutator side, beside shared gets, as memcached's
// maintainer juggles under per-LRU locks beside its workers' gets. Both
// are called by one driver thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "memext/slabs.h"
#include "memext/time.h"

namespace memext {

class Engine;
namespace core {
class SlabAutomover;
struct JuggleState;
}  // namespace core

inline constexpr Micros kMinLruMaintainerSleep = 1'000;
inline constexpr Micros kMaxLruMaintainerSleep = 1'000'000;

class LruMaintainer {
 public:
  // Iterations of a class's juggle that try_step_beside_readers does per call.
  static constexpr int kJuggleSlice = 64;

  explicit LruMaintainer(Engine& engine, int juggle_slice = kJuggleSlice);
  ~LruMaintainer();
  LruMaintainer(const LruMaintainer&) = delete;
  LruMaintainer& operator=(const LruMaintainer&) = delete;

  // Does one pass at driver time `now` (microseconds) and returns the
  // absolute time of the next wanted pass. The engine's current_time
  // (seconds) is the driver's to keep up to date.
  Micros step(Micros now);
  // step() beside shared gets: the same pass, after applying the COLD ->
  // WARM moves gets queued, its juggles in slices of `juggle_slice`
  // iterations (ItemStore::try_juggle_some_concurrent). Returns `now` when
  // a juggle has more to do: call again (after letting go of the mutator
  // side; a pass in slices makes the moves of one in a single call).
  // nullopt when part of the pass is the exclusive side's (a watcher, a
  // full retired list, a flash header whose unlink would empty its page,
  // the automover due): the caller then calls step(now) under the
  // exclusive side, which does what is left.
  // Precondition: the EngineLock's mutator side is held.
  std::optional<Micros> try_step_beside_readers(Micros now);

  uint64_t juggles() const { return juggles_; }
  // Runs of the slab automover so far.
  uint64_t automove_runs() const { return automove_runs_; }

 private:
  std::optional<Micros> run(Micros now, bool beside_readers);
  // Returns true when the automover wants to run again at once (dst 0).
  bool run_automove();

  Engine& engine_;
  std::array<Micros, kMaxSlabClasses> next_juggle_{};
  std::array<Micros, kMaxSlabClasses> backoff_{};
  const int juggle_slice_;
  // A pass beside readers that stopped at a slice: the class it goes on
  // from (0: none) and the sleep its classes so far asked for.
  uint32_t resume_class_ = 0;
  Micros resume_to_sleep_ = 0;
  // The juggle of resume_class_ that a slice stopped in (one at a time).
  std::unique_ptr<core::JuggleState> juggling_;
  uint64_t juggles_ = 0;
  std::unique_ptr<core::SlabAutomover> automover_;
  rel_time_t last_automove_check_ = 0;
  uint64_t automove_runs_ = 0;
};

}  // namespace memext
