#include "models/kernel_machine.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/ops.h"

namespace lamppost {

namespace {

// predict builds the Gram matrix between test and training points in row blocks of about this
// many entries, so that its memory stays bounded whatever the number of test points, while each
// block stays tall enough for an efficient GEMM.
constexpr int64_t kPredictBlockEntries = int64_t{1} << 22;

// Lanczos settings for the preconditioner's eigenpairs. They only shape the preconditioner,
// which stays symmetric positive definite for any orthonormal vectors and any values in
// (0, lambda_i], so a loose tolerance (relative to lambda_1) is enough, and the steps are
// capped at about twice the pairs asked for: each step costs a product of K with one vector,
// and the setup must stay cheaper than the CG iterations it saves. On 2000 Fashion-MNIST rows
// with rank 50, 1e-5 gives 244 CG steps after 100 Lanczos steps; 1e-8, 242 after 108; 1e-3, 317
// after 52.
constexpr double kPreconditionerTolerance = 1e-5;

template <Real T>
constexpr std::string_view type_name() {
  return std::is_same_v<T, float> ? "float" : "double";
}

template <Real T>
void check_finite(const Tensor<T>& t, std::string_view what, std::string_view op) {
  const Tensor<T> c = t.contiguous();
  const T* p = c.data();
  for (int64_t i = 0; i < c.numel(); ++i) {
    LAMPPOST_CHECK(std::isfinite(p[i]), op, "{} has a non-finite entry {} at flat index {}", what,
                   p[i], i);
  }
}

// ||(K + lambda I) alpha - y|| / ||y|| with a = K + lambda I, as [n, c] matrices.
template <Real T>
double relative_residual(const Tensor<T>& a, const Tensor<T>& alpha, const Tensor<T>& y) {
  const double y_norm = norm(y);
  if (y_norm == 0) return 0;
  Tensor<T> r = y.clone();
  gemm(T(1), a, Op::none, alpha, Op::none, T(-1), r);  // [n, n] x [n, c] -> [n, c]
  return double(norm(r)) / y_norm;
}

// The EigenPro preconditioner z = r - E diag(1 - floor / lambda_i) E^T r from Lanczos' top
// eigenpairs of a (on vectors of length n), where floor is the smallest of them and E holds the
// others' vectors. Returns an empty operator when nothing is left to flatten.
template <Real T>
LinearOperator<T> eigenpro_preconditioner(const LinearOperator<T>& a, int64_t n, int64_t rank,
                                          KernelFitReport& report) {
  LanczosOptions<T> options;
  options.k = rank + 1;
  options.which = Which::largest;
  options.tol = T(kPreconditionerTolerance);
  options.max_iterations = std::min(n, 2 * (rank + 1) + 20);
  options.compute_vectors = true;
  const LanczosResult<T> eig = lanczos(a, n, options);
  report.preconditioner_iterations = eig.iterations;
  // A repeated eigenvalue is found once, so there may be fewer pairs than asked for.
  const int64_t found = eig.eigenvalues.numel();
  if (found < 2) return {};
  const T* values = eig.eigenvalues.data();  // ascending
  const T floor = values[0];
  LAMPPOST_CHECK(floor > 0, "KernelMachine::fit",
                 "K + lambda I is not positive definite: its top {} eigenvalues include {}", found,
                 floor);
  const int64_t flattened = found - 1;
  Tensor<T> shrink = Tensor<T>::empty({flattened, 1});
  for (int64_t i = 0; i < flattened; ++i) shrink.data()[i] = 1 - floor / values[i + 1];
  Tensor<T> e = eig.eigenvectors.slice(1, 1, found);  // [n, flattened]
  return [e, shrink, n, flattened](const Tensor<T>& r, Tensor<T>& z) {
    const Tensor<T> rm = r.reshape({n, -1});
    Tensor<T> t = Tensor<T>::empty({flattened, rm.shape()[1]});
    gemm(T(1), e, Op::transpose, rm, Op::none, T(0), t);  // [q, n] x [n, c] -> [q, c]
    mul(t, shrink, t);
    z.assign(r);
    Tensor<T> zm = z.reshape({n, -1});
    gemm(T(-1), e, Op::none, t, Op::none, T(1), zm);  // [n, q] x [q, c] -> [n, c]
  };
}

}  // namespace

template <Real T>
KernelMachine<T>::KernelMachine(Kernel<T> kernel, KernelMachineOptions<T> options)
    : kernel_(std::move(kernel)), options_(options) {
  constexpr std::string_view kOp = "KernelMachine";
  LAMPPOST_CHECK(static_cast<bool>(kernel_.gram), kOp, "kernel '{}' has no Gram function",
                 kernel_.name);
  LAMPPOST_CHECK(std::isfinite(options_.ridge) && options_.ridge >= 0, kOp,
                 "ridge must be finite and >= 0, got {}", options_.ridge);
  LAMPPOST_CHECK(options_.preconditioner_rank >= 0, kOp, "preconditioner_rank must be >= 0, got {}",
                 options_.preconditioner_rank);
  LAMPPOST_CHECK(std::isfinite(options_.rtol) && options_.rtol >= 0, kOp,
                 "rtol must be finite and >= 0 (0: the default), got {}", options_.rtol);
  LAMPPOST_CHECK(options_.max_iterations >= 0, kOp,
                 "max_iterations must be >= 0 (0: the default), got {}", options_.max_iterations);
}

template <Real T>
KernelFitReport KernelMachine<T>::fit(const Tensor<T>& x, const Tensor<T>& y) {
  constexpr std::string_view kOp = "KernelMachine::fit";
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[0] >= 1, kOp, "x must be [n, d] with n >= 1, got {}",
                 to_string(x.shape()));
  const int64_t n = x.shape()[0];
  LAMPPOST_CHECK((y.ndim() == 1 || (y.ndim() == 2 && y.shape()[1] >= 1)) && y.shape()[0] == n, kOp,
                 "y must be [n] or [n, k] with n = {} rows of x, got shape {}", n,
                 to_string(y.shape()));
  const int64_t rank =
      options_.solver == KernelSolver::conjugate_gradient ? options_.preconditioner_rank : 0;
  LAMPPOST_CHECK(rank < n, kOp, "preconditioner_rank {} must be below the n = {} training points",
                 rank, n);
  check_finite(x, "x", kOp);
  check_finite(y, "y", kOp);
  fitted_ = false;

  // The copy keeps the model independent of the caller's tensor, and passing the same view twice
  // lets the Gram function exploit the symmetry.
  x_ = x.clone();
  Tensor<T> a = kernel_.gram(x_, x_);
  LAMPPOST_CHECK(a.shape() == (Shape{n, n}), kOp,
                 "kernel '{}' returned a Gram matrix of shape {} for {} points", kernel_.name,
                 to_string(a.shape()), n);
  // The ridge goes onto the diagonal in place, so the matrix must be ours alone.
  if (!a.is_contiguous() || !a.owns_storage_alone()) a = a.clone();
  if (options_.ridge > 0) {
    T* ap = a.data();
    for (int64_t i = 0; i < n; ++i) ap[i * n + i] += T(options_.ridge);
  }
  const Tensor<T> targets = y.contiguous().reshape({n, -1});

  KernelFitReport report;
  Tensor<T> alpha;  // [n, k]
  if (options_.solver == KernelSolver::direct) {
    Tensor<T> l;
    try {
      l = cholesky(a);
    } catch (const Error& e) {
      fail(kOp,
           "K + lambda I for kernel '{}' on n = {} points with ridge {} is not positive definite "
           "in {} ({}); duplicated or nearly equal points make it singular: use a ridge > 0, a "
           "smaller bandwidth, or remove the duplicates",
           kernel_.name, n, options_.ridge, type_name<T>(), e.what());
    }
    alpha = cholesky_solve(l, targets);
  } else {
    const LinearOperator<T> op = [&a, n](const Tensor<T>& v, Tensor<T>& out) {
      Tensor<T> om = out.reshape({n, -1});
      gemm(T(1), a, Op::none, v.reshape({n, -1}), Op::none, T(0), om);  // [n, n] x [n, c]
    };
    CgOptions<T> cg;
    if (options_.rtol > 0) cg.rtol = T(options_.rtol);
    cg.max_iterations = options_.max_iterations;
    if (rank > 0) cg.preconditioner = eigenpro_preconditioner(op, n, rank, report);
    CgResult<T> result = conjugate_gradient(op, targets, cg);
    report.iterations = result.iterations;
    report.converged = result.converged;
    alpha = std::move(result.x);
  }
  report.residual = relative_residual(a, alpha, targets);
  alpha_ = y.ndim() == 1 ? alpha.reshape({n}) : alpha;
  fitted_ = true;
  return report;
}

template <Real T>
Tensor<T> KernelMachine<T>::predict(const Tensor<T>& x) const {
  constexpr std::string_view kOp = "KernelMachine::predict";
  LAMPPOST_CHECK(fitted_, kOp, "called before fit");
  const int64_t n = x_.shape()[0], d = x_.shape()[1];
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[1] == d, kOp,
                 "x must be [m, {}] like the training inputs, got shape {}", d,
                 to_string(x.shape()));
  const int64_t m = x.shape()[0];
  const Tensor<T> alpha = alpha_.reshape({n, -1});
  Tensor<T> out = Tensor<T>::empty({m, alpha.shape()[1]});
  const int64_t block_rows = std::max<int64_t>(1, kPredictBlockEntries / n);
  for (int64_t r0 = 0; r0 < m; r0 += block_rows) {
    const int64_t r1 = std::min(m, r0 + block_rows);
    const Tensor<T> g = kernel_.gram(x.slice(0, r0, r1), x_);
    LAMPPOST_CHECK(g.shape() == (Shape{r1 - r0, n}), kOp,
                   "kernel '{}' returned a Gram block of shape {} for {} x {} points", kernel_.name,
                   to_string(g.shape()), r1 - r0, n);
    Tensor<T> rows = out.slice(0, r0, r1);
    gemm(T(1), g, Op::none, alpha, Op::none, T(0), rows);  // [b, n] x [n, k] -> [b, k]
  }
  return alpha_.ndim() == 1 ? out.reshape({m}) : out;
}

template <Real T>
const Tensor<T>& KernelMachine<T>::coefficients() const {
  LAMPPOST_CHECK(fitted_, "KernelMachine::coefficients", "called before fit");
  return alpha_;
}

template class KernelMachine<float>;
template class KernelMachine<double>;

}  // namespace lamppost
