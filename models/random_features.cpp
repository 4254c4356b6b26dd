#include "models/random_features.h"

#include <cmath>

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/names.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace lamppost {

namespace {

constexpr NameTable<FeatureKind, 2> kFeatureKinds = {{
    {FeatureKind::fourier, "fourier"},
    {FeatureKind::relu, "relu"},
}};

constexpr std::string_view kFeaturesOp = "RandomFeatures";
constexpr std::string_view kModelOp = "RandomFeatureModel";

void check_config(const RandomFeaturesConfig& config) {
  LAMPPOST_CHECK(config.input_dimension >= 1, kFeaturesOp,
                 "input_dimension must be >= 1, got d = {}", config.input_dimension);
  LAMPPOST_CHECK(config.count >= 1, kFeaturesOp, "count must be >= 1, got m = {}", config.count);
  LAMPPOST_CHECK(config.kind != FeatureKind::fourier || config.count % 2 == 0, kFeaturesOp,
                 "fourier features come in cos/sin pairs, so count must be even, got m = {}",
                 config.count);
  LAMPPOST_CHECK(config.bandwidth > 0 && std::isfinite(config.bandwidth), kFeaturesOp,
                 "bandwidth must be finite and > 0, got sigma = {}", config.bandwidth);
}

template <Real T>
void check_inputs(const Tensor<T>& x, int64_t d, std::string_view op) {
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[1] == d, op,
                 "inputs have shape {}, but the features take [n, {}]", to_string(x.shape()), d);
}

}  // namespace

std::string_view to_string(FeatureKind kind) {
  return name_of(kFeatureKinds, kind);
}
FeatureKind parse_feature_kind(std::string_view name) {
  return parse_name(kFeatureKinds, name, "feature kind");
}

template <Real T>
RandomFeatures<T>::RandomFeatures(const RandomFeaturesConfig& config) : config_(config) {
  check_config(config);
  const int64_t d = config.input_dimension, m = config.count;
  Rng rng(config.seed);
  if (config.kind == FeatureKind::fourier) {
    weights_ = div(rng.normal<double>({m / 2, d}), config.bandwidth).template cast<T>();
  } else {
    const Tensor<double> draws = rng.normal<double>({m, d + 1});  // rows (v_k, b_k)
    weights_ = div(draws.slice(1, 0, d), config.bandwidth).template cast<T>();
    offsets_ = draws.select(1, d).template cast<T>();
  }
}

template <Real T>
Tensor<T> RandomFeatures<T>::operator()(const Tensor<T>& x) const {
  check_inputs(x, config_.input_dimension, kFeaturesOp);
  const int64_t n = x.shape()[0], m = config_.count;
  Tensor<T> phi = Tensor<T>::empty({n, m});
  if (config_.kind == FeatureKind::fourier) {
    const int64_t half = m / 2;
    const Tensor<T> angles = matmul(x, weights_.t());  // [n, d] x [d, m / 2] -> [n, m / 2]
    Tensor<T> cos_half = phi.slice(1, 0, half), sin_half = phi.slice(1, half, m);
    cos(angles, cos_half);
    sin(angles, sin_half);
    phi *= T(std::sqrt(2.0 / static_cast<double>(m)));
  } else {
    // relu is positively homogeneous, so sqrt(1 / m) goes into the gemm's alpha and beta:
    // phi = relu(s (x W^T + b)).
    const T s = T(std::sqrt(1.0 / static_cast<double>(m)));
    phi.assign(offsets_);                                   // b on every row
    gemm(s, x, Op::none, weights_, Op::transpose, s, phi);  // [n, d] x [d, m] -> [n, m]
    relu(phi, phi);
  }
  return phi;
}

template <Real T>
RandomFeatureFit<T> RandomFeatureModel<T>::fit(const Tensor<T>& x, const Tensor<T>& y, T ridge) {
  check_inputs(x, features_.config().input_dimension, kModelOp);
  const int64_t n = x.shape()[0];
  LAMPPOST_CHECK(
      (y.ndim() == 1 || y.ndim() == 2) && y.shape()[0] == n, kModelOp,
      "targets of shape {} do not match inputs of shape {}: they must be [{}] or [{}, k]",
      to_string(y.shape()), to_string(x.shape()), n, n);
  LAMPPOST_CHECK(ridge >= 0 && std::isfinite(ridge), kModelOp,
                 "ridge must be finite and >= 0, got {}", ridge);
  LeastSquaresOptions<T> options;
  options.ridge = ridge;
  auto solution = least_squares(features_(x), y, options);
  weights_ = solution.x;
  fitted_ = true;
  return {solution.rank, solution.singular_values};
}

template <Real T>
Tensor<T> RandomFeatureModel<T>::predict(const Tensor<T>& x) const {
  LAMPPOST_CHECK(fitted_, kModelOp, "predict called before fit");
  check_inputs(x, features_.config().input_dimension, kModelOp);
  const Tensor<T> phi = features_(x);
  if (weights_.ndim() == 2) return matmul(phi, weights_);  // [n, m] x [m, k] -> [n, k]
  const int64_t n = x.shape()[0], m = features_.config().count;
  return matmul(phi, weights_.reshape({m, 1})).reshape({n});  // [n, m] x [m, 1] -> [n, 1]
}

template class RandomFeatures<float>;
template class RandomFeatures<double>;
template class RandomFeatureModel<float>;
template class RandomFeatureModel<double>;

}  // namespace lamppost
