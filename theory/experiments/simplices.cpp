// Claim 10: simplicial interpolation and the blessing of dimensionality. The interpolant that is
// linear on each simplex of the data's (Delaunay) triangulation fits every label, noisy ones
// included, yet its mistakes stay near the noisy points, in a region that shrinks with the
// dimension. In the seed's corner example (the origin labelled -1 by noise, e_1 .. e_d labelled
// +1) the region where it disagrees with the Bayes rule is the simplex scaled by 1/2: a fraction
// 2^-d of it, checked by Monte Carlo. On noisy data (every label wrong with probability p, the
// Bayes rule constant) the disagreement has the closed form of theory/risk.h, which falls
// exponentially with d; 1-NN, the contrast, copies the nearest label and disagrees with
// probability p in every dimension.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "data/synthetic.h"
#include "models/neighbours.h"
#include "models/simplicial.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "theory/experiments/common.h"
#include "theory/experiments/experiments.h"
#include "theory/experiments/interpolation.h"
#include "theory/risk.h"

namespace lamppost::detail {

namespace {

// Monte-Carlo points per dimension in the corner example (each costs one small linear program).
constexpr int64_t kCornerPoints = 200000;
// A Monte-Carlo fraction agrees with its closed form within this many binomial standard errors.
constexpr double kStandardErrors = 4;
// The largest dimension of the noisy-data part: it adds the 2^d corners of the cube to the data.
constexpr int64_t kLargestNoisyDimension = 12;
// Independent draws of the noisy labels per data set. The errors of one draw are correlated
// (a wrong label spoils every query whose simplex has it as a vertex, so one draw holds about as
// many independent events as wrong labels, not as queries); averaging draws, which cost no extra
// linear programs (each is one more output column), brings the estimate's spread down, and the
// spread across draws gives its standard error.
constexpr int64_t kLabelDraws = 16;

// n points uniform in the simplex conv(0, e_1, ..., e_d): normalised exponentials, dropping the
// origin's weight.
template <Real T>
Tensor<T> uniform_in_simplex(int64_t n, int64_t d, uint64_t seed) {
  const Tensor<double> u = Rng(seed).uniform<double>({n, d + 1});
  Tensor<T> x({n, d});
  for (int64_t i = 0; i < n; ++i) {
    double total = 0;
    for (int64_t j = 0; j <= d; ++j) total += -std::log1p(-u.at({i, j}));
    for (int64_t j = 0; j < d; ++j)
      x.at({i, j}) = static_cast<T>(-std::log1p(-u.at({i, j + 1})) / total);
  }
  return x;
}

// n points uniform in [0, 1]^d, then the cube's 2^d corners, so that the data's convex hull is
// the whole cube and every query has a simplex.
template <Real T>
Tensor<T> cube_data(int64_t n, int64_t d, uint64_t seed) {
  const int64_t corners = int64_t{1} << d;
  Tensor<T> x({n + corners, d});
  x.slice(0, 0, n).assign(Rng(seed).uniform<T>({n, d}));
  for (int64_t c = 0; c < corners; ++c)
    for (int64_t j = 0; j < d; ++j) x.at({n + c, j}) = static_cast<T>((c >> j) & 1);
  return x;
}

// The fraction of rows of outputs [q, k] whose column `column` is not positive: where the rule
// disagrees with the Bayes rule's +1.
template <Real T>
double negative_fraction(const Tensor<T>& outputs, int64_t column) {
  int64_t negative = 0;
  for (int64_t i = 0; i < outputs.shape()[0]; ++i) negative += !(outputs.at({i, column}) > T(0));
  return static_cast<double>(negative) / static_cast<double>(outputs.shape()[0]);
}

// A Monte-Carlo fraction of independent points against its closed form.
bool within_standard_errors(double estimate, double exact, int64_t samples) {
  const double se = std::sqrt(exact * (1 - exact) / static_cast<double>(samples));
  return std::abs(estimate - exact) <= kStandardErrors * se;
}

template <Real T>
void corner_example(const ExperimentOptions& options, SweepProgress& sweep,
                    ExperimentResult& result) {
  Table table{.name = "corner",
              .columns = {"d", "fraction", "fraction_closed_form", "volume", "volume_closed_form"}};
  std::vector<double> dims, measured, exact;
  std::vector<bool> agree;
  for (int64_t d : options.dimensions) {
    sweep.start(1, fmt::format("corner example, d = {}", d));
    const Labelled<T> corners = simplex_corners<T>(d);
    Tensor<T> y({d + 1});
    for (int64_t i = 0; i <= d; ++i)
      y.at({i}) = corners.labels[static_cast<size_t>(i)] == 1 ? T(1) : T(-1);
    SimplicialInterpolator<T> interpolator;
    interpolator.fit(corners.x, y);
    const Tensor<T> f =
        interpolator.predict(uniform_in_simplex<T>(kCornerPoints, d, derived_seed(options.seed, d)))
            .reshape({kCornerPoints, 1});
    const double fraction = negative_fraction(f, 0);
    const double simplex_volume = 1 / std::tgamma(static_cast<double>(d) + 1);
    const double closed_form = corner_region_volume(d) / simplex_volume;  // 2^-d
    dims.push_back(static_cast<double>(d));
    measured.push_back(fraction);
    exact.push_back(closed_form);
    agree.push_back(within_standard_errors(fraction, closed_form, kCornerPoints));
    table.add_row({static_cast<double>(d), fraction, closed_form, fraction * simplex_volume,
                   corner_region_volume(d)});
    sweep.finish();
  }
  std::string detail;
  for (size_t i = 0; i < dims.size(); ++i)
    detail +=
        fmt::format("{}d {}: {:.4g} vs {:.4g}", i == 0 ? "" : "; ", dims[i], measured[i], exact[i]);
  result.findings.push_back(
      {.claim = "corner example: the interpolant disagrees with the Bayes rule on vol(simplex) / "
                "2^d",
       .measured = fmt::format("fraction of the simplex, Monte Carlo vs 2^-d: {}", detail),
       .predicted = fmt::format("within {} standard errors of 2^-d ({} points each)",
                                kStandardErrors, kCornerPoints),
       .verdict = std::all_of(agree.begin(), agree.end(), [](bool b) { return b; })
                      ? Verdict::holds
                      : Verdict::does_not_hold});
  result.tables.push_back(std::move(table));
  result.plots.push_back(
      {.name = "corner",
       .title = "The corner example: where the interpolant is wrong",
       .x_label = "dimension d",
       .y_label = "fraction of the simplex",
       .log_y = true,
       .curves = {{.label = "Monte Carlo", .x = dims, .y = measured, .style = Curve::Style::points},
                  {.label = "2^-d", .x = dims, .y = exact, .style = Curve::Style::lines}}});
}

template <Real T>
void noisy_data(const ExperimentOptions& options, SweepProgress& sweep, ExperimentResult& result) {
  const std::vector<double>& rates = options.noise_rates;
  const int64_t columns = std::ssize(rates) * kLabelDraws;  // column c * kLabelDraws + draw
  const size_t seeds = static_cast<size_t>(options.seeds);
  // [rate][seed][dimension], each the mean over the label draws.
  using Grid = std::vector<std::vector<std::vector<double>>>;
  Grid simplicial(rates.size(), Grid::value_type(seeds)), nearest = simplicial;
  // [rate][dimension]: every draw of every seed, for the standard error.
  std::vector<std::vector<std::vector<double>>> draws(
      rates.size(), std::vector<std::vector<double>>(options.dimensions.size()));
  Table table{.name = "noisy",
              .columns = {"seed", "d", "q", "p", "simplicial_disagreement", "nearest_disagreement",
                          "closed_form"}};
  for (size_t r = 0; r < seeds; ++r) {
    const uint64_t seed = options.seed + r;
    for (size_t i = 0; i < options.dimensions.size(); ++i) {
      const int64_t d = options.dimensions[i];
      sweep.start(1, fmt::format("noisy data, d = {}, seed {}", d, seed));
      const Tensor<T> x = cube_data<T>(options.n, d, derived_seed(seed, 2 * d));
      const Tensor<T> queries = Rng(derived_seed(seed, 2 * d + 1)).uniform<T>({options.test_n, d});
      const int64_t points = x.shape()[0];
      const std::vector<int64_t> clean(static_cast<size_t>(points), 1);
      Tensor<T> y({points, columns});
      for (size_t c = 0; c < rates.size(); ++c) {
        for (int64_t draw = 0; draw < kLabelDraws; ++draw) {
          // One seed per draw whatever q: a larger q flips a superset of a smaller one's labels.
          const std::vector<int64_t> labels =
              add_label_noise(clean, 2, rates[c], derived_seed(seed, 1000 + 64 * d + draw));
          const int64_t column = static_cast<int64_t>(c) * kLabelDraws + draw;
          for (int64_t j = 0; j < points; ++j)
            y.at({j, column}) = labels[static_cast<size_t>(j)] == 1 ? T(1) : T(-1);
        }
      }
      SimplicialInterpolator<T> interpolator;
      interpolator.fit(x, y);
      const Tensor<T> f = interpolator.predict(queries);
      NeighbourModel<T> one({.k = 1});
      one.fit(x, y);
      const Tensor<T> g = one.predict(queries);
      for (size_t c = 0; c < rates.size(); ++c) {
        double simplicial_mean = 0, nearest_mean = 0;
        for (int64_t draw = 0; draw < kLabelDraws; ++draw) {
          const int64_t column = static_cast<int64_t>(c) * kLabelDraws + draw;
          draws[c][i].push_back(negative_fraction(f, column));
          simplicial_mean += draws[c][i].back() / kLabelDraws;
          nearest_mean += negative_fraction(g, column) / kLabelDraws;
        }
        const double p = wrong_label_rate(rates[c], 2);
        simplicial[c][r].push_back(simplicial_mean);
        nearest[c][r].push_back(nearest_mean);
        table.add_row({static_cast<double>(seed), static_cast<double>(d), rates[c], p,
                       simplicial_mean, nearest_mean, simplicial_disagreement(d, p)});
      }
      sweep.finish();
    }
  }
  result.tables.push_back(std::move(table));

  const std::vector<double> dims(options.dimensions.begin(), options.dimensions.end());
  const int64_t low = options.dimensions.front(), high = options.dimensions.back();
  for (size_t c = 0; c < rates.size(); ++c) {
    const double p = wrong_label_rate(rates[c], 2);
    // "Shrinks with d": from the first dimension to the last, the disagreement falls at least
    // halfway towards the closed form's ratio (an exponential fall; 1 where d gives no gain).
    const double predicted_ratio =
        simplicial_disagreement(high, p) / simplicial_disagreement(low, p);
    const double bound = (1 + predicted_ratio) / 2;
    const auto shrinks = [&](const Grid::value_type& by_seed) {
      std::vector<bool> per_seed;
      for (const auto& series : by_seed)
        per_seed.push_back(series.front() > 0 && series.back() / series.front() <= bound);
      return per_seed;
    };
    const Band s = band(simplicial[c]), nn = band(nearest[c]);
    const std::vector<bool> simplicial_shrinks = shrinks(simplicial[c]);
    result.findings.push_back(
        {.claim = fmt::format("noisy labels (p = {:.2g} wrong): simplicial interpolation's excess "
                              "risk shrinks as d grows",
                              p),
         .measured = fmt::format("disagreement with Bayes {:.3g} (d = {}) to {:.3g} (d = {}); {} "
                                 "agree",
                                 s.mean.front(), low, s.mean.back(), high,
                                 seeds_agreeing(simplicial_shrinks)),
         .predicted = fmt::format("ratio <= {:.2f} (closed form {:.2f}); excess = (1 - 2p) x "
                                  "disagreement",
                                  bound, predicted_ratio),
         .verdict = every_seed(simplicial_shrinks)});
    std::vector<bool> matches;
    std::string detail;
    for (size_t i = 0; i < dims.size(); ++i) {
      const double exact = simplicial_disagreement(options.dimensions[i], p);
      const std::vector<double>& values = draws[c][i];
      const double count = static_cast<double>(values.size());
      double mean = 0, square = 0;
      for (double v : values) mean += v / count;
      for (double v : values) square += (v - mean) * (v - mean) / (count - 1);
      const double se = std::sqrt(square / count);
      matches.push_back(std::abs(mean - exact) <= kStandardErrors * se);
      detail += fmt::format("{}d {}: {:.3g} +- {:.2g} vs {:.3g}", i == 0 ? "" : "; ", dims[i], mean,
                            se, exact);
    }
    result.findings.push_back(
        {.claim = fmt::format("noisy labels (p = {:.2g}): the disagreement matches the closed "
                              "form sum_j C(d+1,j) p^j (1-p)^(d+1-j) P(Bin(d,1/2) < j)",
                              p),
         .measured = detail,
         .predicted = fmt::format("within {} standard errors (over {} label draws x seeds) at "
                                  "every d",
                                  kStandardErrors, kLabelDraws),
         .verdict = std::all_of(matches.begin(), matches.end(), [](bool b) { return b; })
                        ? Verdict::holds
                        : Verdict::does_not_hold});
    const std::vector<bool> nearest_shrinks = shrinks(nearest[c]);
    result.findings.push_back(
        {.claim =
             fmt::format("noisy labels (p = {:.2g}): 1-NN's excess risk shrinks as d grows", p),
         .contrast = true,
         .measured = fmt::format("disagreement {:.3g} (d = {}) to {:.3g} (d = {}); {} agree",
                                 nn.mean.front(), low, nn.mean.back(), high,
                                 seeds_agreeing(nearest_shrinks)),
         .predicted = fmt::format("1-NN copies the nearest label: disagreement p = {:.2g} in every "
                                  "d",
                                  p),
         .verdict = every_seed(nearest_shrinks),
         .expected = Verdict::does_not_hold});

    Curve closed_form{.label = "closed form", .x = dims, .style = Curve::Style::lines};
    for (int64_t d : options.dimensions) closed_form.y.push_back(simplicial_disagreement(d, p));
    result.plots.push_back(
        {.name = fmt::format("noisy_q{}", rates[c]),
         .title = fmt::format("Disagreement with the Bayes rule, labels wrong with p = {:.2g}", p),
         .x_label = "dimension d",
         .y_label = "P(f(x) != f*(x))",
         .log_y = true,
         .curves = {
             band_curve("simplicial interpolation (mean, min-max over seeds)", dims, simplicial[c]),
             std::move(closed_form),
             band_curve("1-NN (contrast)", dims, nearest[c]),
             {.label = "p",
              .x = {dims.front(), dims.back()},
              .y = {p, p},
              .style = Curve::Style::lines}}});
  }
}

const std::vector<std::string>& simplices_flags() {
  static const std::vector<std::string> flags =
      interpolation_flags({"dimensions", "n", "test-n", "noise-rates"});
  return flags;
}

template <Real T>
ExperimentResult run(const ExperimentOptions& options, const Progress& progress) {
  ExperimentResult result{.name = "simplices",
                          .title =
                              "Claim 10: simplicial interpolation and the blessing of "
                              "dimensionality",
                          .settings = settings_of(options, simplices_flags())};
  result.settings.emplace_back("corner-points", fmt::format("{}", kCornerPoints));
  result.settings.emplace_back("standard-errors", fmt::format("{}", kStandardErrors));
  result.settings.emplace_back("label-draws", fmt::format("{}", kLabelDraws));
  SweepProgress sweep(progress,
                      static_cast<double>(std::ssize(options.dimensions) * (1 + options.seeds)));
  corner_example<T>(options, sweep, result);
  noisy_data<T>(options, sweep, result);
  return result;
}

void check(const ExperimentOptions& options) {
  check_interpolation(options);
  LAMPPOST_CHECK(!options.dimensions.empty(), "experiment", "the list of dimensions is empty");
  for (int64_t d : options.dimensions)
    LAMPPOST_CHECK(d <= kLargestNoisyDimension, "experiment",
                   "dimensions must be at most {} (the data include the cube's 2^d corners), "
                   "got {}",
                   kLargestNoisyDimension, d);
  LAMPPOST_CHECK(!options.noise_rates.empty(), "experiment", "the list of noise-rates is empty");
  for (double q : options.noise_rates)
    LAMPPOST_CHECK(q < 1, "experiment",
                   "noise-rates must be below 1 (at q = 1 every label is a coin flip), got {}", q);
  LAMPPOST_CHECK(options.n >= 1, "experiment", "n must be at least 1, got {}", options.n);
}

ExperimentOptions quick() {
  return {.n = 1000,
          .seeds = 3,
          .test_n = 2000,
          .noise_rates = {0.2, 0.4},
          .dimensions = {1, 2, 3, 4, 6, 8, 10}};
}

ExperimentOptions full() {
  ExperimentOptions options = quick();
  options.n = 4000;
  options.test_n = 10000;
  options.seeds = 5;
  options.dimensions = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  return options;
}

}  // namespace

ExperimentInfo simplices_experiment() {
  return with_run(
      {.name = "simplices",
       .claim = "Claim 10: simplicial interpolation's excess risk shrinks with d (corner: 2^-d)",
       .flags = simplices_flags(),
       .quick = quick(),
       .full = full(),
       .check = check},
      run<float>, run<double>);
}

}  // namespace lamppost::detail
