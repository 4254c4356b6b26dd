#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tensor/parallel.h"
#include "tests/testing.h"
#include "theory/experiment.h"

namespace lamppost {
namespace {

using testing::error_of;

// Under AddressSanitizer the experiments run about a hundred times slower. There the smoke runs
// keep every code path at sizes too small for the statistics, and the Release build (the
// README's test command, which CI runs first) checks the verdicts.
#ifdef __SANITIZE_ADDRESS__
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

bool reads(const ExperimentInfo& info, std::string_view flag) {
  return std::find(info.flags.begin(), info.flags.end(), flag) != info.flags.end();
}

// The tiny setting of the CI smoke runs. Width sweeps: the quick one with two depths and three
// widths spanning 16x. Interpolation: synthetic data only, a few hundred points.
ExperimentOptions tiny(const ExperimentInfo& info) {
  ExperimentOptions options = info.quick;
  if (!reads(info, "widths")) {
    options.datasets = {DataSource::synthetic};
    options.n = kSanitized ? 60 : 300;
    options.test_n = kSanitized ? 100 : 1000;
    options.seeds = 2;
    if (info.name == "double_descent" && kSanitized) options.features = {6, 60, 120, 600};
    if (info.name == "label_noise" && !kSanitized) options.n = 1000;
    if (info.name == "nearest_neighbours") {
      options.sample_sizes =
          kSanitized ? std::vector<int64_t>{50, 200} : std::vector<int64_t>{250, 1000, 4000};
      options.seeds = kSanitized ? 2 : 3;
      options.test_n = kSanitized ? 100 : 5000;
    }
    if (info.name == "simplices")
      options.dimensions =
          kSanitized ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{1, 2, 4, 8};
    return options;
  }
  options.depths = {1, 2};
  options.widths = {32, 128, 512};
  if (kSanitized) {
    options.depths = {1};
    options.widths = {4, 8};
    options.seeds = 2;
    options.steps = 20;
  }
  return options;
}

// Every experiment, run small, comes out as theory predicts on every finding: the claims hold
// and the contrast cases do not. One test per experiment, so ctest runs them side by side.
class TinyRun : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyRun, GivesTheVerdictsTheoryPredicts) {
  const ExperimentInfo& info = find_experiment(GetParam());
  const ExperimentResult result = info.run(tiny(info), {});
  EXPECT_EQ(result.name, info.name);
  EXPECT_GT(result.seconds, 0);
  EXPECT_FALSE(result.tables.empty());
  EXPECT_FALSE(result.plots.empty());
  int contrasts = 0;
  for (const Finding& finding : result.findings) {
    SCOPED_TRACE(finding.claim + ": " + finding.measured);
    if (!kSanitized) {
      EXPECT_TRUE(finding.agrees())
          << to_string(finding.verdict) << ", theory predicts " << to_string(finding.expected);
    }
    contrasts += finding.contrast ? 1 : 0;
  }
  EXPECT_GE(contrasts, 1);
  EXPECT_GE(result.findings.size() - static_cast<size_t>(contrasts), 1u);
  for (const Table& table : result.tables)
    for (const auto& row : table.rows) ASSERT_EQ(row.size(), table.columns.size());
  for (const Plot& plot : result.plots) {
    EXPECT_FALSE(plot.x_label.empty());
    EXPECT_FALSE(plot.y_label.empty());
    for (const Curve& curve : plot.curves) {
      EXPECT_FALSE(curve.label.empty());
      EXPECT_EQ(curve.x.size(), curve.y.size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Experiments, TinyRun,
                         ::testing::Values("kernel_constancy", "hessian_scaling", "linearity",
                                           "kernel_at_init", "gd_convergence", "sgd_convergence",
                                           "double_descent", "label_noise", "nearest_neighbours",
                                           "simplices"),
                         [](const auto& param) { return param.param; });

TEST(Experiments, AllAreListedInTheoryOrder) {
  std::vector<std::string> names;
  for (const ExperimentInfo& info : experiments()) {
    names.push_back(info.name);
    EXPECT_FALSE(info.claim.empty());
    EXPECT_TRUE(info.run);
    EXPECT_TRUE(reads(info, "seeds") && reads(info, "seed"));
    EXPECT_EQ(reads(info, "precision"), info.name != "double_descent");
    // The full setting is at least as demanding as the quick one.
    EXPECT_GE(info.full.seeds, info.quick.seeds);
    EXPECT_GE(info.full.n, info.quick.n);
    EXPECT_GE(info.full.test_n, info.quick.test_n);
    if (!reads(info, "widths")) continue;
    EXPECT_GE(info.full.widths.back(), info.quick.widths.back());
    EXPECT_GE(static_cast<double>(info.full.widths.back()) / info.full.widths.front(), 16);
    EXPECT_GE(static_cast<double>(info.quick.widths.back()) / info.quick.widths.front(), 16);
    EXPECT_EQ(info.quick.depths, (std::vector<int64_t>{1, 2, 3}));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"kernel_constancy", "hessian_scaling", "linearity",
                                             "kernel_at_init", "gd_convergence", "sgd_convergence",
                                             "double_descent", "label_noise", "nearest_neighbours",
                                             "simplices"}));
}

// Single precision runs the same experiment (kernel at initialisation: cheap) to the same
// verdicts, and the seed fixes every number.
TEST(Experiments, FloatPrecisionAndReproducibility) {
  const ExperimentInfo& info = find_experiment("kernel_at_init");
  ExperimentOptions options = tiny(info);
  const ExperimentResult first = info.run(options, {});
  const ExperimentResult again = info.run(options, {});
  ASSERT_EQ(first.tables.size(), again.tables.size());
  for (size_t t = 0; t < first.tables.size(); ++t)
    EXPECT_EQ(first.tables[t].rows, again.tables[t].rows) << first.tables[t].name;
  options.precision = Precision::float32;
  const ExperimentResult single = info.run(options, {});
  for (const Finding& finding : single.findings)
    EXPECT_TRUE(kSanitized || finding.agrees()) << finding.claim << ": " << finding.measured;
}

// A seed fixes every number whatever the thread count: the tiny runs of a width sweep and of
// each interpolation experiment give bit-identical tables on one thread and on two.
TEST(Experiments, BitIdenticalWithOneAndTwoThreads) {
  for (const std::string name :
       {"gd_convergence", "double_descent", "label_noise", "nearest_neighbours", "simplices"}) {
    SCOPED_TRACE(name);
    const ExperimentInfo& info = find_experiment(name);
    ExperimentOptions options = tiny(info);
    if (reads(info, "widths")) options.widths = {16, 64};
    std::vector<ExperimentResult> results;
    for (int threads : {1, 2}) {
      const ThreadCountGuard guard(threads);
      results.push_back(info.run(options, {}));
    }
    ASSERT_EQ(results[0].tables.size(), results[1].tables.size());
    for (size_t t = 0; t < results[0].tables.size(); ++t)
      EXPECT_EQ(results[0].tables[t].rows, results[1].tables[t].rows) << results[0].tables[t].name;
  }
}

// Progress goes from 0 to 1 through named stages.
TEST(Experiments, ReportProgress) {
  const ExperimentInfo& info = find_experiment("kernel_at_init");
  std::vector<double> fractions;
  std::set<std::string> stages;
  info.run(tiny(info), [&](double fraction, std::string_view stage) {
    fractions.push_back(fraction);
    if (!stage.empty()) stages.emplace(stage);
  });
  ASSERT_FALSE(fractions.empty());
  EXPECT_EQ(fractions.back(), 1.0);
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
  const ExperimentOptions options = tiny(info);
  EXPECT_EQ(stages.size(),
            options.depths.size() * options.widths.size() * static_cast<size_t>(options.seeds));
}

// The verdicts' thresholds are options, recorded in the settings: asking mu_t to keep all of
// mu_0 (it falls a little along training) turns GD's claims into failures.
TEST(Experiments, ThresholdsAreOptions) {
  const ExperimentInfo& info = find_experiment("gd_convergence");
  ExperimentOptions options = tiny(info);
  options.depths = {1};
  options.widths = {32, 128};
  options.seeds = 2;
  options.steps = info.quick.steps;
  options.mu_floor = 1.0;
  const ExperimentResult result = info.run(options, {});
  const auto setting = std::find(result.settings.begin(), result.settings.end(),
                                 std::pair<std::string, std::string>("mu-floor", "1"));
  EXPECT_NE(setting, result.settings.end());
  ASSERT_EQ(result.findings.size(), 2u);
  EXPECT_EQ(result.findings[0].verdict, Verdict::does_not_hold) << result.findings[0].measured;
  EXPECT_EQ(result.findings[1].verdict, Verdict::does_not_hold);  // the contrast, as before
}

TEST(Experiments, BadOptionsAreNamed) {
  EXPECT_EQ(error_of([] { find_experiment("kernel"); }),
            "[experiment] unknown experiment 'kernel' (choose one of kernel_constancy, "
            "hessian_scaling, linearity, kernel_at_init, gd_convergence, sgd_convergence, "
            "double_descent, label_noise, nearest_neighbours, simplices)");
  const ExperimentInfo& info = find_experiment("hessian_scaling");
  ExperimentOptions options = tiny(info);
  options.widths = {16, 0};
  EXPECT_EQ(error_of([&] { info.run(options, {}); }),
            "[experiment] widths must be at least 1, got 0");
  options = tiny(info);
  options.depths.clear();
  EXPECT_EQ(error_of([&] { info.run(options, {}); }), "[experiment] the list of depths is empty");
  options = tiny(info);
  options.step_size = -0.1;
  EXPECT_NE(error_of([&] { info.run(options, {}); }).find("step-size must be positive"),
            std::string::npos);
  options = tiny(info);
  options.target_fraction = 1.5;
  EXPECT_EQ(error_of([&] { info.run(options, {}); }),
            "[experiment] target-fraction must lie in (0, 1), got 1.5");
  const ExperimentInfo& descent = find_experiment("double_descent");
  options = tiny(descent);
  options.precision = Precision::float32;
  EXPECT_EQ(error_of([&] { descent.run(options, {}); }),
            "[experiment] double_descent runs in double only: the peak at m = n lives in singular "
            "values below float's resolution");
  EXPECT_NE(error_of([] { parse_precision("half"); }).find("unknown value 'half'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_data_source("mnist"); }).find("synthetic, fashion-mnist"),
            std::string::npos);
}

}  // namespace
}  // namespace lamppost
