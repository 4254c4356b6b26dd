#include "theory/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "tensor/error.h"
#include "tensor/random.h"

namespace lamppost {

namespace {

__extension__ using Uint128 = unsigned __int128;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// The continued fraction of I_x(a, b) (Numerical Recipes, 3rd ed., 6.4), by the modified Lentz
// method. It converges fast for x < (a + 1) / (a + b + 2), in O(sqrt(max(a, b))) terms.
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;  // stands in for a zero denominator
  constexpr double kEpsilon = 1e-16;
  const auto guard = [](double v) { return std::abs(v) < kTiny ? kTiny : v; };
  double c = 1;
  double d = 1 / guard(1 - (a + b) * x / (a + 1));
  double h = d;
  for (int m = 1; m < 100000; ++m) {
    // The even term d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)), then the odd term
    // d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    const double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / guard(1 + even * d);
    c = guard(1 + even / c);
    h *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / guard(1 + odd * d);
    c = guard(1 + odd / c);
    h *= d * c;
    if (std::abs(d * c - 1) < kEpsilon) break;
  }
  return h;
}

// The regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1]. The caller
// passes 1 - x as well, so that a value of x near 1 loses no digits to the subtraction.
double incomplete_beta(double a, double b, double x, double one_minus_x) {
  if (x <= 0) return 0;
  if (one_minus_x <= 0) return 1;
  // x^a (1 - x)^b / B(a, b)
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log(one_minus_x));
  // I_x(a, b) = 1 - I_{1-x}(b, a): use the side where the fraction converges.
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, one_minus_x) / b;
}

// The t with P(T > t) = tail for Student's T with dof > 0 degrees of freedom, tail in (0, 1/2].
// P(T > t) = I_{dof / (dof + t^2)}(dof / 2, 1/2) / 2 falls with t; bisection on it is slow but
// cannot fail, and a fit needs two quantiles.
double student_t_quantile(double tail, double dof) {
  const auto upper_tail = [dof](double t) {
    const double denominator = dof + t * t;
    return incomplete_beta(dof / 2, 0.5, dof / denominator, t * t / denominator) / 2;
  };
  double low = 0, high = 1;
  while (upper_tail(high) > tail) {
    low = high;
    high *= 2;
  }
  // Until the bracket stops shrinking: at most about 1100 halvings in double precision.
  for (double middle = (low + high) / 2; low < middle && middle < high; middle = (low + high) / 2) {
    (upper_tail(middle) > tail ? low : high) = middle;
  }
  return (low + high) / 2;
}

// The least-squares line y = intercept + slope x, with the standard error of its slope.
struct Line {
  double slope = 0;
  double intercept = 0;
  double r_squared = 0;
  double slope_se = kInfinity;  // infinite with 2 points: no residual degrees of freedom
};

// Centred sums, so values far from 0 (log widths, late steps) lose no digits. Requires two
// distinct x values (the callers check).
Line least_squares(std::span<const double> x, std::span<const double> y) {
  const auto p = static_cast<double>(x.size());
  double x_mean = 0, y_mean = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    x_mean += x[i];
    y_mean += y[i];
  }
  x_mean /= p;
  y_mean /= p;
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - x_mean) * (x[i] - x_mean);
    sxy += (x[i] - x_mean) * (y[i] - y_mean);
    syy += (y[i] - y_mean) * (y[i] - y_mean);
  }
  Line line;
  line.slope = sxy / sxx;
  line.intercept = y_mean - line.slope * x_mean;
  double sse = 0;  // from the residuals themselves: syy - slope sxy cancels on a good fit
  for (size_t i = 0; i < x.size(); ++i) {
    const double residual = y[i] - line.intercept - line.slope * x[i];
    sse += residual * residual;
  }
  // Constant y lie exactly on the flat line: a perfect fit.
  line.r_squared = syy > 0 ? 1 - sse / syy : 1;
  if (x.size() > 2) line.slope_se = std::sqrt(sse / (p - 2) / sxx);
  return line;
}

// slope -/+ t_{p-2, (1+level)/2} se; with 2 points there is no t distribution and nothing
// bounds the slope.
Estimate t_interval(const Line& line, size_t points, double level) {
  if (points <= 2) return {line.slope, -kInfinity, kInfinity};
  const double half_width =
      student_t_quantile((1 - level) / 2, static_cast<double>(points - 2)) * line.slope_se;
  return {line.slope, line.slope - half_width, line.slope + half_width};
}

void check_level(std::string_view op, double level) {
  LAMPPOST_CHECK(level > 0 && level < 1, op, "level {} must be in (0, 1)", level);
}

void check_spread(std::string_view op, std::span<const double> x, std::string_view name) {
  LAMPPOST_CHECK(std::any_of(x.begin(), x.end(), [&](double v) { return v != x[0]; }), op,
                 "every {} is {}: the slope is undefined", name, x[0]);
}

// The q-quantile of sorted values, interpolating linearly between order statistics (Hyndman
// and Fan's type 7, NumPy's default).
double quantile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(h));
  if (below + 1 >= sorted.size()) return sorted.back();
  return sorted[below] + (h - static_cast<double>(below)) * (sorted[below + 1] - sorted[below]);
}

}  // namespace

PowerLawFit fit_power_law(std::span<const double> x, const std::vector<std::vector<double>>& y,
                          const FitOptions& options) {
  constexpr std::string_view op = "fit_power_law";
  check_level(op, options.level);
  LAMPPOST_CHECK(options.resamples >= 1, op, "resamples {} must be at least 1", options.resamples);
  LAMPPOST_CHECK(x.size() >= 2, op, "need at least 2 points, got {}", x.size());
  LAMPPOST_CHECK(!y.empty(), op, "y holds no series");
  for (size_t i = 0; i < x.size(); ++i)
    LAMPPOST_CHECK(x[i] > 0 && std::isfinite(x[i]), op, "x[{}] = {} must be positive and finite", i,
                   x[i]);
  for (size_t s = 0; s < y.size(); ++s) {
    LAMPPOST_CHECK(y[s].size() == x.size(), op, "series {} has {} values for {} x values", s,
                   y[s].size(), x.size());
    for (size_t i = 0; i < x.size(); ++i)
      LAMPPOST_CHECK(y[s][i] > 0 && std::isfinite(y[s][i]), op,
                     "y[{}][{}] = {} must be positive and finite", s, i, y[s][i]);
  }
  check_spread(op, x, "x");

  const size_t points = x.size(), seeds = y.size();
  std::vector<double> log_x(points), log_mean(points);
  for (size_t i = 0; i < points; ++i) {
    double sum = 0;
    for (size_t s = 0; s < seeds; ++s) sum += y[s][i];
    log_x[i] = std::log(x[i]);
    log_mean[i] = std::log(sum / static_cast<double>(seeds));
  }
  const Line line = least_squares(log_x, log_mean);
  PowerLawFit fit{.slope = t_interval(line, points, options.level),
                  .prefactor = std::exp(line.intercept),
                  .r_squared = line.r_squared};
  if (seeds == 1) return fit;

  // The bootstrap keeps the design (every x) and redraws whole seeds: one seed's series share
  // its data, so they move together across x, and redrawing the seeds at each x independently
  // would count that shared level as noise in the slope. Draw j of a resample is one block of
  // the generator, mapped to a seed index by a 64-bit multiply-shift (bias below seeds / 2^64).
  Rng rng(options.seed);
  std::vector<double> slopes(static_cast<size_t>(options.resamples));
  std::vector<size_t> drawn(seeds);
  for (double& slope : slopes) {
    for (size_t& seed : drawn) seed = static_cast<size_t>((Uint128{rng.next_u64()} * seeds) >> 64);
    for (size_t i = 0; i < points; ++i) {
      double sum = 0;
      for (size_t seed : drawn) sum += y[seed][i];
      log_mean[i] = std::log(sum / static_cast<double>(seeds));
    }
    slope = least_squares(log_x, log_mean).slope;
  }
  std::sort(slopes.begin(), slopes.end());
  fit.slope.low = quantile(slopes, (1 - options.level) / 2);
  fit.slope.high = quantile(slopes, (1 + options.level) / 2);
  return fit;
}

ExponentialFit fit_exponential(std::span<const double> t, std::span<const double> loss,
                               const FitOptions& options) {
  constexpr std::string_view op = "fit_exponential";
  check_level(op, options.level);
  LAMPPOST_CHECK(t.size() == loss.size(), op, "t has {} values, loss {}", t.size(), loss.size());
  std::vector<double> steps, log_loss;
  for (size_t i = 0; i < t.size(); ++i) {
    LAMPPOST_CHECK(std::isfinite(t[i]), op, "t[{}] = {} must be finite", i, t[i]);
    // A loss that reached 0 (exact interpolation) or blew up has no place on a log scale.
    if (loss[i] > 0 && std::isfinite(loss[i])) {
      steps.push_back(t[i]);
      log_loss.push_back(std::log(loss[i]));
    }
  }
  LAMPPOST_CHECK(steps.size() >= 2, op,
                 "need at least 2 points with a positive, finite loss, got {} of {}", steps.size(),
                 t.size());
  check_spread(op, steps, "t with a positive, finite loss");
  const Line line = least_squares(steps, log_loss);
  const Estimate slope = t_interval(line, steps.size(), options.level);
  return {.rate = {-slope.value, -slope.high, -slope.low}, .r_squared = line.r_squared};
}

}  // namespace lamppost
