#include "replay/latency_histogram.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace memext {

uint64_t LatencyHistogram::bucket_high(size_t index) {
  if (index < 2 * kSubBuckets) return index;
  const uint64_t shift = index / kSubBuckets - 1;
  const uint64_t mantissa = index % kSubBuckets + kSubBuckets;
  const uint64_t low = mantissa << shift;
  return low + ((uint64_t{1} << shift) - 1);
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_high(i), min_, max_);
  }
  return max_;
}

nlohmann::json LatencyHistogram::to_json() const {
  return nlohmann::json{{"count", count_},
                        {"min_ns", min()},
                        {"mean_ns", mean()},
                        {"p50_ns", percentile(0.5)},
                        {"p90_ns", percentile(0.9)},
                        {"p99_ns", percentile(0.99)},
                        {"p999_ns", percentile(0.999)},
                        {"max_ns", max_}};
}

}  // namespace memext
