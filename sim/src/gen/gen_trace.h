// The synthetic trace generator behind `memext-sim gen`: turns a WorkloadSpec
// into a stream of TraceRequests, deterministically (same spec and seed, same
// requests, bit for bit). Keys are Zipf-ranked ids 0..keys-1 (id 0 the most
// popular); one-hit wonders get fresh ids from `keys` upward. A key's size,
// value size and TTL are fixed per key, derived from (seed, id), so they need
// no table. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gen/gen_random.h"
#include "gen/gen_zipf.h"
#include "gen/workload.h"
#include "traces/trace_request.h"

namespace memext {

class WorkloadGenerator {
 public:
  explicit WorkloadGenerator(WorkloadSpec spec);

  // False once spec.requests requests have been produced.
  bool next(TraceRequest& out);

  uint64_t produced() const { return produced_; }
  // The fixed attributes of a key id, as next() assigns them.
  uint32_t key_size_of(uint64_t key_id) const;
  uint32_t value_size_of(uint64_t key_id) const;
  int64_t ttl_of(uint64_t key_id) const;

 private:
  Op pick_op();

  WorkloadSpec spec_;
  Xoshiro256 rng_;
  ZipfSampler zipf_;
  std::vector<uint64_t> seen_;  // bit per Zipf key, only for first_access "set"
  uint64_t produced_ = 0;
  uint64_t next_fresh_id_;
  double clock_ns_;
};

inline constexpr uint64_t kCountDistinctMaxKeys = uint64_t{1} << 28;

struct GenerateResult {
  uint64_t requests = 0;
  // Zipf keys requested at least once + one-hit wonders; counted only when
  // keys <= kCountDistinctMaxKeys (a bit per key), else nullopt.
  std::optional<uint64_t> distinct_keys;
};

// Writes the workload's trace in the native format (zstd when `path` ends in
// ".zst"). Throws TraceError on I/O errors.
GenerateResult generate_trace_file(const WorkloadSpec& spec, const std::string& path,
                                   int zstd_level = 3);

}  // namespace memext
