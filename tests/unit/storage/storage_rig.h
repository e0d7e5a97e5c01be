// Shared fixture for the extstore integration tests: a small engine, an LRU
// maintainer and an ExtStore over a memory, file, io_uring, gated or phantom
// device, all stepped by hand in virtual time. Flushes are asynchronous on
// devices that store data (open_ext_store's default, what the server runs)
// and synchronous on the phantom device (what the simulator runs), unless a
// test asks otherwise.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "memext/device.h"
#include "memext/engine.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"

namespace memext::testing {

inline constexpr uint64_t kExtPage = 256 * 1024;
inline constexpr uint64_t kExtWbuf = 64 * 1024;
inline constexpr uint64_t kExtPages = 8;  // page 0 is reserved: 7 usable

enum class RigDevice { kMemory, kFile, kUring, kGated, kPhantom };

inline const char* rig_name(RigDevice d) {
  switch (d) {
    case RigDevice::kMemory:
      return "memory";
    case RigDevice::kFile:
      return "file";
    case RigDevice::kUring:
      return "uring";
    case RigDevice::kGated:
      return "gated";
    case RigDevice::kPhantom:
      return "phantom";
  }
  return "?";
}

// A timing-only device like the simulator's model: keeps no bytes.
class PhantomDevice final : public Device {
 public:
  explicit PhantomDevice(uint64_t size) : Device(size, 4096) {}
  bool stores_data() const override { return false; }
  std::string describe() const override { return "phantom"; }

 protected:
  int submit_impl(IoRequest* req) override {
    queued_.push_back(req);
    return 0;
  }
  size_t reap_impl(IoRequest** out, size_t max, bool) override {
    size_t n = 0;
    while (n < max && !queued_.empty()) {
      out[n] = queued_.front();
      out[n]->result = out[n]->len;
      queued_.pop_front();
      ++n;
    }
    return n;
  }

 private:
  std::deque<IoRequest*> queued_;
};

// A memory device whose writes finish only while its gate is open: a closed
// gate keeps wbuf flushes in flight for as long as a test needs. Reads pass
// straight through.
class GatedDevice final : public Device {
 public:
  explicit GatedDevice(uint64_t size) : Device(size, 1), inner_(make_memory_device(size)) {}
  std::string describe() const override { return "gated memory"; }

  void set_open(bool open) {
    open_ = open;
    if (!open_) return;
    for (IoRequest* req : held_) inner_->submit(req);
    held_.clear();
  }
  size_t held() const { return held_.size(); }

 protected:
  int submit_impl(IoRequest* req) override {
    if (req->op == IoOp::kWrite && !open_) {
      held_.push_back(req);
      return 0;
    }
    return inner_->submit(req);
  }
  size_t reap_impl(IoRequest** out, size_t max, bool wait) override {
    return inner_->reap(out, max, wait);
  }

 private:
  std::unique_ptr<Device> inner_;
  std::vector<IoRequest*> held_;
  bool open_ = true;
};

// kAsyncMultiWbuf: async flushes whose pages go on filling another wbuf
// while one is written (one_flush_per_page off), so a write stays in flight
// after the step that submitted it even on a device that completes at once.
enum class RigFlush { kDefault, kSync, kAsync, kAsyncMultiWbuf };

struct TempFile {
  std::string path;
  explicit TempFile(const char* tag) {
    path = "/tmp/memext_storage_test_" + std::string(tag) + "_" + std::to_string(::getpid());
  }
  ~TempFile() { std::remove(path.c_str()); }
};

inline EngineConfig rig_engine_config(bool phantom) {
  EngineConfig c;
  c.memory_limit = 32ull << 20;
  c.item_size_max = 64 * 1024;
  c.slab_chunk_max = 32 * 1024;
  c.process_started = 1'700'000'000;
  c.phantom = phantom;
  c.ext.page_size = kExtPage;
  c.ext.wbuf_size = kExtWbuf;
  c.ext.item_age = 0;  // flush every COLD item, whatever the memory pressure
  c.ext.paths.push_back({"", kExtPages * kExtPage, ""});
  return c;
}

// Engine + maintainer + extstore. Returns false from ok() when the device
// could not be opened here (io_uring refused); the test then skips.
class Rig {
 public:
  explicit Rig(RigDevice kind, EngineConfig config = rig_engine_config(false),
               RigFlush flush = RigFlush::kDefault, unsigned max_flushing_wbufs = 8,
               uint32_t rescue_slice_bytes = 0)
      : kind_(kind), file_(rig_name(kind)) {
    config.phantom = config.phantom || kind == RigDevice::kPhantom;
    config.ext.paths[0].path = file_.path;
    engine_ = std::make_unique<Engine>(config);
    lru_ = std::make_unique<LruMaintainer>(*engine_);
    const uint64_t size = config.ext.paths[0].size_bytes;
    try {
      switch (kind) {
        case RigDevice::kMemory:
          device_ = make_memory_device(size);
          break;
        case RigDevice::kFile:
          device_ = make_file_device(file_.path, size);
          break;
        case RigDevice::kUring:
          device_ = make_uring_device(file_.path, size, 8);
          break;
        case RigDevice::kGated:
          device_ = std::make_unique<GatedDevice>(size);
          break;
        case RigDevice::kPhantom:
          device_ = std::make_unique<PhantomDevice>(size);
          break;
      }
    } catch (const std::runtime_error& e) {
      skipped_ = e.what();
      return;
    }
    ExtStoreOptions options;
    options.async_flush = flush == RigFlush::kAsync || flush == RigFlush::kAsyncMultiWbuf ||
                          (flush == RigFlush::kDefault && kind != RigDevice::kPhantom);
    options.one_flush_per_page = flush != RigFlush::kAsyncMultiWbuf;
    options.max_flushing_wbufs = max_flushing_wbufs;
    options.rescue_slice_bytes = rescue_slice_bytes;
    // Steps return the wake times of memcached's sleeps alone; the pacing
    // tests set a cost of their own.
    options.flusher_ns_per_object = 0;
    options.flusher_ns_per_kib = 0;
    ext_ = std::make_unique<ExtStore>(*engine_, config.ext, std::vector<Device*>{device_.get()},
                                      options);
    time_ = 100;
    engine_->set_time(time_);
  }

  bool ok() const { return ext_ != nullptr; }
  const std::string& skipped() const { return skipped_; }
  bool phantom() const { return kind_ == RigDevice::kPhantom; }
  Engine& engine() { return *engine_; }
  ExtStore& ext() { return *ext_; }
  Device& device() { return *device_; }
  GatedDevice& gate() { return static_cast<GatedDevice&>(*device_); }
  LruMaintainer& lru() { return *lru_; }
  rel_time_t time() const { return time_; }

  void advance(rel_time_t seconds) {
    time_ += seconds;
    engine_->set_time(time_);
  }

  StoreOutcome set(const std::string& key, const std::string& value, int64_t exptime = 0,
                   uint32_t flags = 0) {
    StoreRequest r;
    r.key = key;
    r.value = phantom() ? std::string_view() : std::string_view(value);
    r.value_len = static_cast<uint32_t>(value.size());
    r.exptime = exptime;
    r.client_flags = flags;
    return engine_->store(r);
  }

  // Ages items past HOT, lets the maintainer move them to COLD, then runs the
  // flusher until it has nothing left to do.
  void age_to_cold() {
    advance(2);
    for (int i = 0; i < 50; ++i) lru_->step(micros());
  }

  // Flushes still in flight are waited for (the time a real driver would let
  // pass before the next step), so afterwards every wbuf written is on the
  // device.
  void flush_all_to_flash() {
    age_to_cold();
    for (int i = 0; i < 100'000; ++i) {
      const uint64_t written = ext_->stats(false).store.objects_written;
      ext_->flusher_step(micros());
      if (ext_->stats(false).store.objects_written != written) continue;
      if (ext_->flushes_in_flight() == 0) break;
      ext_->reap_flushes(true);
    }
    settle_flushes();
  }

  void settle_flushes() {
    while (ext_->flushes_in_flight() > 0) ext_->reap_flushes(true);
  }

  // Runs the compactor until three steps in a row find nothing to do;
  // returns the number of page compactions that ended (finished or aborted
  // after a step). The compactor picks from the page data of the maintenance
  // pass before its last sleep, as memcached's does: the first wake-up after
  // the test set its pages up may see none of them, the next may pick the
  // page that pass evicted (its read misses: an abort within the step), the
  // third sees the pages as they are.
  int compact() {
    int pages = 0;
    int idle = 0;
    bool was_compacting = false;
    Micros now = micros();
    for (int steps = 0; steps < 10000; ++steps) {
      now = ext_->compactor_step(now);
      settle_flushes();
      if (ext_->compacting()) {
        was_compacting = true;
        idle = 0;
        continue;
      }
      if (!was_compacting) {
        if (++idle == 3) break;
        continue;
      }
      ++pages;
      was_compacting = false;
    }
    return pages;
  }

  // One compactor wake-up that finds nothing to compact in the page data it
  // has, then sleeps: its maintenance pass records the pages as they are
  // now, so the next wake-up picks from them. Returns when that is.
  Micros compactor_sleep() {
    const Micros next = ext_->compactor_step(micros());
    REQUIRE_FALSE(ext_->compacting());
    return next;
  }

  // Reads a key the way a server worker would: get, then the flash read.
  std::string read(const std::string& key, ReadOutcome* outcome = nullptr,
                   HitSource* source = nullptr) {
    GetResult r = engine_->get(key);
    if (source != nullptr) *source = r.source;
    if (r.source == HitSource::kMiss) return "<miss>";
    if (r.source == HitSource::kRam) return phantom() ? "<ram>" : std::string(r.value);
    ReadOutcome o = ext_->read_sync(key, r);
    if (outcome != nullptr) *outcome = o;
    if (!o.hit()) return "<miss>";
    return phantom() ? "<flash>" : std::string(o.value);
  }

  // read() compared with `expected`, as a bool so a failing check does not
  // print kilobytes of value.
  bool read_is(const std::string& key, const std::string& expected, ReadOutcome* outcome = nullptr,
               HitSource* source = nullptr) {
    return read(key, outcome, source) == expected;
  }

  Micros micros() const { return Micros{time_} * kMicrosPerSecond; }

 private:
  RigDevice kind_;
  TempFile file_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<LruMaintainer> lru_;
  std::unique_ptr<Device> device_;
  std::unique_ptr<ExtStore> ext_;
  std::string skipped_;
  rel_time_t time_ = 0;
};

inline std::string value_for(int n, size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = static_cast<char>('a' + (n * 7 + i * 13) % 26);
  return s;
}

// Phantom mode against real mode: the compactor's counts, every page store
// counter and every page's version, bytes, objects and bucket are equal.
inline void check_same_accounting(const ExtStoreStats& a, const ExtStoreStats& b) {
  CHECK(a.compact_rescues == b.compact_rescues);
  CHECK(a.compact_lost == b.compact_lost);
  CHECK(a.compact_skipped == b.compact_skipped);
  const auto named_a = a.store.named();
  const auto named_b = b.store.named();
  REQUIRE(named_a.size() == named_b.size());
  for (size_t i = 0; i < named_a.size(); ++i) {
    CAPTURE(std::string(named_a[i].first));
    CHECK(named_a[i].second == named_b[i].second);
  }
  REQUIRE(a.pages.size() == b.pages.size());
  for (size_t i = 0; i < a.pages.size(); ++i) {
    CAPTURE(i);
    CHECK(a.pages[i].version == b.pages[i].version);
    CHECK(a.pages[i].bytes_used == b.pages[i].bytes_used);
    CHECK(a.pages[i].obj_count == b.pages[i].obj_count);
    CHECK(a.pages[i].bucket == b.pages[i].bucket);
  }
}

inline std::string key_for(int n) {
  return "key:" + std::to_string(n);
}

// Sets key_for(0 .. n-1) to ~10 KB values (6 per wbuf, 24 per 256 KB page),
// flushing each page's worth to flash: past 7 pages the store evicts its
// oldest pages. Returns n.
inline int fill_flash_pages(Rig& rig, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 10000)).result == StoreResult::kStored);
    if (i % 24 == 23) rig.flush_all_to_flash();
  }
  rig.flush_all_to_flash();
  return n;
}

}  // namespace memext::testing
