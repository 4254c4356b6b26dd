#include "theory/experiments/interpolation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "data/fashion_mnist.h"
#include "models/kernels.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace lamppost::detail {

namespace {

// Separation 2 * 1.28155: Phi(-1.28155) = 0.1.
constexpr double kMixtureSeparation = 2 * 1.2815515655446004;

template <Real T>
Dataset<T> fashion_mnist_split(Split split, int64_t n, const ExperimentOptions& options,
                               uint64_t seed) {
  FashionMnistOptions load{.split = split,
                           .n = n,
                           .shuffle = true,
                           .seed = seed,
                           .balanced = n % 10 == 0,
                           .scaling = PixelScaling::unit};
  if (!options.data_directory.empty()) load.directory = options.data_directory;
  return load_fashion_mnist<T>(load);
}

}  // namespace

GaussianMixture synthetic_mixture(int64_t dimension) {
  return {.dimension = dimension, .separation = kMixtureSeparation, .sigma = 1.0};
}

uint64_t derived_seed(uint64_t seed, uint64_t part) {
  return Rng(seed).fold_in(part).next_u64();
}

template <Real T>
Classification<T> classification(DataSource source, const ExperimentOptions& options,
                                 uint64_t seed) {
  Classification<T> data{.source = source};
  if (source == DataSource::fashion_mnist) {
    Dataset<T> train = fashion_mnist_split<T>(Split::train, options.n, options, seed);
    Dataset<T> test =
        fashion_mnist_split<T>(Split::test, options.test_n, options, derived_seed(seed, 1));
    data.classes = 10;
    data.x_train = std::move(train.x);
    data.x_test = std::move(test.x);
    data.train = std::move(train.labels);
    data.test = std::move(test.labels);
    data.bayes_error = std::numeric_limits<double>::quiet_NaN();
  } else {
    const GaussianMixture mixture = synthetic_mixture(options.input_dimension);
    Labelled<T> train = mixture.sample<T>(options.n, seed);
    Labelled<T> test = mixture.sample<T>(options.test_n, derived_seed(seed, 1));
    data.classes = 2;
    data.x_train = std::move(train.x);
    data.x_test = std::move(test.x);
    data.train = std::move(train.labels);
    data.test = std::move(test.labels);
    data.bayes_error = mixture.bayes_error();
  }
  return data;
}

double wrong_label_rate(double q, int64_t classes) {
  return q * static_cast<double>(classes - 1) / static_cast<double>(classes);
}

template <Real T>
Tensor<T> one_hot(const std::vector<int64_t>& labels, int64_t classes) {
  Tensor<T> y = Tensor<T>::zeros({static_cast<int64_t>(labels.size()), classes});
  for (size_t i = 0; i < labels.size(); ++i) {
    LAMPPOST_CHECK(labels[i] >= 0 && labels[i] < classes, "one_hot",
                   "label {} at {} is outside [0, {})", labels[i], i, classes);
    y.at({static_cast<int64_t>(i), labels[i]}) = T(1);
  }
  return y;
}

template <Real T>
double mean_square_error(const Tensor<T>& prediction, const Tensor<T>& target) {
  LAMPPOST_CHECK(prediction.shape() == target.shape() && prediction.ndim() == 2,
                 "mean_square_error", "needs two [n, k] tensors of one shape, got {} and {}",
                 to_string(prediction.shape()), to_string(target.shape()));
  return static_cast<double>(sum(square(prediction - target))) /
         static_cast<double>(prediction.shape()[0]);
}

template <Real T>
double bandwidth_of(const ExperimentOptions& options, const Tensor<T>& x, uint64_t seed,
                    double fraction_of_median) {
  return options.bandwidth > 0 ? options.bandwidth : fraction_of_median * median_distance(x, seed);
}

Verdict every_seed(const std::vector<bool>& per_seed) {
  const auto agreeing = std::count(per_seed.begin(), per_seed.end(), true);
  if (per_seed.empty()) return Verdict::inconclusive;
  if (agreeing == static_cast<std::ptrdiff_t>(per_seed.size())) return Verdict::holds;
  return agreeing == 0 ? Verdict::does_not_hold : Verdict::inconclusive;
}

std::string seeds_agreeing(const std::vector<bool>& per_seed) {
  return fmt::format("{}/{} seeds", std::count(per_seed.begin(), per_seed.end(), true),
                     per_seed.size());
}

std::vector<std::string> interpolation_flags(std::vector<std::string> own, bool reads_precision) {
  own.insert(own.end(), {"seeds", "seed"});
  if (reads_precision) own.emplace_back("precision");
  return own;
}

void check_interpolation(const ExperimentOptions& options) {
  const auto check_list = [](const std::vector<int64_t>& values, std::string_view name,
                             int64_t least) {
    for (int64_t value : values)
      LAMPPOST_CHECK(value >= least, "experiment", "{} must be at least {}, got {}", name, least,
                     value);
  };
  check_list(options.features, "features", 2);
  for (int64_t m : options.features)
    LAMPPOST_CHECK(m % 2 == 0, "experiment", "features must be even (cos/sin pairs), got {}", m);
  check_list(options.sample_sizes, "sample-sizes", 2);
  check_list(options.dimensions, "dimensions", 1);
  for (double q : options.noise_rates)
    LAMPPOST_CHECK(q >= 0 && q <= 1, "experiment", "noise-rates must lie in [0, 1], got {}", q);
  LAMPPOST_CHECK(options.test_n >= 1, "experiment", "test-n must be at least 1, got {}",
                 options.test_n);
  const auto check_nonnegative = [](double value, std::string_view name) {
    LAMPPOST_CHECK(value >= 0 && std::isfinite(value), "experiment", "{} must be 0 or more, got {}",
                   name, value);
  };
  check_nonnegative(options.bandwidth, "bandwidth");
  check_nonnegative(options.ridge, "ridge");
  check_nonnegative(options.alpha, "alpha");
  LAMPPOST_CHECK(options.seeds >= 1, "experiment", "seeds must be at least 1, got {}",
                 options.seeds);
}

#define LAMPPOST_INTERPOLATION_INSTANTIATE(T)                                                \
  template Classification<T> classification(DataSource, const ExperimentOptions&, uint64_t); \
  template Tensor<T> one_hot(const std::vector<int64_t>&, int64_t);                          \
  template double mean_square_error(const Tensor<T>&, const Tensor<T>&);                     \
  template double bandwidth_of(const ExperimentOptions&, const Tensor<T>&, uint64_t, double);
LAMPPOST_INTERPOLATION_INSTANTIATE(float)
LAMPPOST_INTERPOLATION_INSTANTIATE(double)
#undef LAMPPOST_INTERPOLATION_INSTANTIATE

}  // namespace lamppost::detail
