// Dense linear algebra on top of GEMM: Cholesky and triangular solves, conjugate gradients, the
// symmetric eigensolver (Householder tridiagonalisation + implicit QL/QR), minimum-norm least
// squares through it, and Lanczos on an operator that is never formed. The O(n^3) parts are
// blocked so that most of their flops run in gemm. Matrices are 2-d tensors of any strides;
// results are fresh contiguous tensors.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include "tensor/gemm.h"
#include "tensor/tensor.h"

namespace lamppost {

enum class Triangle { lower, upper };

// ---------------------------------------------------------------------------------------------
// Cholesky and triangular solves

// A = L L^T for a symmetric positive definite a [n, n]; returns the lower factor L [n, n] with
// zeros above the diagonal. Only the lower triangle of a is read. Throws when a is not square,
// has a non-finite entry in its lower triangle, or is not positive definite (naming the pivot).
template <Real T>
Tensor<T> cholesky(const Tensor<T>& a);

// Solves op(t) x = b for x. t [n, n] is triangular and only its `triangle` is read (before op
// is applied); b is [n] or [n, m] (m right-hand sides); x has b's shape. Throws on a zero
// diagonal entry.
template <Real T>
Tensor<T> solve_triangular(const Tensor<T>& t, const Tensor<T>& b, Triangle triangle,
                           Op op = Op::none);

// Solves A x = b given l = cholesky(A); b is [n] or [n, m].
template <Real T>
Tensor<T> cholesky_solve(const Tensor<T>& l, const Tensor<T>& b);

// ---------------------------------------------------------------------------------------------
// Operators

// y = A x for a linear operator that is never materialised. y arrives allocated, contiguous and
// of x's shape; the operator fills it in place, or assigns to y a tensor of x's shape (which
// the solver then only reads). x belongs to the solver and is valid only during the call.
template <Real T>
using LinearOperator = std::function<void(const Tensor<T>& x, Tensor<T>& y)>;

// ---------------------------------------------------------------------------------------------
// Conjugate gradients

template <Real T>
struct CgOptions {
  // Converged when ||b - A x|| <= rtol * ||b|| for the true residual (recomputed from x).
  T rtol = std::is_same_v<T, float> ? T(1e-5) : T(1e-10);
  int64_t max_iterations = 0;        // 0: 2 n, n = b.numel()
  LinearOperator<T> preconditioner;  // z = M^-1 r for a symmetric positive definite M; empty: none
  std::optional<Tensor<T>> x0;       // initial guess of b's shape; none: zero
};

template <Real T>
struct [[nodiscard]] CgResult {
  Tensor<T> x;             // b's shape
  int64_t iterations = 0;  // operator applications in CG steps (the final check not counted)
  T residual_norm = 0;     // ||b - A x||, recomputed from x, not the recursive estimate
  bool converged = false;
};

// Solves A x = b for a symmetric positive definite operator A (b of any shape; the operator
// maps tensors of b's shape). Not reaching rtol within max_iterations is reported through
// `converged`; an operator or preconditioner found not positive definite (p^T A p <= 0 or
// r^T M^-1 r <= 0), or a non-finite value, throws.
template <Real T>
CgResult<T> conjugate_gradient(const LinearOperator<T>& a, const Tensor<T>& b,
                               const CgOptions<T>& options = {});

// ---------------------------------------------------------------------------------------------
// Symmetric eigensolver

template <Real T>
struct EighResult {
  Tensor<T> eigenvalues;   // [n], ascending
  Tensor<T> eigenvectors;  // [n, n], column j is the unit eigenvector of eigenvalue j
};

// A relative tolerance for symmetry: |a(i, j) - a(j, i)| <= tolerance * max |a|. The matrix
// actually decomposed is (a + a^T) / 2.
template <Real T>
T default_symmetry_tolerance() {
  return std::sqrt(std::numeric_limits<T>::epsilon());
}

// All eigenpairs of a symmetric a [n, n]. Throws when a is not square, has a non-finite entry,
// is not symmetric within the tolerance (naming the worst pair), or when the QL/QR iteration
// does not converge.
template <Real T>
EighResult<T> eigh(const Tensor<T>& a, T symmetry_tolerance = default_symmetry_tolerance<T>());

// The eigenvalues only (ascending), skipping all eigenvector work.
template <Real T>
Tensor<T> eigvalsh(const Tensor<T>& a, T symmetry_tolerance = default_symmetry_tolerance<T>());

// All eigenpairs of the symmetric tridiagonal matrix with this diagonal [n] and off-diagonal
// [n - 1] (the eigenvector tensor is empty unless vectors is true).
template <Real T>
EighResult<T> eigh_tridiagonal(const Tensor<T>& diagonal, const Tensor<T>& off_diagonal,
                               bool vectors = true);

// ---------------------------------------------------------------------------------------------
// Least squares

template <Real T>
struct LeastSquaresOptions {
  // lambda >= 0: minimises ||A x - b||^2 + lambda ||x||^2; 0: the minimum-norm least-squares
  // solution A^+ b.
  T ridge = 0;
  // With ridge == 0, eigenvalues of the Gram matrix below cutoff * its largest count as 0, i.e.
  // singular values of A below sqrt(cutoff) * sigma_max are dropped: the pseudo-inverse's
  // stated cut-off. Negative: the default, min(n, m) * machine epsilon, about the rounding
  // error of the Gram matrix's eigenvalues relative to its largest.
  T cutoff = -1;
};

template <Real T>
struct [[nodiscard]] LeastSquaresResult {
  Tensor<T> x;                // [m] or [m, k], matching b
  int64_t rank = 0;           // singular values kept by the cut-off
  Tensor<T> singular_values;  // [min(n, m)], descending
};

// The minimum-norm least-squares solution x = A^+ b of A x = b for a [n, m] and b [n] or
// [n, k] (k right-hand sides solved together), or with ridge = lambda > 0 the ridge solution
// (A^T A + lambda I)^-1 A^T b. The same method serves both sides of the threshold m = n, so
// the solution is continuous through it: eigh of the smaller Gram matrix,
//   m >= n: A A^T = V diag(l) V^T [n, n],  x = A^T V diag(w) V^T b
//   m <  n: A^T A = V diag(l) V^T [m, m],  x = V diag(w) V^T A^T b
// with w = 1 / l on the eigenvalues the cut-off keeps and 0 on the others (ridge == 0), or
// w = 1 / (max(l, 0) + lambda) on all of them (ridge > 0, where the cut-off only counts the
// rank). Never a normal-equations Cholesky: that fails, or returns noise, exactly where the
// interpolation threshold makes the system singular.
//
// Accuracy: forming the Gram matrix squares the condition number. Its eigenvalues carry
// absolute errors of about eps * sigma_max^2, so singular values are resolved only down to
// about sqrt(eps) * sigma_max (1e-8 in double, 3e-4 in float), which is why the cut-off acts on
// that scale; among the kept ones, x carries relative errors up to about
// eps * (sigma_max / sigma_min)^2, where an SVD reaches eps * sigma_max / sigma_min on
// systems with small residuals. In exchange the cost is O(n m min(n, m)) for the Gram matrix
// (one triangle, in gemm), O(min(n, m)^3) for eigh and O((n m + min(n, m)^2) k) to apply the
// result; the extra memory is a few min(n, m)^2 buffers (the Gram matrix, eigh's work space,
// the eigenvectors), as a and b are not copied.
//
// Throws when a is not 2-d, b is not [n] or [n, k], ridge is negative or not finite, cutoff is
// not finite, a or b has a non-finite entry (naming it), or the Gram matrix overflows.
template <Real T>
LeastSquaresResult<T> least_squares(const Tensor<T>& a, const Tensor<T>& b,
                                    const LeastSquaresOptions<T>& options = {});

// ---------------------------------------------------------------------------------------------
// Lanczos

enum class Which { largest, smallest, both_ends };  // algebraic order

template <Real T>
struct LanczosOptions {
  int64_t k = 1;  // eigenvalues wanted at each requested end
  Which which = Which::largest;
  int64_t max_iterations = 0;  // Krylov dimension cap; 0: min(n, max(200, 20 k))
  // A Ritz pair (theta, y) is converged when ||A y - theta y|| <= tol * max |theta|.
  T tol = std::is_same_v<T, float> ? T(1e-4) : T(1e-8);
  // Keeps every Lanczos vector (iterations * n values) and orthogonalises each new one against
  // all of them. Off: three vectors in memory, spurious copies ("ghosts") of converged
  // eigenvalues are recognised by the Cullum-Willoughby test and dropped, and Ritz vectors
  // cost a second pass of operator applications.
  bool full_reorthogonalization = true;
  bool compute_vectors = false;
  uint64_t seed = 0;  // the start vector is N(0, 1) from Rng(seed)
};

template <Real T>
struct [[nodiscard]] LanczosResult {
  Tensor<T> eigenvalues;     // ascending; k values per requested end (fewer if n is smaller)
  Tensor<T> eigenvectors;    // [n, count] unit Ritz vectors as columns; empty unless asked
  Tensor<T> residual_norms;  // per eigenvalue: ||A y - theta y||, exact when vectors were
                             // computed, else the Lanczos estimate |beta_m s_m|
  int64_t iterations = 0;    // Krylov dimension reached
  bool converged = false;    // all the eigenvalues asked for were found and met the tolerance
};

// Extreme eigenvalues of the symmetric operator a on vectors of length n (the operator sees
// 1-d tensors [n]). A single start vector sees each distinct eigenvalue once, so a repeated
// eigenvalue is returned once. Not converging within max_iterations is reported through
// `converged`.
template <Real T>
LanczosResult<T> lanczos(const LinearOperator<T>& a, int64_t n,
                         const LanczosOptions<T>& options = {});

namespace detail {

// The implicit QL/QR iteration on a symmetric tridiagonal matrix: d [n] (diagonal) and e [n - 1]
// (e[i] couples i and i + 1) are overwritten by the unsorted eigenvalues and garbage. When zt is
// not null it is an [n, cols] row-major matrix whose rows the rotations act on: starting from
// rows of the identity, row j ends as eigenvector j (all of it when zt = I, or only the tracked
// components). Throws "[op] ..." after max_sweeps sweeps without deflating an eigenvalue.
template <Real T>
void tridiagonal_eigen(T* d, T* e, int64_t n, T* zt, int64_t cols, int max_sweeps,
                       std::string_view op);

}  // namespace detail
}  // namespace lamppost
