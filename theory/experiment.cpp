#include "theory/experiment.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tensor/error.h"
#include "tensor/names.h"
#include "theory/experiments/experiments.h"

namespace lamppost {

namespace {

constexpr NameTable<Precision, 2> kPrecisions = {
    {{Precision::float32, "float"}, {Precision::float64, "double"}}};
constexpr NameTable<DataSource, 2> kDataSources = {
    {{DataSource::synthetic, "synthetic"}, {DataSource::fashion_mnist, "fashion-mnist"}}};

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::holds:
      return "holds";
    case Verdict::does_not_hold:
      return "does not hold";
    case Verdict::inconclusive:
      return "inconclusive";
    case Verdict::diverged:
      return "diverged";
  }
  return "?";
}

void Table::add_row(std::vector<double> row) {
  LAMPPOST_CHECK(row.size() == columns.size(), "table", "table '{}' has {} columns, not {}", name,
                 columns.size(), row.size());
  rows.push_back(std::move(row));
}

std::string_view to_string(Precision precision) {
  return name_of(kPrecisions, precision);
}
std::string_view to_string(DataSource source) {
  return name_of(kDataSources, source);
}
Precision parse_precision(std::string_view name) {
  return parse_name(kPrecisions, name, "precision");
}
DataSource parse_data_source(std::string_view name) {
  return parse_name(kDataSources, name, "dataset");
}

namespace {

std::string join(const std::vector<int64_t>& values) {
  return fmt::format("{}", fmt::join(values, ","));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> settings_of(const ExperimentOptions& options) {
  std::string datasets;
  for (DataSource source : options.datasets)
    datasets += fmt::format("{}{}", datasets.empty() ? "" : ",", to_string(source));
  return {{"depths", join(options.depths)},
          {"widths", join(options.widths)},
          {"activation", std::string(to_string(options.activation))},
          {"dataset", std::string(to_string(options.dataset))},
          {"datasets", datasets},
          {"data-dir", options.data_directory},
          {"n", std::to_string(options.n)},
          {"test-n", std::to_string(options.test_n)},
          {"input-dimension", std::to_string(options.input_dimension)},
          {"dimensions", join(options.dimensions)},
          {"features", options.features.empty() ? std::string("around n") : join(options.features)},
          {"sample-sizes", join(options.sample_sizes)},
          {"noise-rates", fmt::format("{}", fmt::join(options.noise_rates, ","))},
          {"bandwidth", options.bandwidth > 0 ? fmt::format("{}", options.bandwidth)
                                              : std::string("from the data")},
          {"ridge", fmt::format("{}", options.ridge)},
          {"alpha", options.alpha > 0 ? fmt::format("{}", options.alpha) : std::string("d / 4")},
          {"steps", std::to_string(options.steps)},
          {"step-size", options.step_size > 0 ? fmt::format("{}", options.step_size)
                                              : std::string("1 / lambda_max")},
          {"batch-size", std::to_string(options.batch_size)},
          {"slope-tolerance", fmt::format("{}", options.slope_tolerance)},
          {"target-fraction", fmt::format("{}", options.target_fraction)},
          {"interpolation", fmt::format("{}", options.interpolation)},
          {"mu-floor", fmt::format("{}", options.mu_floor)},
          {"ball-radius", fmt::format("{}", options.ball_radius)},
          {"seeds", std::to_string(options.seeds)},
          {"seed", std::to_string(options.seed)},
          {"precision", std::string(to_string(options.precision))}};
}

std::vector<std::pair<std::string, std::string>> settings_of(
    const ExperimentOptions& options, const std::vector<std::string>& flags) {
  const std::vector<std::pair<std::string, std::string>> all = settings_of(options);
  std::vector<std::pair<std::string, std::string>> chosen;
  for (const std::string& flag : flags) {
    const auto found = std::find_if(all.begin(), all.end(),
                                    [&flag](const auto& setting) { return setting.first == flag; });
    LAMPPOST_CHECK(found != all.end(), "experiment", "no option is named '{}'", flag);
    chosen.push_back(*found);
  }
  return chosen;
}

const std::vector<ExperimentInfo>& experiments() {
  static const std::vector<ExperimentInfo> all = {
      detail::kernel_constancy_experiment(),   detail::hessian_scaling_experiment(),
      detail::linearity_experiment(),          detail::kernel_at_init_experiment(),
      detail::gd_convergence_experiment(),     detail::sgd_convergence_experiment(),
      detail::double_descent_experiment(),     detail::label_noise_experiment(),
      detail::nearest_neighbours_experiment(), detail::simplices_experiment()};
  return all;
}

const ExperimentInfo& find_experiment(std::string_view name) {
  std::string choices;
  for (const ExperimentInfo& info : experiments()) {
    if (info.name == name) return info;
    choices += choices.empty() ? "" : ", ";
    choices += info.name;
  }
  fail("experiment", "unknown experiment '{}' (choose one of {})", name, choices);
}

}  // namespace lamppost
