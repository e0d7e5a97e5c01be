// The fault tests' fixture: the storage tests' small engine and extstore
// (storage_rig.h's configuration and helpers) over a FaultyDevice wrapping a
// memory device, stepped by hand in virtual time, with synchronous or
// asynchronous wbuf flushes.
#pragma once

#include <memory>
#include <string>

#include "../storage/storage_rig.h"
#include "faulty_device.h"

namespace memext::testing {

class FaultRig {
 public:
  explicit FaultRig(bool async_flush, EngineConfig config = rig_engine_config(false))
      : config_(std::move(config)) {
    config_.ext.paths[0].path = "fault-rig-memory";
    engine_ = std::make_unique<Engine>(config_);
    lru_ = std::make_unique<LruMaintainer>(*engine_);
    device_ = std::make_unique<FaultyDevice>(make_memory_device(config_.ext.paths[0].size_bytes));
    ExtStoreOptions options;
    options.async_flush = async_flush;
    options.flusher_ns_per_object = 0;  // wake times of memcached's sleeps alone
    options.flusher_ns_per_kib = 0;
    ext_ = std::make_unique<ExtStore>(*engine_, config_.ext, std::vector<Device*>{device_.get()},
                                      options);
    engine_->set_time(time_);
  }

  Engine& engine() { return *engine_; }
  ExtStore& ext() { return *ext_; }
  FaultyDevice& device() { return *device_; }

  StoreOutcome set(const std::string& key, const std::string& value) {
    StoreRequest r;
    r.key = key;
    r.value = value;
    r.value_len = static_cast<uint32_t>(value.size());
    return engine_->store(r);
  }

  // Ages everything to COLD and runs the flusher until it has nothing left,
  // waiting for the writes in flight.
  void flush_all_to_flash() {
    time_ += 2;
    engine_->set_time(time_);
    for (int i = 0; i < 50; ++i) lru_->step(micros());
    for (int i = 0; i < 1000; ++i) {
      const Micros now = micros();
      if (ext_->flusher_step(now) == now) continue;
      if (ext_->flushes_in_flight() == 0) break;
      ext_->reap_flushes(true);
    }
    while (ext_->flushes_in_flight() > 0) ext_->reap_flushes(true);
  }

  // Where the key's header says its object is; source kMiss when not on flash.
  GetResult peek(const std::string& key) {
    GetOptions peek_only;
    peek_only.bump = false;
    return engine_->get(key, peek_only);
  }

  // A get as a server worker does it: RAM, or the flash read through the
  // device. "<miss>" when there is no value.
  std::string read(const std::string& key) {
    const GetResult r = engine_->get(key);
    if (r.source == HitSource::kMiss) return "<miss>";
    if (r.source == HitSource::kRam) return std::string(r.value);
    const ReadOutcome o = ext_->read_sync(key, r);
    return o.hit() ? std::string(o.value) : "<miss>";
  }

  ExtStoreStats stats() { return ext_->stats(false); }
  Micros micros() const { return Micros{time_} * kMicrosPerSecond; }

 private:
  EngineConfig config_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<LruMaintainer> lru_;
  std::unique_ptr<FaultyDevice> device_;
  std::unique_ptr<ExtStore> ext_;
  rel_time_t time_ = 100;
};

}  // namespace memext::testing
