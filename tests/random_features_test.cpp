#include "models/random_features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;
using testing::max_abs_difference;

template <class T>
Tensor<T> normal(Shape shape, uint64_t seed) {
  return Rng(seed).normal<double>(std::move(shape)).cast<T>();
}

RandomFeaturesConfig config(FeatureKind kind, int64_t d, int64_t m, double sigma = 1,
                            uint64_t seed = 0) {
  RandomFeaturesConfig c;
  c.kind = kind;
  c.input_dimension = d;
  c.count = m;
  c.bandwidth = sigma;
  c.seed = seed;
  return c;
}

template <class T>
double norm2(const Tensor<T>& a) {
  double s = 0;
  for (T v : a.to_vector()) s += double(v) * double(v);
  return std::sqrt(s);
}

template <class T>
double relative(const Tensor<T>& got, const Tensor<T>& want) {
  EXPECT_EQ(got.shape(), want.shape());
  const auto g = got.to_vector(), w = want.to_vector();
  double d = 0, s = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    d += (double(g[i]) - double(w[i])) * (double(g[i]) - double(w[i]));
    s += double(w[i]) * double(w[i]);
  }
  return std::sqrt(d / s);
}

// The limit kernels, by plain loops over the rows of x [n, d].
std::vector<double> gaussian_kernel(const Tensor<double>& x, double sigma) {
  const int64_t n = x.shape()[0], d = x.shape()[1];
  std::vector<double> k(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double r2 = 0;
      for (int64_t c = 0; c < d; ++c) {
        const double diff = x.at({i, c}) - x.at({j, c});
        r2 += diff * diff;
      }
      k[i * n + j] = std::exp(-r2 / (2 * sigma * sigma));
    }
  }
  return k;
}

// Arc-cosine kernel of order 1 on u = (x / sigma, 1).
std::vector<double> arc_cosine_kernel(const Tensor<double>& x, double sigma) {
  const int64_t n = x.shape()[0], d = x.shape()[1];
  std::vector<double> k(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double uv = 1, uu = 1, vv = 1;  // the appended coordinate 1
      for (int64_t c = 0; c < d; ++c) {
        const double a = x.at({i, c}) / sigma, b = x.at({j, c}) / sigma;
        uv += a * b;
        uu += a * a;
        vv += b * b;
      }
      const double norms = std::sqrt(uu * vv);
      const double t = std::acos(std::clamp(uv / norms, -1.0, 1.0));
      k[i * n + j] =
          norms * (std::sin(t) + (std::numbers::pi - t) * std::cos(t)) / (2 * std::numbers::pi);
    }
  }
  return k;
}

// max_ij |phi(x_i) . phi(x_j) - k(x_i, x_j)| / sqrt(k(x_i, x_i) k(x_j, x_j)).
double max_kernel_error(const Tensor<double>& phi, const std::vector<double>& k) {
  const int64_t n = phi.shape()[0];
  const Tensor<double> g = matmul(phi, phi.t());  // [n, m] x [m, n] -> [n, n]
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double scale = std::sqrt(k[i * n + i] * k[j * n + j]);
      worst = std::max(worst, std::abs(g.at({i, j}) - k[i * n + j]) / scale);
    }
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Convergence to the limit kernels

struct ConvergenceCase {
  FeatureKind kind;
  // The standard deviation of an entry phi(x) . phi(z) / sqrt(k(x, x) k(z, z)) is at most
  // spread / sqrt(m). Fourier: k(x, x) = 1 and the entry is a mean of m / 2 cosines (variance
  // <= 1), so spread = sqrt(2). ReLU: k(x, x) = ||u||^2 / 2 and the entry is twice a mean of m
  // products relu(g) relu(g') of unit-variance Gaussians (second moment <= E relu(g)^4 = 3 / 2),
  // so spread = 2 sqrt(3 / 2) = sqrt(6).
  double spread;
};

TEST(RandomFeatures, GramMatricesConvergeToTheLimitKernelsAtTheRateMToTheMinusHalf) {
  const int64_t n = 16, d = 3;
  const double sigma = 1.5;
  const Tensor<double> x = normal<double>({n, d}, 1);
  for (const auto& c : {ConvergenceCase{FeatureKind::fourier, std::sqrt(2.0)},
                        ConvergenceCase{FeatureKind::relu, std::sqrt(6.0)}}) {
    SCOPED_TRACE(std::string(to_string(c.kind)));
    const auto k =
        c.kind == FeatureKind::fourier ? gaussian_kernel(x, sigma) : arc_cosine_kernel(x, sigma);
    std::vector<double> errors;
    for (int64_t m = 256; m <= 16384; m *= 4) {
      const RandomFeatures<double> phi(config(c.kind, d, m, sigma, 7));
      errors.push_back(max_kernel_error(phi(x), k));
      // Over the n (n + 1) / 2 = 136 distinct entries, a maximum past 6 standard deviations is
      // a ~3e-7 event for Gaussian tails (Hoeffding bounds it by 136 * 2 e^-18 ~ 4e-6 for the
      // Fourier means of terms in [-1, 1]).
      EXPECT_LE(errors.back(), 6 * c.spread / std::sqrt(double(m))) << "m = " << m;
    }
    // m^-1/2 over a 64-fold range is an 8-fold fall; the maximum of a few hundred entries is
    // noisy, so ask for at least 4.
    EXPECT_GE(errors.front() / errors.back(), 4.0);
  }
}

TEST(RandomFeatures, FourierFeaturesHaveUnitNormAndTheGaussianKernelOnTheDiagonal) {
  const RandomFeatures<double> phi(config(FeatureKind::fourier, 2, 10, 0.7, 3));
  const Tensor<double> f = phi(normal<double>({5, 2}, 2));
  ASSERT_EQ(f.shape(), (Shape{5, 10}));
  for (int64_t i = 0; i < 5; ++i) {
    double s = 0;
    for (int64_t j = 0; j < 10; ++j) s += f.at({i, j}) * f.at({i, j});
    EXPECT_NEAR(s, 1.0, 1e-14) << i;  // cos^2 + sin^2, exactly k(x, x) = 1
  }
}

// ---------------------------------------------------------------------------------------------
// The layer itself

TEST(RandomFeatures, FeaturesAreTheStatedFormulasOfTheDrawnLayer) {
  const int64_t n = 4, d = 3, m = 8;
  const Tensor<double> x = normal<double>({n, d}, 5);
  {
    const RandomFeatures<double> phi(config(FeatureKind::fourier, d, m, 2.0, 11));
    const Tensor<double>& v = phi.weights();
    ASSERT_EQ(v.shape(), (Shape{m / 2, d}));
    EXPECT_EQ(phi.offsets().numel(), 0);
    const Tensor<double> f = phi(x);
    ASSERT_EQ(f.shape(), (Shape{n, m}));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = 0; k < m / 2; ++k) {
        double angle = 0;
        for (int64_t c = 0; c < d; ++c) angle += v.at({k, c}) * x.at({i, c});
        EXPECT_NEAR(f.at({i, k}), std::sqrt(2.0 / m) * std::cos(angle), 1e-14);
        EXPECT_NEAR(f.at({i, m / 2 + k}), std::sqrt(2.0 / m) * std::sin(angle), 1e-14);
      }
    }
  }
  {
    const RandomFeatures<double> phi(config(FeatureKind::relu, d, m, 2.0, 11));
    const Tensor<double>& w = phi.weights();
    const Tensor<double>& b = phi.offsets();
    ASSERT_EQ(w.shape(), (Shape{m, d}));
    ASSERT_EQ(b.shape(), (Shape{m}));
    const Tensor<double> f = phi(x);
    ASSERT_EQ(f.shape(), (Shape{n, m}));
    int active = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = 0; k < m; ++k) {
        double z = b.at({k});
        for (int64_t c = 0; c < d; ++c) z += w.at({k, c}) * x.at({i, c});
        EXPECT_NEAR(f.at({i, k}), std::sqrt(1.0 / m) * std::max(z, 0.0), 1e-14);
        active += z > 0;
      }
    }
    EXPECT_GT(active, 0);
    EXPECT_LT(active, n * m);
    // At x = 0 only the offsets remain.
    const Tensor<double> f0 = phi(Tensor<double>::zeros({1, d}));
    for (int64_t k = 0; k < m; ++k) {
      EXPECT_NEAR(f0.at({0, k}), std::sqrt(1.0 / m) * std::max(b.at({k}), 0.0), 1e-15);
    }
  }
}

TEST(RandomFeatures, TheFirstLayerHasTheStatedDistribution) {
  const int64_t d = 4, m = 8192;
  const double sigma = 2.5;
  // Fourier directions: N(0, sigma^-2) entries; relu weights v / sigma with v ~ N(0, 1), so
  // the same spread; relu offsets N(0, 1).
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    const RandomFeatures<double> phi(config(kind, d, m, sigma, 13));
    const auto w = phi.weights().to_vector();
    double mean = 0, square = 0;
    for (double v : w) {
      mean += v;
      square += v * v;
    }
    mean /= double(w.size());
    const double sd = std::sqrt(square / double(w.size()));
    EXPECT_NEAR(mean, 0.0, 4 / sigma / std::sqrt(double(w.size()))) << to_string(kind);
    EXPECT_NEAR(sd * sigma, 1.0, 0.03) << to_string(kind);
  }
  const RandomFeatures<double> relu(config(FeatureKind::relu, d, m, sigma, 13));
  double square = 0;
  for (double b : relu.offsets().to_vector()) square += b * b;
  EXPECT_NEAR(std::sqrt(square / double(m)), 1.0, 0.03);
}

TEST(RandomFeatures, TheSeedFixesTheFeaturesWhateverThePrecision) {
  const Tensor<double> x = normal<double>({6, 2}, 17);
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    const Tensor<double> a = RandomFeatures<double>(config(kind, 2, 64, 1.3, 5))(x);
    const Tensor<double> again = RandomFeatures<double>(config(kind, 2, 64, 1.3, 5))(x);
    const Tensor<double> other = RandomFeatures<double>(config(kind, 2, 64, 1.3, 6))(x);
    EXPECT_TRUE(a.to_vector() == again.to_vector());  // bit for bit
    EXPECT_GT(max_abs_difference(a, other), 0.05);
    // float draws the same layer (in double, then rounded).
    const Tensor<float> f = RandomFeatures<float>(config(kind, 2, 64, 1.3, 5))(x.cast<float>());
    EXPECT_LE(max_abs_difference(f.cast<double>(), a), 1e-6);
  }
}

TEST(RandomFeatures, BandwidthScalesTheInputs) {
  // The draws do not depend on sigma: phi_sigma(x) = phi_1(x / sigma).
  const double sigma = 2.5;
  const Tensor<double> x = normal<double>({5, 3}, 19);
  Tensor<double> scaled = x.clone();
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t c = 0; c < 3; ++c) scaled.at({i, c}) /= sigma;
  }
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    const RandomFeatures<double> wide(config(kind, 3, 32, sigma, 21));
    const RandomFeatures<double> unit(config(kind, 3, 32, 1.0, 21));
    EXPECT_LE(max_abs_difference(wide(x), unit(scaled)), 1e-14) << to_string(kind);
  }
}

TEST(RandomFeatures, ReadsStridedInputs) {
  const Tensor<double> stored = normal<double>({3, 7}, 23);  // x = stored^T [7, 3]
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    const RandomFeatures<double> phi(config(kind, 3, 16, 1.0, 1));
    EXPECT_LE(max_abs_difference(phi(stored.t()), phi(stored.t().contiguous())), 1e-15)
        << to_string(kind);
  }
}

// ---------------------------------------------------------------------------------------------
// The model

TEST(RandomFeatureModel, InterpolatesWithTheMinimumNormWeightsAboveTheThreshold) {
  const int64_t n = 40, d = 2, m = 400;
  const Tensor<double> x = normal<double>({n, d}, 31);
  const Tensor<double> y = normal<double>({n}, 32);
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    RandomFeatureModel<double> model(config(kind, d, m, 0.5, 33));
    EXPECT_FALSE(model.fitted());
    const auto fit = model.fit(x, y);
    EXPECT_TRUE(model.fitted());
    EXPECT_EQ(fit.rank, n);
    ASSERT_EQ(fit.singular_values.shape(), (Shape{n}));
    ASSERT_EQ(model.weights().shape(), (Shape{m}));
    const Tensor<double> pred = model.predict(x);
    ASSERT_EQ(pred.shape(), (Shape{n}));
    EXPECT_LE(relative(pred, y), 1e-8);  // interpolation
    // w = A^T (A A^T)^-1 y by Cholesky: A A^T is positive definite at rank n.
    const Tensor<double> a = model.features()(x);
    const Tensor<double> gram = matmul(a, a.t());  // [n, m] x [m, n] -> [n, n]
    const Tensor<double> alpha = cholesky_solve(cholesky(gram), y.reshape({n, 1}));
    const Tensor<double> want = matmul(a.t(), alpha).reshape({m});  // [m, n] x [n, 1]
    EXPECT_LE(relative(model.weights(), want), 1e-8);
  }
}

TEST(RandomFeatureModel, IsTheLeastSquaresFitBelowTheThreshold) {
  const int64_t n = 200, d = 2, m = 30;
  const Tensor<double> x = normal<double>({n, d}, 41);
  const Tensor<double> y = normal<double>({n}, 42);
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    RandomFeatureModel<double> model(config(kind, d, m, 0.5, 43));
    const auto fit = model.fit(x, y);
    EXPECT_EQ(fit.rank, m);
    const Tensor<double> a = model.features()(x);
    // (A^T A)^-1 A^T y by Cholesky.
    const Tensor<double> ata = matmul(a.t(), a);                  // [m, n] x [n, m] -> [m, m]
    const Tensor<double> aty = matmul(a.t(), y.reshape({n, 1}));  // [m, n] x [n, 1] -> [m, 1]
    const Tensor<double> want = cholesky_solve(cholesky(ata), aty).reshape({m});
    EXPECT_LE(relative(model.weights(), want), 1e-8);
    // A residual is left, orthogonal to the features.
    const Tensor<double> pred = model.predict(x);
    EXPECT_GT(relative(pred, y), 0.3);
    Tensor<double> r = pred.clone();
    for (int64_t i = 0; i < n; ++i) r.at({i}) -= y.at({i});
    const Tensor<double> normal_eq = matmul(a.t(), r.reshape({n, 1}));  // [m, n] x [n, 1]
    EXPECT_LE(norm2(normal_eq), 1e-8 * norm2(y));
  }
}

TEST(RandomFeatureModel, FitsSeveralOutputsAndPassesTheRidgeOn) {
  const int64_t n = 30, d = 3, m = 50;
  const Tensor<double> x = normal<double>({n, d}, 51);
  const Tensor<double> y = normal<double>({n, 2}, 52);
  RandomFeatureModel<double> model(config(FeatureKind::relu, d, m, 1.0, 53));
  (void)model.fit(x, y, 0.1);
  ASSERT_EQ(model.weights().shape(), (Shape{m, 2}));
  const Tensor<double> test = normal<double>({7, d}, 54);
  const Tensor<double> pred = model.predict(test);
  ASSERT_EQ(pred.shape(), (Shape{7, 2}));
  // Each output as its own fit, and the ridge solution (A^T A + 0.1 I)^-1 A^T y by Cholesky.
  const Tensor<double> a = model.features()(x);
  Tensor<double> lhs = matmul(a.t(), a);  // [m, n] x [n, m] -> [m, m]
  for (int64_t i = 0; i < m; ++i) lhs.at({i, i}) += 0.1;
  const Tensor<double> want = cholesky_solve(cholesky(lhs), matmul(a.t(), y));
  EXPECT_LE(relative(model.weights(), want), 1e-10);
  for (int64_t c = 0; c < 2; ++c) {
    RandomFeatureModel<double> single(model.features().config());
    (void)single.fit(x, y.select(1, c).contiguous(), 0.1);
    EXPECT_LE(relative(pred.select(1, c).contiguous(), single.predict(test)), 1e-12) << c;
  }
}

TEST(RandomFeatureModel, WeightNormPeaksAtTheInterpolationThreshold) {
  // The min-norm fit stays defined through m = n; its norm there is largest (claim 7).
  const int64_t n = 40, d = 2;
  const Tensor<double> x = normal<double>({n, d}, 61);
  const Tensor<double> y = normal<double>({n}, 62);
  auto weight_norm = [&](int64_t m) {
    RandomFeatureModel<double> model(config(FeatureKind::fourier, d, m, 0.5, 63));
    (void)model.fit(x, y);
    return norm2(model.weights());
  };
  const double at_threshold = weight_norm(n);
  EXPECT_GT(at_threshold, 3 * weight_norm(n / 4));
  EXPECT_GT(at_threshold, 3 * weight_norm(16 * n));
}

TEST(RandomFeatureModel, WorksInFloat) {
  const int64_t n = 20, d = 2, m = 200;
  const Tensor<double> x = normal<double>({n, d}, 71);
  const Tensor<double> y = normal<double>({n}, 72);
  RandomFeatureModel<float> single(config(FeatureKind::fourier, d, m, 0.2, 73));
  RandomFeatureModel<double> reference(config(FeatureKind::fourier, d, m, 0.2, 73));
  const auto fit = single.fit(x.cast<float>(), y.cast<float>());
  const auto sv = reference.fit(x, y).singular_values.to_vector();
  EXPECT_EQ(fit.rank, n);
  // The Gram matrix squares the condition number (about 15 here): errors of eps kappa^2.
  const double kappa = sv.front() / sv.back();
  const double tol = 10 * kappa * kappa * std::numeric_limits<float>::epsilon();
  EXPECT_LE(tol, 1e-3);
  EXPECT_LE(relative(single.predict(x.cast<float>()), y.cast<float>()), tol);
  EXPECT_LE(relative(single.weights().cast<double>(), reference.weights()), tol);
}

// ---------------------------------------------------------------------------------------------
// Names and errors

TEST(RandomFeatures, KindsAreNamed) {
  for (FeatureKind kind : {FeatureKind::fourier, FeatureKind::relu}) {
    EXPECT_EQ(parse_feature_kind(to_string(kind)), kind);
  }
  EXPECT_EQ(to_string(FeatureKind::fourier), "fourier");
  EXPECT_CONTAINS(error_of([] { (void)parse_feature_kind("gauss"); }),
                  "[feature kind] unknown value 'gauss' (choose one of fourier, relu)");
}

TEST(RandomFeatures, ErrorsNameTheBadValues) {
  auto make = [](RandomFeaturesConfig c) { return error_of([&] { RandomFeatures<double>{c}; }); };
  EXPECT_CONTAINS(make(config(FeatureKind::fourier, 2, 7)),
                  "[RandomFeatures] fourier features come in cos/sin pairs, so count must be "
                  "even, got m = 7");
  EXPECT_EQ(make(config(FeatureKind::relu, 2, 7)), "");  // odd is fine for relu
  EXPECT_CONTAINS(make(config(FeatureKind::relu, 2, 0)),
                  "[RandomFeatures] count must be >= 1, got m = 0");
  EXPECT_CONTAINS(make(config(FeatureKind::fourier, 0, 4)),
                  "[RandomFeatures] input_dimension must be >= 1, got d = 0");
  for (double sigma : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_CONTAINS(make(config(FeatureKind::relu, 2, 4, sigma)),
                    "[RandomFeatures] bandwidth must be finite and > 0, got sigma = ");
  }
  EXPECT_CONTAINS(make(config(FeatureKind::relu, 2, 4, -1.5)), "got sigma = -1.5");

  const RandomFeatures<double> phi(config(FeatureKind::fourier, 2, 4));
  EXPECT_CONTAINS(error_of([&] {
                    (void)phi(Tensor<double>::ones({5, 3}));
                  }),
                  "[RandomFeatures] inputs have shape (5, 3), but the features take [n, 2]");
  EXPECT_CONTAINS(error_of([&] { (void)phi(Tensor<double>::ones({2})); }),
                  "inputs have shape (2,), but the features take [n, 2]");

  RandomFeatureModel<double> model(config(FeatureKind::relu, 2, 4));
  EXPECT_CONTAINS(error_of([&] {
                    (void)model.predict(Tensor<double>::ones({3, 2}));
                  }),
                  "[RandomFeatureModel] predict called before fit");
  EXPECT_CONTAINS(
      error_of([&] {
        (void)model.fit(Tensor<double>::ones({3, 2}), Tensor<double>::ones({4}));
      }),
      "[RandomFeatureModel] targets of shape (4,) do not match inputs of shape (3, 2): they must "
      "be [3] or [3, k]");
  EXPECT_CONTAINS(error_of([&] {
                    (void)model.fit(Tensor<double>::ones({3, 1}), Tensor<double>::ones({3}));
                  }),
                  "[RandomFeatureModel] inputs have shape (3, 1), but the features take [n, 2]");
  EXPECT_CONTAINS(error_of([&] {
                    (void)model.fit(Tensor<double>::ones({3, 2}), Tensor<double>::ones({3}), -1);
                  }),
                  "[RandomFeatureModel] ridge must be finite and >= 0, got -1");
  EXPECT_FALSE(model.fitted());  // failed fits leave the model as it was
}

}  // namespace
}  // namespace lamppost
