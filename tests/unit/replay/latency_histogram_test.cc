// Percentiles of the log-bucketed histogram: exact below 256 ns, within one
// bucket (< 0.8 %) above, clamped to the observed range.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "replay/latency_histogram.h"

namespace memext {

TEST_CASE("histogram is exact for small values") {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);
  CHECK(h.count() == 100);
  CHECK(h.percentile(0.5) == 50);
  CHECK(h.percentile(0.9) == 90);
  CHECK(h.percentile(0.99) == 99);
  CHECK(h.percentile(1.0) == 100);
  CHECK(h.min() == 1);
  CHECK(h.max() == 100);
  CHECK(h.mean() == doctest::Approx(50.5));
}

TEST_CASE("histogram buckets: 128 per power of two above 256") {
  CHECK(LatencyHistogram::index_of(255) == 255);
  CHECK(LatencyHistogram::index_of(256) == 256);
  CHECK(LatencyHistogram::index_of(257) == 256);  // 256..257 share a bucket (width 2)
  CHECK(LatencyHistogram::bucket_high(256) == 257);
  CHECK(LatencyHistogram::index_of(512) == 384);  // width 4 from 512
  CHECK(LatencyHistogram::bucket_high(384) == 515);
  CHECK(LatencyHistogram::index_of(UINT64_MAX) == LatencyHistogram::kBucketCount - 1);
  CHECK(LatencyHistogram::bucket_high(LatencyHistogram::kBucketCount - 1) == UINT64_MAX);
}

TEST_CASE("histogram percentiles over 1..1000 and a repeated value") {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v);
  // Rank 500 is the value 500, in bucket [500, 501]: reported as 501.
  CHECK(h.percentile(0.5) == 501);
  // Rank 990 -> 990 in [988, 991] (width 4 from 512).
  CHECK(h.percentile(0.99) == 991);
  // Rank 999 -> 999 in [996, 999].
  CHECK(h.percentile(0.999) == 999);
  CHECK(h.percentile(1.0) == 1000);

  LatencyHistogram same;
  for (int i = 0; i < 10; ++i) same.record(110'000);
  CHECK(same.percentile(0.5) == 110'000);
  CHECK(same.percentile(0.999) == 110'000);
  const nlohmann::json j = same.to_json();
  CHECK(j["p99_ns"] == 110'000);
  CHECK(j["count"] == 10);
  CHECK(LatencyHistogram().percentile(0.5) == 0);
}

}  // namespace memext
