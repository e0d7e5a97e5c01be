#include "plan/curve_fit.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

namespace memext {
namespace {

// Below this |b| the Box-Cox basis is evaluated as its series in b so that
// g_b is continuous through b = 0 without cancellation in 1 - u^-b.
constexpr double kSeriesExponent = 1e-6;
constexpr int kExponentGrid = 101;
constexpr int kGoldenSteps = 60;

double basis(double u, double b) {
  const double log_u = std::log(u);
  if (std::abs(b) < kSeriesExponent) return log_u * (1 - b * log_u / 2);
  return -std::expm1(-b * log_u) / b;
}

void check_points(std::span<const double> xs, std::span<const double> ys, size_t min_distinct) {
  if (xs.size() != ys.size()) {
    throw std::invalid_argument("curve fit: " + std::to_string(xs.size()) + " sizes but " +
                                std::to_string(ys.size()) + " values");
  }
  std::set<double> distinct;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!(xs[i] > 0) || !std::isfinite(xs[i])) {
      throw std::invalid_argument("curve fit: size " + std::to_string(xs[i]) +
                                  " is not a finite positive number");
    }
    if (!std::isfinite(ys[i])) {
      throw std::invalid_argument("curve fit: value at size " + std::to_string(xs[i]) +
                                  " is not finite");
    }
    distinct.insert(xs[i]);
  }
  if (distinct.size() < min_distinct) {
    throw std::invalid_argument("curve fit: needs at least " + std::to_string(min_distinct) +
                                " distinct sizes, got " + std::to_string(distinct.size()));
  }
}

double geometric_mean(std::span<const double> xs) {
  double sum = 0;
  for (double x : xs) sum += std::log(x);
  return std::exp(sum / static_cast<double>(xs.size()));
}

// Least-squares (c, a) for a fixed exponent, with its residuals filled in.
CurveFit fit_fixed(std::span<const double> xs, std::span<const double> ys, double x_scale,
                   double b) {
  const auto n = static_cast<Eigen::Index>(xs.size());
  Eigen::MatrixXd design(n, 2);
  Eigen::VectorXd target(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    design(i, 0) = 1;
    design(i, 1) = basis(xs[i] / x_scale, b);
    target(i) = ys[i];
  }
  const Eigen::Vector2d coef = design.colPivHouseholderQr().solve(target);
  CurveFit fit;
  fit.c = coef(0);
  fit.a = coef(1);
  fit.b = b;
  fit.x_scale = x_scale;
  fit.points = xs.size();
  double squares = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double residual = ys[i] - fit.predict(xs[i]);
    squares += residual * residual;
    fit.max_abs_error = std::max(fit.max_abs_error, std::abs(residual));
  }
  fit.rms_error = std::sqrt(squares / static_cast<double>(xs.size()));
  return fit;
}

}  // namespace

double CurveFit::predict(double x) const {
  assert(x > 0);
  return std::min(plateau, c + a * basis(x / x_scale, b));
}

double CurveFit::asymptote() const {
  if (b <= 0) return std::numeric_limits<double>::infinity();
  return c + a / b;
}

double CurveFit::amplitude() const {
  // a/b * u^-b = a/b * x_scale^b * x^-b
  if (b == 0) return 0;
  return a / b * std::pow(x_scale, b);
}

CurveFit fit_with_exponent(std::span<const double> xs, std::span<const double> ys, double b) {
  check_points(xs, ys, 2);
  return fit_fixed(xs, ys, geometric_mean(xs), b);
}

CurveFit fit_saturating(std::span<const double> xs, std::span<const double> ys) {
  check_points(xs, ys, 3);
  const double x_scale = geometric_mean(xs);
  const double step = (kMaxExponent - kMinExponent) / (kExponentGrid - 1);
  CurveFit best;
  int best_index = -1;
  for (int i = 0; i < kExponentGrid; ++i) {
    CurveFit fit = fit_fixed(xs, ys, x_scale, kMinExponent + step * i);
    if (best_index < 0 || fit.rms_error < best.rms_error) {
      best = fit;
      best_index = i;
    }
  }
  // Golden section on the grid cells either side of the best grid point; the
  // error is smooth in b, so it is unimodal at this scale.
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double lo = std::max(kMinExponent, kMinExponent + step * (best_index - 1));
  double hi = std::min(kMaxExponent, kMinExponent + step * (best_index + 1));
  double left = hi - golden * (hi - lo);
  double right = lo + golden * (hi - lo);
  CurveFit fit_left = fit_fixed(xs, ys, x_scale, left);
  CurveFit fit_right = fit_fixed(xs, ys, x_scale, right);
  for (int i = 0; i < kGoldenSteps; ++i) {
    if (fit_left.rms_error < fit_right.rms_error) {
      hi = right;
      right = left;
      fit_right = fit_left;
      left = hi - golden * (hi - lo);
      fit_left = fit_fixed(xs, ys, x_scale, left);
    } else {
      lo = left;
      left = right;
      fit_left = fit_right;
      right = lo + golden * (hi - lo);
      fit_right = fit_fixed(xs, ys, x_scale, right);
    }
  }
  for (const CurveFit* candidate : {&fit_left, &fit_right}) {
    if (candidate->rms_error < best.rms_error) best = *candidate;
  }
  return best;
}

CurveFit fit_hit_ratio_curve(std::span<const double> xs, std::span<const double> ys) {
  check_points(xs, ys, 3);
  std::vector<size_t> order(xs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t l, size_t r) { return xs[l] < xs[r]; });
  const double top = *std::max_element(ys.begin(), ys.end());
  size_t run = 0;  // points at the largest sizes on the flat top
  while (run < order.size() && top - ys[order[order.size() - 1 - run]] <= kPlateauTolerance) {
    ++run;
  }
  const size_t rising = order.size() - run;  // the points below the flat top
  std::set<double> rising_xs;
  for (size_t i = 0; i < rising; ++i) rising_xs.insert(xs[order[i]]);
  if (run < 2 || rising_xs.size() < 3) return fit_saturating(xs, ys);

  std::vector<double> fit_xs;
  std::vector<double> fit_ys;
  double plateau_sum = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i < rising) {
      fit_xs.push_back(xs[order[i]]);
      fit_ys.push_back(ys[order[i]]);
    }
    if (i >= rising) plateau_sum += ys[order[i]];
  }
  CurveFit fit = fit_saturating(fit_xs, fit_ys);
  fit.plateau = plateau_sum / static_cast<double>(run);
  fit.points = xs.size();
  fit.max_abs_error = 0;
  double squares = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double residual = ys[i] - fit.predict(xs[i]);
    squares += residual * residual;
    fit.max_abs_error = std::max(fit.max_abs_error, std::abs(residual));
  }
  fit.rms_error = std::sqrt(squares / static_cast<double>(xs.size()));
  return fit;
}

CrossValidation leave_one_out(std::span<const double> xs, std::span<const double> ys) {
  check_points(xs, ys, 4);
  CrossValidation out;
  double squares = 0;
  std::vector<double> other_xs;
  std::vector<double> other_ys;
  for (size_t left_out = 0; left_out < xs.size(); ++left_out) {
    other_xs.clear();
    other_ys.clear();
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i == left_out) continue;
      other_xs.push_back(xs[i]);
      other_ys.push_back(ys[i]);
    }
    const double residual = ys[left_out] - fit_saturating(other_xs, other_ys).predict(xs[left_out]);
    squares += residual * residual;
    out.max_abs_error = std::max(out.max_abs_error, std::abs(residual));
  }
  out.rms_error = std::sqrt(squares / static_cast<double>(xs.size()));
  return out;
}

std::vector<double> solve_least_squares(const std::vector<std::vector<double>>& rows,
                                        std::span<const double> ys) {
  if (rows.size() != ys.size()) {
    throw std::invalid_argument("least squares: " + std::to_string(rows.size()) + " rows but " +
                                std::to_string(ys.size()) + " values");
  }
  if (rows.empty()) throw std::invalid_argument("least squares: no rows");
  const size_t width = rows.front().size();
  Eigen::MatrixXd design(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(width));
  Eigen::VectorXd target(static_cast<Eigen::Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != width) {
      throw std::invalid_argument("least squares: row " + std::to_string(i) + " has " +
                                  std::to_string(rows[i].size()) + " columns, expected " +
                                  std::to_string(width));
    }
    for (size_t j = 0; j < width; ++j) {
      design(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
    }
    target(static_cast<Eigen::Index>(i)) = ys[i];
  }
  const Eigen::VectorXd coef = design.colPivHouseholderQr().solve(target);
  return {coef.data(), coef.data() + coef.size()};
}

}  // namespace memext
