// What an experiment is and what it returns. Experiments compute; the program (cli/) renders.
// A result object holds everything a verdict table, a CSV file, results.json or a plot needs,
// so nothing in theory/ prints, formats for a terminal, or plots.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/mlp.h"

namespace lamppost {

// What a measurement says about a claim. `diverged`: training blew up (NaN, Inf or a loss past
// its bound) and there is nothing to judge.
enum class Verdict { holds, does_not_hold, inconclusive, diverged };
std::string_view to_string(Verdict verdict);

// A figure with its confidence interval [low, high] (equal to value when there is none).
struct Estimate {
  double value = 0;
  double low = 0;
  double high = 0;
};

// One row of the verdict table.
struct Finding {
  std::string claim{};      // what is claimed, e.g. "kernel change ~ m^-1/2 or faster, depth 2"
  bool contrast = false;    // a contrast case: theory predicts the claim does NOT hold here
  std::string measured{};   // the figure that decided it, with its interval, in words
  std::string predicted{};  // what theory predicts, in words, e.g. "slope <= -0.5"
  Verdict verdict = Verdict::inconclusive;  // what the measurement says
  Verdict expected = Verdict::holds;        // what theory says: does_not_hold for contrasts
  bool agrees() const { return verdict == expected; }
};

// Raw series: named columns of numbers, one row per measurement (long form: a "depth" or
// "seed" column tells rows apart). Written as <experiment>_<name>.csv.
struct Table {
  std::string name{};
  std::vector<std::string> columns{};
  std::vector<std::vector<double>> rows{};

  // Throws when the row's length is not the number of columns.
  void add_row(std::vector<double> row);
};

// A curve of a plot, with its data (plots are drawn from these alone).
struct Curve {
  enum class Style { points, lines, lines_points };
  std::string label{};  // the legend entry
  std::vector<double> x{};
  std::vector<double> y{};
  std::vector<double> y_low{};   // empty, or error bars: one per point with y_high
  std::vector<double> y_high{};  //
  Style style = Style::lines_points;
};

struct Plot {
  std::string name{};  // file stem: <experiment>_<name>.png
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  bool log_x = false;
  bool log_y = false;
  std::vector<Curve> curves{};
};

struct ExperimentResult {
  std::string name{};   // the experiment's name (as `lamppost run <name>`)
  std::string title{};  // a line saying what was checked
  // The settings actually used, as flag name and value ("widths" -> "32,64,128").
  std::vector<std::pair<std::string, std::string>> settings{};
  std::vector<Table> tables{};
  std::vector<Finding> findings{};  // contrast rows included
  std::vector<Plot> plots{};
  double seconds = 0;  // wall time of the run
};

enum class Precision { float32, float64 };
enum class DataSource { synthetic, fashion_mnist };
std::string_view to_string(Precision precision);
std::string_view to_string(DataSource source);
// The inverses, for flags; they throw naming the unknown value and the choices.
Precision parse_precision(std::string_view name);
DataSource parse_data_source(std::string_view name);

// How far an experiment has got: fraction in [0, 1] of its work (by its own cost estimate) and
// a few words on the current stage. May be empty.
using Progress = std::function<void(double fraction, std::string_view stage)>;

// The settings of every experiment. Each experiment reads some of them (ExperimentInfo::flags
// names which) and has its own quick and full defaults; flags override single fields.
struct ExperimentOptions {
  std::vector<int64_t> depths{};  // hidden layers; each value is one network family
  std::vector<int64_t> widths{};  // hidden widths m (every hidden layer has width m)
  Activation activation = Activation::erf;
  DataSource dataset = DataSource::synthetic;
  std::string data_directory{};  // Fashion-MNIST's folder; empty: the Debian package's
  int64_t n = 0;                 // training samples
  int64_t input_dimension = 0;   // d_0 of synthetic data (Fashion-MNIST: 784)
  int64_t steps = 0;             // training step budget
  double step_size = 0;          // 0: chosen from the curvature (1 / lambda_max)
  int64_t batch_size = 0;        // SGD mini-batch size (claim 6)
  int64_t seeds = 0;             // independent repetitions (fits take intervals over them)
  uint64_t seed = 0;             // the first seed; repetitions use seed, seed + 1, ...
  Precision precision = Precision::float64;

  // Thresholds of the verdicts: THEORY.md's defaults, flags, and recorded in the settings.
  double slope_tolerance = 0.15;  // a fitted slope may sit this far above theory's and agree
  double target_fraction = 0.01;  // claims 1, 3: GD runs until the loss is this part of its start
  double interpolation = 1e-4;    // claims 5, 6: the loss fraction that counts as interpolation
  double mu_floor = 0.25;         // claim 5: min_t mu_t must keep this fraction of mu_0
  double ball_radius = 1.0;       // claim 2: the Hessian is also measured this far from w_0

  // Claims 7 to 10: interpolation. n and input_dimension above give the training set's size and
  // the synthetic data's dimension here too.
  std::vector<DataSource> datasets{};  // claims 7, 8: each data set is run in turn
  int64_t test_n = 0;                  // test points (queries)
  std::vector<int64_t> features{};     // claim 7: random-feature counts m; empty: a grid around n
  double ridge = 0;                    // claim 7: the ridge of the contrast that has no peak
  double bandwidth = 0;                // claims 7, 8: kernel bandwidth; 0: from the median distance
  std::vector<double> noise_rates{};   // claims 7, 8, 10: label noise q (THEORY.md's P_q)
  std::vector<int64_t> sample_sizes{};  // claim 9: training set sizes n
  double alpha = 0;                     // claim 9: wiNN's exponent; 0: d / 4 (below d / 2)
  std::vector<int64_t> dimensions{};    // claim 10: input dimensions d
};

struct ExperimentInfo {
  std::string name{};   // as typed: `lamppost run kernel_constancy`
  std::string claim{};  // one line: the claim of THEORY.md it checks
  // The options it reads, by flag name ("widths"); the program refuses the others' flags.
  std::vector<std::string> flags{};
  ExperimentOptions quick{};
  ExperimentOptions full{};
  // Throws an Error naming an option out of range for this experiment (run checks too; the
  // program checks first, so that a bad value is a usage error before any work starts).
  std::function<void(const ExperimentOptions&)> check{};
  std::function<ExperimentResult(const ExperimentOptions&, const Progress&)> run{};
};

// Every option as (flag name, value as the flag would spell it), in --help's order: what a result
// records of the settings it ran with.
std::vector<std::pair<std::string, std::string>> settings_of(const ExperimentOptions& options);
// Only the named flags' settings, in that order; throws naming a flag that does not exist.
std::vector<std::pair<std::string, std::string>> settings_of(const ExperimentOptions& options,
                                                             const std::vector<std::string>& flags);

// Every experiment, in THEORY.md's order.
const std::vector<ExperimentInfo>& experiments();
// The experiment of that name; throws naming the unknown name and the choices.
const ExperimentInfo& find_experiment(std::string_view name);

}  // namespace lamppost
