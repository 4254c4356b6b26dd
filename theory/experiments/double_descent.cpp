// Claim 7: double descent (Belkin, Hsu, Ma, Mandal 2019). Random Fourier features with the
// minimum-norm fit, the number of features m swept through the number of samples n: the test
// risk (square and zero-one) peaks near the interpolation threshold m = n, where the fit has to
// bend through every noisy label with barely enough features and ||w|| blows up, and falls again
// beyond it, as the minimum-norm solution among ever more interpolating ones gets smoother. As
// m grows the fit approaches Gaussian-kernel interpolation, the m -> infinity limit of the
// features. The contrast is a ridge fit on the same features, whose peak the regularisation
// removes. One-dimensional random ReLU features with 3, 30 and 3000 features draw the seed's
// picture of the three regimes.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/kernel_machine.h"
#include "models/loss.h"
#include "models/random_features.h"
#include "tensor/error.h"
#include "tensor/linalg.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/experiments/interpolation.h"

namespace lamppost::detail {

namespace {

// "Near m = n": the peak lies within this factor of n.
constexpr double kPeakWindow = 2;
// "Falls again": at the largest m the curve has come down by at least a quarter from its peak.
// (A zero-one error cannot fall further than from chance at the peak to the Bayes error beyond;
// square loss and ||w|| fall by orders of magnitude.)
constexpr double kFallsTo = 0.75;
// The grid around n when no --features are given, as multiples of n.
constexpr double kGrid[] = {0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 4.0, 10.0};

// The seed's one-dimensional picture: this many noisy samples of a smooth curve on [-1, 1],
// fitted with 3 (under-parameterized), 30 (near the threshold) and 3000 ReLU features. It is a
// picture, not a verdict: in one dimension a ReLU feature only adds rank where its kink falls
// between two samples, so where the threshold lies depends on where the kinks fell (30 features
// interpolated 10 points in about a third of draws here, 24 points in none).
constexpr int64_t kPicturePoints = 10;
constexpr double kPictureBandwidth = 0.5;
constexpr int64_t kPictureFeatures[] = {3, 30, 3000};
constexpr double kPictureNoise = 0.1;

std::vector<int64_t> feature_grid(const ExperimentOptions& options) {
  if (!options.features.empty()) return options.features;
  std::vector<int64_t> grid;
  for (double factor : kGrid) {
    const int64_t m = 2 * std::max<int64_t>(1, std::llround(factor * options.n / 2));
    if (grid.empty() || m > grid.back()) grid.push_back(m);
  }
  return grid;
}

// Whether a curve over the grid peaks near n (its largest value at m within kPeakWindow of n)
// and falls again beyond it (to kFallsTo of the peak at the largest m).
bool peaks_and_falls(const std::vector<int64_t>& grid, const std::vector<double>& values,
                     int64_t n) {
  const size_t top = static_cast<size_t>(
      std::distance(values.begin(), std::max_element(values.begin(), values.end())));
  const double m = static_cast<double>(grid[top]);
  const double near = static_cast<double>(n);
  return m >= near / kPeakWindow && m <= near * kPeakWindow &&
         values.back() <= kFallsTo * values[top];
}

// Per seed, per m.
struct Sweep {
  std::vector<std::vector<double>> test_square, test_error, norm, ridge_square, ridge_error,
      to_kernel;
  std::vector<double> kernel_square, kernel_error;  // per seed
};

std::string where_peak(const std::vector<int64_t>& grid, const std::vector<double>& mean) {
  const size_t top =
      static_cast<size_t>(std::distance(mean.begin(), std::max_element(mean.begin(), mean.end())));
  return fmt::format("mean peak {:.3g} at m = {}; {:.3g} at m = {}", mean[top], grid[top],
                     mean.back(), grid.back());
}

template <Real T>
void run_dataset(DataSource source, const ExperimentOptions& options,
                 const std::vector<int64_t>& grid, SweepProgress& sweep, ExperimentResult& result) {
  const std::string name(to_string(source));
  Table table{.name = fmt::format("{}_sweep", name),
              .columns = {"seed", "features", "rank", "train_square_loss", "test_square_loss",
                          "test_error", "norm", "ridge_test_square_loss", "ridge_test_error",
                          "distance_to_kernel", "kernel_test_square_loss", "kernel_test_error"}};
  Sweep s;
  for (int64_t r = 0; r < options.seeds; ++r) {
    const uint64_t seed = options.seed + static_cast<uint64_t>(r);
    const Classification<T> data = classification<T>(source, options, seed);
    const Tensor<T> y_train = one_hot<T>(data.train, data.classes);
    const Tensor<T> y_test = one_hot<T>(data.test, data.classes);
    const double bandwidth = bandwidth_of(options, data.x_train, seed);

    KernelMachine<T> kernel(gaussian_kernel<T>(bandwidth));
    kernel.fit(data.x_train, y_train);
    const Tensor<T> kernel_prediction = kernel.predict(data.x_test);
    const double kernel_norm = std::sqrt(static_cast<double>(sum(square(kernel_prediction))));
    s.kernel_square.push_back(mean_square_error(kernel_prediction, y_test));
    s.kernel_error.push_back(zero_one_error(kernel_prediction, data.test));

    for (auto* series :
         {&s.test_square, &s.test_error, &s.norm, &s.ridge_square, &s.ridge_error, &s.to_kernel})
      series->emplace_back();
    for (int64_t m : grid) {
      sweep.start(static_cast<double>(m), fmt::format("{}, m = {}, seed {}", name, m, seed));
      const RandomFeatures<T> features({.kind = FeatureKind::fourier,
                                        .input_dimension = data.x_train.shape()[1],
                                        .count = m,
                                        .bandwidth = bandwidth,
                                        .seed = derived_seed(seed, 10)});
      const Tensor<T> phi_train = features(data.x_train);
      const Tensor<T> phi_test = features(data.x_test);
      const LeastSquaresResult<T> fit = least_squares(phi_train, y_train);
      const LeastSquaresResult<T> ridge =
          least_squares(phi_train, y_train, {.ridge = static_cast<T>(options.ridge)});
      const Tensor<T> prediction = matmul(phi_test, fit.x);
      const Tensor<T> ridge_prediction = matmul(phi_test, ridge.x);
      const double train_square = mean_square_error(matmul(phi_train, fit.x), y_train);
      const double row[] = {
          mean_square_error(prediction, y_test),
          zero_one_error(prediction, data.test),
          std::sqrt(static_cast<double>(sum(square(fit.x)))),
          mean_square_error(ridge_prediction, y_test),
          zero_one_error(ridge_prediction, data.test),
          std::sqrt(static_cast<double>(sum(square(prediction - kernel_prediction)))) /
              kernel_norm};
      s.test_square.back().push_back(row[0]);
      s.test_error.back().push_back(row[1]);
      s.norm.back().push_back(row[2]);
      s.ridge_square.back().push_back(row[3]);
      s.ridge_error.back().push_back(row[4]);
      s.to_kernel.back().push_back(row[5]);
      table.add_row({static_cast<double>(seed), static_cast<double>(m),
                     static_cast<double>(fit.rank), train_square, row[0], row[1], row[2], row[3],
                     row[4], row[5], s.kernel_square.back(), s.kernel_error.back()});
      sweep.finish();
    }
  }

  result.tables.push_back(std::move(table));

  const int64_t n = options.n;
  const std::string where =
      fmt::format("{} (n = {}, {} classes)", name, n, source == DataSource::fashion_mnist ? 10 : 2);
  const auto judge = [&](const std::vector<std::vector<double>>& by_seed) {
    std::vector<bool> per_seed;
    for (const auto& series : by_seed) per_seed.push_back(peaks_and_falls(grid, series, n));
    return per_seed;
  };
  const std::string predicted =
      fmt::format("largest at m in [n/{0}, {0} n], at most {1} of that at the largest m",
                  kPeakWindow, kFallsTo);
  const struct {
    const char* claim;
    const std::vector<std::vector<double>>* series;
    bool contrast;
  } peaks[] = {{"test square loss peaks near m = n and falls again", &s.test_square, false},
               {"test zero-one error peaks near m = n and falls again", &s.test_error, false},
               {"||w|| peaks near m = n and falls again", &s.norm, false},
               {"test square loss of a ridge fit peaks near m = n", &s.ridge_square, true}};
  for (const auto& peak : peaks) {
    const std::vector<bool> per_seed = judge(*peak.series);
    result.findings.push_back(
        {.claim = fmt::format("{}, {}", peak.claim, where),
         .contrast = peak.contrast,
         .measured = fmt::format("{} ({} agree)", where_peak(grid, band(*peak.series).mean),
                                 seeds_agreeing(per_seed)),
         .predicted =
             peak.contrast ? fmt::format("ridge {} removes the peak", options.ridge) : predicted,
         .verdict = every_seed(per_seed),
         .expected = peak.contrast ? Verdict::does_not_hold : Verdict::holds});
  }

  // Beyond the threshold, the distance to the kernel interpolant as a power of m.
  std::vector<double> far_m;
  std::vector<std::vector<double>> far_distance(s.to_kernel.size());
  for (size_t i = 0; i < grid.size(); ++i) {
    if (grid[i] < kPeakWindow * static_cast<double>(n)) continue;
    far_m.push_back(static_cast<double>(grid[i]));
    for (size_t r = 0; r < s.to_kernel.size(); ++r) far_distance[r].push_back(s.to_kernel[r][i]);
  }
  Finding approach{
      .claim = fmt::format("as m grows the fit approaches Gaussian-kernel "
                           "interpolation, {}",
                           where),
      .predicted = "||f_m - f_kernel|| / ||f_kernel|| falls with m beyond 2n (slope < 0)"};
  if (far_m.size() >= 2) {
    const PowerLawFit fit = fit_power_law(far_m, far_distance, {.seed = options.seed});
    double kernel_square = 0;
    for (double value : s.kernel_square)
      kernel_square += value / static_cast<double>(options.seeds);
    approach.measured = fmt::format(
        "{}; at m = {}: distance {:.3g}, test square loss {:.3g} "
        "against the kernel's {:.3g}",
        describe("slope", fit.slope), grid.back(), band(far_distance).mean.back(),
        band(s.test_square).mean.back(), kernel_square);
    approach.verdict = fit.slope.high < 0   ? Verdict::holds
                       : fit.slope.low >= 0 ? Verdict::does_not_hold
                                            : Verdict::inconclusive;
  } else {
    approach.measured = fmt::format("fewer than two feature counts at or beyond 2n = {}", 2 * n);
  }
  result.findings.push_back(std::move(approach));

  const std::vector<double> x(grid.begin(), grid.end());
  const auto threshold = [&](double low, double high) {
    return Curve{.label = "m = n (interpolation threshold)",
                 .x = {static_cast<double>(n), static_cast<double>(n)},
                 .y = {low, high},
                 .style = Curve::Style::lines};
  };
  const auto kernel_line = [&](const std::vector<double>& per_seed) {
    double mean = 0;
    for (double value : per_seed) mean += value / static_cast<double>(per_seed.size());
    return Curve{.label = "Gaussian-kernel interpolation (m -> infinity)",
                 .x = {x.front(), x.back()},
                 .y = {mean, mean},
                 .style = Curve::Style::lines};
  };
  const auto span_of = [](const std::vector<std::vector<double>>& a,
                          const std::vector<std::vector<double>>& b) {
    double low = std::numeric_limits<double>::infinity(), high = 0;
    for (const auto* part : {&a, &b})
      for (const auto& series : *part)
        for (double value : series) {
          if (value > 0) low = std::min(low, value);
          high = std::max(high, value);
        }
    return std::pair(low, high);
  };
  const auto risk_plot = [&](const std::string& stem, const std::string& y_label,
                             const std::vector<std::vector<double>>& min_norm,
                             const std::vector<std::vector<double>>& ridge,
                             const std::vector<double>& kernel, bool log_y) {
    const auto [low, high] = span_of(min_norm, ridge);
    return Plot{.name = fmt::format("{}_{}", name, stem),
                .title = fmt::format("Double descent, {}", where),
                .x_label = "random Fourier features m",
                .y_label = y_label,
                .log_x = true,
                .log_y = log_y,
                .curves = {band_curve("minimum-norm fit (mean, min-max over seeds)", x, min_norm),
                           band_curve(fmt::format("ridge {} (contrast)", options.ridge), x, ridge),
                           kernel_line(kernel), threshold(low, high)}};
  };
  result.plots.push_back(risk_plot("test_square_loss", "test square loss", s.test_square,
                                   s.ridge_square, s.kernel_square, true));
  result.plots.push_back(risk_plot("test_error", "test zero-one error", s.test_error, s.ridge_error,
                                   s.kernel_error, false));
  const auto [norm_low, norm_high] = span_of(s.norm, s.norm);
  result.plots.push_back({.name = fmt::format("{}_norm", name),
                          .title = fmt::format("Norm of the minimum-norm fit, {}", where),
                          .x_label = "random Fourier features m",
                          .y_label = "||w||",
                          .log_x = true,
                          .log_y = true,
                          .curves = {band_curve("||w|| (mean, min-max over seeds)", x, s.norm),
                                     threshold(norm_low, norm_high)}});
}

// The seed's Figure 6: random ReLU features in one dimension, drawn for the first seed; the
// table holds every seed's training residual and ||w||.
template <Real T>
void draw_picture(const ExperimentOptions& options, ExperimentResult& result) {
  Table table{.name = "relu_picture", .columns = {"seed", "features", "train_residual", "norm"}};
  Plot plot{.name = "relu_picture",
            .title = fmt::format("Random ReLU features in one dimension, n = {} (seed {})",
                                 kPicturePoints, options.seed),
            .x_label = "x",
            .y_label = "f(x)"};
  for (int64_t r = 0; r < options.seeds; ++r) {
    const uint64_t seed = options.seed + static_cast<uint64_t>(r);
    Rng rng(derived_seed(seed, 20));
    const Tensor<T> x = rng.uniform<T>({kPicturePoints, 1}, T(-1), T(1));
    const Tensor<T> y = sin(x * T(3)) + rng.normal<T>({kPicturePoints, 1}, T(0), T(kPictureNoise));
    const Tensor<T> grid = Tensor<T>::linspace(T(-1), T(1), 401).reshape({401, 1});
    for (int64_t m : kPictureFeatures) {
      RandomFeatureModel<T> model({.kind = FeatureKind::relu,
                                   .input_dimension = 1,
                                   .count = m,
                                   .bandwidth = kPictureBandwidth,
                                   .seed = derived_seed(seed, 21)});
      (void)model.fit(x, y);
      const double residual =
          std::sqrt(static_cast<double>(sum(square(model.predict(x) - y)) / sum(square(y))));
      const double norm = std::sqrt(static_cast<double>(sum(square(model.weights()))));
      table.add_row({static_cast<double>(seed), static_cast<double>(m), residual, norm});
      if (r == 0) {
        const Tensor<T> f = model.predict(grid).contiguous();
        Curve curve{.label = fmt::format("{} features", m), .style = Curve::Style::lines};
        for (int64_t i = 0; i < 401; ++i) {
          curve.x.push_back(static_cast<double>(grid.at({i, 0})));
          curve.y.push_back(static_cast<double>(f.data()[i]));
        }
        plot.curves.push_back(std::move(curve));
      }
    }
    if (r == 0) {
      Curve data{.label = "training data", .style = Curve::Style::points};
      for (int64_t i = 0; i < kPicturePoints; ++i) {
        data.x.push_back(static_cast<double>(x.at({i, 0})));
        data.y.push_back(static_cast<double>(y.at({i, 0})));
      }
      plot.curves.push_back(std::move(data));
    }
  }
  result.tables.push_back(std::move(table));
  result.plots.push_back(std::move(plot));
}

const std::vector<std::string>& double_descent_flags() {
  static const std::vector<std::string> flags = interpolation_flags(
      {"datasets", "data-dir", "n", "test-n", "input-dimension", "features", "bandwidth", "ridge"},
      /*reads_precision=*/false);
  return flags;
}

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "double_descent",
                          .title = "Claim 7: double descent of random Fourier features",
                          .settings = settings_of(options, double_descent_flags())};
  const std::vector<int64_t> grid = feature_grid(options);
  result.settings.emplace_back("feature-grid", fmt::format("{}", fmt::join(grid, ",")));
  result.settings.emplace_back("precision", "double (always)");
  result.settings.emplace_back("bandwidth-rule", "the median distance of the training points");
  result.settings.emplace_back("peak-window", fmt::format("[n/{0}, {0} n]", kPeakWindow));
  result.settings.emplace_back("falls-to", fmt::format("{}", kFallsTo));
  double cost = 0;
  for (int64_t m : grid) cost += static_cast<double>(m);
  SweepProgress sweep(progress,
                      cost * static_cast<double>(options.seeds * std::ssize(options.datasets)));
  for (DataSource source : options.datasets) run_dataset<T>(source, options, grid, sweep, result);
  draw_picture<T>(options, result);
  return result;
}

void check(const ExperimentOptions& options) {
  check_interpolation(options);
  // In float the pseudo-inverse's cut-off (min(n, m) eps on the Gram matrix's eigenvalues) drops
  // every singular value below about 1% of the largest: a truncated fit, which has no peak (seen
  // here: the peak vanished on both data sets).
  LAMPPOST_CHECK(options.precision == Precision::float64, "experiment",
                 "double_descent runs in double only: the peak at m = n lives in singular values "
                 "below float's resolution");
  LAMPPOST_CHECK(!options.datasets.empty(), "experiment", "the list of datasets is empty");
  LAMPPOST_CHECK(options.n >= 2, "experiment", "n must be at least 2, got {}", options.n);
  LAMPPOST_CHECK(options.input_dimension >= 1, "experiment",
                 "input-dimension must be at least 1, got {}", options.input_dimension);
  LAMPPOST_CHECK(options.ridge > 0, "experiment",
                 "ridge must be positive (the contrast fit's regularisation), got {}",
                 options.ridge);
}

ExperimentOptions quick() {
  return {.n = 1000,
          .input_dimension = 20,
          .seeds = 3,
          .datasets = {DataSource::fashion_mnist, DataSource::synthetic},
          .test_n = 2000,
          .ridge = 0.1};
}

ExperimentOptions full() {
  ExperimentOptions options = quick();
  options.n = 2000;
  options.test_n = 10000;
  options.seeds = 5;
  return options;
}

}  // namespace

ExperimentInfo double_descent_experiment() {
  return with_run(
      {.name = "double_descent",
       .claim = "Claim 7: min-norm random features: test risk peaks at m = n, falls beyond",
       .flags = double_descent_flags(),
       .quick = quick(),
       .full = full(),
       .check = check},
      // check refuses float, so the float slot never runs.
      run<double>, run<double>);
}

}  // namespace lamppost::detail
