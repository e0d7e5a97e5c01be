// latency_histogram.h — an HDR-style log-bucketed histogram of latencies in
// nanoseconds for the replay report: exact below 256 ns, then 128 buckets per
// power of two (relative error under 0.8 %), fixed memory, no floating point
// in recording, so percentiles are deterministic for a given sample stream.
// Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace memext {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  static constexpr size_t kBucketCount = (64 - kSubBucketBits) * kSubBuckets + kSubBuckets;

  void record(uint64_t ns) {
    ++counts_[index_of(ns)];
    ++count_;
    sum_ += ns;
    if (ns > max_) max_ = ns;
    if (ns < min_) min_ = ns;
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The smallest recorded-range value v such that at least q (0..1] of the
  // samples are <= v: the upper edge of the bucket holding that rank, clamped
  // to [min, max] so a single repeated value is reported exactly. 0 when
  // empty.
  uint64_t percentile(double q) const;

  // {"count","min","mean","p50","p90","p99","p999","max"}.
  nlohmann::json to_json() const;

  static size_t index_of(uint64_t ns) {
    if (ns < 2 * kSubBuckets) return static_cast<size_t>(ns);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(ns));
    const unsigned shift = msb - kSubBucketBits;
    return static_cast<size_t>((shift + 1) * kSubBuckets + (ns >> shift) - kSubBuckets);
  }
  // Largest value that lands in bucket `index`.
  static uint64_t bucket_high(size_t index);

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace memext
