// curve_fit: the power/Box-Cox hit-ratio fit recovers known curves, reports
// its residuals, and rejects points it cannot fit.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "plan/curve_fit.h"

namespace memext {
namespace {

std::vector<double> sizes_mb() {
  return {64, 128, 256, 512, 1024, 2048, 4096, 8192};
}

TEST_CASE("a saturating power curve is recovered from exact points") {
  // h = 0.92 - 0.8 x^-0.45 with x in bytes: the fit must not depend on units.
  std::vector<double> xs;
  std::vector<double> ys;
  for (double mb : sizes_mb()) {
    const double x = mb * 1e6;
    xs.push_back(x);
    ys.push_back(0.92 - 0.8 * std::pow(x / 1e8, -0.45));
  }
  const CurveFit fit = fit_saturating(xs, ys);
  CHECK(fit.b == doctest::Approx(0.45).epsilon(1e-4));
  CHECK(fit.asymptote() == doctest::Approx(0.92).epsilon(1e-4));
  CHECK(fit.amplitude() == doctest::Approx(0.8 * std::pow(1e8, 0.45)).epsilon(1e-3));
  CHECK(fit.points == xs.size());
  CHECK(fit.rms_error < 1e-7);
  CHECK(fit.max_abs_error < 1e-6);
  // Between grid points the curve is interpolated, not just reproduced.
  CHECK(fit.predict(3000e6) ==
        doctest::Approx(0.92 - 0.8 * std::pow(3000e6 / 1e8, -0.45)).epsilon(1e-6));
}

TEST_CASE("a log-linear curve is fitted with exponent near zero") {
  std::vector<double> xs = sizes_mb();
  std::vector<double> ys;
  for (double x : xs) ys.push_back(0.1 + 0.07 * std::log(x));
  const CurveFit fit = fit_saturating(xs, ys);
  CHECK(std::abs(fit.b) < 1e-3);
  CHECK(fit.rms_error < 1e-6);
  CHECK(fit.predict(700) == doctest::Approx(0.1 + 0.07 * std::log(700.0)).epsilon(1e-5));
  CHECK(std::isinf(fit.asymptote()));

  const CurveFit log_linear = fit_with_exponent(xs, ys, 0);
  CHECK(log_linear.b == 0);
  CHECK(log_linear.rms_error < 1e-12);
  CHECK(log_linear.predict(700) == doctest::Approx(0.1 + 0.07 * std::log(700.0)));
}

TEST_CASE("a still-growing power curve (cache far below the working set) has b < 0") {
  // Zipf alpha = 0.7 without a cap: h ~ x^0.3.
  std::vector<double> xs = sizes_mb();
  std::vector<double> ys;
  for (double x : xs) ys.push_back(0.01 * std::pow(x, 0.3));
  const CurveFit fit = fit_saturating(xs, ys);
  CHECK(fit.b == doctest::Approx(-0.3).epsilon(1e-4));
  CHECK(fit.rms_error < 1e-7);
  CHECK(fit.a > 0);
}

TEST_CASE("noisy points: parameters close, error reported at the noise level") {
  std::vector<double> xs = sizes_mb();
  std::vector<double> ys;
  // Deterministic +-0.004 alternating noise.
  for (size_t i = 0; i < xs.size(); ++i) {
    ys.push_back(0.85 - 0.9 * std::pow(xs[i], -0.3) + (i % 2 ? 0.004 : -0.004));
  }
  const CurveFit fit = fit_saturating(xs, ys);
  CHECK(fit.asymptote() == doctest::Approx(0.85).epsilon(0.05));
  CHECK(fit.b == doctest::Approx(0.3).epsilon(0.25));
  CHECK(fit.rms_error > 0.001);
  CHECK(fit.rms_error <= 0.004 + 1e-9);
  CHECK(fit.max_abs_error >= fit.rms_error);
  CHECK(fit.max_abs_error < 0.008);
}

TEST_CASE("the fitted exponent minimises the error over the fixed-exponent fits") {
  std::vector<double> xs = {10, 20, 40, 80, 160};
  std::vector<double> ys = {0.30, 0.52, 0.63, 0.70, 0.72};
  const CurveFit best = fit_saturating(xs, ys);
  for (double b = kMinExponent; b <= kMaxExponent; b += 0.01) {
    CHECK(best.rms_error <= fit_with_exponent(xs, ys, b).rms_error + 1e-12);
  }
}

TEST_CASE("leave-one-out error: near zero on an exact curve, larger than the fit's own on noise") {
  std::vector<double> xs = sizes_mb();
  std::vector<double> exact;
  std::vector<double> noisy;
  for (size_t i = 0; i < xs.size(); ++i) {
    exact.push_back(0.85 - 0.9 * std::pow(xs[i], -0.3));
    noisy.push_back(exact.back() + (i % 2 ? 0.004 : -0.004));
  }
  const CrossValidation clean = leave_one_out(xs, exact);
  CHECK(clean.rms_error < 1e-6);
  const CrossValidation rough = leave_one_out(xs, noisy);
  const CurveFit fit = fit_saturating(xs, noisy);
  CHECK(rough.rms_error > fit.rms_error);
  CHECK(rough.max_abs_error >= rough.rms_error);
  // The ends are extrapolations from the others, yet stay within a few
  // times the noise on this smooth curve.
  CHECK(rough.max_abs_error < 0.05);
  std::vector<double> three = {1, 2, 3};
  std::vector<double> three_y = {0.1, 0.2, 0.3};
  CHECK_THROWS_AS(leave_one_out(three, three_y), std::invalid_argument);
}

TEST_CASE("a replayed hit-ratio curve with a knee: interpolated within half a point") {
  // memext-sim replay traces/samples/zipf-flash-200k.mxt.zst -m M (RAM only):
  // the working set fits from 256 MB on.
  const std::vector<double> mb = {40, 48, 64, 96, 128, 192, 256, 384, 512, 1024};
  const std::vector<double> hit = {0.717610, 0.732593, 0.757696, 0.802074, 0.828707,
                                   0.870572, 0.881164, 0.881164, 0.881164, 0.881164};
  const CurveFit plain = fit_saturating(mb, hit);
  const CurveFit knee = fit_hit_ratio_curve(mb, hit);
  CHECK(knee.plateau == doctest::Approx(0.881164));
  CHECK(knee.points == mb.size());
  CHECK(knee.rms_error < plain.rms_error);
  CHECK(knee.max_abs_error < 0.005);
  CHECK(plain.max_abs_error > 0.01);
  // Sizes between the grid points, replayed the same way.
  CHECK(knee.predict(56) == doctest::Approx(0.746316).epsilon(0.005));
  CHECK(knee.predict(80) == doctest::Approx(0.781648).epsilon(0.005));
  CHECK(knee.predict(160) == doctest::Approx(0.855334).epsilon(0.005));
  CHECK(knee.predict(2048) == doctest::Approx(0.881164));
  // Without a flat run it is the plain fit.
  const std::vector<double> rising_mb(mb.begin(), mb.begin() + 6);
  const std::vector<double> rising_hit(hit.begin(), hit.begin() + 6);
  const CurveFit rising = fit_hit_ratio_curve(rising_mb, rising_hit);
  CHECK(std::isinf(rising.plateau));
  CHECK(rising.rms_error == fit_saturating(rising_mb, rising_hit).rms_error);
}

TEST_CASE("bad points are rejected with the reason") {
  std::vector<double> two = {1, 2};
  std::vector<double> two_y = {0.1, 0.2};
  CHECK_THROWS_WITH_AS(fit_saturating(two, two_y), doctest::Contains("3 distinct sizes"),
                       std::invalid_argument);
  std::vector<double> repeated = {5, 5, 5, 6};
  std::vector<double> repeated_y = {0.1, 0.2, 0.3, 0.4};
  CHECK_THROWS_AS(fit_saturating(repeated, repeated_y), std::invalid_argument);
  std::vector<double> zero = {0, 1, 2};
  std::vector<double> three_y = {0.1, 0.2, 0.3};
  CHECK_THROWS_WITH_AS(fit_saturating(zero, three_y), doctest::Contains("positive"),
                       std::invalid_argument);
  std::vector<double> three = {1, 2, 3};
  CHECK_THROWS_WITH_AS(fit_saturating(three, two_y), doctest::Contains("3 sizes but 2 values"),
                       std::invalid_argument);
  std::vector<double> nan_y = {0.1, NAN, 0.3};
  CHECK_THROWS_WITH_AS(fit_saturating(three, nan_y), doctest::Contains("not finite"),
                       std::invalid_argument);
}

TEST_CASE("linear least squares recovers coefficients of an overdetermined system") {
  // y = 2 + 3 u - 0.5 v
  std::vector<std::vector<double>> rows;
  std::vector<double> ys;
  for (double u : {0.0, 1.0, 2.0, 5.0}) {
    for (double v : {1.0, 4.0, 9.0}) {
      rows.push_back({1, u, v});
      ys.push_back(2 + 3 * u - 0.5 * v);
    }
  }
  const std::vector<double> coef = solve_least_squares(rows, ys);
  REQUIRE(coef.size() == 3);
  CHECK(coef[0] == doctest::Approx(2));
  CHECK(coef[1] == doctest::Approx(3));
  CHECK(coef[2] == doctest::Approx(-0.5));
  rows[1].pop_back();
  CHECK_THROWS_WITH_AS(solve_least_squares(rows, ys), doctest::Contains("row 1 has 2 columns"),
                       std::invalid_argument);
}

}  // namespace
}  // namespace memext
