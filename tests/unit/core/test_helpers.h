// Shared helpers for the core engine tests.
#pragma once

#include <string>
#include <vector>

#include "core/storage_hooks.h"
#include "memext/engine.h"

namespace memext::testing {

inline EngineConfig small_config(uint64_t megabytes = 64) {
  EngineConfig config;
  config.memory_limit = megabytes << 20;
  config.process_started = 1'700'000'000;
  return config;
}

inline StoreRequest store_request(StoreMode mode, std::string_view key, std::string_view value,
                                  uint64_t cas = 0, uint32_t flags = 0, int64_t exptime = 0) {
  StoreRequest request;
  request.mode = mode;
  request.key = key;
  request.value = value;
  request.value_len = static_cast<uint32_t>(value.size());
  request.cas = cas;
  request.client_flags = flags;
  request.exptime = exptime;
  return request;
}

inline StoreOutcome store(Engine& engine, StoreMode mode, std::string_view key,
                          std::string_view value, uint64_t cas = 0, uint32_t flags = 0,
                          int64_t exptime = 0) {
  return engine.store(store_request(mode, key, value, cas, flags, exptime));
}

inline std::string value_of(Engine& engine, std::string_view key) {
  GetOptions peek;
  peek.bump = false;
  GetResult r = engine.get(key, peek);
  return r.hit() ? std::string(r.value) : std::string("<miss>");
}

// Records every header unlink; every flash copy counts as present.
struct RecordingListener : core::HeaderUnlinkListener {
  std::vector<ExtLocation> unlinked;
  std::vector<uint64_t> sizes;
  void on_header_unlinked(const ExtLocation& location, uint64_t ntotal) override {
    unlinked.push_back(location);
    sizes.push_back(ntotal);
  }
  bool header_valid(const ExtLocation&) const override { return true; }
  bool unlink_beside_readers(const ExtLocation&) const override { return true; }
};

}  // namespace memext::testing
