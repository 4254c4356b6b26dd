// Claim 6: exponential convergence of mini-batch SGD (Liu, Zhu, Belkin 2022, Theorem 7). With
// batches of s of the n samples and a fixed step eta small enough for every batch, the expected
// loss obeys E[L(w_t)] <= (1 - mu s eta / n)^t L(w_0), mu the PL* constant; checked on the mean
// over seeds, which must also fall to interpolation. The step is eta = 1 / max_B lambda_max(K_BB)
// over the batches B of the first epoch: near w_0 a batch's loss Hessian is its block of the
// tangent kernel, and a step of 1 / lambda_max of it is stable. The contrast is an
// under-parameterized network, whose loss plateaus.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "tensor/error.h"
#include "tensor/ops.h"
#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/ntk.h"

namespace lamppost::detail {

namespace {

// The full loss is recorded at about this many steps of each run.
constexpr int64_t kLossSamples = 60;

struct SgdRun {
  double step_size = 0;
  double mu = 0;  // min(lambda_min(K(w_0)), lambda_min(K(w_T)))
  double lambda_max_kernel = 0;
  double rate = 0;  // 1 - mu s eta / n
  bool diverged = false;
  std::vector<double> steps;   // where the full loss was recorded
  std::vector<double> losses;  // L(w_t) / L(w_0) there
};

template <Real T>
SgdRun run_sgd(const Mlp<T>& mlp, const Problem<T>& problem, const ExperimentOptions& options,
               uint64_t seed) {
  SgdRun run;
  const int64_t n = problem.x.shape()[0];
  const auto s = static_cast<double>(options.batch_size);
  const Tensor<T> initial = mlp.init(seed);
  const Tensor<T> kernel = tangent_kernel(mlp, initial, problem.x);
  const KernelExtremes extremes = kernel_extremes(kernel);
  double largest = 0;
  for (const std::vector<int64_t>& batch : epoch_batches(n, options.batch_size, seed, 0)) {
    const auto b = static_cast<int64_t>(batch.size());
    Tensor<T> block = Tensor<T>::empty({b, b});
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < b; ++j)
        block.data()[i * b + j] =
            kernel.data()[batch[static_cast<size_t>(i)] * n + batch[static_cast<size_t>(j)]];
    largest = std::max(largest, kernel_extremes(block).lambda_max);
  }
  run.step_size = options.step_size > 0 ? options.step_size : 1 / largest;
  const auto full_loss = [&](const Tensor<T>& params) {
    return static_cast<double>(sum(square(mlp.predict(params, problem.x) - problem.y))) / 2;
  };
  const double initial_loss = full_loss(initial);
  Tensor<T> params = initial.clone();
  const Observer<T> record = [&](const StepInfo<T>& info) {
    run.steps.push_back(static_cast<double>(info.step));
    run.losses.push_back(full_loss(info.params) / initial_loss);
  };
  const TrainResult training =
      fit_square_loss(mlp, params, problem, run.step_size, options.steps, 0, options.batch_size,
                      seed, {record}, std::max<int64_t>(1, options.steps / kLossSamples));
  run.diverged = training.reason == StopReason::diverged;
  run.steps.push_back(static_cast<double>(training.steps));
  run.losses.push_back(full_loss(params) / initial_loss);
  run.mu = std::min(extremes.lambda_min,
                    kernel_extremes(tangent_kernel(mlp, params, problem.x)).lambda_min);
  run.lambda_max_kernel = extremes.lambda_max;
  run.rate = 1 - std::max(run.mu, 0.0) * s * run.step_size / static_cast<double>(n);
  return run;
}

// The mean over seeds of the loss and of the bound, at the recorded steps (the same for every
// seed: the schedule of observations depends only on the step budget).
struct MeanCurve {
  std::vector<double> steps, loss, bound;
};
MeanCurve mean_curve(const std::vector<SgdRun>& runs) {
  MeanCurve mean{.steps = runs.front().steps,
                 .loss = std::vector<double>(runs.front().steps.size(), 0.0),
                 .bound = std::vector<double>(runs.front().steps.size(), 0.0)};
  for (const SgdRun& run : runs) {
    for (size_t i = 0; i < mean.steps.size(); ++i) {
      mean.loss[i] += run.losses[i] / static_cast<double>(runs.size());
      mean.bound[i] += std::pow(run.rate, mean.steps[i]) / static_cast<double>(runs.size());
    }
  }
  return mean;
}

struct Judgement {
  Verdict verdict = Verdict::holds;
  double worst_ratio = 0;  // max over widths and steps of mean loss / mean bound
  double worst_final = 0;  // the largest final mean loss fraction
  // The smallest fitted decay rate, with its interval.
  Estimate slowest_rate{.value = std::numeric_limits<double>::infinity()};
  double singular = 1;        // the smallest mu / lambda_max
  bool budget_short = false;  // the bound needs more steps than were run to reach interpolation
};

// The slowest bound rate among the runs (the mean of the bounds decays at least this fast).
double slowest_bound_rate(const std::vector<SgdRun>& runs) {
  double slowest = 0;
  for (const SgdRun& run : runs) slowest = std::max(slowest, run.rate);
  return slowest;
}

// The mean loss must fall to options.interpolation of its start.
void judge(Judgement& judgement, const std::vector<SgdRun>& runs,
           const ExperimentOptions& options) {
  const MeanCurve mean = mean_curve(runs);
  for (size_t i = 0; i < mean.steps.size(); ++i)
    judgement.worst_ratio = std::max(judgement.worst_ratio, mean.loss[i] / mean.bound[i]);
  judgement.worst_final = std::max(judgement.worst_final, mean.loss.back());
  const ExponentialFit fit = fit_exponential(mean.steps, mean.loss);
  if (fit.rate.value < judgement.slowest_rate.value) {
    judgement.slowest_rate = fit.rate;
  }
  // A bound that does not decay (mu = 0) never reaches interpolation.
  const double rate = slowest_bound_rate(runs);
  const double needed = rate < 1 ? std::log(options.interpolation) / std::log(rate)
                                 : std::numeric_limits<double>::infinity();
  if (mean.loss.back() > options.interpolation && mean.steps.back() < needed)
    judgement.budget_short = true;
  for (const SgdRun& run : runs) {
    judgement.singular = std::min(judgement.singular, run.mu / run.lambda_max_kernel);
    if (run.diverged) judgement.verdict = Verdict::diverged;
  }
}

Verdict verdict_of(const Judgement& judgement, double interpolation) {
  if (judgement.verdict == Verdict::diverged) return Verdict::diverged;
  if (judgement.singular < kSingular || judgement.worst_ratio > 1 ||
      judgement.slowest_rate.low <= 0)
    return Verdict::does_not_hold;
  if (judgement.worst_final <= interpolation) return Verdict::holds;
  return judgement.budget_short ? Verdict::inconclusive : Verdict::does_not_hold;
}

Finding finding(std::string claim, const Judgement& judgement, bool contrast,
                double interpolation) {
  return {.claim = std::move(claim),
          .contrast = contrast,
          .measured =
              fmt::format("mu/lambda_max {:.2g}; mean L_t / mean bound <= {:.3g}; final "
                          "mean L/L_0 {:.2g}{}; {}",
                          judgement.singular, judgement.worst_ratio, judgement.worst_final,
                          judgement.budget_short ? " (step budget below what the bound needs)" : "",
                          describe("slowest rate", judgement.slowest_rate)),
          .predicted = contrast ? "mu = 0: the loss plateaus"
                                : fmt::format("mu/lambda_max >= {:g}; ratio <= 1; final <= {:g}; "
                                              "rate > 0",
                                              kSingular, interpolation),
          .verdict = verdict_of(judgement, interpolation),
          .expected = contrast ? Verdict::does_not_hold : Verdict::holds};
}

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "sgd_convergence",
                          .title = "Claim 6: mini-batch SGD converges exponentially",
                          .settings = settings_of(options, width_sweep_flags())};
  LAMPPOST_CHECK(options.batch_size >= 1, "sgd_convergence",
                 "batch-size must be at least 1, got {}", options.batch_size);
  Table runs{.name = "runs",
             .columns = {"depth", "width", "seed", "contrast", "step_size", "mu", "lambda_max_K0",
                         "bound_rate", "final_loss_fraction", "diverged"}};
  Table curves{
      .name = "mean_loss",
      .columns = {"depth", "width", "contrast", "step", "mean_loss_fraction", "mean_bound"}};
  Plot plot{.name = "loss_vs_bound",
            .title = fmt::format("SGD (batch {}): mean loss over seeds against the bound "
                                 "(largest width)",
                                 options.batch_size),
            .x_label = "step t",
            .y_label = "mean L(w_t) / L(w_0)",
            .log_y = true};
  const auto record = [&](int64_t depth, int64_t width, bool contrast,
                          const std::vector<SgdRun>& point) {
    for (size_t s = 0; s < point.size(); ++s)
      runs.add_row({static_cast<double>(depth), static_cast<double>(width),
                    static_cast<double>(options.seed + s), contrast ? 1.0 : 0.0, point[s].step_size,
                    point[s].mu, point[s].lambda_max_kernel, point[s].rate, point[s].losses.back(),
                    point[s].diverged ? 1.0 : 0.0});
    const MeanCurve mean = mean_curve(point);
    for (size_t i = 0; i < mean.steps.size(); ++i)
      curves.add_row({static_cast<double>(depth), static_cast<double>(width), contrast ? 1.0 : 0.0,
                      mean.steps[i], mean.loss[i], mean.bound[i]});
    if (!contrast && width != options.widths.back()) return;
    const std::string label =
        contrast ? std::string("under-parameterized (contrast)") : depth_label(depth);
    plot.curves.push_back({.label = label + ": SGD loss",
                           .x = mean.steps,
                           .y = mean.loss,
                           .style = Curve::Style::lines});
    plot.curves.push_back({.label = label + ": bound",
                           .x = mean.steps,
                           .y = mean.bound,
                           .style = Curve::Style::lines});
  };

  SweepProgress sweep(progress, sweep_cost<T>(options));
  std::vector<Problem<T>> problems;
  for (int64_t s = 0; s < options.seeds; ++s)
    problems.push_back(make_problem<T>(options, options.seed + static_cast<uint64_t>(s)));
  for (size_t d = 0; d < options.depths.size(); ++d) {
    Judgement judgement;
    for (int64_t width : options.widths) {
      std::vector<SgdRun> point;
      for (size_t s = 0; s < problems.size(); ++s) {
        const Mlp<T> mlp(network(options, problems[s].x.shape()[1], options.depths[d], width));
        sweep.start(static_cast<double>(mlp.parameter_count()),
                    fmt::format("{}, width {}, seed {}", depth_label(options.depths[d]), width,
                                options.seed + s));
        point.push_back(run_sgd(mlp, problems[s], options, options.seed + s));
        sweep.finish();
      }
      judge(judgement, point, options);
      record(options.depths[d], width, false, point);
    }
    result.findings.push_back(finding(
        fmt::format("SGD: mean loss under (1 - mu s eta / n)^t, to interpolation, {}, every "
                    "width",
                    depth_label(options.depths[d])),
        judgement, false, options.interpolation));
  }
  std::vector<SgdRun> narrow_runs;
  int64_t narrow_parameters = 0, narrow_width = 0, narrow_samples = 0;
  for (int64_t s = 0; s < options.seeds; ++s) {
    const uint64_t seed = options.seed + static_cast<uint64_t>(s);
    const Underparameterized<T> contrast = underparameterized<T>(options, seed);
    const Mlp<T> narrow(contrast.config);
    narrow_parameters = narrow.parameter_count();
    narrow_width = contrast.config.hidden[0];
    narrow_samples = contrast.problem.x.shape()[0];
    narrow_runs.push_back(run_sgd(narrow, contrast.problem, options, seed));
  }
  Judgement contrast;
  judge(contrast, narrow_runs, options);
  record(1, narrow_width, true, narrow_runs);
  result.findings.push_back(
      finding(fmt::format("SGD converges exponentially to interpolation, under-parameterized "
                          "(M = {} < n = {})",
                          narrow_parameters, narrow_samples),
              contrast, true, options.interpolation));
  result.tables.push_back(std::move(runs));
  result.tables.push_back(std::move(curves));
  result.plots.push_back(std::move(plot));
  return result;
}

// Many cheap steps: the sweep stops at width 256 in the quick setting (still 16x). The mean
// over seeds is held to 1e-3 of its start: SGD's noise makes the last digits slow to earn.
ExperimentOptions with_batches(ExperimentOptions options, std::vector<int64_t> widths,
                               int64_t steps) {
  options.widths = std::move(widths);
  options.batch_size = 8;
  options.steps = steps;
  options.interpolation = 1e-3;
  return options;
}

}  // namespace

ExperimentInfo sgd_convergence_experiment() {
  ExperimentInfo info = width_sweep_info(
      "sgd_convergence", "Claim 6: E[L_t] <= (1 - mu s eta / n)^t L_0 for mini-batch SGD");
  info.quick = with_batches(info.quick, {16, 32, 64, 128, 256}, 1000);
  info.full = with_batches(info.full, info.full.widths, 20000);
  return with_run(std::move(info), run<float>, run<double>);
}

}  // namespace lamppost::detail
