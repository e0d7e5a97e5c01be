// engine_store.h — the one way a worker runs a store command on the shared
// engine: the item's buffer built before any lock, the store tried beside
// the shared gets (EngineLock's mutator side), and repeated under the
// exclusive side only when the engine declines it there.
#pragma once

#include "memext/engine.h"

namespace memext::server {

struct SharedEngine;

// Precondition: the caller holds no side of engine.mutex.
StoreOutcome store_on_engine(SharedEngine& engine, const StoreRequest& request);

}  // namespace memext::server
