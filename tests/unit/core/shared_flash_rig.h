// The engine-with-extstore rig of the shared flash read tests
// (shared_flash_test.cc, shared_wbuf_test.cc): small pages and wbufs over a
// file, synchronous flushes.
#pragma once

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "memext/device.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"
#include "memext/stats.h"
#include "test_helpers.h"

namespace memext::testing {

inline constexpr uint64_t kPage = 256 * 1024;
inline constexpr uint64_t kWbuf = 64 * 1024;
inline constexpr uint64_t kPages = 8;

inline EngineConfig flash_config(const std::string& path) {
  EngineConfig c = small_config(4);
  c.item_size_max = 64 * 1024;
  c.slab_chunk_max = 32 * 1024;
  c.ext.page_size = kPage;
  c.ext.wbuf_size = kWbuf;
  c.ext.item_age = 0;
  c.ext.recache_rate = 5;
  c.ext.paths.push_back({path, kPages * kPage, ""});
  return c;
}

// An engine with its extstore over a file (synchronous flushes, so the file
// holds every flushed wbuf and any thread may pread it).
struct FlashRig {
  std::string path;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<LruMaintainer> lru;
  std::unique_ptr<Device> device;
  std::unique_ptr<ExtStore> ext;
  rel_time_t now = kStartRelTime;

  explicit FlashRig(const char* tag) {
    path = "/tmp/memext_shared_flash_" + std::string(tag) + "_" + std::to_string(::getpid());
    const EngineConfig config = flash_config(path);
    engine = std::make_unique<Engine>(config);
    engine->set_time(now);
    lru = std::make_unique<LruMaintainer>(*engine);
    device = make_file_device(path, kPages * kPage);
    ext = std::make_unique<ExtStore>(*engine, config.ext, std::vector<Device*>{device.get()});
  }
  ~FlashRig() {
    ext.reset();
    device.reset();
    std::remove(path.c_str());
  }
  // The LRU maintainer and the flusher, without the compactor (whose
  // rescues fill a wbuf of their own bucket).
  void flush() {
    const Micros micros = static_cast<Micros>(now) * 1'000'000;
    lru->step(micros);
    for (int i = 0; i < 16 && ext->flusher_step(micros) == micros; ++i) {
    }
  }
  void background() {
    flush();
    ext->compactor_step(static_cast<Micros>(now) * 1'000'000);
  }
  // For each key "k0" .. "k<keys-1>" whose header is on flash: visit(key,
  // header, plan) with its header (peeked, no bump) and its read plan,
  // aborted afterwards.
  template <class Visit>
  void each_flash_plan(int keys, Visit&& visit) {
    for (int k = 0; k < keys; ++k) {
      const std::string key = "k" + std::to_string(k);
      GetOptions peek;
      peek.bump = false;
      const GetResult header = engine->get(key, peek);
      if (header.source != HitSource::kFlashHeader) continue;
      const FlashRead plan = ext->plan_read(key, header);
      visit(key, header, plan);
      ext->abort_read(plan);
    }
  }
  int64_t read(const FlashRead& plan, AlignedBuffer& buf) {
    buf.reserve(plan.length);
    IoRequest req{IoOp::kRead, plan.offset, plan.length, buf.data()};
    return submit_and_wait(*plan.device, &req);
  }
  std::string stats_json() const {
    return to_json(engine->stats()).dump() + ext->stats(true).to_json().dump();
  }
};

}  // namespace memext::testing
