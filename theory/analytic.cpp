#include "theory/analytic.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/ops.h"

namespace lamppost {

namespace {

constexpr double kPi = std::numbers::pi;

// E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for (u, v) ~ N(0, [[a, c], [c, b]]).
struct Expectations {
  double value;
  double derivative;
};

Expectations expectations(Activation activation, double a, double b, double c) {
  if (activation == Activation::relu) {
    const double root = std::sqrt(a * b);
    const double cosine = root > 0 ? std::clamp(c / root, -1.0, 1.0) : 1.0;
    const double theta = std::acos(cosine);
    return {root / (2 * kPi) * (std::sin(theta) + (kPi - theta) * cosine),
            (kPi - theta) / (2 * kPi)};
  }
  const double product = (1 + 2 * a) * (1 + 2 * b);
  return {2 / kPi * std::asin(std::clamp(2 * c / std::sqrt(product), -1.0, 1.0)),
          4 / kPi / std::sqrt(product - 4 * c * c)};
}

}  // namespace

template <Real T>
InfiniteWidthKernels infinite_width_kernels(const MlpConfig& config, const Tensor<T>& x1,
                                            const Tensor<T>& x2) {
  constexpr std::string_view op = "infinite_width_kernels";
  LAMPPOST_CHECK(config.activation == Activation::relu || config.activation == Activation::erf, op,
                 "no closed form for {} (relu and erf have one)", to_string(config.activation));
  LAMPPOST_CHECK(config.parameterization == Parameterization::ntk, op,
                 "the limit kernels are those of the NTK parameterization, not {}",
                 to_string(config.parameterization));
  LAMPPOST_CHECK(!config.nonlinear_output, op, "the output layer must be linear");
  LAMPPOST_CHECK(x1.ndim() == 2 && x2.ndim() == 2 && x1.shape()[1] == config.inputs &&
                     x2.shape()[1] == config.inputs,
                 op, "inputs {} and {} must both be [n, {}]", to_string(x1.shape()),
                 to_string(x2.shape()), config.inputs);
  const Tensor<double> a = x1.template cast<double>();
  const Tensor<double> b = x2.template cast<double>();
  const int64_t n1 = a.shape()[0], n2 = b.shape()[0];
  const double w2 = config.sigma_w * config.sigma_w;
  const double b2 = config.biases ? config.sigma_b * config.sigma_b : 0.0;
  const double input_scale = w2 / static_cast<double>(config.inputs);

  // Sigma^1 between the sets and on each set's own points; Theta^1 = Sigma^1.
  Tensor<double> cross = matmul(a, b.t()) * input_scale + b2;
  Tensor<double> diag1 = sum(a * a, {1}) * input_scale + b2;
  Tensor<double> diag2 = sum(b * b, {1}) * input_scale + b2;
  Tensor<double> theta = cross.clone();
  for (size_t layer = 0; layer < config.hidden.size(); ++layer) {
    Tensor<double> next_cross = Tensor<double>::empty({n1, n2});
    for (int64_t i = 0; i < n1; ++i) {
      for (int64_t j = 0; j < n2; ++j) {
        const Expectations e =
            expectations(config.activation, diag1.at({i}), diag2.at({j}), cross.at({i, j}));
        next_cross.at({i, j}) = w2 * e.value + b2;
        // Theta^{l+1} = Theta^l Sdot^{l+1} + Sigma^{l+1}
        theta.at({i, j}) = theta.at({i, j}) * w2 * e.derivative + next_cross.at({i, j});
      }
    }
    const auto own = [&](const Tensor<double>& diag) {
      Tensor<double> next = Tensor<double>::empty(diag.shape());
      for (int64_t i = 0; i < diag.numel(); ++i) {
        const double v = diag.at({i});
        next.at({i}) = w2 * expectations(config.activation, v, v, v).value + b2;
      }
      return next;
    };
    diag1 = own(diag1);
    diag2 = own(diag2);
    cross = std::move(next_cross);
  }
  return {cross, theta};
}

template <Real T>
Kernel<T> ntk_kernel(const MlpConfig& config) {
  LAMPPOST_CHECK(config.outputs == 1, "ntk_kernel",
                 "takes a network with one output (Theta's blocks are equal), got {}",
                 config.outputs);
  // Refuses unsupported networks now rather than at the first Gram matrix.
  const Tensor<T> probe({1, config.inputs});
  (void)infinite_width_kernels(config, probe, probe);
  return {
      .name = fmt::format("ntk({}, depth {})", to_string(config.activation), config.hidden.size()),
      .gram = [config](const Tensor<T>& x1, const Tensor<T>& x2) {
        return infinite_width_kernels(config, x1, x2).ntk.template cast<T>();
      }};
}

template Kernel<float> ntk_kernel(const MlpConfig&);
template Kernel<double> ntk_kernel(const MlpConfig&);
template InfiniteWidthKernels infinite_width_kernels(const MlpConfig&, const Tensor<float>&,
                                                     const Tensor<float>&);
template InfiniteWidthKernels infinite_width_kernels(const MlpConfig&, const Tensor<double>&,
                                                     const Tensor<double>&);

}  // namespace lamppost
