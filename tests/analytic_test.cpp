#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "models/kernel_machine.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"
#include "theory/analytic.h"
#include "theory/ntk.h"

namespace lamppost {
namespace {

using testing::relative_difference;

MlpConfig network(Activation activation, int depth, int64_t inputs, int64_t width = 64) {
  return {.inputs = inputs,
          .hidden = std::vector<int64_t>(static_cast<size_t>(depth), width),
          .activation = activation,
          .sigma_w = 1.4,
          .sigma_b = 0.3};
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

// One step of the recursion by sampling instead of the closed forms: for every pair of inputs,
// (u, v) ~ N(0, Sigma^l restricted to the pair) and the per-sample values
//     sigma_w^2 phi(u) phi(v) + sigma_b^2                          (mean: Sigma^{l+1})
//     Theta^l sigma_w^2 phi'(u) phi'(v) + sigma_w^2 phi(u) phi(v) + sigma_b^2  (mean: Theta^{l+1})
// whose means must match the analytic kernels within 4 standard errors. Sigma^1 = Theta^1 is
// written out here; the step to depth 2 starts from the analytic depth-1 kernels, which the
// first step has just checked. 200000 samples a pair make the standard errors about 0.3% of the
// kernel's scale.
TEST(InfiniteWidth, MonteCarloAgreesWithTheClosedForms) {
  constexpr int64_t kSamples = 200000;
  const Tensor<double> x = Tensor<double>::from_vector(
      {1.0, 0.5, -0.3, -0.8, 0.4, 1.1, 0.9, 0.6, -0.1, -1.2, -0.2, 0.5}, {4, 3});
  const int64_t n = x.shape()[0];
  uint64_t stream = 0;
  for (Activation activation : {Activation::relu, Activation::erf}) {
    const auto phi = [activation](double u) {
      return activation == Activation::relu ? std::max(u, 0.0) : std::erf(u);
    };
    const auto derivative = [activation](double u) {
      return activation == Activation::relu ? (u > 0 ? 1.0 : 0.0)
                                            : 2 / std::sqrt(std::numbers::pi) * std::exp(-u * u);
    };
    for (int depth : {1, 2}) {
      const MlpConfig config = network(activation, depth, 3);
      const double w2 = config.sigma_w * config.sigma_w, b2 = config.sigma_b * config.sigma_b;
      Tensor<double> sigma, theta;
      if (depth == 1) {
        sigma = Tensor<double>::empty({n, n});
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double dot = 0;
            for (int64_t e = 0; e < 3; ++e) dot += x.at({i, e}) * x.at({j, e});
            sigma.at({i, j}) = w2 / 3 * dot + b2;
          }
        }
        theta = sigma;
      } else {
        const InfiniteWidthKernels previous =
            infinite_width_kernels(network(activation, depth - 1, 3), x, x);
        sigma = previous.nngp;
        theta = previous.ntk;
      }
      const InfiniteWidthKernels expected = infinite_width_kernels(config, x, x);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = i; j < n; ++j) {
          SCOPED_TRACE(
              fmt::format("{} depth {} pair ({}, {})", to_string(activation), depth, i, j));
          // u = sqrt(a) z0, v = c / sqrt(a) z0 + sqrt(b - c^2 / a) z1 (zero for i = j).
          const double a = sigma.at({i, i}), b = sigma.at({j, j}), c = sigma.at({i, j});
          const double u_scale = std::sqrt(a), v_along = c / u_scale;
          const double v_across = std::sqrt(std::max(b - v_along * v_along, 0.0));
          const double previous_theta = theta.at({i, j});
          const Tensor<double> z = Rng(1000 + stream++).normal<double>({kSamples, 2});
          const double* draws = z.data();
          double nngp_sum = 0, nngp_squares = 0, ntk_sum = 0, ntk_squares = 0;
          for (int64_t s = 0; s < kSamples; ++s) {
            const double u = u_scale * draws[2 * s];
            const double v = v_along * draws[2 * s] + v_across * draws[2 * s + 1];
            const double nngp = w2 * phi(u) * phi(v) + b2;
            const double ntk = previous_theta * w2 * derivative(u) * derivative(v) + nngp;
            nngp_sum += nngp;
            nngp_squares += nngp * nngp;
            ntk_sum += ntk;
            ntk_squares += ntk * ntk;
          }
          const auto check = [&](double sum, double squares, const Tensor<double>& kernel,
                                 const char* name) {
            const auto diagonal = [&](int64_t k) { return kernel.at({k, k}); };
            const double analytic = kernel.at({i, j});
            const double mean = sum / kSamples;
            const double error = std::sqrt((squares / kSamples - mean * mean) / (kSamples - 1));
            // The check is sharp: the error is small on the scale of the pair's kernel.
            EXPECT_LT(error, 0.01 * std::sqrt(diagonal(i) * diagonal(j))) << name;
            EXPECT_LT(std::abs(mean - analytic), 4 * error)
                << name << ": sampled " << mean << " +- " << error << ", analytic " << analytic;
          };
          check(nngp_sum, nngp_squares, expected.nngp, "nngp");
          check(ntk_sum, ntk_squares, expected.ntk, "ntk");
        }
      }
    }
  }
}

// The empirical tangent kernel at initialisation approaches Theta as the width grows, with
// fluctuations of order 1 / sqrt(width). At width 4096 on these 8 inputs one network's kernel
// is 2-8% from Theta (relu at depth 2 the farthest); the mean of 4 must be within 4%, and closer
// than the mean of 4 at width 256.
TEST(InfiniteWidth, EmpiricalKernelApproachesTheLimit) {
  const Tensor<double> x = Rng(4).normal<double>({8, 4});
  for (Activation activation : {Activation::relu, Activation::erf}) {
    for (int depth : {1, 2}) {
      const Tensor<double> theta = infinite_width_kernels(network(activation, depth, 4), x, x).ntk;
      std::vector<double> errors;
      for (int64_t width : {256, 4096}) {
        const Mlp<double> mlp(network(activation, depth, 4, width));
        Tensor<double> mean_kernel = Tensor<double>::zeros({8, 8});
        for (uint64_t seed = 0; seed < 4; ++seed)
          mean_kernel += tangent_kernel(mlp, mlp.init(seed), x) * 0.25;
        errors.push_back(relative_difference(mean_kernel, theta));
      }
      SCOPED_TRACE(fmt::format("{} depth {}: relative error {} at width 256, {} at width 4096",
                               to_string(activation), depth, errors[0], errors[1]));
      EXPECT_LT(errors[1], 0.04);
      EXPECT_LT(errors[1], errors[0]);
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

// The NTK as a kernel: its Gram matrices are the recursion's, in T, and a kernel machine with it
// interpolates its training labels (Theta is positive definite on distinct inputs).
TEST(InfiniteWidth, NtkKernelIsTheRecursionAndInterpolates) {
  const MlpConfig config{.inputs = 5, .hidden = {64, 64}, .activation = Activation::erf};
  const Tensor<double> x = Rng(8).normal<double>({60, 5});
  const Tensor<double> z = Rng(9).normal<double>({7, 5});
  const Kernel<double> kernel = ntk_kernel<double>(config);
  EXPECT_EQ(kernel.name, "ntk(erf, depth 2)");
  EXPECT_LT(relative_difference(kernel.gram(x, z), infinite_width_kernels(config, x, z).ntk),
            1e-15);
  const Tensor<float> gram_float = ntk_kernel<float>(config).gram(x.cast<float>(), z.cast<float>());
  EXPECT_LT(relative_difference(gram_float.cast<double>(), kernel.gram(x, z)), 1e-5);

  KernelMachine<double> machine(kernel);
  const Tensor<double> y = Rng(10).normal<double>({60, 2});
  const KernelFitReport report = machine.fit(x, y);
  EXPECT_LT(report.residual, 1e-10);
  EXPECT_LT(relative_difference(machine.predict(x), y), 1e-9);

  MlpConfig two_outputs = config;
  two_outputs.outputs = 2;
  EXPECT_EQ(testing::error_of([&] { ntk_kernel<double>(two_outputs); }),
            "[ntk_kernel] takes a network with one output (Theta's blocks are equal), got 2");
  MlpConfig tanh = config;
  tanh.activation = Activation::tanh;
  EXPECT_EQ(testing::error_of([&] { ntk_kernel<double>(tanh); }),
            "[infinite_width_kernels] no closed form for tanh (relu and erf have one)");
}

}  // namespace
}  // namespace lamppost
