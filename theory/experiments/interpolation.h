// What the experiments of claims 7 to 10 (interpolation that generalizes) share: their data sets
// with label noise, the check of their options, and small helpers for errors and bandwidths.
// Internal to theory/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/synthetic.h"
#include "theory/experiment.h"

namespace lamppost::detail {

// The synthetic classification problem of claims 7 to 9: two Gaussian classes N(+-mu, I) in R^d
// with |2 mu| = 2.563, so that the Bayes error is Phi(-1.2816) = 0.1: noisy enough that fitting
// the training labels exactly means fitting noise, clean enough that a good rule is far from
// chance.
GaussianMixture synthetic_mixture(int64_t dimension);

// A classification problem: training and test points with their (clean) labels.
template <Real T>
struct Classification {
  DataSource source = DataSource::synthetic;
  int64_t classes = 0;
  Tensor<T> x_train{};
  Tensor<T> x_test{};
  std::vector<int64_t> train{};
  std::vector<int64_t> test{};
  double bayes_error = 0;  // NaN where unknown (Fashion-MNIST)
};

// n training and test_n test points of the source (Fashion-MNIST: all ten classes, balanced when
// n is a multiple of 10, pixels in [0, 1], drawn from the train and test splits; synthetic:
// synthetic_mixture of options.input_dimension), fixed by the seed.
template <Real T>
Classification<T> classification(DataSource source, const ExperimentOptions& options,
                                 uint64_t seed);

// Under P_q with k classes a label is wrong with probability q (k - 1) / k.
double wrong_label_rate(double q, int64_t classes);

// [n, k] targets: 1 in the label's column, 0 elsewhere. Read back by argmax.
template <Real T>
Tensor<T> one_hot(const std::vector<int64_t>& labels, int64_t classes);

// The mean over rows of ||prediction - target||^2.
template <Real T>
double mean_square_error(const Tensor<T>& prediction, const Tensor<T>& target);

// options.bandwidth, or this fraction of the median pairwise distance of the rows of x when that
// is 0.
template <Real T>
double bandwidth_of(const ExperimentOptions& options, const Tensor<T>& x, uint64_t seed,
                    double fraction_of_median = 1);

// A claim checked once per seed: it holds when every seed agrees, does not hold when none does,
// and is inconclusive in between.
Verdict every_seed(const std::vector<bool>& per_seed);
// "3/3 seeds"
std::string seeds_agreeing(const std::vector<bool>& per_seed);

// The experiment's own flags and those claims 7 to 10 all read (seeds, seed and, unless the
// experiment needs double, precision); and the check of the options' ranges (each experiment
// also checks that the lists and sizes it reads are not empty).
std::vector<std::string> interpolation_flags(std::vector<std::string> own,
                                             bool reads_precision = true);
void check_interpolation(const ExperimentOptions& options);

// The seeds of one repetition's independent parts (data, noise, features...), so that changing
// how many draws one part makes leaves the others as they were.
uint64_t derived_seed(uint64_t seed, uint64_t part);

}  // namespace lamppost::detail
