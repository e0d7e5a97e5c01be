#include "memext/slab_rebalancer.h"

#include "core/item_store.h"
#include "core/page_mover.h"
#include "memext/engine.h"

namespace memext {

SlabRebalancer::SlabRebalancer(Engine& engine) : engine_(engine) {}

Micros SlabRebalancer::step(Micros now) {
  ++steps_;
  core::PageMover mover(engine_.internals());
  switch (mover.step(kRebalanceChunksPerStep)) {
    case core::PageMover::Progress::kMore:
      return now;
    case core::PageMover::Progress::kBusy:
      return now + 1'000;
    case core::PageMover::Progress::kIdle:
      break;
  }
  return kRebalancerIdle;
}

bool SlabRebalancer::wants_to_run() const {
  return core::PageMover(engine_.internals()).pending();
}

}  // namespace memext
