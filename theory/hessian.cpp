#include "theory/hessian.h"

#include <algorithm>
#include <cmath>

#include "autodiff/ops.h"
#include "models/loss.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace lamppost {

template <Real T>
LinearOperator<T> hessian_operator(UnaryFunction<T> f, Tensor<T> at) {
  LAMPPOST_CHECK(at.ndim() == 1, "hessian_operator", "the parameters must be 1-d, got shape {}",
                 to_string(at.shape()));
  return [f = std::move(f), at = std::move(at)](const Tensor<T>& v, Tensor<T>& y) {
    y = hvp<T>(f, Var<T>(at), Var<T>(v)).value();
  };
}

template <Real T>
UnaryFunction<T> model_output(const Mlp<T>& mlp, const Tensor<T>& x, int64_t output) {
  const int64_t d = mlp.config().inputs;
  LAMPPOST_CHECK(x.numel() == d, "model_output",
                 "the input has shape {}, the model takes {} values", to_string(x.shape()), d);
  LAMPPOST_CHECK(output >= 0 && output < mlp.config().outputs, "model_output",
                 "output {} is out of range for a model with {} outputs", output,
                 mlp.config().outputs);
  const Tensor<T> row = x.contiguous().reshape({1, d});
  return [&mlp, row, output](const Var<T>& params) {
    return sum(slice(mlp.forward(params, Var<T>(row)), 1, output, output + 1));
  };
}

template <Real T>
UnaryFunction<T> square_loss_of(const Mlp<T>& mlp, const Tensor<T>& x, const Tensor<T>& y) {
  const Shape expected{x.ndim() == 2 ? x.shape()[0] : -1, mlp.config().outputs};
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[1] == mlp.config().inputs && y.shape() == expected,
                 "square_loss_of", "inputs {} and targets {} do not fit a model {} -> {}",
                 to_string(x.shape()), to_string(y.shape()), mlp.config().inputs,
                 mlp.config().outputs);
  return
      [&mlp, x, y](const Var<T>& params) { return square_loss(mlp.forward(params, Var<T>(x)), y); };
}

template <Real T>
SpectralNorm spectral_norm(const LinearOperator<T>& op, int64_t n, LanczosOptions<T> options) {
  options.which = Which::both_ends;
  options.k = 1;
  const LanczosResult<T> result = lanczos(op, n, options);
  const Tensor<T> values = result.eigenvalues.contiguous();
  const T* v = values.data();
  const auto lambda_min = static_cast<double>(v[0]);
  const auto lambda_max = static_cast<double>(v[values.numel() - 1]);
  return {std::max(std::abs(lambda_min), std::abs(lambda_max)), lambda_min, lambda_max,
          result.iterations, result.converged};
}

template <Real T>
TraceEstimate hutchinson_trace(const LinearOperator<T>& op, int64_t n, int64_t samples,
                               uint64_t seed) {
  LAMPPOST_CHECK(samples >= 2, "hutchinson_trace", "needs at least 2 samples, got {}", samples);
  Rng rng(seed);
  // Welford's running mean and sum of squared deviations: no cancellation when the samples
  // agree (a diagonal operator gives the same z^T H z for every z).
  double mean = 0;
  double squares = 0;
  for (int64_t s = 0; s < samples; ++s) {
    Tensor<T> z = rng.uniform<T>({n});
    T* values = z.data();
    for (int64_t i = 0; i < n; ++i) values[i] = values[i] < T(0.5) ? T(-1) : T(1);
    Tensor<T> hz = Tensor<T>::empty({n});
    op(z, hz);
    const auto quadratic = static_cast<double>(dot(z, hz));
    const double deviation = quadratic - mean;
    mean += deviation / static_cast<double>(s + 1);
    squares += deviation * (quadratic - mean);
  }
  const auto count = static_cast<double>(samples);
  return {mean, std::sqrt(squares / (count - 1) / count)};
}

template <Real T>
Tensor<T> dense_hessian(const UnaryFunction<T>& f, const Tensor<T>& at) {
  LAMPPOST_CHECK(at.ndim() == 1, "dense_hessian", "the parameters must be 1-d, got shape {}",
                 to_string(at.shape()));
  return jacobian_reverse<T>(grad<T>(f), Var<T>(at)).value();
}

#define LAMPPOST_INSTANTIATE(T)                                                                  \
  template LinearOperator<T> hessian_operator(UnaryFunction<T>, Tensor<T>);                      \
  template UnaryFunction<T> model_output(const Mlp<T>&, const Tensor<T>&, int64_t);              \
  template UnaryFunction<T> square_loss_of(const Mlp<T>&, const Tensor<T>&, const Tensor<T>&);   \
  template SpectralNorm spectral_norm(const LinearOperator<T>&, int64_t, LanczosOptions<T>);     \
  template TraceEstimate hutchinson_trace(const LinearOperator<T>&, int64_t, int64_t, uint64_t); \
  template Tensor<T> dense_hessian(const UnaryFunction<T>&, const Tensor<T>&);
LAMPPOST_INSTANTIATE(float)
LAMPPOST_INSTANTIATE(double)
#undef LAMPPOST_INSTANTIATE

}  // namespace lamppost
