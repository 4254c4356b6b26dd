#include "data/synthetic.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace lamppost {

template <Real T>
Tensor<T> sphere_points(int64_t n, int64_t d, uint64_t seed) {
  LAMPPOST_CHECK(n >= 0 && d > 0, "sphere_points", "needs n >= 0 and d > 0, got n {} and d {}", n,
                 d);
  // A standard normal vector divided by its length is uniform on the sphere.
  const Tensor<T> g = Rng(seed).normal<T>({n, d});
  return div(g, norm(g, {1}, /*keepdims=*/true));
}

template <Real T>
Tensor<T> teacher_targets(const Mlp<T>& teacher, const Tensor<T>& teacher_params,
                          const Tensor<T>& x, double noise_std, uint64_t seed) {
  LAMPPOST_CHECK(std::isfinite(noise_std) && noise_std >= 0, "teacher_targets",
                 "noise_std must be non-negative and finite, got {}", noise_std);
  Tensor<T> y = teacher.predict(teacher_params, x);
  if (noise_std > 0) y += Rng(seed).normal<T>(y.shape(), T(0), static_cast<T>(noise_std));
  return y;
}

double GaussianMixture::bayes_error() const {
  // Phi(-a) = erfc(a / sqrt 2) / 2 with a = separation / (2 sigma).
  return 0.5 * std::erfc(separation / (2 * sigma) / std::sqrt(2.0));
}

template <Real T>
std::vector<double> GaussianMixture::posterior(const Tensor<T>& x) const {
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[1] == dimension, "GaussianMixture",
                 "posterior needs points [n, {}], got {}", dimension, to_string(x.shape()));
  std::vector<double> eta(static_cast<size_t>(x.shape()[0]));
  for (int64_t i = 0; i < x.shape()[0]; ++i) {
    const double x1 = static_cast<double>(x.at({i, 0}));
    eta[static_cast<size_t>(i)] = 1 / (1 + std::exp(-separation * x1 / (sigma * sigma)));
  }
  return eta;
}

double GaussianMixture::nearest_neighbour_risk() const {
  // Only x_1 carries information. Its density is the mean of N(+-a, sigma^2), a = separation / 2;
  // the integrand is smooth and its mass lies within a + 12 sigma, so the trapezoid rule on a
  // fine grid is accurate to far below any Monte-Carlo error it is compared with.
  const double a = separation / 2;
  const double reach = a + 12 * sigma;
  constexpr int kSteps = 200000;
  const double h = 2 * reach / kSteps;
  const double norm = 1 / (sigma * std::sqrt(2 * std::numbers::pi));
  double total = 0;
  for (int i = 0; i <= kSteps; ++i) {
    const double x = -reach + h * i;
    const double density = 0.5 * norm *
                           (std::exp(-0.5 * std::pow((x - a) / sigma, 2)) +
                            std::exp(-0.5 * std::pow((x + a) / sigma, 2)));
    const double eta = 1 / (1 + std::exp(-separation * x / (sigma * sigma)));
    total += (i == 0 || i == kSteps ? 0.5 : 1.0) * density * 2 * eta * (1 - eta);
  }
  return total * h;
}

template <Real T>
Labelled<T> GaussianMixture::sample(int64_t n, uint64_t seed) const {
  LAMPPOST_CHECK(dimension > 0 && n >= 0, "GaussianMixture",
                 "needs dimension > 0 and n >= 0, got dimension {} and n {}", dimension, n);
  LAMPPOST_CHECK(std::isfinite(separation) && separation >= 0 && std::isfinite(sigma) && sigma > 0,
                 "GaussianMixture", "needs separation >= 0 and sigma > 0, got {} and {}",
                 separation, sigma);
  Rng rng(seed);
  Labelled<T> out{rng.normal<T>({n, dimension}, T(0), static_cast<T>(sigma)), {}};
  const Tensor<T> coin = rng.uniform<T>({n});
  out.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const bool one = coin.at({i}) < T(0.5);
    out.labels[static_cast<size_t>(i)] = one ? 1 : 0;
    out.x.at({i, 0}) += static_cast<T>(one ? separation / 2 : -separation / 2);
  }
  return out;
}

std::vector<int64_t> add_label_noise(const std::vector<int64_t>& labels, int64_t classes, double q,
                                     uint64_t seed) {
  LAMPPOST_CHECK(classes >= 2, "add_label_noise", "needs at least 2 classes, got {}", classes);
  LAMPPOST_CHECK(q >= 0 && q <= 1, "add_label_noise", "the noise rate q must be in [0, 1], got {}",
                 q);
  Rng rng(seed);
  const auto n = static_cast<int64_t>(labels.size());
  const Tensor<double> replace = rng.uniform<double>({n});
  const Tensor<double> draw = rng.uniform<double>({n});
  std::vector<int64_t> noisy = labels;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = labels[static_cast<size_t>(i)];
    LAMPPOST_CHECK(label >= 0 && label < classes, "add_label_noise",
                   "label {} at {} is outside [0, {})", label, i, classes);
    if (replace.at({i}) < q) {
      noisy[static_cast<size_t>(i)] =
          std::min(classes - 1, static_cast<int64_t>(draw.at({i}) * static_cast<double>(classes)));
    }
  }
  return noisy;
}

template <Real T>
Tensor<T> plus_minus_one(const std::vector<int64_t>& labels) {
  Tensor<T> y = Tensor<T>::empty({static_cast<int64_t>(labels.size()), 1});
  for (size_t i = 0; i < labels.size(); ++i) {
    LAMPPOST_CHECK(labels[i] == 0 || labels[i] == 1, "plus_minus_one",
                   "label {} at {} is not 0 or 1", labels[i], i);
    y.at({static_cast<int64_t>(i), 0}) = labels[i] == 1 ? T(1) : T(-1);
  }
  return y;
}

template <Real T>
Labelled<T> simplex_corners(int64_t d) {
  LAMPPOST_CHECK(d > 0, "simplex_corners", "needs d > 0, got {}", d);
  Labelled<T> out{Tensor<T>::zeros({d + 1, d}), std::vector<int64_t>(static_cast<size_t>(d), 1)};
  for (int64_t i = 0; i < d; ++i) out.x.at({i, i}) = T(1);
  out.labels.push_back(0);  // the origin, last
  return out;
}

#define LAMPPOST_INSTANTIATE_SYNTHETIC(T)                                                       \
  template Tensor<T> sphere_points<T>(int64_t, int64_t, uint64_t);                              \
  template Tensor<T> teacher_targets(const Mlp<T>&, const Tensor<T>&, const Tensor<T>&, double, \
                                     uint64_t);                                                 \
  template Labelled<T> GaussianMixture::sample<T>(int64_t, uint64_t) const;                     \
  template std::vector<double> GaussianMixture::posterior<T>(const Tensor<T>&) const;           \
  template Tensor<T> plus_minus_one<T>(const std::vector<int64_t>&);                            \
  template Labelled<T> simplex_corners<T>(int64_t);
LAMPPOST_INSTANTIATE_SYNTHETIC(float)
LAMPPOST_INSTANTIATE_SYNTHETIC(double)

}  // namespace lamppost
