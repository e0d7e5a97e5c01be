#include "gen/gen_zipf.h"

#include <cmath>

namespace memext {
namespace {

// log1p(x)/x, continuous at 0.
double log1p_over_x(double x) {
  if (std::fabs(x) > 1e-8) return std::log1p(x) / x;
  return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

// expm1(x)/x, continuous at 0.
double expm1_over_x(double x) {
  if (std::fabs(x) > 1e-8) return std::expm1(x) / x;
  return 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double alpha) : n_(n), alpha_(alpha) {
  if (alpha_ == 0.0) return;
  h_integral_x1_ = h_integral(1.5) - 1.0;
  h_integral_n_ = h_integral(static_cast<double>(n_) + 0.5);
  s_ = 2.0 - h_integral_inverse(h_integral(2.5) - h(2.0));
}

// x^-alpha: the unnormalised density the ranks follow.
double ZipfSampler::h(double x) const {
  return std::exp(-alpha_ * std::log(x));
}

// An antiderivative of h: (x^(1-alpha) - 1) / (1 - alpha), or log(x) at alpha 1.
double ZipfSampler::h_integral(double x) const {
  double log_x = std::log(x);
  return expm1_over_x((1.0 - alpha_) * log_x) * log_x;
}

double ZipfSampler::h_integral_inverse(double x) const {
  double t = x * (1.0 - alpha_);
  if (t < -1.0) t = -1.0;  // rounding can push t just below the domain edge
  return std::exp(log1p_over_x(t) * x);
}

double ZipfSampler::probability(uint64_t k) const {
  if (normaliser_ == 0) {
    for (uint64_t i = 1; i <= n_; ++i) normaliser_ += std::pow(static_cast<double>(i), -alpha_);
  }
  return std::pow(static_cast<double>(k), -alpha_) / normaliser_;
}

}  // namespace memext
