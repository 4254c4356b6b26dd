// The empirical tangent kernel of THEORY.md, K(w) = DF(w) DF(w)^T, for a model with k outputs on
// n inputs: an (n k) x (n k) matrix whose row (i, o) sits at i k + o. Two paths that must agree:
// the generic one forms the Jacobian DF by reverse mode and works for any model (the oracle);
// the structured one, for dense networks, sums per-layer GEMMs and never forms the n x M
// Jacobian:
//     K = sum_l (c_l^2 A_l A_l^T + s^2) (.) D_l D_l^T
// with A_l layer l's inputs [n, d_{l-1}], D_l the outputs' derivatives in its pre-activations,
// c_l its input scale and s its bias scale (0 without biases), (.) the element-wise product.
#pragma once

#include "autodiff/transforms.h"
#include "models/mlp.h"
#include "optim/train.h"

namespace lamppost {

// outputs(params) gives the model's outputs [n] or [n, k] on fixed inputs.
template <Real T>
Tensor<T> tangent_kernel(const UnaryFunction<T>& outputs, const Tensor<T>& params);

template <Real T>
Tensor<T> tangent_kernel(const Mlp<T>& mlp, const Tensor<T>& params, const Tensor<T>& x);

// ||K_t - K_0||_F / ||K_0||_F, the relative change of a kernel during training.
template <Real T>
double relative_change(const Tensor<T>& kernel, const Tensor<T>& initial);

// The extreme eigenvalues of a kernel matrix (the symmetric eigensolver): lambda_min is the PL*
// constant mu of the square loss at the kernel's parameters.
struct KernelExtremes {
  double lambda_min = 0;
  double lambda_max = 0;
};
template <Real T>
KernelExtremes kernel_extremes(const Tensor<T>& kernel);

// The PL tracker: an observer that records, at every observed training step, the loss and the
// extreme eigenvalues of the network's tangent kernel on the training inputs x. mlp and records
// must outlive the observer.
struct KernelRecord {
  int64_t step = 0;
  double loss = 0;
  double lambda_min = 0;
  double lambda_max = 0;
};
template <Real T>
Observer<T> track_kernel(const Mlp<T>& mlp, Tensor<T> x, std::vector<KernelRecord>& records);

// The linearized model's outputs, f_lin(w; x) = f(w0; x) + <w - w0, grad_w f(w0; x)>, for every
// output of outputs(params) at once: one jvp at w0 along w - w0.
template <Real T>
Tensor<T> linearized_outputs(const UnaryFunction<T>& outputs, const Tensor<T>& w0,
                             const Tensor<T>& w);

}  // namespace lamppost
