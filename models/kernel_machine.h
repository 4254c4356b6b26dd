// Kernel machines f(x) = sum_i alpha_i K(x, x_i): kernel interpolation (ridge 0) and kernel
// ridge regression, fitted by solving (K + lambda I) alpha = y on the materialised Gram matrix,
// either directly (Cholesky) or by conjugate gradients with an EigenPro-style preconditioner.
#pragma once

#include <cstdint>

#include "models/kernels.h"
#include "tensor/tensor.h"

namespace lamppost {

enum class KernelSolver {
  direct,              // Cholesky of K + lambda I: n^3 / 3 flops and a second n x n matrix
  conjugate_gradient,  // one GEMM with K per iteration: for n too large to factor
};

template <Real T>
struct KernelMachineOptions {
  // lambda >= 0: solves (K + lambda I) alpha = y; 0 interpolates the training labels.
  double ridge = 0;
  KernelSolver solver = KernelSolver::direct;
  // For conjugate gradients. Kernel matrices are ill-conditioned (the spectrum of a smooth
  // kernel decays fast), so CG is preconditioned as EigenPro does (Ma and Belkin, "Diving into
  // the shallows", NIPS 2017): the top q = preconditioner_rank eigenpairs (lambda_i, e_i) of
  // K + lambda I, found by Lanczos, are flattened to lambda_{q+1}:
  //     M^-1 = I - sum_{i <= q} (1 - lambda_{q+1} / lambda_i) e_i e_i^T,
  // symmetric positive definite, so that M^-1 (K + lambda I) has condition number
  // lambda_{q+1} / lambda_n instead of lambda_1 / lambda_n. 0: plain CG. Needs q < n.
  int64_t preconditioner_rank = 0;
  // CG stops when ||(K + lambda I) alpha - y|| <= rtol ||y|| (Frobenius norms over all outputs);
  // 0: CgOptions' default for T.
  double rtol = 0;
  int64_t max_iterations = 0;  // CG's cap; 0: CgOptions' default (2 n k)
};

struct KernelFitReport {
  // CG iterations (each one GEMM with the Gram matrix); 0 for the direct solve.
  int64_t iterations = 0;
  // Lanczos iterations spent on the preconditioner (each one product of K with a vector).
  int64_t preconditioner_iterations = 0;
  // ||(K + lambda I) alpha - y|| / ||y|| for the returned alpha (0 when y = 0).
  double residual = 0;
  // CG reached rtol within max_iterations; always true for the direct solve, whose accuracy the
  // residual states.
  bool converged = true;
};

template <Real T>
class KernelMachine {
 public:
  // Throws when an option is out of range (negative or non-finite ridge, negative rank, rtol or
  // max_iterations) or the kernel has no Gram function.
  explicit KernelMachine(Kernel<T> kernel, KernelMachineOptions<T> options = {});

  // Fits to x [n, d] and labels y [n] or [n, k] (k outputs solved together). Throws on
  // inconsistent shapes or non-finite inputs, and, for the direct solve, when K + lambda I is not
  // positive definite in floating point (naming the kernel, n and the failing pivot): the fit
  // never regularises silently. CG reports non-convergence through the report instead.
  KernelFitReport fit(const Tensor<T>& x, const Tensor<T>& y);

  // K(x, X) alpha for x [m, d]: [m] or [m, k], as y was. Throws before fit or when d differs.
  Tensor<T> predict(const Tensor<T>& x) const;

  // alpha, of y's shape. Throws before fit.
  const Tensor<T>& coefficients() const;

  const Kernel<T>& kernel() const { return kernel_; }
  const KernelMachineOptions<T>& options() const { return options_; }
  bool fitted() const { return fitted_; }

 private:
  Kernel<T> kernel_;
  KernelMachineOptions<T> options_;
  Tensor<T> x_;      // the training inputs, a private copy
  Tensor<T> alpha_;  // y's shape
  bool fitted_ = false;
};

extern template class KernelMachine<float>;
extern template class KernelMachine<double>;

}  // namespace lamppost
