// curve_fit.h — least-squares fits (Eigen) of hit-ratio curves against cache
// size, so the planner can interpolate between the sizes it replayed and say
// how far the fit is from the points it was fitted to.
//
// The model is a power curve in Box-Cox form, with u = x / x_scale:
//   h(x) = c + a * g_b(u),  g_b(u) = (1 - u^-b) / b  (b != 0),  ln u  (b = 0)
// Why this family: miss ratios of caches under skewed (Zipf-like) popularity
// fall as a power of the cache size (m ~ x^-b, the "sqrt(2) rule" is b = 0.5),
// so h = ceiling - A x^-b; for b > 0 it saturates at c + a / b, the ceiling
// no size passes. b = 0 is the log-linear curve often drawn for hit ratios,
// and b < 0 is the still-growing power curve of a cache far below the working
// set (Zipf alpha < 1 gives h ~ x^(1 - alpha)). One family with a continuous
// exponent covers the three shapes, so the fit never has to choose between
// models, and g_b is increasing in u for every b, so a >= 0 is a rising curve.
//
// Fitting: for a fixed b the model is linear in (c, a), solved by Eigen's
// column-pivoting QR; the exponent b is searched (a grid over
// [kMinExponent, kMaxExponent], then golden section around the best) for the
// least sum of squared residuals (variable projection). x_scale is the
// geometric mean of the xs, which keeps u^-b near 1 whatever the size units.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace memext {

struct CurveFit {
  double c = 0;
  double a = 0;
  double b = 0;
  double x_scale = 1;
  // Residuals (measured - predicted) over the fitted points.
  double rms_error = 0;
  double max_abs_error = 0;
  size_t points = 0;

  // A flat top the curve stops at (fit_hit_ratio_curve), +infinity if none.
  double plateau = std::numeric_limits<double>::infinity();

  // The fitted curve at x > 0 (never above plateau).
  double predict(double x) const;
  // The value the curve approaches as x grows (c + a / b) when it saturates
  // (b > 0), else +infinity.
  double asymptote() const;
  // In the classic form h = asymptote - amplitude * x^-b (x in the caller's
  // units); meaningful when b > 0.
  double amplitude() const;
};

constexpr double kMinExponent = -1.0;
constexpr double kMaxExponent = 4.0;

// Fits the power/Box-Cox curve above. Needs xs.size() == ys.size(), every
// x > 0 and finite y, and at least three distinct xs; throws
// std::invalid_argument naming what is wrong otherwise.
CurveFit fit_saturating(std::span<const double> xs, std::span<const double> ys);

// Hit ratios flatten abruptly once the cache holds the whole working set
// (every larger size gives the same ratio), a knee no power curve has: on a
// replayed Zipf trace, the power curve fitted through the knee missed by up
// to 1.7 points, and by 0.35 with the knee. So: when the largest sizes end
// in a flat run (two or more points within kPlateauTolerance of the largest
// value), the curve is fitted to the rising points below the run (three
// or more) and capped at the run's mean; otherwise this is fit_saturating.
// Residuals are over every point. Needs what fit_saturating needs.
constexpr double kPlateauTolerance = 0.001;
CurveFit fit_hit_ratio_curve(std::span<const double> xs, std::span<const double> ys);

// The same curve with b fixed (b = 0 is the log-linear fit h = c + a ln u);
// needs two distinct xs.
CurveFit fit_with_exponent(std::span<const double> xs, std::span<const double> ys, double b);

// How well the curve interpolates: each point predicted by the fit to the
// others (fit_saturating without it), residual = measured - that prediction.
// Honest where rms_error flatters (a point always pulls its own fit toward
// it). Needs at least four distinct xs (each fit without one point needs
// three); throws std::invalid_argument like fit_saturating otherwise.
struct CrossValidation {
  double rms_error = 0;
  double max_abs_error = 0;
};
CrossValidation leave_one_out(std::span<const double> xs, std::span<const double> ys);

// Ordinary linear least squares: the coefficients minimising
// |rows * coef - ys|^2 (rows row-major, each of the same length), by Eigen's
// column-pivoting QR. Throws std::invalid_argument on mismatched sizes.
std::vector<double> solve_least_squares(const std::vector<std::vector<double>>& rows,
                                        std::span<const double> ys);

}  // namespace memext
