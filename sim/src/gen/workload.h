// A synthetic workload description (the JSON that `memext-sim gen` reads,
// documented in traces/README.md) and its validation. Parsing is strict: an
// unknown field, a bad value or an impossible mix is a WorkloadError naming
// the field, the value and what is allowed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "traces/trace_request.h"

namespace memext {

class WorkloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A distribution of byte sizes, sampled from 64-bit random words.
struct SizeDistribution {
  enum class Kind { kFixed, kUniform, kLognormal, kBuckets };
  struct Bucket {
    uint32_t min = 0;  // a bucket is uniform over [min, max]; min == max is a fixed size
    uint32_t max = 0;
    double weight = 0;
  };

  Kind kind = Kind::kFixed;
  uint32_t min = 0;  // fixed: the size; uniform: bounds; lognormal: clamp bounds
  uint32_t max = 0;
  double mu = 0;  // lognormal: ln(size) ~ Normal(mu, sigma)
  double sigma = 0;
  std::vector<Bucket> buckets;
  std::vector<double> cumulative;  // buckets' running weight share, last = 1

  // Two random words in, a size in [min, max] (or a bucket's range) out.
  uint32_t sample(uint64_t bits1, uint64_t bits2) const;
  // Expected value (for reports and tests).
  double mean() const;
};

struct WeightedTtl {
  int64_t ttl = 0;
  double weight = 0;
};

struct WorkloadSpec {
  uint64_t requests = 0;
  uint64_t keys = 0;
  double zipf_alpha = 1.0;
  SizeDistribution key_size;
  SizeDistribution value_size;
  std::vector<WeightedTtl> ttls;
  std::vector<double> ttl_cumulative;
  std::vector<std::pair<Op, double>> ops;  // op and its probability (sums to 1)
  bool first_access_is_set = false;        // "first_access": "set"
  double one_hit_wonder = 0;               // share of requests to keys seen once
  double rate = 100000;                    // requests per second
  bool poisson_arrivals = true;            // else evenly spaced
  double start_time_s = 0;
  uint64_t seed = 1;
};

// Throws WorkloadError.
WorkloadSpec parse_workload(const nlohmann::json& doc);
// Reads and parses a JSON file; throws WorkloadError naming the file on errors.
WorkloadSpec load_workload_file(const std::string& path);

}  // namespace memext
