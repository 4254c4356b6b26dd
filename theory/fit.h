// Scaling fits for the experiments: power laws across widths (a slope on log-log axes, with a
// confidence interval over seeds) and exponential decay rates of loss curves.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "theory/experiment.h"

namespace lamppost {

struct FitOptions {
  int64_t resamples = 2000;  // bootstrap resamples
  double level = 0.95;       // two-sided confidence level of the interval
  uint64_t seed = 0;         // the bootstrap's draws
};

// y ~ c x^slope: the least-squares line through (log x_i, log mean_s y[s][i]).
struct PowerLawFit {
  Estimate slope;
  double prefactor = 0;  // c
  double r_squared = 0;  // of the line through the log means
};

// x [p] positive (widths); y[s] [p] positive, one series per seed. The interval is a percentile
// bootstrap: each of options.resamples resamples redraws whole seeds with replacement (one draw
// of seeds for every x: a seed's series move together, sharing its data), the generator seeded
// with options.seed, and the interval runs between the
// (1 - level) / 2 and (1 + level) / 2 quantiles of the resampled slopes. With one seed it is the
// least-squares t interval of the slope, slope -/+ t_{p-2, (1+level)/2} se, and for p = 2 (no
// degrees of freedom) it is [-inf, +inf].
// Throws naming what is wrong: fewer than 2 points, all x equal, a non-positive or non-finite
// value, ragged series, no series, a level outside (0, 1), fewer than 1 resample.
PowerLawFit fit_power_law(std::span<const double> x, const std::vector<std::vector<double>>& y,
                          const FitOptions& options = {});

// loss_t ~ loss_0 exp(-rate t): the least-squares line through (t, log loss_t) over the points
// with a positive, finite loss (the others are left out). The interval is the t interval of the
// least-squares slope, negated; with 2 such points it is [-inf, +inf]. options.resamples and
// options.seed are not used. Throws when t and loss differ in length, a t is not finite, fewer
// than 2 points are left or they share one t, or the level is outside (0, 1).
struct ExponentialFit {
  Estimate rate;  // per step; > 0 for a decaying loss
  double r_squared = 0;
};
ExponentialFit fit_exponential(std::span<const double> t, std::span<const double> loss,
                               const FitOptions& options = {});

}  // namespace lamppost
