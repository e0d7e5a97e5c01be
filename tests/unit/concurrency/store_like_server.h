// The concurrency tests' writer: a store as memext-server makes it
// (server/src/engine_store.cc), beside readers on the shared side.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "memext/engine.h"
#include "memext/engine_lock.h"

namespace memext::testing {

// The buffer built before any lock, then Engine::try_store_concurrent under
// the mutator side, else Engine::store under the exclusive side; counts the
// stores that ran concurrently in `concurrent_stores`.
inline StoreOutcome store_like_server(Engine& engine, EngineLock& lock, const StoreRequest& request,
                                      std::atomic<uint64_t>& concurrent_stores) {
  PreparedStore prepared = engine.prepare_store(request);
  lock.lock_mutator();
  std::optional<StoreOutcome> outcome = engine.try_store_concurrent(request, prepared);
  lock.unlock_mutator();
  if (outcome) {
    concurrent_stores.fetch_add(1);
    return *outcome;
  }
  std::lock_guard exclusive(lock);
  return engine.store(request, prepared);
}

}  // namespace memext::testing
