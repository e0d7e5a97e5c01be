// The server's compactor reads back a region with the engine lock free: a
// read that never completes must not hold up a concurrent get or set.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../storage/storage_rig.h"
#include "background_steps.h"
#include "memext/lru_maintainer.h"
#include "server_context.h"

using namespace memext;
using namespace memext::testing;
using memext::server::CompactorRunner;
using memext::server::SharedEngine;

namespace {

// Shared by the devices of one test: reads wait here while it is closed.
struct ReadGate {
  std::mutex mutex;
  std::condition_variable changed;
  bool open = true;
  unsigned waiting = 0;

  void pass() {
    std::unique_lock lock(mutex);
    ++waiting;
    changed.notify_all();
    changed.wait(lock, [this] { return open; });
    --waiting;
  }
  void set_open(bool value) {
    std::lock_guard lock(mutex);
    open = value;
    changed.notify_all();
  }
  // Generous: a loaded CI machine may take long to start a thread.
  bool wait_for_reader() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(120), [this] { return waiting > 0; });
  }
};

// A device whose reads complete only once the gate is open: the read is
// handed to `inner` at once, and reaping it waits at the gate.
class GatedReadDevice final : public Device {
 public:
  GatedReadDevice(std::unique_ptr<Device> inner, ReadGate& gate)
      : Device(inner->size(), inner->alignment()), inner_(std::move(inner)), gate_(gate) {}
  std::string describe() const override { return "gated reads over " + inner_->describe(); }

 protected:
  int submit_impl(IoRequest* req) override {
    const int rc = inner_->submit(req);
    if (rc == 0 && req->op == IoOp::kRead) ++reads_;
    return rc;
  }
  void flush_impl() override { inner_->flush(); }
  size_t reap_impl(IoRequest** out, size_t max, bool wait) override {
    if (reads_ > 0) gate_.pass();
    const size_t n = inner_->reap(out, max, wait);
    for (size_t i = 0; i < n; ++i) {
      if (out[i]->op == IoOp::kRead) --reads_;
    }
    return n;
  }

 private:
  std::unique_ptr<Device> inner_;
  ReadGate& gate_;
  unsigned reads_ = 0;
};

}  // namespace

TEST_CASE(
    "a compactor readback in flight leaves the engine lock free, and its finish sees the "
    "sets made meanwhile") {
  TempFile file("compactor_runner");
  EngineConfig config = rig_engine_config(false);
  config.ext.paths[0].path = file.path;
  const uint64_t size = config.ext.paths[0].size_bytes;
  SharedEngine shared(config);
  LruMaintainer lru(shared.engine);
  ReadGate gate;
  // The store's own device gates its reads too, so a compactor that read
  // through it under the lock (the old shape) would be caught holding it.
  auto store_device = make_io_thread_device(
      std::make_unique<GatedReadDevice>(make_file_device(file.path, size), gate));
  ExtStore ext(shared.engine, config.ext, {store_device.get()}, kIoThread);
  shared.flash = &ext;

  rel_time_t time = 100;
  Micros now = 1'000'000;
  shared.engine.set_time(time);
  auto set = [&](int n, const std::string& value) {
    StoreRequest r;
    const std::string key = key_for(n);
    r.key = key;
    r.value = value;
    r.value_len = static_cast<uint32_t>(value.size());
    return shared.engine.store(r).result;
  };
  // 6 of the 7 pages filled with 10 KB items, 24 a page (the storage rig's
  // layout): one page free, under compact_under.
  for (int i = 0; i < 24 * 6; ++i) {
    REQUIRE(set(i, value_for(i, 10000)) == StoreResult::kStored);
    if (i % 24 != 23) continue;
    shared.engine.set_time(time += 2);
    for (int s = 0; s < 50; ++s) lru.step(now += 1000);
    // Until a step moves nothing (a moving step wakes after its modelled
    // cost, and waits for the bucket's wbuf write between wbufs).
    for (int s = 0; s < 1000; ++s) {
      const uint64_t written = ext.stats(false).store.objects_written;
      ext.flusher_step(now);
      if (ext.stats(false).store.objects_written == written && ext.flushes_in_flight() == 0) {
        break;
      }
      ext.reap_flushes(true);
    }
    while (ext.flushes_in_flight() > 0) ext.reap_flushes(true);
  }
  REQUIRE(ext.stats().store.pages_free == 1);
  // Thin the oldest page out to the 6 objects of its first region.
  for (int i = 6; i < 24; ++i) REQUIRE(shared.engine.remove(key_for(i)) == DeleteResult::kDeleted);

  std::vector<std::unique_ptr<Device>> readers;
  readers.push_back(std::make_unique<GatedReadDevice>(make_file_device(file.path, size), gate));
  CompactorRunner runner(shared, std::move(readers));
  // The compactor picks from the page data of the maintenance pass before
  // its last sleep: one idle wake-up, whose pass records the thinned page.
  now = runner.step(now);
  REQUIRE_FALSE(ext.compacting());
  gate.set_open(false);
  Micros next = 0;
  std::thread stepper([&] { next = runner.step(now); });
  REQUIRE(gate.wait_for_reader());

  const bool lock_free = shared.mutex.try_lock();
  CHECK(lock_free);
  if (lock_free) {
    // While the region is being read: overwrite one of its live objects and
    // delete another.
    CHECK(set(0, "fresh 0") == StoreResult::kStored);
    CHECK(shared.engine.remove(key_for(1)) == DeleteResult::kDeleted);
    CHECK(shared.engine.get(key_for(30)).source == HitSource::kFlashHeader);
    shared.mutex.unlock();
  }
  gate.set_open(true);
  stepper.join();
  CHECK(next > now);

  // The rest of the page, then nothing left to compact.
  for (int s = 0; s < 100; ++s) {
    {
      std::lock_guard lock(shared.mutex);
      while (ext.flushes_in_flight() > 0) ext.reap_flushes(true);
      if (!ext.compacting()) break;
    }
    runner.step(now += 20'000);
  }
  std::lock_guard lock(shared.mutex);
  const ExtStoreStats st = ext.stats();
  // 2..5 rescued; 0 overwritten and 1 deleted during the read are not.
  CHECK(st.compact_rescues == 4);
  CHECK(st.compact_lost == 0);
  GetResult fresh = shared.engine.get(key_for(0));
  REQUIRE(fresh.source == HitSource::kRam);
  CHECK(fresh.value == "fresh 0");
  CHECK(shared.engine.get(key_for(1)).source == HitSource::kMiss);
  for (int i = 2; i < 6; ++i) {
    CAPTURE(i);
    GetResult header = shared.engine.get(key_for(i));
    REQUIRE(header.source == HitSource::kFlashHeader);
    const ReadOutcome read = ext.read_sync(key_for(i), header);
    REQUIRE(read.hit());
    CHECK(read.value == value_for(i, 10000));
  }
  CHECK(runner.longest_lock_hold_ns() > 0);
  shared.flash = nullptr;
}
