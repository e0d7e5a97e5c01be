// Zipf(n, alpha) sampling in O(1) time and memory per draw by rejection-
// inversion (W. Hörmann, G. Derflinger, "Rejection-inversion to generate
// variates from monotone discrete distributions", 1996): ranks 1..n with
// P(k) proportional to k^-alpha, for any alpha >= 0 and n up to 2^63.
#pragma once

#include <cstdint>

#include "gen/gen_random.h"

namespace memext {

class ZipfSampler {
 public:
  // Preconditions: n >= 1, alpha >= 0 (checked by the workload parser).
  ZipfSampler(uint64_t n, double alpha);

  // A rank in [1, n]; consumes one or (rarely) more draws from rng.
  uint64_t sample(Xoshiro256& rng) const {
    if (alpha_ == 0.0) return 1 + to_below(rng.next(), n_);
    for (;;) {
      double u = h_integral_n_ + to_unit(rng.next()) * (h_integral_x1_ - h_integral_n_);
      double x = h_integral_inverse(u);
      auto k = static_cast<uint64_t>(x + 0.5);
      if (k < 1) k = 1;
      if (k > n_) k = n_;
      double kd = static_cast<double>(k);
      if (kd - x <= s_ || u >= h_integral(kd + 0.5) - h(kd)) return k;
    }
  }

  // P(rank == k): for tests; O(n) the first time it normalises.
  double probability(uint64_t k) const;

 private:
  double h(double x) const;
  double h_integral(double x) const;
  double h_integral_inverse(double x) const;

  uint64_t n_;
  double alpha_;
  double h_integral_x1_ = 0;
  double h_integral_n_ = 0;
  double s_ = 0;
  mutable double normaliser_ = 0;
};

}  // namespace memext
