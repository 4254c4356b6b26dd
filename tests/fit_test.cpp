#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tensor/random.h"
#include "tests/testing.h"
#include "theory/fit.h"

namespace lamppost {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
const std::vector<double> kWidths = {32, 64, 128, 256, 512, 1024};

// seeds series y[s][i] = c x_i^slope (1 + noise z), z standard normal from Rng(seed).
std::vector<std::vector<double>> noisy_power_law(double c, double slope, double noise, int seeds,
                                                 uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<double>> y;
  for (int s = 0; s < seeds; ++s) {
    const std::vector<double> z =
        rng.normal<double>({static_cast<int64_t>(kWidths.size())}).to_vector();
    std::vector<double> series;
    for (size_t i = 0; i < kWidths.size(); ++i)
      series.push_back(c * std::pow(kWidths[i], slope) * (1 + noise * z[i]));
    y.push_back(series);
  }
  return y;
}

// The least-squares standard error of the slope of y on x, written out as the textbook has it:
// se^2 = (sum of squared residuals / (p - 2)) / sum (x - mean x)^2.
double slope_standard_error(const std::vector<double>& x, const std::vector<double>& y) {
  const auto p = static_cast<double>(x.size());
  double x_mean = 0, y_mean = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    x_mean += x[i] / p;
    y_mean += y[i] / p;
  }
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - x_mean) * (x[i] - x_mean);
    sxy += (x[i] - x_mean) * (y[i] - y_mean);
  }
  const double slope = sxy / sxx;
  double sse = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double residual = y[i] - y_mean - slope * (x[i] - x_mean);
    sse += residual * residual;
  }
  return std::sqrt(sse / (p - 2) / sxx);
}

TEST(FitPowerLaw, ExactPowerLawRecoversSlopeAndPrefactor) {
  const std::vector<std::vector<double>> y = noisy_power_law(3.7, -0.5, 0, 3, 0);
  const PowerLawFit fit = fit_power_law(kWidths, y);
  EXPECT_NEAR(fit.slope.value, -0.5, 1e-12);
  EXPECT_NEAR(fit.prefactor, 3.7, 3.7e-12);
  EXPECT_NEAR(fit.r_squared, 1, 1e-12);
  // Identical seeds: every resample is the data itself.
  EXPECT_NEAR(fit.slope.low, -0.5, 1e-12);
  EXPECT_NEAR(fit.slope.high, -0.5, 1e-12);
}

// 5 seeds with 5% noise around 2 x^-1/2: the bootstrap interval holds the truth and the
// estimate, excludes a flat law, and is narrow (about 0.03 wide here).
TEST(FitPowerLaw, RecognisesANoisyInverseSquareRoot) {
  const PowerLawFit fit = fit_power_law(kWidths, noisy_power_law(2, -0.5, 0.05, 5, 11));
  EXPECT_LT(fit.slope.low, fit.slope.value);
  EXPECT_LT(fit.slope.value, fit.slope.high);
  EXPECT_LT(fit.slope.low, -0.5);
  EXPECT_GT(fit.slope.high, -0.5);
  EXPECT_LT(fit.slope.high, 0);
  EXPECT_LT(fit.slope.high - fit.slope.low, 0.1);
  EXPECT_NEAR(fit.prefactor, 2, 0.2);
  EXPECT_GT(fit.r_squared, 0.99);
}

// The contrast: a flat series with the same noise is not mistaken for a power law.
TEST(FitPowerLaw, FlatSeriesGivesAnIntervalAroundZero) {
  const PowerLawFit fit = fit_power_law(kWidths, noisy_power_law(2, 0, 0.05, 5, 12));
  EXPECT_LT(fit.slope.low, 0);
  EXPECT_GT(fit.slope.high, 0);
  EXPECT_GT(fit.slope.low, -0.5);
  EXPECT_LT(fit.slope.high - fit.slope.low, 0.1);
}

// Two seeds {1, 1} and {3, 3} at two widths, e apart. Redrawn at each width independently, the
// mean is 1 with probability 1/4 and 3 with probability 1/4, so the slope log m_2 - log m_1
// reaches its extremes -log 3 and log 3 with probability 1/16 each, well past the 2.5% tails:
// they are the interval. A joint redraw (one index for all widths) would give slope 0 always.
// Two seeds whose series are flat at different levels: every resample of whole seeds averages
// flat series, so the interval is exactly [0, 0]. (Redrawing the seeds at each width
// independently would mix levels across widths and give +-log 3.) Seeds whose slopes differ
// spread the interval between them.
TEST(FitPowerLaw, BootstrapRedrawsWholeSeeds) {
  const std::vector<double> x = {1, std::exp(1.0)};
  const PowerLawFit flat = fit_power_law(x, {{1, 1}, {3, 3}}, {.resamples = 4000});
  EXPECT_NEAR(flat.slope.value, 0, 1e-15);
  EXPECT_NEAR(flat.slope.low, 0, 1e-15);
  EXPECT_NEAR(flat.slope.high, 0, 1e-15);
  const PowerLawFit spread = fit_power_law(x, {{1, 1}, {1, std::exp(-1.0)}}, {.resamples = 4000});
  EXPECT_NEAR(spread.slope.low, -1, 1e-15);  // both draws the second seed (a quarter of them)
  EXPECT_NEAR(spread.slope.high, 0, 1e-15);  // both draws the first
}

TEST(FitPowerLaw, BootstrapIsReproducible) {
  const std::vector<std::vector<double>> y = noisy_power_law(1, -0.5, 0.1, 4, 13);
  const FitOptions options{.resamples = 500, .level = 0.9, .seed = 42};
  const PowerLawFit a = fit_power_law(kWidths, y, options);
  const PowerLawFit b = fit_power_law(kWidths, y, options);
  EXPECT_EQ(a.slope.low, b.slope.low);
  EXPECT_EQ(a.slope.high, b.slope.high);
  FitOptions other = options;
  other.seed = 43;
  const PowerLawFit c = fit_power_law(kWidths, y, other);
  EXPECT_EQ(a.slope.value, c.slope.value);
  EXPECT_NE(a.slope.low, c.slope.low);
}

// log x = 1, 2, 3, 4 and log y = 0, 1, 1, 3: mean log x 2.5, mean log y 1.25, Sxx = 5,
// Sxy = 4.5, so slope 0.9 and intercept -1; residuals 0.1, 0.2, -0.7, 0.4 give SSE = 0.7,
// se = sqrt(0.7 / 2 / 5) and r^2 = 1 - 0.7 / 4.75. t_{2, 0.975} = 4.30265272974946 (mpmath).
TEST(FitPowerLaw, OneSeedTIntervalByHand) {
  const std::vector<double> x = {std::exp(1.0), std::exp(2.0), std::exp(3.0), std::exp(4.0)};
  const std::vector<double> y = {1, std::exp(1.0), std::exp(1.0), std::exp(3.0)};
  const PowerLawFit fit = fit_power_law(x, {y});
  const double half_width = 4.30265272974946 * std::sqrt(0.07);
  EXPECT_NEAR(fit.slope.value, 0.9, 1e-14);
  EXPECT_NEAR(fit.slope.low, 0.9 - half_width, 1e-12);
  EXPECT_NEAR(fit.slope.high, 0.9 + half_width, 1e-12);
  EXPECT_NEAR(fit.prefactor, std::exp(-1.0), 1e-14);
  EXPECT_NEAR(fit.r_squared, 1 - 0.7 / 4.75, 1e-14);
}

TEST(FitPowerLaw, OneSeedTwoPointsHasNoBound) {
  const PowerLawFit fit = fit_power_law(std::vector<double>{1, 4}, {{1, 0.5}});
  EXPECT_NEAR(fit.slope.value, -0.5, 1e-15);
  EXPECT_EQ(fit.slope.low, -kInfinity);
  EXPECT_EQ(fit.slope.high, kInfinity);
}

TEST(FitPowerLaw, NamesWhatIsWrong) {
  const std::vector<double> x = {1, 2, 4};
  const auto error = [](const std::vector<double>& xs, const std::vector<std::vector<double>>& y,
                        const FitOptions& options = {}) {
    return testing::error_of([&] { fit_power_law(xs, y, options); });
  };
  EXPECT_EQ(error({1}, {{1}}), "[fit_power_law] need at least 2 points, got 1");
  EXPECT_EQ(error(x, {}), "[fit_power_law] y holds no series");
  EXPECT_EQ(error(x, {{1, 2, 3}, {1, 2}}), "[fit_power_law] series 1 has 2 values for 3 x values");
  EXPECT_EQ(error({1, 0, 4}, {{1, 2, 3}}), "[fit_power_law] x[1] = 0 must be positive and finite");
  EXPECT_EQ(error({1, 2, kInfinity}, {{1, 2, 3}}),
            "[fit_power_law] x[2] = inf must be positive and finite");
  EXPECT_EQ(error(x, {{1, 2, 3}, {1, -2, 3}}),
            "[fit_power_law] y[1][1] = -2 must be positive and finite");
  EXPECT_EQ(error(x, {{1, std::nan(""), 3}}),
            "[fit_power_law] y[0][1] = nan must be positive and finite");
  EXPECT_EQ(error({2, 2, 2}, {{1, 2, 3}}), "[fit_power_law] every x is 2: the slope is undefined");
  EXPECT_EQ(error(x, {{1, 2, 3}}, {.level = 1}), "[fit_power_law] level 1 must be in (0, 1)");
  EXPECT_EQ(error(x, {{1, 2, 3}}, {.level = 0}), "[fit_power_law] level 0 must be in (0, 1)");
  EXPECT_EQ(error(x, {{1, 2, 3}}, {.resamples = 0}),
            "[fit_power_law] resamples 0 must be at least 1");
}

TEST(FitExponential, ExactDecayRecoversTheRate) {
  std::vector<double> t, loss;
  for (int step = 0; step <= 50; ++step) {
    t.push_back(step);
    loss.push_back(2 * std::exp(-0.1 * step));
  }
  const ExponentialFit fit = fit_exponential(t, loss);
  EXPECT_NEAR(fit.rate.value, 0.1, 1e-12);
  EXPECT_NEAR(fit.rate.low, 0.1, 1e-12);
  EXPECT_NEAR(fit.rate.high, 0.1, 1e-12);
  EXPECT_NEAR(fit.r_squared, 1, 1e-12);
}

// 5% multiplicative noise on 2 exp(-0.1 t): the interval holds 0.1 and is tight. Points whose
// loss is 0, negative, infinite or NaN are left out and change nothing.
TEST(FitExponential, NoisyDecayAndUnusablePoints) {
  const std::vector<double> z = Rng(21).normal<double>({100}).to_vector();
  std::vector<double> t, loss;
  for (int step = 0; step < 100; ++step) {
    t.push_back(step);
    loss.push_back(2 * std::exp(-0.1 * step) * (1 + 0.05 * z[static_cast<size_t>(step)]));
  }
  const ExponentialFit fit = fit_exponential(t, loss);
  EXPECT_LT(fit.rate.low, 0.1);
  EXPECT_GT(fit.rate.high, 0.1);
  EXPECT_LT(fit.rate.high - fit.rate.low, 0.002);
  EXPECT_GT(fit.r_squared, 0.99);

  for (double bad : {0.0, -1.0, kInfinity, std::nan("")}) {
    t.push_back(100);
    loss.push_back(bad);
  }
  const ExponentialFit with_bad = fit_exponential(t, loss);
  EXPECT_EQ(with_bad.rate.value, fit.rate.value);
  EXPECT_EQ(with_bad.rate.low, fit.rate.low);
  EXPECT_EQ(with_bad.rate.high, fit.rate.high);
}

// The half-width of the interval is t_{p-2, (1+level)/2} se for p points. Reference quantiles
// from mpmath (bisection on the regularized incomplete beta at 30 digits); those at dof 1 and
// 2 also have closed forms, tan(pi (q - 1/2)) and (2q - 1) / sqrt(2 q (1 - q)).
TEST(FitExponential, TIntervalUsesStudentQuantiles) {
  struct Case {
    int dof;
    double level;
    double quantile;
  };
  for (const Case& c : {Case{1, 0.95, 12.706204736174693}, Case{2, 0.95, 4.3026527297494618},
                        Case{5, 0.95, 2.5705818356363148}, Case{30, 0.95, 2.0422724563012379},
                        Case{1, 0.9, 6.3137515146750374}, Case{3, 0.8, 1.6377443536962103},
                        Case{10, 0.99, 3.1692726726169507}, Case{1000, 0.95, 1.9623390808264081}}) {
    SCOPED_TRACE(fmt::format("dof {} level {}", c.dof, c.level));
    const std::vector<double> z =
        Rng(static_cast<uint64_t>(c.dof)).normal<double>({c.dof + 2}).to_vector();
    std::vector<double> t, log_loss, loss;
    for (int i = 0; i < c.dof + 2; ++i) {
      t.push_back(i);
      log_loss.push_back(-0.3 * i + 0.1 * z[static_cast<size_t>(i)]);
      loss.push_back(std::exp(log_loss.back()));
    }
    const ExponentialFit fit = fit_exponential(t, loss, {.level = c.level});
    const double half_width = c.quantile * slope_standard_error(t, log_loss);
    EXPECT_NEAR(fit.rate.high - fit.rate.value, half_width, 1e-9 * half_width);
    EXPECT_NEAR(fit.rate.value - fit.rate.low, half_width, 1e-9 * half_width);
  }
}

TEST(FitExponential, NamesWhatIsWrong) {
  const auto error = [](const std::vector<double>& t, const std::vector<double>& loss,
                        const FitOptions& options = {}) {
    return testing::error_of([&] { fit_exponential(t, loss, options); });
  };
  EXPECT_EQ(error({0, 1, 2}, {1, 0.5}), "[fit_exponential] t has 3 values, loss 2");
  EXPECT_EQ(error({0, 1, 2}, {1, 0, -1}),
            "[fit_exponential] need at least 2 points with a positive, finite loss, got 1 of 3");
  EXPECT_EQ(error({0, std::nan(""), 2}, {1, 0.5, 0.25}),
            "[fit_exponential] t[1] = nan must be finite");
  EXPECT_EQ(error({3, 3, 4}, {1, 0.5, 0}),
            "[fit_exponential] every t with a positive, finite loss is 3: the slope is undefined");
  EXPECT_EQ(error({0, 1}, {1, 0.5}, {.level = 1.5}),
            "[fit_exponential] level 1.5 must be in (0, 1)");
}

}  // namespace
}  // namespace lamppost
