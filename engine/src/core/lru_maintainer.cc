#include "memext/lru_maintainer.h"

#include <algorithm>
#include <cassert>

#include "core/item_store.h"
#include "core/slab_automove.h"
#include "core/storage_hooks.h"
#include "memext/engine.h"

namespace memext {

namespace {

core::AutomoveSample sample_slabs(Engine& engine) {
  core::AutomoveSample sample;
  core::StorageHooks(engine).fill_automove_sample(sample);
  return sample;
}

}  // namespace

LruMaintainer::LruMaintainer(Engine& engine, int juggle_slice)
    : engine_(engine),
      juggle_slice_(juggle_slice),
      juggling_(std::make_unique<core::JuggleState>()) {
  assert(juggle_slice > 0);
  // As memcached's maintainer thread: the automover exists whenever pages may
  // move, and runs while slab_automove (which `slabs automove` changes) is on.
  const EngineConfig& config = engine_.internals().config();
  if (config.slab_reassign) {
    const auto algorithm = config.ext.enabled() ? core::SlabAutomover::Algorithm::kExtstore
                                                : core::SlabAutomover::Algorithm::kDefault;
    automover_ = std::make_unique<core::SlabAutomover>(algorithm, config, sample_slabs(engine_));
  }
}

LruMaintainer::~LruMaintainer() = default;

bool LruMaintainer::run_automove() {
  core::ItemStore& store = engine_.internals();
  ++automove_runs_;
  const core::AutomoveDecision decision = automover_->run(sample_slabs(engine_));
  if (decision.wants_move()) {
    // As memcached's slabs_reassign: the rebalancer carries the move out; a
    // request while one is under way is refused and the decision dropped.
    core::StorageHooks(engine_).slab_allocator().request_move(decision.src, decision.dst);
  }
  // A page back to the global pool: memcached keeps deciding without waiting
  // for the next second.
  if (decision.dst != 0) {
    last_automove_check_ = store.now();
    return false;
  }
  return true;
}

Micros LruMaintainer::step(Micros now) {
  const std::optional<Micros> next = run(now, false);
  assert(next.has_value());
  return *next;
}

std::optional<Micros> LruMaintainer::try_step_beside_readers(Micros now) {
  return run(now, true);
}

std::optional<Micros> LruMaintainer::run(Micros now, bool beside_readers) {
  core::ItemStore& store = engine_.internals();
  // Once per engine second at most. The automover samples every class and
  // may request a page move: left to the exclusive side.
  const bool automove_due =
      automover_ && store.config().slab_automove != 0 && last_automove_check_ != store.now();
  if (beside_readers && automove_due) return std::nullopt;
  // A pass whose juggle stopped at a slice goes on from that class; the
  // exclusive side's pass starts over (the moves made stand).
  uint32_t first = 1;
  Micros to_sleep = kMaxLruMaintainerSleep;
  if (beside_readers && resume_class_ != 0) {
    first = resume_class_;
    to_sleep = resume_to_sleep_;
  } else {
    *juggling_ = {};
  }
  resume_class_ = 0;
  // The COLD -> WARM moves gets queued, as memcached's maintainer applies
  // its bump buffers each pass (the exclusive side applies them on entry).
  if (beside_readers && store.apply_deferred_bumps_beside_readers() != 0) {
    to_sleep = kMinLruMaintainerSleep;
  }
  const uint32_t largest = store.classes().largest();
  for (uint32_t id = first; id <= largest; ++id) {
    if (next_juggle_[id] > now) {
      to_sleep = std::min(to_sleep, next_juggle_[id] - now);
      continue;
    }
    int moves = 0;
    // Fresh, unless this is the class a slice stopped in.
    core::JuggleState& juggling = *juggling_;
    assert(!juggling.started || id == first);
    if (beside_readers) {
      // A decline leaves this class due: step() juggles it and the rest.
      if (!store.try_juggle_some_concurrent(id, juggling, juggle_slice_)) {
        juggling = {};
        return std::nullopt;
      }
      // The rest of this class's juggle at once, in the next call: between
      // the two the caller lets go of the mutator side, so a set or an
      // exclusive holder waits one slice, not a whole juggle.
      if (!juggling.done) {
        resume_class_ = id;
        resume_to_sleep_ = to_sleep;
        return now;
      }
      moves = juggling.moves;
    } else {
      // A juggle begun beside readers is redone whole (the moves it made stand).
      moves = store.juggle(id);
    }
    juggling = {};
    Micros& backoff = backoff_[id];
    if (moves == 0) {
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
  store.count_juggle();
  ++juggles_;
  // Unless the last run reclaimed a page.
  if (automove_due && run_automove()) to_sleep = kMinLruMaintainerSleep;
  // memcached counts a zero sleep as 1 ms; a step never asks for less.
  return now + std::max(to_sleep, kMinLruMaintainerSleep);
}

}  // namespace memext
