// The concurrency tests' writer and reader: a store and a RAM get as
// memext-server makes them (server/src/engine_store.cc, the workers' gets),
// beside each other.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

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

// A get with its COLD -> WARM move deferred: Engine::try_get_shared under
// the shared side, else Engine::get under the exclusive side. Returns
// whether it hit in RAM, with the value copied into `copied` before the
// lock is released; counts the gets the shared side served in
// `shared_served` when given.
inline bool get_like_server(Engine& engine, EngineLock& lock, const std::string& key,
                            std::string& copied, std::atomic<uint64_t>* shared_served = nullptr) {
  GetOptions options;
  options.defer_relink = true;
  {
    std::shared_lock held(lock);
    if (std::optional<GetResult> r = engine.try_get_shared(key, options)) {
      if (shared_served != nullptr) shared_served->fetch_add(1, std::memory_order_relaxed);
      copied.assign(r->value);
      return r->source == HitSource::kRam;
    }
  }
  std::lock_guard exclusive(lock);
  const GetResult g = engine.get(key, options);
  copied.assign(g.value);
  return g.source == HitSource::kRam;
}

}  // namespace memext::testing
