#include "theory/experiment.h"

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

const std::vector<ExperimentInfo>& experiments() {
  static const std::vector<ExperimentInfo> all = {
      detail::kernel_constancy_experiment(), detail::hessian_scaling_experiment(),
      detail::linearity_experiment(),        detail::kernel_at_init_experiment(),
      detail::gd_convergence_experiment(),   detail::sgd_convergence_experiment()};
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
