#include <gtest/gtest.h>

#include "tensor/gemm.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"
#include "theory/ntk.h"

namespace lamppost {
namespace {

using testing::relative_difference;

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

}  // namespace
}  // namespace lamppost
