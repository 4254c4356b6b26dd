// Claim 3: the transition to linearity. After GD has fitted the data, a wide network still
// agrees with its linearization at w_0, f_lin(w; x) = f(w_0; x) + <w - w_0, grad f(w_0; x)>: the
// gap |f(w_T; x) - f_lin(w_T; x)| (root mean square over the training inputs) falls like m^-1/2 (it
// is 1/2 (w - w_0)^T H_f (w - w_0) with ||H_f|| ~ m^-1/2 and ||w - w_0|| = O(1)), while the
// parameters move by O(1) in norm and so by a vanishing fraction of ||w_0||. With a non-linear
// output layer the gap does not fall.
#include <cmath>

#include <fmt/format.h>

#include "tensor/ops.h"
#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/ntk.h"

namespace lamppost::detail {

namespace {

// ||w_T - w_0|| counts as O(1) when its slope across widths lies within this of 0.
constexpr double kFlatSlope = 0.25;

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "linearity",
                          .title = "Claim 3: wide networks train like their linearization",
                          .settings = settings_of(options, width_sweep_flags())};
  result.settings.emplace_back("flat-slope", fmt::format("{}", kFlatSlope));
  WidthSweep gap(options);
  WidthSweep contrast_gap(options);
  WidthSweep distance(options);
  WidthSweep relative_distance(options);
  std::vector<bool> diverged(options.depths.size(), false);
  result.tables.push_back(train_sweep<T>(
      options, true, options.target_fraction, progress, [&](const TrainedPoint<T>& point) {
        const Tensor<T>& x = point.problem.x;
        const Tensor<T> linear =
            linearized_outputs<T>([&](const Var<T>& p) { return point.mlp.forward(p, Var<T>(x)); },
                                  point.initial, point.trained);
        // The root mean square over the training inputs: steadier across seeds than the
        // maximum, and of the same order.
        const double deviation =
            static_cast<double>(norm(point.mlp.predict(point.trained, x) - linear)) /
            std::sqrt(static_cast<double>(x.shape()[0]));
        const size_t d = point.depth_index, s = point.seed_index, w = point.width_index;
        if (point.contrast) {
          contrast_gap.at(d, s, w) = deviation;
          return;
        }
        gap.at(d, s, w) = deviation;
        const auto moved = static_cast<double>(norm(point.trained - point.initial));
        distance.at(d, s, w) = moved;
        relative_distance.at(d, s, w) = moved / static_cast<double>(norm(point.initial));
        if (point.training.reason == StopReason::diverged) diverged[d] = true;
      }));
  result.tables.push_back(
      width_table("linearization_gap", "rms_f_minus_f_lin", gap, &contrast_gap));
  result.tables.push_back(width_table("weight_change", "norm_w_minus_w0", distance));
  result.tables.push_back(
      width_table("relative_weight_change", "norm_w_minus_w0_over_norm_w0", relative_distance));

  std::vector<PowerLawFit> gap_fits, relative_fits;
  for (size_t d = 0; d < options.depths.size(); ++d) {
    const FitOptions fit{.seed = options.seed};
    gap_fits.push_back(gap.fit(d, fit));
    const PowerLawFit contrast_fit = contrast_gap.fit(d, fit);
    const PowerLawFit distance_fit = distance.fit(d, fit);
    relative_fits.push_back(relative_distance.fit(d, fit));
    const std::string depth = depth_label(options.depths[d]);
    result.findings.push_back(
        {.claim = fmt::format("|f - f_lin| falls like m^-1/2 or faster, {}", depth),
         .measured = describe("slope", gap_fits.back().slope),
         .predicted = "slope <= -0.5",
         .verdict = diverged[d]
                        ? Verdict::diverged
                        : slope_at_most(gap_fits.back().slope, -0.5, options.slope_tolerance)});
    result.findings.push_back(
        {.claim = fmt::format("||w_T - w_0|| = O(1), relative to ||w_0|| falls like m^-1/2 or "
                              "faster, {}",
                              depth),
         .measured = fmt::format("{}; {}", describe("slope", distance_fit.slope),
                                 describe("relative", relative_fits.back().slope)),
         .predicted = fmt::format("|slope| <= {}; relative <= -0.5", kFlatSlope),
         .verdict = diverged[d] ? Verdict::diverged
                                : both(slope_near_zero(distance_fit.slope, kFlatSlope),
                                       slope_at_most(relative_fits.back().slope, -0.5,
                                                     options.slope_tolerance))});
    result.findings.push_back(
        {.claim =
             fmt::format("|f - f_lin| falls like m^-1/2 or faster, {}, non-linear output", depth),
         .contrast = true,
         .measured = describe("slope", contrast_fit.slope),
         .predicted = "the gap stays O(1): slope near 0",
         .verdict = slope_at_most(contrast_fit.slope, -0.5, options.slope_tolerance),
         .expected = Verdict::does_not_hold});
  }
  result.plots.push_back(
      width_plot("linearization_gap", "Distance to the linearized model after training",
                 "rms_i |f(w_T; x_i) - f_lin(w_T; x_i)|", gap, gap_fits, -0.5, &contrast_gap));
  result.plots.push_back(
      width_plot("relative_weight_change", "How far the parameters move, relative to their size",
                 "||w_T - w_0|| / ||w_0||", relative_distance, relative_fits, -0.5));
  return result;
}

}  // namespace

ExperimentInfo linearity_experiment() {
  return with_run(
      width_sweep_info("linearity",
                       "Claim 3: |f - f_lin| and ||w_T - w_0|| / ||w_0|| fall like m^-1/2"),
      run<float>, run<double>);
}

}  // namespace lamppost::detail
