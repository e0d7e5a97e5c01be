// Flash gets under the shared side while the flusher fills and writes out
// wbufs (exclusive side) and a concurrent store overwrites keys (mutator
// side, unlinking their flash headers beside the readers): a wbuf object
// read by ExtStore::try_read_buffered_shared is always the key's own, no
// read is counted twice or lost, and in the TSan build every byte a shared
// reader takes from a wbuf was written before its hold began.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "memext/device.h"
#include "memext/engine.h"
#include "memext/engine_lock.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"
#include "memext/stats.h"

#include "store_like_server.h"

using namespace memext;

namespace {

constexpr uint64_t kPage = 256 * 1024;
constexpr uint64_t kPages = 16;
constexpr uint32_t kKeys = 1500;

std::string key_of(uint32_t k) {
  return "key:" + std::to_string(k);
}

std::string value_of(uint32_t k, uint32_t version) {
  std::string v = key_of(k) + "#" + std::to_string(version) + "#";
  v.resize(1500 + (k % 7) * 100, static_cast<char>('a' + version % 26));
  return v;
}

}  // namespace

TEST_CASE("wbuf reads under the shared side beside the flusher and concurrent stores") {
  const std::string path = "/tmp/memext_buffered_flash_" + std::to_string(::getpid());
  EngineConfig config;
  config.memory_limit = 4ull << 20;
  config.item_size_max = 64 * 1024;
  config.slab_chunk_max = 32 * 1024;
  config.ext.page_size = kPage;
  config.ext.wbuf_size = 64 * 1024;
  config.ext.item_age = 0;
  config.ext.recache_rate = 5;
  config.ext.paths.push_back({path, kPages * kPage, ""});
  Engine engine(config);
  rel_time_t now = 100;
  engine.set_time(now);
  LruMaintainer maintainer(engine);
  std::unique_ptr<Device> device = make_file_device(path, kPages * kPage);
  // Synchronous flushes: a written-out wbuf is in the file for any pread.
  ExtStore ext(engine, config.ext, {device.get()});
  EngineLock lock;
  lock.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->catch_up(); }, &engine);
  for (uint32_t k = 0; k < kKeys; ++k) engine.set(key_of(k), value_of(k, 0));
  const ExtStoreStats start = ext.stats(false);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong_value{0}, flash_reads{0}, buffered_shared{0}, concurrent_stores{0};
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int fd = ::open(path.c_str(), O_RDONLY);
    AlignedBuffer buf;
    GetOptions options;
    options.defer_relink = true;
    uint64_t recache_turns = 0;  // the connection's, as the server's
    auto check = [&](const std::string& key, std::string_view value) {
      if (value.substr(0, key.size() + 1) != key + "#") wrong_value.fetch_add(1);
    };
    while (!stop.load(std::memory_order_relaxed)) {
      const std::string key = key_of(static_cast<uint32_t>(rng() % kKeys));
      std::optional<GetResult> header;
      std::optional<FlashRead> plan;
      {
        std::shared_lock held(lock);
        std::optional<GetResult> r = engine.try_get_shared(key, options, true);
        if (r && r->source == HitSource::kFlashHeader) {
          plan = ext.try_plan_read_shared(key, *r);
          if (!plan) {
            if (std::optional<ReadOutcome> o =
                    ext.try_read_buffered_shared(key, *r, &recache_turns)) {
              check(key, o->value);
              buffered_shared.fetch_add(1);
              flash_reads.fetch_add(1);
              continue;
            }
          }
          header = std::move(r);
        } else if (r) {
          continue;
        }
      }
      if (!plan) {
        std::lock_guard exclusive(lock);
        if (!header) header = engine.get(key);
        if (header->source != HitSource::kFlashHeader) continue;
        plan = ext.plan_read(key, *header);
        plan->recache_counter = &recache_turns;
        flash_reads.fetch_add(1);
        if (plan->kind == FlashReadKind::kMiss) continue;
        if (plan->kind == FlashReadKind::kBuffered) {
          const ReadOutcome o = ext.finish_read(key, *header, *plan, nullptr, 0);
          if (o.hit()) check(key, o.value);
          continue;
        }
      } else {
        plan->recache_counter = &recache_turns;
        flash_reads.fetch_add(1);
      }
      buf.reserve(plan->length);
      const ssize_t got = ::pread(fd, buf.data(), plan->length, static_cast<off_t>(plan->offset));
      const int64_t rc = got < 0 ? -errno : got;
      {
        std::shared_lock held(lock);
        if (std::optional<ReadOutcome> o =
                ext.try_finish_read_shared(key, *header, *plan, buf.data(), rc)) {
          check(key, o->value);
          continue;
        }
      }
      std::lock_guard exclusive(lock);
      const ReadOutcome o = ext.finish_read(key, *header, *plan, buf.data(), rc);
      if (o.hit()) check(key, o.value);
    }
    ::close(fd);
  };
  std::thread r1(reader, 1);
  std::thread r2(reader, 2);
  std::thread writer([&] {
    std::mt19937_64 rng(3);
    // Until the readers have read some wbufs shared, however the threads
    // are scheduled (bounded: the check below fails if they never do).
    for (uint32_t i = 1; i <= 6000 || (buffered_shared.load() < 50 && i <= 400'000); ++i) {
      const uint32_t k = static_cast<uint32_t>(rng() % kKeys);
      const std::string key = key_of(k);
      const std::string value = value_of(k, i);
      StoreRequest request;
      request.key = key;
      request.value = value;
      memext::testing::store_like_server(engine, lock, request, concurrent_stores);
      // The server's clock, maintainer, flusher and compactor steps, each an
      // exclusive hold of its own.
      if (i % 20 == 0) {
        std::lock_guard exclusive(lock);
        if (i % 1000 == 0) engine.set_time(++now);
        const Micros micros = Micros{i} * 1000;
        maintainer.step(micros);
        for (int s = 0; s < 8 && ext.flusher_step(micros) == micros; ++s) {
        }
        ext.compactor_step(micros);
      }
    }
    stop = true;
  });
  writer.join();
  r1.join();
  r2.join();
  std::lock_guard exclusive(lock);
  CHECK(wrong_value.load() == 0);
  CHECK(buffered_shared.load() >= 50);
  CHECK(concurrent_stores.load() > 1000);
  CHECK(ext.stats(false).get_extstore - start.get_extstore == flash_reads.load());
  std::remove(path.c_str());
}
