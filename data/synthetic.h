// Synthetic data sets for the theory experiments, all seeded: points on the unit sphere, a
// teacher network's regression data, a two-class Gaussian mixture whose Bayes error has a closed
// form, label noise at rate q (THEORY.md's P_q), and the simplex-corner data of claim 10.
#pragma once

#include <cstdint>
#include <vector>

#include "models/mlp.h"
#include "tensor/tensor.h"

namespace lamppost {

// n points uniform on the unit sphere in R^d: [n, d].
template <Real T>
Tensor<T> sphere_points(int64_t n, int64_t d, uint64_t seed);

// Targets of a teacher network at x, plus N(0, noise_std^2) noise: [n, outputs].
template <Real T>
Tensor<T> teacher_targets(const Mlp<T>& teacher, const Tensor<T>& teacher_params,
                          const Tensor<T>& x, double noise_std, uint64_t seed);

template <Real T>
struct Labelled {
  Tensor<T> x;                  // [n, d]
  std::vector<int64_t> labels;  // class indices 0 .. classes - 1
};

// Two equally likely classes in R^d: x ~ N(-mu, sigma^2 I) for class 0 and N(+mu, sigma^2 I)
// for class 1, mu = (separation / 2) e_1. The Bayes rule is the sign of x_1, and its error is
// Phi(-separation / (2 sigma)).
struct GaussianMixture {
  int64_t dimension = 2;
  double separation = 2.0;  // distance between the means
  double sigma = 1.0;

  double bayes_error() const;
  // P(class 1 | x) = 1 / (1 + exp(-separation x_1 / sigma^2)), for each row of x [n, dimension].
  template <Real T>
  std::vector<double> posterior(const Tensor<T>& x) const;
  // The risk 1-NN tends to as n grows (Cover and Hart 1967): E[2 eta(x) (1 - eta(x))], eta the
  // posterior; between the Bayes error R and 2 R (1 - R). By quadrature over x_1.
  double nearest_neighbour_risk() const;
  template <Real T>
  Labelled<T> sample(int64_t n, uint64_t seed) const;
};

// P_q: each label is, with probability q, replaced by one drawn uniformly from the classes (so
// it changes with probability q (classes - 1) / classes).
std::vector<int64_t> add_label_noise(const std::vector<int64_t>& labels, int64_t classes, double q,
                                     uint64_t seed);

// Class indices 0/1 as -1/+1 targets [n, 1], for a scalar output read by its sign.
template <Real T>
Tensor<T> plus_minus_one(const std::vector<int64_t>& labels);

// The seed's corner example in R^d: the vertices e_1 .. e_d labelled 1 and the origin labelled 0
// (by noise: the Bayes rule labels the whole simplex 1).
template <Real T>
Labelled<T> simplex_corners(int64_t d);

}  // namespace lamppost
