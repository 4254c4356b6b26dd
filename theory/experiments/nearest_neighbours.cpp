// Claim 9: interpolating nearest neighbours (Belkin, Hsu, Mitra 2018). 1-NN interpolates its
// training labels, and its risk tends to Cover and Hart's E[2 eta (1 - eta)], up to twice the
// Bayes risk. The weighted interpolating nearest neighbours (wiNN), which average the k nearest
// labels with the singular weights ||x - x_i||^-alpha, also interpolate (a training point's own
// weight is infinite), yet their risk approaches the Bayes risk as n grows with k. Measured on
// the synthetic two-class mixture, whose posterior eta(x) is known: each classifier's excess
// risk is averaged exactly over eta at the test points, E[|2 eta - 1| 1{f != f*}], which has far
// less variance than counting mistakes on sampled labels.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/neighbours.h"
#include "tensor/error.h"
#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/experiments/interpolation.h"

namespace lamppost::detail {

namespace {

// 1-NN "reaches the Bayes risk" (the contrast) when its excess risk at the largest n is below
// this fraction of Cover and Hart's gap R_1NN - R*; it matches Cover and Hart's limit when it
// is within this fraction of that gap from it.
constexpr double kGapFraction = 0.25;

// wiNN's neighbours: k = ceil(sqrt(n)), so that k grows without bound while k / n falls to 0.
int64_t winn_neighbours(int64_t n) {
  return static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
}

double alpha_of(const ExperimentOptions& options) {
  return options.alpha > 0 ? options.alpha : static_cast<double>(options.input_dimension) / 4;
}

struct Risks {
  double risk = 0;    // E[P(y != f(x) | x)] over the test points
  double excess = 0;  // E[|2 eta - 1| 1{f(x) != f*(x)}]
};

Risks risks_of(const std::vector<int64_t>& predicted, const std::vector<double>& eta) {
  Risks r;
  for (size_t i = 0; i < eta.size(); ++i) {
    const bool one = predicted[i] == 1;
    r.risk += one ? 1 - eta[i] : eta[i];
    if (one != (eta[i] > 0.5)) r.excess += std::abs(2 * eta[i] - 1);
  }
  r.risk /= static_cast<double>(eta.size());
  r.excess /= static_cast<double>(eta.size());
  return r;
}

const std::vector<std::string>& nearest_neighbours_flags() {
  static const std::vector<std::string> flags =
      interpolation_flags({"sample-sizes", "test-n", "input-dimension", "alpha"});
  return flags;
}

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "nearest_neighbours",
                          .title = "Claim 9: interpolating nearest neighbours (1-NN and wiNN)",
                          .settings = settings_of(options, nearest_neighbours_flags())};
  const double alpha = alpha_of(options);
  result.settings.emplace_back("winn-neighbours", "ceil(sqrt(n))");
  result.settings.emplace_back("gap-fraction", fmt::format("{}", kGapFraction));
  const GaussianMixture mixture = synthetic_mixture(options.input_dimension);
  const double bayes = mixture.bayes_error();
  const double cover_hart = mixture.nearest_neighbour_risk();

  Table table{.name = "risks",
              .columns = {"seed", "n", "k", "one_nn_risk", "one_nn_excess", "winn_risk",
                          "winn_excess", "winn_interpolates"}};
  const size_t sizes = options.sample_sizes.size();
  std::vector<std::vector<double>> one_risk(static_cast<size_t>(options.seeds)), one_excess,
      winn_risk, winn_excess;
  one_excess = winn_risk = winn_excess = one_risk;
  std::vector<bool> interpolates, winn_better;
  double cost = 0;
  for (int64_t n : options.sample_sizes) cost += static_cast<double>(n);
  SweepProgress sweep(progress, cost * static_cast<double>(options.seeds));
  for (size_t r = 0; r < static_cast<size_t>(options.seeds); ++r) {
    const uint64_t seed = options.seed + r;
    const Labelled<T> test = mixture.sample<T>(options.test_n, derived_seed(seed, 1));
    const std::vector<double> eta = mixture.posterior(test.x);
    bool all_interpolate = true;
    for (int64_t n : options.sample_sizes) {
      sweep.start(static_cast<double>(n), fmt::format("n = {}, seed {}", n, seed));
      const Labelled<T> train = mixture.sample<T>(n, derived_seed(seed, static_cast<uint64_t>(n)));
      const Tensor<T> y = one_hot<T>(train.labels, 2);
      NeighbourModel<T> one({.k = 1});
      one.fit(train.x, y);
      const int64_t k = winn_neighbours(n);
      NeighbourModel<T> winn({.k = k, .alpha = alpha});
      winn.fit(train.x, y);
      const Risks one_nn = risks_of(classify(one, test.x), eta);
      const Risks weighted = risks_of(classify(winn, test.x), eta);
      const bool fits = classify(winn, train.x) == train.labels;
      all_interpolate = all_interpolate && fits;
      one_risk[r].push_back(one_nn.risk);
      one_excess[r].push_back(one_nn.excess);
      winn_risk[r].push_back(weighted.risk);
      winn_excess[r].push_back(weighted.excess);
      table.add_row({static_cast<double>(seed), static_cast<double>(n), static_cast<double>(k),
                     one_nn.risk, one_nn.excess, weighted.risk, weighted.excess, fits ? 1.0 : 0.0});
      sweep.finish();
    }
    interpolates.push_back(all_interpolate);
    winn_better.push_back(winn_excess[r].back() < one_excess[r].back());
  }
  result.tables.push_back(std::move(table));

  const std::vector<double> x(options.sample_sizes.begin(), options.sample_sizes.end());
  const int64_t largest = options.sample_sizes.back();
  const Band one_band = band(one_risk), one_excess_band = band(one_excess),
             winn_excess_band = band(winn_excess);
  result.findings.push_back(
      {.claim = "wiNN interpolates: it predicts every training label exactly",
       .measured = fmt::format("{} interpolate at every n", seeds_agreeing(interpolates)),
       .predicted = "training error 0",
       .verdict = every_seed(interpolates)});

  // A fit on log axes needs positive values; an excess risk of exactly 0 (no test point on the
  // wrong side) is floored at the smallest nonzero value one point could give.
  const double floor = 0.5 / static_cast<double>(options.test_n);
  std::vector<std::vector<double>> floored = winn_excess;
  for (auto& series : floored)
    for (double& value : series) value = std::max(value, floor);
  Finding falls{.claim = fmt::format("wiNN's excess risk falls as n grows (k = ceil(sqrt(n)), "
                                     "alpha = {:.3g})",
                                     alpha),
                .predicted = "excess risk ~ n^slope, slope < 0: the risk approaches Bayes'"};
  if (sizes >= 2) {
    const PowerLawFit fit = fit_power_law(x, floored, {.seed = options.seed});
    falls.measured =
        fmt::format("{}; excess {:.3g} at n = {} to {:.3g} at n = {}", describe("slope", fit.slope),
                    winn_excess_band.mean.front(), options.sample_sizes.front(),
                    winn_excess_band.mean.back(), largest);
    falls.verdict = fit.slope.high < 0   ? Verdict::holds
                    : fit.slope.low >= 0 ? Verdict::does_not_hold
                                         : Verdict::inconclusive;
  } else {
    falls.measured = "one sample size: no trend to fit";
  }
  result.findings.push_back(std::move(falls));
  result.findings.push_back(
      {.claim = fmt::format("wiNN's excess risk is below 1-NN's at n = {}", largest),
       .measured =
           fmt::format("mean {:.3g} against {:.3g} ({} agree)", winn_excess_band.mean.back(),
                       one_excess_band.mean.back(), seeds_agreeing(winn_better)),
       .predicted = "wiNN -> Bayes risk; 1-NN -> Cover-Hart's, above it",
       .verdict = every_seed(winn_better)});

  const double gap = cover_hart - bayes;
  const double one_nn_final = one_band.mean.back();
  result.findings.push_back(
      {.claim =
           fmt::format("1-NN's risk tends to Cover and Hart's E[2 eta (1 - eta)], n = {}", largest),
       .measured = fmt::format("1-NN {:.4f}; Cover-Hart {:.4f}; Bayes {:.4f}", one_nn_final,
                               cover_hart, bayes),
       .predicted = fmt::format("within {} of the gap {:.3g} to Bayes", kGapFraction, gap),
       .verdict = std::abs(one_nn_final - cover_hart) <= kGapFraction * gap
                      ? Verdict::holds
                      : Verdict::does_not_hold});
  result.findings.push_back(
      {.claim = fmt::format("1-NN reaches the Bayes risk, n = {}", largest),
       .contrast = true,
       .measured = fmt::format("excess risk {:.3g}", one_excess_band.mean.back()),
       .predicted = fmt::format("excess tends to Cover-Hart's gap {:.3g}, not 0", gap),
       .verdict = one_excess_band.mean.back() < kGapFraction * gap ? Verdict::holds
                                                                   : Verdict::does_not_hold,
       .expected = Verdict::does_not_hold});

  const auto line = [&](std::string label, double value) {
    return Curve{.label = std::move(label),
                 .x = {x.front(), x.back()},
                 .y = {value, value},
                 .style = Curve::Style::lines};
  };
  result.plots.push_back(
      {.name = "risk",
       .title = fmt::format("Nearest neighbours on the Gaussian mixture, d = {}",
                            options.input_dimension),
       .x_label = "training samples n",
       .y_label = "risk",
       .log_x = true,
       .curves = {band_curve("1-NN (mean, min-max over seeds)", x, one_risk),
                  band_curve(fmt::format("wiNN, alpha = {:.3g}", alpha), x, winn_risk),
                  line("Bayes risk", bayes), line("Cover-Hart limit of 1-NN", cover_hart)}});
  result.plots.push_back({.name = "excess_risk",
                          .title = "Excess risk over Bayes",
                          .x_label = "training samples n",
                          .y_label = "E[|2 eta - 1| 1{f != f*}]",
                          .log_x = true,
                          .log_y = true,
                          .curves = {band_curve("1-NN", x, one_excess),
                                     band_curve("wiNN", x, floored), line("Cover-Hart gap", gap)}});
  return result;
}

void check(const ExperimentOptions& options) {
  check_interpolation(options);
  LAMPPOST_CHECK(!options.sample_sizes.empty(), "experiment", "the list of sample-sizes is empty");
  LAMPPOST_CHECK(options.input_dimension >= 1, "experiment",
                 "input-dimension must be at least 1, got {}", options.input_dimension);
}

ExperimentOptions quick() {
  return {
      .input_dimension = 2, .seeds = 5, .test_n = 5000, .sample_sizes = {250, 1000, 4000, 16000}};
}

ExperimentOptions full() {
  ExperimentOptions options = quick();
  options.seeds = 10;
  options.test_n = 20000;
  options.sample_sizes = {250, 1000, 4000, 16000, 64000};
  return options;
}

}  // namespace

ExperimentInfo nearest_neighbours_experiment() {
  return with_run(
      {.name = "nearest_neighbours",
       .claim = "Claim 9: 1-NN and wiNN interpolate; wiNN's risk approaches Bayes', 1-NN's not",
       .flags = nearest_neighbours_flags(),
       .quick = quick(),
       .full = full(),
       .check = check},
      run<float>, run<double>);
}

}  // namespace lamppost::detail
