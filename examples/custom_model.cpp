// A custom model built with lamppost's autodiff: a two-layer network with a home-made
// activation (swish, x * sigmoid(x)), trained by gradient descent to fit sin on [-3, 3], then
// one Hessian-vector product of its loss checked against finite differences.
#include <cmath>

#include <fmt/core.h>

#include "autodiff/check.h"
#include "autodiff/ops.h"
#include "autodiff/transforms.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace lamppost;

// Parameters p = {W1 [1, 32], b1 [32], W2 [32, 1], b2 [1]}.
Var<double> model(const std::vector<Var<double>>& p, const Var<double>& x) {
  const Var<double> h = linear(x, p[0], p[1]);
  return linear(h * sigmoid(h), p[2], p[3]);
}

int main() {
  Rng rng(42);
  const Tensor<double> x = Tensor<double>::linspace(-3, 3, 64).reshape({64, 1});
  const Tensor<double> y = lamppost::sin(x);
  std::vector<Tensor<double>> params = {rng.normal<double>({1, 32}), Tensor<double>::zeros({32}),
                                        rng.normal<double>({32, 1}) * (1 / std::sqrt(32.0)),
                                        Tensor<double>::zeros({1})};

  const Function<double> loss = [&](const std::vector<Var<double>>& p) {
    return mse(model(p, Var<double>(x)), Var<double>(y));
  };
  for (int step = 0; step <= 2000; ++step) {
    const auto [value, grads] = value_and_grad<double>(
        loss, std::vector<Var<double>>(params.begin(), params.end()), {0, 1, 2, 3});
    if (step % 500 == 0) fmt::print("step {:4d}  loss {:.6f}\n", step, value.item());
    for (size_t i = 0; i < params.size(); ++i) params[i] -= grads[i].value() * 0.05;
  }

  // The loss as a function of W2 alone, and one Hessian-vector product of it.
  const UnaryFunction<double> loss_of_w2 = [&](const Var<double>& w2) {
    return loss({Var<double>(params[0]), Var<double>(params[1]), w2, Var<double>(params[3])});
  };
  const Tensor<double> direction = rng.normal<double>({32, 1});
  const CheckResult check = check_hvp<double>(loss_of_w2, params[2], direction);
  fmt::print("hvp check: {} ({})\n", check.passed ? "passed" : "FAILED", check.message);
  return check.passed ? 0 : 1;
}
