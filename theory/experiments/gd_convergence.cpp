// Claim 5: PL* and the exponential convergence of GD (Liu, Zhu, Belkin 2022, Theorem 6). Along
// the trajectory mu_t = lambda_min(K(w_t)) stays bounded away from 0; with the step size
// eta = 1 / lambda_max(H_L(w_0)) the loss obeys L(w_t) <= (1 - eta mu)^t L(w_0), mu = min_t mu_t,
// and falls to interpolation. The contrast is an under-parameterized network (M < n): its
// kernel is singular, mu = 0, and the loss plateaus above 0.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/hessian.h"
#include "theory/ntk.h"

namespace lamppost::detail {

namespace {

// The kernel is watched at about this many points of each run.
constexpr int64_t kKernelSamples = 40;
// Rounding slack when comparing the loss with its bound.
constexpr double kBoundSlack = 1e-6;

struct GdRun {
  double step_size = 0;
  double mu_initial = 0;
  double mu = 0;  // min_t mu_t
  double lambda_max_kernel = 0;
  double worst_bound_ratio = 0;  // max_t L_t / ((1 - eta mu)^t L_0)
  double final_fraction = 0;     // L_T / L_0
  bool diverged = false;
  std::vector<double> losses;
  std::vector<KernelRecord> kernel;
};

template <Real T>
GdRun run_gd(const Mlp<T>& mlp, const Problem<T>& problem, const ExperimentOptions& options,
             uint64_t seed, int64_t kernel_samples = kKernelSamples) {
  GdRun run;
  const Tensor<T> initial = mlp.init(seed);
  run.step_size =
      options.step_size > 0
          ? options.step_size
          : 1 / spectral_norm(hessian_operator(square_loss_of(mlp, problem.x, problem.y), initial),
                              mlp.parameter_count(), norm_lanczos<T>(mlp.parameter_count(), seed))
                    .lambda_max;
  Tensor<T> params = initial.clone();
  const TrainResult training =
      fit_square_loss(mlp, params, problem, run.step_size, options.steps, options.interpolation, 0,
                      seed, {track_kernel(mlp, problem.x, run.kernel)},
                      std::max<int64_t>(1, options.steps / kernel_samples));
  const KernelExtremes last = kernel_extremes(tangent_kernel(mlp, params, problem.x));
  run.kernel.push_back({training.steps, training.final_loss, last.lambda_min, last.lambda_max});
  run.diverged = training.reason == StopReason::diverged;
  run.losses = training.losses;
  run.mu_initial = run.kernel.front().lambda_min;
  run.lambda_max_kernel = run.kernel.front().lambda_max;
  run.mu = run.mu_initial;
  for (const KernelRecord& record : run.kernel) run.mu = std::min(run.mu, record.lambda_min);
  const double rate = 1 - run.step_size * std::max(run.mu, 0.0);
  for (size_t t = 0; t < run.losses.size(); ++t)
    run.worst_bound_ratio =
        std::max(run.worst_bound_ratio,
                 run.losses[t] / (std::pow(rate, static_cast<double>(t)) * run.losses.front()));
  run.final_fraction = training.final_loss / run.losses.front();
  return run;
}

// What the runs say about the claim, in words and as a verdict.
struct Judgement {
  Verdict verdict;
  std::string measured;
};
// Training stops once the loss is options.interpolation of its start; mu_t "stays bounded away
// from 0" when its minimum keeps options.mu_floor of mu_0.
Judgement judge(const std::vector<GdRun>& runs, const ExperimentOptions& options) {
  double mu_kept = 1, worst_ratio = 0, worst_final = 0, singular = 1;
  bool diverged = false, budget_short = false;
  for (const GdRun& run : runs) {
    singular = std::min(singular, run.mu_initial / run.lambda_max_kernel);
    mu_kept = std::min(mu_kept, run.mu / run.mu_initial);
    worst_ratio = std::max(worst_ratio, run.worst_bound_ratio);
    worst_final = std::max(worst_final, run.final_fraction);
    diverged = diverged || run.diverged;
    // The steps the bound needs to reach interpolation: a run that stopped before them may not
    // be there yet without contradicting the theorem.
    const double needed =
        std::log(options.interpolation) / std::log1p(-run.step_size * std::max(run.mu, 0.0));
    budget_short = budget_short || (run.final_fraction > options.interpolation &&
                                    static_cast<double>(run.losses.size()) < needed);
  }
  const std::string measured = fmt::format(
      "mu_0/lambda_max {:.2g}, min mu_t/mu_0 {:.2f}; max L_t/bound {:.3g}; final "
      "L/L_0 {:.2g}{}",
      singular, mu_kept, worst_ratio, worst_final,
      budget_short ? " (step budget below what the bound needs)" : "");
  if (diverged) return {Verdict::diverged, measured};
  if (singular < kSingular || mu_kept < options.mu_floor || worst_ratio > 1 + kBoundSlack)
    return {Verdict::does_not_hold, measured};
  if (worst_final <= options.interpolation) return {Verdict::holds, measured};
  return {budget_short ? Verdict::inconclusive : Verdict::does_not_hold, measured};
}

Curve loss_curve(const std::string& label, const std::vector<double>& losses) {
  Curve curve{.label = label, .style = Curve::Style::lines};
  for (size_t t = 0; t < losses.size(); ++t) {
    curve.x.push_back(static_cast<double>(t));
    curve.y.push_back(losses[t] / losses.front());
  }
  return curve;
}

Curve bound_curve(const std::string& label, const GdRun& run) {
  Curve curve{.label = label, .style = Curve::Style::lines};
  const double rate = 1 - run.step_size * std::max(run.mu, 0.0);
  for (size_t t = 0; t < run.losses.size(); ++t) {
    curve.x.push_back(static_cast<double>(t));
    curve.y.push_back(std::pow(rate, static_cast<double>(t)));
  }
  return curve;
}

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "gd_convergence",
                          .title = "Claim 5: PL* holds and GD converges exponentially",
                          .settings = settings_of(options, width_sweep_flags())};
  Table runs{.name = "runs",
             .columns = {"depth", "width", "seed", "contrast", "parameters", "step_size", "mu_0",
                         "mu_min", "lambda_max_K0", "max_loss_over_bound", "steps",
                         "final_loss_fraction", "diverged"}};
  Table trajectory{
      .name = "mu_trajectory",
      .columns = {"depth", "width", "seed", "contrast", "step", "loss", "mu_t", "lambda_max_K"}};
  Plot losses{.name = "loss_vs_bound",
              .title = "GD loss against the PL bound (1 - eta mu)^t (largest width, first seed)",
              .x_label = "step t",
              .y_label = "L(w_t) / L(w_0)",
              .log_y = true};
  Plot mu_plot{.name = "mu_trajectory",
               .title = "mu_t = lambda_min(K(w_t)) along training (largest width, first seed)",
               .x_label = "step t",
               .y_label = "mu_t / mu_0"};
  const auto record = [&](int64_t depth, int64_t width, uint64_t seed, bool contrast,
                          int64_t parameters, const GdRun& run) {
    runs.add_row({static_cast<double>(depth), static_cast<double>(width), static_cast<double>(seed),
                  contrast ? 1.0 : 0.0, static_cast<double>(parameters), run.step_size,
                  run.mu_initial, run.mu, run.lambda_max_kernel, run.worst_bound_ratio,
                  static_cast<double>(run.losses.size()), run.final_fraction,
                  run.diverged ? 1.0 : 0.0});
    for (const KernelRecord& k : run.kernel)
      trajectory.add_row({static_cast<double>(depth), static_cast<double>(width),
                          static_cast<double>(seed), contrast ? 1.0 : 0.0,
                          static_cast<double>(k.step), k.loss, k.lambda_min, k.lambda_max});
    if (seed != options.seed) return;
    if (!contrast && width != options.widths.back()) return;
    const std::string label =
        contrast ? std::string("under-parameterized (contrast)") : depth_label(depth);
    losses.curves.push_back(loss_curve(label + ": loss", run.losses));
    losses.curves.push_back(bound_curve(label + ": PL bound", run));
    Curve mu{.label = label, .style = Curve::Style::lines_points};
    for (const KernelRecord& k : run.kernel) {
      mu.x.push_back(static_cast<double>(k.step));
      mu.y.push_back(k.lambda_min / run.mu_initial);
    }
    mu_plot.curves.push_back(std::move(mu));
  };

  SweepProgress sweep(progress, sweep_cost<T>(options));
  std::vector<std::vector<GdRun>> by_depth(options.depths.size());
  std::vector<GdRun> contrast_runs;
  int64_t contrast_samples = 0;
  for (size_t s = 0; s < static_cast<size_t>(options.seeds); ++s) {
    const uint64_t seed = options.seed + s;
    const Problem<T> problem = make_problem<T>(options, seed);
    for (size_t d = 0; d < options.depths.size(); ++d) {
      for (int64_t width : options.widths) {
        const Mlp<T> mlp(network(options, problem.x.shape()[1], options.depths[d], width));
        sweep.start(
            static_cast<double>(mlp.parameter_count()),
            fmt::format("{}, width {}, seed {}", depth_label(options.depths[d]), width, seed));
        by_depth[d].push_back(run_gd(mlp, problem, options, seed));
        record(options.depths[d], width, seed, false, mlp.parameter_count(), by_depth[d].back());
        sweep.finish();
      }
    }
    // The contrast's kernel is watched at the start and the end only: its n may be large.
    const Underparameterized<T> contrast = underparameterized<T>(options, seed);
    const Mlp<T> narrow(contrast.config);
    contrast_runs.push_back(run_gd(narrow, contrast.problem, options, seed, 1));
    record(1, narrow.config().hidden[0], seed, true, narrow.parameter_count(),
           contrast_runs.back());
    contrast_samples = contrast.problem.x.shape()[0];
  }
  for (size_t d = 0; d < options.depths.size(); ++d) {
    const Judgement judgement = judge(by_depth[d], options);
    result.findings.push_back(
        {.claim = fmt::format("PL*: mu_t bounded away from 0, L_t <= (1 - eta mu)^t L_0, "
                              "interpolation, {}, every width",
                              depth_label(options.depths[d])),
         .measured = judgement.measured,
         .predicted = fmt::format("mu_0/lambda_max >= {:g}; mu_t/mu_0 >= {}; L_t/bound <= 1; "
                                  "final <= {:g}",
                                  kSingular, options.mu_floor, options.interpolation),
         .verdict = judgement.verdict});
  }
  const Judgement contrast = judge(contrast_runs, options);
  result.findings.push_back(
      {.claim = fmt::format("PL* and interpolation by GD, under-parameterized (M = {} < n = {})",
                            runs.rows.back()[4], contrast_samples),
       .contrast = true,
       .measured = contrast.measured,
       .predicted = "mu = 0: the loss plateaus",
       .verdict = contrast.verdict,
       .expected = Verdict::does_not_hold});
  result.tables.push_back(std::move(runs));
  result.tables.push_back(std::move(trajectory));
  result.plots.push_back(std::move(losses));
  result.plots.push_back(std::move(mu_plot));
  return result;
}

}  // namespace

ExperimentInfo gd_convergence_experiment() {
  return with_run(width_sweep_info("gd_convergence",
                                   "Claim 5: PL* (mu_t > 0) and L_t <= (1 - eta mu)^t L_0 for GD"),
                  run<float>, run<double>);
}

}  // namespace lamppost::detail
