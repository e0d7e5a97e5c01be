// replay_flash.h — the replay's flash tier: memext's ExtStore over the
// simulator's devices, with reads issued asynchronously in virtual time.
//
// Model devices: a get that finds an item header submits its read to the
// model SSD at the request's virtual time; the read completes at the time
// the queueing model gives, so the flash-hit latency is the model's (service
// time at low load, queueing delay at high load) and the engine sees the
// read's end (recache, a vanished object) at that time. The extstore
// flusher and compactor do their IO synchronously, as memcached's threads
// do; the model schedules that IO at the current virtual time (so it
// occupies the SSD's units and delays reads) without stopping the clock.
// File devices: reads are synchronous and timed with the wall clock.
//
// Not thread-safe; owned by one Replayer.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memext/engine.h"
#include "replay/sim_options.h"

namespace memext {

struct TimeSample;

// One finished flash read, for the replay's counters.
struct FlashReadDone {
  uint64_t key_id = 0;
  uint32_t value_size = 0;  // traced size (for byte hit ratio and a fill)
  int64_t ttl = 0;
  uint64_t latency_ns = 0;
  uint8_t key_len = 0;
  bool hit = false;        // false: the object was gone (page evicted/reused, bad crc)
  bool from_wbuf = false;  // served from a write buffer, no device IO
  bool timed = false;      // latency_ns is a device read's latency
};

class FlashTier {
 public:
  // Builds the devices for options.engine.ext.paths and the extstore on top
  // of them. Throws std::runtime_error / std::invalid_argument naming the bad
  // setting or file.
  FlashTier(Engine& engine, const SimOptions& options);
  ~FlashTier();
  FlashTier(const FlashTier&) = delete;
  FlashTier& operator=(const FlashTier&) = delete;

  // Virtual time of the earliest outstanding read's completion, or
  // UINT64_MAX.
  uint64_t next_completion_ns() const;

  // Issues the read for a get that returned kFlashHeader at now_ns.
  void start_read(std::string_view key, uint8_t key_len, const GetResult& header,
                  uint32_t value_size, int64_t ttl, uint64_t now_ns);
  // Completes the reads done by now_ns into done().
  void complete_reads(uint64_t now_ns);
  const std::vector<FlashReadDone>& done() const { return done_; }
  void clear_done() { done_.clear(); }

  // The extstore background steps at virtual time now_ns; return the next
  // wanted time (ns).
  uint64_t flusher_step(uint64_t now_ns);
  uint64_t compactor_step(uint64_t now_ns);

  void fill_sample(TimeSample& sample) const;

  // The report's "extstore", "buckets", "compaction", "recache",
  // "fragmentation" and "device" sections over duration_ns of virtual time.
  void add_report(nlohmann::json& report, uint64_t duration_ns) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<FlashReadDone> done_;
};

}  // namespace memext
