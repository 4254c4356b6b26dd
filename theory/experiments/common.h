// What the experiments of claims 1 to 6 share: their data, their networks, training with
// progress, sweeps over depth x width x seed, and the rules that turn fitted slopes into
// verdicts. Internal to theory/.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optim/train.h"
#include "tensor/linalg.h"
#include "theory/experiment.h"
#include "theory/fit.h"

namespace lamppost::detail {

// A kernel with lambda_min / lambda_max below this is singular (rounding leaves ~1e-16 in
// double, ~1e-7 in float).
constexpr double kSingular = 1e-5;

// Training inputs x [n, d_0] on the sphere of radius sqrt(d_0), so that every first-layer
// pre-activation has variance sigma_w^2 + sigma_b^2 whatever d_0 (on the unit sphere they would
// sit in the activation's linear range and the kernel would be nearly singular), and
// scalar targets y [n, 1]: a teacher network plus noise on the sphere (synthetic), or two
// Fashion-MNIST classes (T-shirt/top against trouser) as -1/+1.
template <Real T>
struct Problem {
  Tensor<T> x;
  Tensor<T> y;
};
template <Real T>
Problem<T> make_problem(const ExperimentOptions& options, uint64_t seed);
// d_0 of the problem's inputs: options.input_dimension, or 784 for Fashion-MNIST.
int64_t input_dimension_of(const ExperimentOptions& options);

// The defaults of the width sweeps of claims 1 to 6: quick (about a minute on 2 cores) and full
// (closer to the papers).
ExperimentOptions width_sweep_quick();
ExperimentOptions width_sweep_full();

// Lanczos settings for the spectral norm of a Hessian over `parameters` parameters: the top of
// a Hessian spectrum separates quickly, and 1e-3 relative is far below the spread across seeds.
// Every Lanczos vector is kept (full reorthogonalization) while they fit in about 400 MB;
// beyond that three vectors suffice and the spurious copies are recognised instead.
template <Real T>
LanczosOptions<T> norm_lanczos(int64_t parameters, uint64_t seed);

// The experiments' network: depth hidden layers of width m, NTK parameterization, scalar
// output (optionally through the activation: the contrast case).
MlpConfig network(const ExperimentOptions& options, int64_t input_dimension, int64_t depth,
                  int64_t width, bool nonlinear_output = false);

// The contrast of claims 4 to 6: a network with fewer parameters M than samples n, so that its
// n x n tangent kernel is singular. One hidden layer, about n / 2 parameters; when even width 1
// has M >= n (high-dimensional inputs such as images), the contrast draws n = 2 M samples.
template <Real T>
struct Underparameterized {
  MlpConfig config;
  Problem<T> problem;
};
template <Real T>
Underparameterized<T> underparameterized(const ExperimentOptions& options, uint64_t seed);

// Training on the square loss 1/2 ||F - y||^2 of the problem, by plain steps of fixed size:
// full batch (GD) when batch_size is 0, else mini-batches of that size (SGD), where a batch's
// loss is 1/2 the sum over its rows, so a step moves by s/n of the full gradient on average.
// Stops when the loss falls to target_fraction of its initial value, or after `steps`.
template <Real T>
TrainResult fit_square_loss(const Mlp<T>& mlp, Tensor<T>& params, const Problem<T>& problem,
                            double step_size, int64_t steps, double target_fraction,
                            int64_t batch_size = 0, uint64_t seed = 0,
                            const std::vector<Observer<T>>& observers = {},
                            int64_t observe_every = 1);

// One trained network of a sweep, handed to the experiment's measurement.
template <Real T>
struct TrainedPoint {
  size_t depth_index;
  size_t width_index;
  size_t seed_index;
  bool contrast;  // the non-linear-output network
  const Mlp<T>& mlp;
  const Problem<T>& problem;
  const Tensor<T>& initial;         // w_0
  const Tensor<T>& initial_kernel;  // K(w_0) on the problem's inputs
  const Tensor<T>& trained;         // w_T
  const TrainResult& training;
};

// Trains, for every depth x seed x width (and the contrast network too when asked), the network
// from its initialisation by GD with step options.step_size, or 1 / lambda_max(K(w_0)) when that
// is 0 (K(w_0) is computed either way and handed on), until the loss falls to target_fraction of
// its start or the step budget ends (a contrast network: at most ten times the steps its
// linear-output twin took); hands each to measure. Returns a table of the runs (steps, step size,
// final loss fraction, whether it diverged).
template <Real T>
Table train_sweep(const ExperimentOptions& options, bool with_contrast, double target_fraction,
                  const Progress& progress,
                  const std::function<void(const TrainedPoint<T>&)>& measure);

// info completed with its run function: it checks the options with info.check (which throws
// naming a bad value), runs in the options' precision, and times it.
using ExperimentRun = ExperimentResult (*)(const ExperimentOptions&, const Progress&);
ExperimentInfo with_run(ExperimentInfo info, ExperimentRun single, ExperimentRun double_precision);

// A width sweep of claims 1 to 6, as far as they all agree: its name and claim, their flags,
// quick and full defaults, and their check.
ExperimentInfo width_sweep_info(std::string name, std::string claim);

// The cost of a sweep over every depth x width x seed, counting each network by its parameters
// (what one of its forward passes costs, about).
template <Real T>
double sweep_cost(const ExperimentOptions& options);

// Reports progress through a sweep whose points have known relative costs.
class SweepProgress {
 public:
  SweepProgress(const Progress& progress, double total_cost);
  // Called as a point starts: the stage text, and the point's cost (counted once it is done).
  void start(double cost, std::string stage);
  // Called as that point ends; the report still names it, so a display that shows only some
  // reports always has a stage to show.
  void finish();

 private:
  const Progress& progress_;
  double total_;
  double done_ = 0;
  double current_ = 0;
  std::string stage_;
};

// The flags of the width sweeps (claims 1 to 6): every option they read.
const std::vector<std::string>& width_sweep_flags();

std::string depth_label(int64_t depth);

// "slope -0.93 [-1.02, -0.85]"
std::string describe(const std::string& what, const Estimate& estimate);

// The claim "y falls at least as fast as m^bound": holds when the slope's interval lies at or
// below bound + tolerance (finite widths, few seeds), does not hold when it lies entirely
// above, else inconclusive.
Verdict slope_at_most(const Estimate& slope, double bound, double tolerance);
// The claim "y does not depend on m": holds when the slope's interval lies within +-tolerance,
// does not hold when it lies entirely outside.
Verdict slope_near_zero(const Estimate& slope, double tolerance);

// Two parts of one claim: it holds when both do, fails when either fails, else inconclusive.
Verdict both(Verdict a, Verdict b);

// A quantity measured at every (depth, width, seed): values[d][s][w].
struct WidthSweep {
  std::vector<int64_t> depths;
  std::vector<int64_t> widths;
  std::vector<std::vector<std::vector<double>>> values;
  uint64_t first_seed = 0;

  // Sized for the options' depths, seeds and widths, filled with NaN.
  explicit WidthSweep(const ExperimentOptions& options);
  double& at(size_t depth, size_t seed, size_t width) { return values[depth][seed][width]; }

  PowerLawFit fit(size_t depth_index, const FitOptions& options = {}) const;
  // The values divided by sqrt(ln m): what remains of a quantity that is O~(m^-1/2) once the
  // sqrt(log m) of a maximum over m Gaussian weights is taken out.
  WidthSweep without_log_factor() const;
};

// Mean, min and max over seeds of series by_seed[s][i], at every i.
struct Band {
  std::vector<double> mean, low, high;
};
Band band(const std::vector<std::vector<double>>& by_seed);
// The band as a curve over x: the means, with min-max error bars.
Curve band_curve(std::string label, const std::vector<double>& x,
                 const std::vector<std::vector<double>>& by_seed,
                 Curve::Style style = Curve::Style::lines_points);

// Log-log plot of a width sweep: per depth, the mean over seeds with min/max bars and the fitted
// line; and a reference line of slope `reference_slope` (through the first depth's first mean).
// contrast, when not empty, adds the contrast sweep's means as dashed lines.
Plot width_plot(const std::string& name, const std::string& title, const std::string& y_label,
                const WidthSweep& sweep, const std::vector<PowerLawFit>& fits,
                double reference_slope, const WidthSweep* contrast = nullptr);

// The sweep's raw values as a long table: depth, width, seed, <value_name>; with a contrast
// sweep, its rows follow with contrast = 1.
Table width_table(const std::string& name, const std::string& value_name, const WidthSweep& sweep,
                  const WidthSweep* contrast = nullptr);

}  // namespace lamppost::detail
