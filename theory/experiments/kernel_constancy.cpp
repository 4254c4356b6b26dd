// Claim 1: the tangent kernel of a wide network barely moves while GD fits the data. The
// relative change ||K(w_T) - K(w_0)||_F / ||K(w_0)||_F after the loss has fallen by a set factor
// falls with width at least as fast as m^-1/2 at every depth; with a non-linear output layer the
// kernel keeps moving (phi'(h) changes by O(1) as the outputs move), whatever the width.
#include <fmt/format.h>

#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/ntk.h"

namespace lamppost::detail {

namespace {

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "kernel_constancy",
                          .title =
                              "Claim 1: the tangent kernel stays constant during training "
                              "as width grows",
                          .settings = settings_of(options, width_sweep_flags())};
  WidthSweep change(options);
  WidthSweep contrast_change(options);
  std::vector<bool> diverged(options.depths.size(), false);
  result.tables.push_back(train_sweep<T>(
      options, true, options.target_fraction, progress, [&](const TrainedPoint<T>& point) {
        const Tensor<T> after = tangent_kernel(point.mlp, point.trained, point.problem.x);
        WidthSweep& sweep = point.contrast ? contrast_change : change;
        sweep.at(point.depth_index, point.seed_index, point.width_index) =
            relative_change(after, point.initial_kernel);
        if (!point.contrast && point.training.reason == StopReason::diverged)
          diverged[point.depth_index] = true;
      }));
  result.tables.push_back(
      width_table("kernel_change", "relative_kernel_change", change, &contrast_change));

  std::vector<PowerLawFit> fits;
  for (size_t d = 0; d < options.depths.size(); ++d) {
    fits.push_back(change.fit(d, {.seed = options.seed}));
    const PowerLawFit contrast_fit = contrast_change.fit(d, {.seed = options.seed});
    const std::string depth = depth_label(options.depths[d]);
    result.findings.push_back(
        {.claim = fmt::format("kernel change falls like m^-1/2 or faster, {}", depth),
         .measured = describe("slope", fits.back().slope),
         .predicted = "slope <= -0.5",
         .verdict = diverged[d] ? Verdict::diverged
                                : slope_at_most(fits.back().slope, -0.5, options.slope_tolerance)});
    result.findings.push_back(
        {.claim =
             fmt::format("kernel change falls like m^-1/2 or faster, {}, non-linear output", depth),
         .contrast = true,
         .measured = describe("slope", contrast_fit.slope),
         .predicted = "the kernel keeps moving: slope near 0",
         .verdict = slope_at_most(contrast_fit.slope, -0.5, options.slope_tolerance),
         .expected = Verdict::does_not_hold});
  }
  result.plots.push_back(
      width_plot("kernel_change", "Relative change of the tangent kernel during training",
                 "||K(w_T) - K(w_0)||_F / ||K(w_0)||_F", change, fits, -0.5, &contrast_change));
  return result;
}

}  // namespace

ExperimentInfo kernel_constancy_experiment() {
  return with_run(
      width_sweep_info("kernel_constancy",
                       "Claim 1: the tangent kernel's change during training falls like m^-1/2"),
      run<float>, run<double>);
}

}  // namespace lamppost::detail
