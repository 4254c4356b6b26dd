#include "theory/experiments/common.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "autodiff/ops.h"
#include "data/fashion_mnist.h"
#include "data/synthetic.h"
#include "models/loss.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "theory/ntk.h"

namespace lamppost::detail {

int64_t input_dimension_of(const ExperimentOptions& options) {
  return options.dataset == DataSource::synthetic ? options.input_dimension : 784;
}

template <Real T>
Problem<T> make_problem(const ExperimentOptions& options, uint64_t seed) {
  Problem<T> problem;
  if (options.dataset == DataSource::synthetic) {
    const int64_t d = options.input_dimension;
    problem.x = sphere_points<T>(options.n, d, seed) * static_cast<T>(std::sqrt(d));
    // A smooth teacher of moderate width; the noise makes interpolation fit noise too.
    const Mlp<T> teacher(
        {.inputs = d, .hidden = {64}, .outputs = 1, .activation = Activation::tanh});
    problem.y =
        teacher_targets(teacher, teacher.init(seed + 1000003), problem.x, 0.1, seed + 2000003);
    return problem;
  }
  LAMPPOST_CHECK(options.n % 2 == 0, "experiment",
                 "n = {} must be even: Fashion-MNIST's two classes get n / 2 examples each",
                 options.n);
  FashionMnistOptions load{.classes = {0, 1},  // T-shirt/top against trouser
                           .n = options.n,
                           .shuffle = true,
                           .seed = seed,
                           .balanced = true,
                           // Centred pixels: raw images share a large mean image, a constant
                           // mode that leaves the kernel badly conditioned.
                           .scaling = PixelScaling::standardize_per_pixel,
                           .targets = Targets::plus_minus_one};
  if (!options.data_directory.empty()) load.directory = options.data_directory;
  Dataset<T> data = load_fashion_mnist<T>(load);
  problem.x = data.x * static_cast<T>(std::sqrt(data.x.shape()[1])) / norm(data.x, {1}, true);
  problem.y = data.y;
  return problem;
}

ExperimentOptions width_sweep_quick() {
  return {.depths = {1, 2, 3},
          .widths = {32, 64, 128, 256, 512},
          .n = 32,
          .input_dimension = 16,
          .steps = 2000,
          .seeds = 5};
}

ExperimentOptions width_sweep_full() {
  return {.depths = {1, 2, 3},
          .widths = {64, 128, 256, 512, 1024, 2048, 4096},
          .n = 64,
          .input_dimension = 16,
          .steps = 10000,
          .seeds = 8};
}

template <Real T>
LanczosOptions<T> norm_lanczos(int64_t parameters, uint64_t seed) {
  constexpr int64_t kIterations = 60;
  return {.max_iterations = kIterations,
          .tol = T(1e-3),
          .full_reorthogonalization = parameters * kIterations * sizeof(T) <= (int64_t{400} << 20),
          .seed = seed};
}

MlpConfig network(const ExperimentOptions& options, int64_t input_dimension, int64_t depth,
                  int64_t width, bool nonlinear_output) {
  return {.inputs = input_dimension,
          .hidden = std::vector<int64_t>(static_cast<size_t>(depth), width),
          .outputs = 1,
          .activation = options.activation,
          .nonlinear_output = nonlinear_output};
}

template <Real T>
Underparameterized<T> underparameterized(const ExperimentOptions& options, uint64_t seed) {
  const int64_t d = input_dimension_of(options);
  // M = d m + m (biases) + m + 1 for one hidden layer of width m.
  const int64_t width = std::max<int64_t>(1, (options.n / 2 - 1) / (d + 2));
  const int64_t parameters = width * (d + 2) + 1;
  ExperimentOptions sample = options;
  if (parameters >= options.n) sample.n = 2 * parameters;
  return {network(options, d, 1, width), make_problem<T>(sample, seed)};
}

template <Real T>
TrainResult fit_square_loss(const Mlp<T>& mlp, Tensor<T>& params, const Problem<T>& problem,
                            double step_size, int64_t steps, double target_fraction,
                            int64_t batch_size, uint64_t seed,
                            const std::vector<Observer<T>>& observers, int64_t observe_every) {
  const int64_t n = problem.x.shape()[0];
  const BatchLoss<T> loss = [&](const Var<T>& p, const std::vector<int64_t>& rows) {
    if (static_cast<int64_t>(rows.size()) == n)  // the full batch, in order
      return square_loss(mlp.forward(p, Var<T>(problem.x)), problem.y);
    return square_loss(mlp.forward(p, gather_rows(Var<T>(problem.x), rows)),
                       gather_rows(Var<T>(problem.y), rows).value());
  };
  const double initial =
      static_cast<double>(sum(square(mlp.predict(params, problem.x) - problem.y))) / 2;
  Sgd<T> sgd(constant_schedule(step_size));
  return train(loss, params, sgd,
               {.samples = n,
                .batch_size = batch_size,
                .max_steps = steps,
                .target_loss = batch_size == 0 ? target_fraction * initial : 0.0,
                .seed = seed,
                .observe_every = observe_every,
                .progress_seconds = 0},
               observers);
}

template <Real T>
Table train_sweep(const ExperimentOptions& options, bool with_contrast, double target_fraction,
                  const Progress& progress,
                  const std::function<void(const TrainedPoint<T>&)>& measure) {
  Table runs{.name = "training",
             .columns = {"depth", "width", "seed", "contrast", "step_size", "steps",
                         "final_loss_fraction", "diverged"}};
  SweepProgress sweep(progress, sweep_cost<T>(options) * (with_contrast ? 2 : 1));
  for (size_t s = 0; s < static_cast<size_t>(options.seeds); ++s) {
    const uint64_t seed = options.seed + s;
    const Problem<T> problem = make_problem<T>(options, seed);
    for (size_t d = 0; d < options.depths.size(); ++d) {
      for (size_t w = 0; w < options.widths.size(); ++w) {
        int64_t main_steps = options.steps;
        for (bool contrast : {false, true}) {
          if (contrast && !with_contrast) continue;
          const Mlp<T> mlp(network(options, problem.x.shape()[1], options.depths[d],
                                   options.widths[w], contrast));
          sweep.start(static_cast<double>(mlp.parameter_count()),
                      fmt::format("{}, width {}, seed {}{}", depth_label(options.depths[d]),
                                  options.widths[w], seed, contrast ? ", contrast" : ""));
          const Tensor<T> initial = mlp.init(seed);
          const Tensor<T> initial_kernel = tangent_kernel(mlp, initial, problem.x);
          const double step_size = options.step_size > 0
                                       ? options.step_size
                                       : 1 / kernel_extremes(initial_kernel).lambda_max;
          Tensor<T> trained = initial.clone();
          // A contrast network may never reach the target (its outputs saturate); it trains ten
          // times as long as the linear-output one needed, which is plenty to compare.
          const int64_t budget =
              contrast ? std::min(options.steps, 10 * std::max<int64_t>(main_steps, 1))
                       : options.steps;
          const TrainResult training =
              fit_square_loss(mlp, trained, problem, step_size, budget, target_fraction);
          if (!contrast) main_steps = training.steps;
          runs.add_row({static_cast<double>(options.depths[d]),
                        static_cast<double>(options.widths[w]), static_cast<double>(seed),
                        contrast ? 1.0 : 0.0, step_size, static_cast<double>(training.steps),
                        training.final_loss / training.losses.front(),
                        training.reason == StopReason::diverged ? 1.0 : 0.0});
          measure({d, w, s, contrast, mlp, problem, initial, initial_kernel, trained, training});
          sweep.finish();
        }
      }
    }
  }
  return runs;
}

namespace {

void check_width_sweep(const ExperimentOptions& options) {
  const auto check_list = [](const std::vector<int64_t>& values, std::string_view name) {
    LAMPPOST_CHECK(!values.empty(), "experiment", "the list of {} is empty", name);
    for (int64_t value : values)
      LAMPPOST_CHECK(value >= 1, "experiment", "{} must be at least 1, got {}", name, value);
  };
  check_list(options.depths, "depths");
  check_list(options.widths, "widths");
  LAMPPOST_CHECK(options.n >= 2, "experiment", "n must be at least 2, got {}", options.n);
  LAMPPOST_CHECK(options.input_dimension >= 1 || options.dataset == DataSource::fashion_mnist,
                 "experiment", "input-dimension must be at least 1, got {}",
                 options.input_dimension);
  LAMPPOST_CHECK(options.steps >= 1, "experiment", "steps must be at least 1, got {}",
                 options.steps);
  LAMPPOST_CHECK(options.step_size >= 0 && std::isfinite(options.step_size), "experiment",
                 "step-size must be positive (or 0 for 1 / lambda_max), got {}", options.step_size);
  LAMPPOST_CHECK(options.batch_size >= 0 && options.batch_size <= options.n, "experiment",
                 "batch-size must be between 1 and n = {}, got {}", options.n, options.batch_size);
  LAMPPOST_CHECK(options.seeds >= 1, "experiment", "seeds must be at least 1, got {}",
                 options.seeds);
  const auto check_fraction = [](double value, std::string_view name) {
    LAMPPOST_CHECK(value > 0 && value < 1, "experiment", "{} must lie in (0, 1), got {}", name,
                   value);
  };
  check_fraction(options.target_fraction, "target-fraction");
  check_fraction(options.interpolation, "interpolation");
  LAMPPOST_CHECK(options.mu_floor > 0 && options.mu_floor <= 1, "experiment",
                 "mu-floor must lie in (0, 1], got {}", options.mu_floor);
  LAMPPOST_CHECK(options.slope_tolerance >= 0 && std::isfinite(options.slope_tolerance),
                 "experiment", "slope-tolerance must be 0 or more, got {}",
                 options.slope_tolerance);
  LAMPPOST_CHECK(options.ball_radius >= 0 && std::isfinite(options.ball_radius), "experiment",
                 "ball-radius must be 0 or more, got {}", options.ball_radius);
}

}  // namespace

ExperimentInfo with_run(ExperimentInfo info, ExperimentRun single, ExperimentRun double_precision) {
  info.run = [check = info.check, single, double_precision](const ExperimentOptions& options,
                                                            const Progress& progress) {
    check(options);
    const auto started = std::chrono::steady_clock::now();
    ExperimentResult result = options.precision == Precision::float32
                                  ? single(options, progress)
                                  : double_precision(options, progress);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  };
  return info;
}

ExperimentInfo width_sweep_info(std::string name, std::string claim) {
  return {.name = std::move(name),
          .claim = std::move(claim),
          .flags = width_sweep_flags(),
          .quick = width_sweep_quick(),
          .full = width_sweep_full(),
          .check = check_width_sweep};
}

template <Real T>
double sweep_cost(const ExperimentOptions& options) {
  double total = 0;
  for (int64_t depth : options.depths)
    for (int64_t width : options.widths)
      total += static_cast<double>(
          Mlp<T>(network(options, input_dimension_of(options), depth, width)).parameter_count());
  return total * static_cast<double>(options.seeds);
}

SweepProgress::SweepProgress(const Progress& progress, double total_cost)
    : progress_(progress), total_(total_cost) {}

void SweepProgress::start(double cost, std::string stage) {
  current_ = cost;
  stage_ = std::move(stage);
  if (progress_) progress_(total_ > 0 ? done_ / total_ : 0, stage_);
}

void SweepProgress::finish() {
  done_ += current_;
  current_ = 0;
  if (progress_) progress_(total_ > 0 ? std::min(1.0, done_ / total_) : 1, stage_);
}

const std::vector<std::string>& width_sweep_flags() {
  static const std::vector<std::string> flags = {
      "depths",        "widths",     "activation",      "dataset",
      "data-dir",      "n",          "input-dimension", "steps",
      "step-size",     "batch-size", "slope-tolerance", "target-fraction",
      "interpolation", "mu-floor",   "ball-radius",     "seeds",
      "seed",          "precision"};
  return flags;
}

std::string depth_label(int64_t depth) {
  return fmt::format("depth {}", depth);
}

std::string describe(const std::string& what, const Estimate& estimate) {
  return fmt::format("{} {:.3g} [{:.3g}, {:.3g}]", what, estimate.value, estimate.low,
                     estimate.high);
}

Verdict slope_at_most(const Estimate& slope, double bound, double tolerance) {
  if (!std::isfinite(slope.value)) return Verdict::inconclusive;
  if (slope.high <= bound + tolerance) return Verdict::holds;
  if (slope.low > bound + tolerance) return Verdict::does_not_hold;
  return Verdict::inconclusive;
}

Verdict both(Verdict a, Verdict b) {
  if (a == Verdict::does_not_hold || b == Verdict::does_not_hold) return Verdict::does_not_hold;
  if (a == Verdict::holds && b == Verdict::holds) return Verdict::holds;
  return Verdict::inconclusive;
}

Verdict slope_near_zero(const Estimate& slope, double tolerance) {
  if (!std::isfinite(slope.value)) return Verdict::inconclusive;
  if (slope.low >= -tolerance && slope.high <= tolerance) return Verdict::holds;
  if (slope.high < -tolerance || slope.low > tolerance) return Verdict::does_not_hold;
  return Verdict::inconclusive;
}

WidthSweep::WidthSweep(const ExperimentOptions& options)
    : depths(options.depths),
      widths(options.widths),
      values(options.depths.size(),
             std::vector<std::vector<double>>(
                 static_cast<size_t>(options.seeds),
                 std::vector<double>(options.widths.size(),
                                     std::numeric_limits<double>::quiet_NaN()))),
      first_seed(options.seed) {}

PowerLawFit WidthSweep::fit(size_t depth_index, const FitOptions& options) const {
  std::vector<double> x(widths.begin(), widths.end());
  return fit_power_law(x, values[depth_index], options);
}

WidthSweep WidthSweep::without_log_factor() const {
  WidthSweep corrected = *this;
  for (auto& by_seed : corrected.values)
    for (auto& series : by_seed)
      for (size_t w = 0; w < widths.size(); ++w)
        series[w] /= std::sqrt(std::log(static_cast<double>(widths[w])));
  return corrected;
}

Band band(const std::vector<std::vector<double>>& by_seed) {
  Band result;
  for (size_t w = 0; w < by_seed.front().size(); ++w) {
    double total = 0;
    double low = std::numeric_limits<double>::infinity();
    double high = -low;
    for (const auto& series : by_seed) {
      total += series[w];
      low = std::min(low, series[w]);
      high = std::max(high, series[w]);
    }
    result.mean.push_back(total / static_cast<double>(by_seed.size()));
    result.low.push_back(low);
    result.high.push_back(high);
  }
  return result;
}

Curve band_curve(std::string label, const std::vector<double>& x,
                 const std::vector<std::vector<double>>& by_seed, Curve::Style style) {
  Band measured = band(by_seed);
  return {.label = std::move(label),
          .x = x,
          .y = std::move(measured.mean),
          .y_low = std::move(measured.low),
          .y_high = std::move(measured.high),
          .style = style};
}

Plot width_plot(const std::string& name, const std::string& title, const std::string& y_label,
                const WidthSweep& sweep, const std::vector<PowerLawFit>& fits,
                double reference_slope, const WidthSweep* contrast) {
  Plot plot{.name = name,
            .title = title,
            .x_label = "width m",
            .y_label = y_label,
            .log_x = true,
            .log_y = true};
  const std::vector<double> x(sweep.widths.begin(), sweep.widths.end());
  for (size_t d = 0; d < sweep.depths.size(); ++d) {
    const Band measured = band(sweep.values[d]);
    plot.curves.push_back(
        {.label = fmt::format("{} (mean, min-max over seeds)", depth_label(sweep.depths[d])),
         .x = x,
         .y = measured.mean,
         .y_low = measured.low,
         .y_high = measured.high,
         .style = Curve::Style::points});
    Curve fitted{.label = fmt::format("{} fit: slope {:.2f}", depth_label(sweep.depths[d]),
                                      fits[d].slope.value),
                 .x = x,
                 .style = Curve::Style::lines};
    for (double m : x) fitted.y.push_back(fits[d].prefactor * std::pow(m, fits[d].slope.value));
    plot.curves.push_back(std::move(fitted));
    if (contrast != nullptr) {
      plot.curves.push_back(
          {.label = fmt::format("{}, non-linear output (contrast)", depth_label(sweep.depths[d])),
           .x = x,
           .y = band(contrast->values[d]).mean,
           .style = Curve::Style::lines_points});
    }
  }
  const double anchor = band(sweep.values.front()).mean.front();
  Curve reference{.label = fmt::format("reference slope {}", reference_slope),
                  .x = x,
                  .style = Curve::Style::lines};
  for (double m : x) reference.y.push_back(anchor * std::pow(m / x.front(), reference_slope));
  plot.curves.push_back(std::move(reference));
  return plot;
}

Table width_table(const std::string& name, const std::string& value_name, const WidthSweep& sweep,
                  const WidthSweep* contrast) {
  Table table{.name = name, .columns = {"depth", "width", "seed", "contrast", value_name}};
  for (const WidthSweep* part : {&sweep, contrast}) {
    if (part == nullptr) continue;
    for (size_t d = 0; d < part->depths.size(); ++d)
      for (size_t s = 0; s < part->values[d].size(); ++s)
        for (size_t w = 0; w < part->widths.size(); ++w)
          table.add_row({static_cast<double>(part->depths[d]), static_cast<double>(part->widths[w]),
                         static_cast<double>(part->first_seed + s), part == contrast ? 1.0 : 0.0,
                         part->values[d][s][w]});
  }
  return table;
}

template Underparameterized<float> underparameterized(const ExperimentOptions&, uint64_t);
template Underparameterized<double> underparameterized(const ExperimentOptions&, uint64_t);
template double sweep_cost<float>(const ExperimentOptions&);
template double sweep_cost<double>(const ExperimentOptions&);
template LanczosOptions<float> norm_lanczos(int64_t, uint64_t);
template LanczosOptions<double> norm_lanczos(int64_t, uint64_t);
template Problem<float> make_problem(const ExperimentOptions&, uint64_t);
template Problem<double> make_problem(const ExperimentOptions&, uint64_t);
template Table train_sweep(const ExperimentOptions&, bool, double, const Progress&,
                           const std::function<void(const TrainedPoint<float>&)>&);
template Table train_sweep(const ExperimentOptions&, bool, double, const Progress&,
                           const std::function<void(const TrainedPoint<double>&)>&);
template TrainResult fit_square_loss(const Mlp<float>&, Tensor<float>&, const Problem<float>&,
                                     double, int64_t, double, int64_t, uint64_t,
                                     const std::vector<Observer<float>>&, int64_t);
template TrainResult fit_square_loss(const Mlp<double>&, Tensor<double>&, const Problem<double>&,
                                     double, int64_t, double, int64_t, uint64_t,
                                     const std::vector<Observer<double>>&, int64_t);

}  // namespace lamppost::detail
