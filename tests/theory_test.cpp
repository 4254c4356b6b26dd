#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "tensor/gemm.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"
#include "theory/analytic.h"
#include "theory/ntk.h"

namespace lamppost {
namespace {

double relative_difference(const Tensor<double>& a, const Tensor<double>& b) {
  return norm(a - b) / norm(b);
}

// The structured kernel equals the Jacobian's J J^T to 1e-10 relative, over depths,
// activations, parameterizations, biases, output counts and a non-linear output.
TEST(TangentKernel, StructuredPathMatchesTheJacobian) {
  const Tensor<double> x = Rng(1).normal<double>({5, 3});
  int cases = 0;
  for (int depth : {0, 1, 2, 3}) {
    for (Activation activation :
         {Activation::relu, Activation::tanh, Activation::erf, Activation::gelu}) {
      for (Parameterization parameterization :
           {Parameterization::ntk, Parameterization::standard}) {
        for (int64_t outputs : {1, 3}) {
          const bool biases = (depth + outputs) % 2 == 0;
          const Mlp<double> mlp({.inputs = 3,
                                 .hidden = std::vector<int64_t>(static_cast<size_t>(depth), 7),
                                 .outputs = outputs,
                                 .activation = activation,
                                 .parameterization = parameterization,
                                 .sigma_w = 1.3,
                                 .sigma_b = 0.5,
                                 .biases = biases,
                                 .nonlinear_output = depth == 2});
          SCOPED_TRACE(fmt::format("depth {} {} {} outputs {} biases {}", depth,
                                   to_string(activation), to_string(parameterization), outputs,
                                   biases));
          const Tensor<double> w = mlp.init(static_cast<uint64_t>(depth + 10));
          const Tensor<double> structured = tangent_kernel(mlp, w, x);
          const Tensor<double> generic = tangent_kernel<double>(
              [&](const Var<double>& p) { return mlp.forward(p, Var<double>(x)); }, w);
          ASSERT_EQ(structured.shape(), (Shape{5 * outputs, 5 * outputs}));
          EXPECT_LT(relative_difference(structured, generic), 1e-10);
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 64);
}

// A linear model f(x) = c x W + s b has K(x, x') = c^2 <x, x'> + s^2: the closed form.
TEST(TangentKernel, LinearModelClosedForm) {
  const Mlp<double> mlp({.inputs = 4, .hidden = {}, .outputs = 1, .sigma_w = 2.0, .sigma_b = 0.3});
  const Tensor<double> x = Rng(2).normal<double>({6, 4});
  const Tensor<double> expected = matmul(x, x.t()) * (4.0 / 4) + 0.09;
  EXPECT_LT(relative_difference(tangent_kernel(mlp, mlp.init(3), x), expected), 1e-14);
}

TEST(TangentKernel, RelativeChange) {
  const Tensor<double> k0 = Tensor<double>::from_vector({3, 0, 0, 4}, {2, 2});
  EXPECT_NEAR(relative_change(k0 * 1.1, k0), 0.1, 1e-15);
  EXPECT_EQ(testing::error_of([&] {
              relative_change(k0, Tensor<double>::zeros({2, 2}));
            }),
            "[relative_change] the initial kernel is zero");
}

// Relu at one point by hand: sigma_w^2 = 2, sigma_b^2 = 0.01, |x|^2 / d_0 = 1/2:
// Sigma^1 = 2 * 1/2 + 0.01 = 1.01; E[relu(u)^2] = a / 2 and E[relu'(u)^2] = 1/2, so
// Sigma^2 = 2 * 1.01 / 2 + 0.01 = 1.02 and Theta^2 = 1.01 * (2 * 1/2) + 1.02 = 2.03.
TEST(InfiniteWidth, ReluAtOnePointByHand) {
  const MlpConfig config{.inputs = 2, .hidden = {64}, .sigma_w = std::sqrt(2.0), .sigma_b = 0.1};
  const Tensor<double> x = Tensor<double>::from_vector({1, 0}, {1, 2});
  const InfiniteWidthKernels k = infinite_width_kernels(config, x, x);
  EXPECT_NEAR(k.nngp.item(), 1.02, 1e-14);
  EXPECT_NEAR(k.ntk.item(), 2.03, 1e-14);
}

// Erf at one point by hand, one hidden layer, sigma_w = 1, no biases, |x|^2 / d_0 = 1:
// a = Sigma^1 = 1; E[erf(u)^2] = 2/pi asin(2/3), E[erf'(u)^2] = 4/pi / sqrt(9 - 4) = 4/(pi sqrt 5).
TEST(InfiniteWidth, ErfAtOnePointByHand) {
  const MlpConfig config{
      .inputs = 1, .hidden = {8}, .activation = Activation::erf, .sigma_w = 1.0, .biases = false};
  const Tensor<double> x = Tensor<double>::from_vector({1}, {1, 1});
  const InfiniteWidthKernels k = infinite_width_kernels(config, x, x);
  const double sigma2 = 2 / std::numbers::pi * std::asin(2.0 / 3);
  EXPECT_NEAR(k.nngp.item(), sigma2, 1e-15);
  EXPECT_NEAR(k.ntk.item(), 1 * 4 / (std::numbers::pi * std::sqrt(5.0)) + sigma2, 1e-15);
}

// The empirical tangent kernel at initialisation approaches Theta as the width grows, with
// fluctuations of order 1 / sqrt(width): at width 2048, averaged over 4 networks, within 5%.
TEST(InfiniteWidth, EmpiricalKernelApproachesTheLimit) {
  const Tensor<double> x = Rng(4).normal<double>({4, 3});
  for (Activation activation : {Activation::relu, Activation::erf}) {
    for (int depth : {1, 2}) {
      const MlpConfig config{.inputs = 3,
                             .hidden = std::vector<int64_t>(static_cast<size_t>(depth), 2048),
                             .activation = activation,
                             .sigma_w = 1.4,
                             .sigma_b = 0.3};
      const Mlp<double> mlp(config);
      Tensor<double> mean_kernel = Tensor<double>::zeros({4, 4});
      for (uint64_t seed = 0; seed < 4; ++seed)
        mean_kernel += tangent_kernel(mlp, mlp.init(seed), x) * 0.25;
      const Tensor<double> theta = infinite_width_kernels(config, x, x).ntk;
      EXPECT_LT(relative_difference(mean_kernel, theta), 0.05)
          << to_string(activation) << " depth " << depth << ": "
          << relative_difference(mean_kernel, theta);
    }
  }
}

TEST(InfiniteWidth, SymmetricAndRefusesWhatItCannotDo) {
  const MlpConfig config{.inputs = 3, .hidden = {16, 16}};
  const Tensor<double> a = Rng(5).normal<double>({4, 3});
  const Tensor<double> b = Rng(6).normal<double>({2, 3});
  const InfiniteWidthKernels ab = infinite_width_kernels(config, a, b);
  const InfiniteWidthKernels ba = infinite_width_kernels(config, b, a);
  EXPECT_LT(relative_difference(ab.ntk, ba.ntk.t().contiguous()), 1e-15);
  EXPECT_LT(relative_difference(ab.nngp, ba.nngp.t().contiguous()), 1e-15);
  MlpConfig tanh = config;
  tanh.activation = Activation::tanh;
  EXPECT_EQ(testing::error_of([&] { infinite_width_kernels(tanh, a, b); }),
            "[infinite_width_kernels] no closed form for tanh (relu and erf have one)");
  MlpConfig standard = config;
  standard.parameterization = Parameterization::standard;
  EXPECT_EQ(testing::error_of([&] { infinite_width_kernels(standard, a, b); }),
            "[infinite_width_kernels] the limit kernels are those of the NTK parameterization, "
            "not standard");
  EXPECT_EQ(testing::error_of([&] {
              infinite_width_kernels(config, a, Tensor<double>::ones({2, 4}));
            }),
            "[infinite_width_kernels] inputs (4, 3) and (2, 4) must both be [n, 3]");
}

}  // namespace
}  // namespace lamppost
