#include "engine_store.h"

#include <optional>

#include "lock_holds.h"
#include "server_context.h"

namespace memext::server {

StoreOutcome store_on_engine(SharedEngine& engine, const StoreRequest& request) {
  // What the store frees is released when `prepared` dies, after the lock.
  PreparedStore prepared = engine.engine.prepare_store(request);
  {
    // Stores run one at a time: the key's lines come in before that.
    SharedSection warm(engine.mutex, Holder::kSetWarm);
    engine.engine.warm_lookup(request.key);
  }
  {
    MutatorSection lock(engine.mutex, Holder::kSetConcurrent);
    if (std::optional<StoreOutcome> outcome =
            engine.engine.try_store_concurrent(request, prepared)) {
      return *outcome;
    }
  }
  ExclusiveSection lock(engine.mutex, Holder::kSet);
  return engine.engine.store(request, prepared);
}

}  // namespace memext::server
