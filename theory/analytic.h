// The infinite-width kernels of THEORY.md for fully-connected networks in the NTK
// parameterization: the NNGP kernel Sigma^{L+1} (the covariance of the outputs at
// initialisation) and the neural tangent kernel Theta^{L+1} (the limit of the empirical tangent
// kernel), by the layer recursion with the closed-form Gaussian expectations of relu and erf.
#pragma once

#include "models/kernels.h"
#include "models/mlp.h"

namespace lamppost {

struct InfiniteWidthKernels {
  Tensor<double> nngp;  // [n1, n2]
  Tensor<double> ntk;   // [n1, n2]; for k outputs, each output's block (outputs do not mix)
};

// Kernels between the rows of x1 [n1, d0] and x2 [n2, d0] for a network of this description
// (depth = config.hidden.size(); the widths themselves do not matter in the limit). Refuses
// activations without a closed form here (only relu and erf have one), the standard
// parameterization (whose tangent kernel grows with width), and a non-linear output layer.
template <Real T>
InfiniteWidthKernels infinite_width_kernels(const MlpConfig& config, const Tensor<T>& x1,
                                            const Tensor<T>& x2);

// The analytic NTK Theta of the network as a kernel, for kernel machines: kernel regression with
// it is what gradient descent on the infinitely wide network converges to. Its Gram function
// runs the recursion above in double and returns T. Refuses what infinite_width_kernels refuses,
// and a network with several outputs (Theta is then block-diagonal with equal blocks: use one).
template <Real T>
Kernel<T> ntk_kernel(const MlpConfig& config);

}  // namespace lamppost
