// Hessians as operators that are never formed: each application is one Hessian-vector product
// (forward-over-reverse), so a network of millions of parameters costs a few gradients per
// product. The model Hessian H_f(w; x) of one output at one input and the loss Hessian H_L(w)
// of the square loss are both Hessians of scalar functions of the flat parameter vector; their
// spectral norms and top eigenvalues come from Lanczos, their traces from Hutchinson's
// estimator, and the dense Hessian of a small model is the cross-check for both.
#pragma once

#include <cstdint>

#include "autodiff/transforms.h"
#include "models/mlp.h"
#include "tensor/linalg.h"

namespace lamppost {

// v -> H v for the Hessian of scalar f at `at` (a 1-d parameter vector).
template <Real T>
LinearOperator<T> hessian_operator(UnaryFunction<T> f, Tensor<T> at);

// f(w; x) of one output, a scalar function of the parameters w, for one input x [d_0]. The
// function refers to mlp, which must outlive it.
template <Real T>
UnaryFunction<T> model_output(const Mlp<T>& mlp, const Tensor<T>& x, int64_t output = 0);

// L(w) = 1/2 ||F(w) - y||^2 on inputs x [n, d_0] and targets y [n, outputs]. The function
// refers to mlp, which must outlive it.
template <Real T>
UnaryFunction<T> square_loss_of(const Mlp<T>& mlp, const Tensor<T>& x, const Tensor<T>& y);

// ||H|| = max |lambda| of a symmetric operator on vectors of length n, by Lanczos from both
// ends of the spectrum (options.which and options.k are set here). A run that stops at
// max_iterations before the tolerance still returns its best estimate, which can only be low:
// Ritz values lie inside the spectrum.
struct SpectralNorm {
  double value = 0;
  double lambda_min = 0;  // the extreme Ritz values found
  double lambda_max = 0;
  int64_t iterations = 0;
  bool converged = false;
};
template <Real T>
SpectralNorm spectral_norm(const LinearOperator<T>& op, int64_t n, LanczosOptions<T> options = {});

// tr(H) ~ mean of z^T H z over `samples` Rademacher vectors z (seeded), with the standard error
// of that mean.
struct TraceEstimate {
  double value = 0;
  double standard_error = 0;
};
template <Real T>
TraceEstimate hutchinson_trace(const LinearOperator<T>& op, int64_t n, int64_t samples,
                               uint64_t seed = 0);

// The dense Hessian [M, M] of scalar f at `at` [M], as the Jacobian of its gradient; for small
// models only (M^2 values).
template <Real T>
Tensor<T> dense_hessian(const UnaryFunction<T>& f, const Tensor<T>& at);

}  // namespace lamppost
