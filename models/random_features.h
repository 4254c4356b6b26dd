// Random-feature models (../shared/THEORY.md, claim 7): a fixed random first layer phi and a
// linear layer on top fitted by minimum-norm least squares, so that sweeping the feature count
// m through the sample count n shows double descent.
//
// Fourier features (Rahimi and Recht), in the real cos/sin form where each direction counts as
// two features: D = m / 2 directions v_k ~ N(0, sigma^-2 I_d) and
//     phi(x) = sqrt(2 / m) [cos(v_1 . x), ..., cos(v_D . x), sin(v_1 . x), ..., sin(v_D . x)],
// so phi(x) . phi(z) = (1 / D) sum_k cos(v_k . (x - z)), whose limit as m grows is the Gaussian
// kernel exp(-||x - z||^2 / (2 sigma^2)) of bandwidth sigma; phi(x) . phi(x) = 1 exactly.
//
// ReLU features: (v_k, b_k) ~ N(0, I_{d+1}) and
//     phi_k(x) = sqrt(1 / m) relu(v_k . x / sigma + b_k),   k = 1..m,
// whose limit kernel is the arc-cosine kernel of order 1 on the augmented inputs
// u = (x / sigma, 1), u' = (z / sigma, 1):
//     k(x, z) = ||u|| ||u'|| (sin t + (pi - t) cos t) / (2 pi),   t = angle between u and u'.
//
// In both, phi(x) . phi(z) deviates from its limit by O(m^-1/2). The draws come from
// Rng(seed) in double whatever T, so float and double features agree to rounding, and they do
// not depend on sigma: features of bandwidth sigma at x equal those of bandwidth 1 at x / sigma.
#pragma once

#include <cstdint>
#include <string_view>

#include "tensor/linalg.h"
#include "tensor/tensor.h"

namespace lamppost {

enum class FeatureKind { fourier, relu };

std::string_view to_string(FeatureKind kind);
// The inverse, for flags; throws naming the unknown value and the choices.
FeatureKind parse_feature_kind(std::string_view name);

struct RandomFeaturesConfig {
  FeatureKind kind = FeatureKind::fourier;
  int64_t input_dimension = 1;  // d
  int64_t count = 2;            // m, the number of features (fourier: even, cos/sin pairs)
  double bandwidth = 1;         // sigma
  uint64_t seed = 0;

  bool operator==(const RandomFeaturesConfig&) const = default;
};

template <Real T>
class RandomFeatures {
 public:
  // Draws the fixed first layer from Rng(config.seed). Throws naming the setting out of range:
  // d < 1, m < 1, an odd m for Fourier features, or a bandwidth that is not finite and > 0.
  explicit RandomFeatures(const RandomFeaturesConfig& config);

  // phi(x) [n, m] for inputs x [n, d] (rows are samples): one gemm and element-wise ops.
  Tensor<T> operator()(const Tensor<T>& x) const;

  const RandomFeaturesConfig& config() const { return config_; }
  // The first layer as phi applies it: fourier, the directions v_k [m / 2, d] (variance
  // sigma^-2); relu, the weights v_k / sigma [m, d].
  const Tensor<T>& weights() const { return weights_; }
  // relu: the offsets b_k [m]; fourier: empty.
  const Tensor<T>& offsets() const { return offsets_; }

 private:
  RandomFeaturesConfig config_;
  Tensor<T> weights_;
  Tensor<T> offsets_;
};

// What a fit learnt about phi(X) on the training inputs.
template <Real T>
struct RandomFeatureFit {
  int64_t rank = 0;           // singular values of phi(X) above least_squares' cut-off
  Tensor<T> singular_values;  // of phi(X) [n, m]: min(n, m) of them, descending
};

// f(x) = phi(x) w with w fitted by least_squares on phi(X): for ridge == 0 the minimum-norm
// solution, which interpolates the training targets when m >= n (and phi(X) has rank n), and
// the least-squares one below the threshold; for ridge = lambda > 0 the minimiser of
// ||phi(X) w - y||^2 + lambda ||w||^2.
template <Real T>
class RandomFeatureModel {
 public:
  explicit RandomFeatureModel(const RandomFeaturesConfig& config) : features_(config) {}

  // Fits the weights to inputs x [n, d] and targets y [n] (weights [m]) or [n, k] (weights
  // [m, k]), replacing any earlier fit. Throws on mismatched shapes or a negative ridge.
  RandomFeatureFit<T> fit(const Tensor<T>& x, const Tensor<T>& y, T ridge = 0);
  // phi(x) w: [n] or [n, k], as the targets were. Throws before the first fit.
  Tensor<T> predict(const Tensor<T>& x) const;

  bool fitted() const { return fitted_; }
  const Tensor<T>& weights() const { return weights_; }  // empty before the first fit
  const RandomFeatures<T>& features() const { return features_; }

 private:
  RandomFeatures<T> features_;
  Tensor<T> weights_;
  bool fitted_ = false;
};

extern template class RandomFeatures<float>;
extern template class RandomFeatures<double>;
extern template class RandomFeatureModel<float>;
extern template class RandomFeatureModel<double>;

}  // namespace lamppost
