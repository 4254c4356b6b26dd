#include "tensor/linalg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace lamppost {
namespace detail {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// ---------------------------------------------------------------------------------------------
// Vector kernels on raw pointers. Reductions cut [0, n) into fixed blocks and add the block
// sums in order, so their results do not depend on the thread count.

constexpr int64_t kReduceBlock = 4096;

template <Real T>
T dot_serial(const T* x, const T* y, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += x[i] * y[i];
  return acc;
}

// h[p] = rows[p] . w for p < count, each row n long.
template <Real T>
void project(const T* const* rows, int64_t count, const T* w, int64_t n, T* h) {
  const int64_t blocks = ceil_div(n, kReduceBlock);
  if (blocks <= 1) {
    for (int64_t p = 0; p < count; ++p) h[p] = dot_serial(rows[p], w, n);
    return;
  }
  std::vector<T> partial(static_cast<size_t>(count * blocks));
#pragma omp parallel for schedule(static) if (count * n >= kParallelThreshold)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i0 = b * kReduceBlock, len = std::min(kReduceBlock, n - i0);
    for (int64_t p = 0; p < count; ++p) {
      partial[static_cast<size_t>(p * blocks + b)] = dot_serial(rows[p] + i0, w + i0, len);
    }
  }
  for (int64_t p = 0; p < count; ++p) {
    T sum = 0;
    for (int64_t b = 0; b < blocks; ++b) sum += partial[static_cast<size_t>(p * blocks + b)];
    h[p] = sum;
  }
}

template <Real T>
T dot(const T* x, const T* y, int64_t n) {
  T h;
  project(&x, 1, y, n, &h);
  return h;
}

template <Real T>
T norm(const T* x, int64_t n) {
  return std::sqrt(dot(x, x, n));
}

// w -= sum_p h[p] rows[p].
template <Real T>
void subtract_combination(const T* const* rows, int64_t count, const T* h, T* w, int64_t n) {
  const int64_t blocks = ceil_div(n, kReduceBlock);
#pragma omp parallel for schedule(static) if (count * n >= kParallelThreshold && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i0 = b * kReduceBlock, len = std::min(kReduceBlock, n - i0);
    T* wb = w + i0;
    for (int64_t p = 0; p < count; ++p) {
      const T* rp = rows[p] + i0;
      const T hp = h[p];
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) wb[i] -= hp * rp[i];
    }
  }
}

// y += a x.
template <Real T>
void axpy(T a, const T* x, T* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

template <Real T>
void scale(T a, T* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) x[i] *= a;
}

// ---------------------------------------------------------------------------------------------
// Matrix views

template <class U>
MatrixRef<U> sub(MatrixRef<U> m, int64_t r0, int64_t c0, int64_t rows, int64_t cols) {
  return {m.data + r0 * m.row_stride + c0 * m.col_stride, rows, cols, m.row_stride, m.col_stride};
}

template <class U>
MatrixRef<const U> as_const(MatrixRef<U> m) {
  return {m.data, m.rows, m.cols, m.row_stride, m.col_stride};
}

template <Real T>
MatrixRef<const T> as_matrix(const Tensor<T>& t) {
  return {t.data(), t.shape()[0], t.shape()[1], t.strides()[0], t.strides()[1]};
}

template <Real T>
std::vector<int64_t> argsort(const T* values, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t i, int64_t j) { return values[i] < values[j]; });
  return order;
}

// ---------------------------------------------------------------------------------------------
// Triangular solves

// Rows of t per diagonal block: below it a solve is plain substitution, above it the
// off-diagonal blocks go through gemm.
constexpr int64_t kSolveBlock = 128;
// Right-hand-side columns solved together: a diagonal block's rows of them stay in cache.
constexpr int64_t kColumnChunk = 256;

// Solves t x = b in place for a small triangular t; b's rows are contiguous. Columns of b are
// independent, so chunks of them run in parallel.
template <Real T>
void solve_diagonal_block(Triangle triangle, MatrixRef<const T> t, MatrixRef<T> b) {
  const int64_t n = t.rows;
  const int64_t chunks = ceil_div(b.cols, kColumnChunk);
  const bool lower = triangle == Triangle::lower;
#pragma omp parallel for schedule(static) if (chunks > 1 && \
                                              n * n * b.cols >= 2 * kParallelThreshold)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t c0 = chunk * kColumnChunk, width = std::min(kColumnChunk, b.cols - c0);
    for (int64_t step = 0; step < n; ++step) {
      const int64_t i = lower ? step : n - 1 - step;
      T* bi = b.data + i * b.row_stride + c0;
      const T* ti = t.data + i * t.row_stride;
      for (int64_t j = lower ? 0 : i + 1; j < (lower ? i : n); ++j) {
        const T tij = ti[j * t.col_stride];
        const T* bj = b.data + j * b.row_stride + c0;
#pragma omp simd
        for (int64_t x = 0; x < width; ++x) bi[x] -= tij * bj[x];
      }
      const T tii = ti[i * t.col_stride];
#pragma omp simd
      for (int64_t x = 0; x < width; ++x) bi[x] /= tii;
    }
  }
}

// Solves t x = b in place of b for a triangular t (any strides; only `triangle` is read) and a
// b [n, m] with contiguous rows: substitution on diagonal blocks, gemm for the rest.
template <Real T>
void trsm(Triangle triangle, MatrixRef<const T> t, MatrixRef<T> b) {
  const int64_t n = t.rows, m = b.cols;
  if (n == 0 || m == 0) return;
  const bool lower = triangle == Triangle::lower;
  for (int64_t done = 0; done < n; done += kSolveBlock) {
    const int64_t len = std::min(kSolveBlock, n - done);
    const int64_t k0 = lower ? done : n - done - len, k1 = k0 + len;
    solve_diagonal_block(triangle, sub(t, k0, k0, len, len), sub(b, k0, 0, len, m));
    const auto solved = as_const(sub(b, k0, 0, len, m));
    if (lower && k1 < n) {
      // [n - k1, len] x [len, m] -> [n - k1, m]
      gemm_strided(T(-1), sub(t, k1, k0, n - k1, len), solved, T(1), sub(b, k1, 0, n - k1, m));
    } else if (!lower && k0 > 0) {
      // [k0, len] x [len, m] -> [k0, m]
      gemm_strided(T(-1), sub(t, 0, k0, k0, len), solved, T(1), sub(b, 0, 0, k0, m));
    }
  }
}

// Rows of the trailing matrix per gemm in a triangular update: the part of each gemm that
// falls in the unwanted triangle (inside its diagonal block) is wasted work.
constexpr int64_t kUpdateRows = 256;

// c -= a b on one triangle of the square c, with a [m, k] and b [k, m]. Each row block is one
// gemm from (lower) or up to (upper) its diagonal block, so the other triangle inside the
// diagonal blocks is overwritten too: callers keep nothing there.
template <Real T>
void triangular_update(Triangle triangle, MatrixRef<const T> a, MatrixRef<const T> b,
                       MatrixRef<T> c) {
  const int64_t m = c.rows, k = a.cols;
  for (int64_t r0 = 0; r0 < m; r0 += kUpdateRows) {
    const int64_t r1 = std::min(m, r0 + kUpdateRows);
    const int64_t c0 = triangle == Triangle::lower ? 0 : r0;
    const int64_t c1 = triangle == Triangle::lower ? r1 : m;
    // [r1 - r0, k] x [k, c1 - c0] -> [r1 - r0, c1 - c0]
    gemm_strided(T(-1), sub(a, r0, 0, r1 - r0, k), sub(b, 0, c0, k, c1 - c0), T(1),
                 sub(c, r0, c0, r1 - r0, c1 - c0));
  }
}

template <Real T>
void check_square(const Tensor<T>& a, std::string_view op) {
  LAMPPOST_CHECK(a.ndim() == 2 && a.shape()[0] == a.shape()[1], op,
                 "needs a square matrix, got shape {}", to_string(a.shape()));
}

// Solves op(t) x = b in place of x [n, m] (contiguous).
template <Real T>
void solve_triangular_in_place(const Tensor<T>& t, Triangle triangle, Op op, T* x, int64_t m) {
  auto tm = as_matrix(t);
  if (op == Op::transpose) {
    std::swap(tm.row_stride, tm.col_stride);
    triangle = triangle == Triangle::lower ? Triangle::upper : Triangle::lower;
  }
  trsm(triangle, tm, MatrixRef<T>{x, tm.rows, m, m, 1});
}

template <Real T>
Tensor<T> solve_triangular_checked(const Tensor<T>& t, const Tensor<T>& b, Triangle triangle, Op op,
                                   std::string_view name) {
  check_square(t, name);
  const int64_t n = t.shape()[0];
  LAMPPOST_CHECK((b.ndim() == 1 || b.ndim() == 2) && b.shape()[0] == n, name,
                 "right-hand side of shape {} does not match the matrix of shape {}",
                 to_string(b.shape()), to_string(t.shape()));
  const T* diagonal = t.data();
  const int64_t step = t.strides()[0] + t.strides()[1];
  for (int64_t i = 0; i < n; ++i) {
    LAMPPOST_CHECK(diagonal[i * step] != T(0), name,
                   "matrix of shape {} is singular: diagonal entry {} is 0", to_string(t.shape()),
                   i);
  }
  Tensor<T> x = b.clone();
  const int64_t m = b.ndim() == 2 ? b.shape()[1] : 1;
  solve_triangular_in_place(t, triangle, op, x.data(), m);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Cholesky

constexpr int64_t kCholeskyBlock = 128;
static_assert(kCholeskyBlock <= kSolveBlock, "a Cholesky panel solve is one diagonal block");

// Factors the diagonal block [k0, k1) of the row-major lower factor w in place; the updates
// from the columns left of k0 are already applied.
template <Real T>
void cholesky_diagonal_block(T* w, int64_t n, int64_t k0, int64_t k1, const Shape& shape) {
  for (int64_t j = k0; j < k1; ++j) {
    T* rj = w + j * n;
    const T pivot = rj[j] - dot_serial(rj + k0, rj + k0, j - k0);
    if (!(pivot > 0)) {
      fail("cholesky", "matrix of shape {} is not positive definite: pivot {} is {}",
           to_string(shape), j, pivot);
    }
    const T ljj = std::sqrt(pivot);
    rj[j] = ljj;
    for (int64_t i = j + 1; i < k1; ++i) {
      T* ri = w + i * n;
      ri[j] = (ri[j] - dot_serial(ri + k0, rj + k0, j - k0)) / ljj;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Symmetric tridiagonal QL/QR

// Sweeps without a deflation before the iteration is declared stuck (LAPACK's dsteqr allows 30
// per eigenvalue on average; Wilkinson's shift needs two or three).
constexpr int kMaxSweeps = 30;
// Sweeps without a split after which a block also accepts off-diagonals below eps * ||block||.
// The relative test alone can ask for more than rounding allows: when a block holds a cluster
// of eigenvalues at 0 (a rank-deficient matrix) next to O(||T||) entries, each sweep commits
// absolute errors of eps * ||block|| in the cluster, so its off-diagonals never fall to
// eps * sqrt(|d_j d_j+1|). Dropping entries below the block's own rounding noise keeps the
// result backward stable.
constexpr int kRelativeSweeps = 8;

// One unreduced block [lo, hi] of the tridiagonal seen from either end: local index k is
// lo + k, or hi - k when reversed. A QL sweep on the reversed view (deflating at local 0) is a
// QR sweep on the block, so one sweep routine serves both directions.
template <Real T>
struct BlockView {
  T* d;
  T* e;
  int64_t lo, hi;
  bool reversed;

  T& diag(int64_t k) const { return d[reversed ? hi - k : lo + k]; }
  T& off(int64_t k) const { return e[pair(k)]; }
  // The e index of the local pair (k, k + 1), which is also its upper row in the matrix.
  int64_t pair(int64_t k) const { return reversed ? hi - k - 1 : lo + k; }
};

// One implicit QL sweep with Wilkinson's shift on local rows [s, j] of the view. Rotation q
// (acting on rows q, q + 1) is recorded as (cs[q], sn[q]) in the orientation of the matrix.
template <Real T>
void ql_sweep(const BlockView<T>& v, int64_t s, int64_t j, T* cs, T* sn) {
  // The shift is the eigenvalue of the leading 2 x 2 closer to its first diagonal entry.
  T g = (v.diag(s + 1) - v.diag(s)) / (2 * v.off(s));
  T r = std::hypot(g, T(1));
  g = v.diag(j) - v.diag(s) + v.off(s) / (g + std::copysign(r, g));
  T c = 1, sine = 1, p = 0;
  for (int64_t k = j - 1; k >= s; --k) {
    const T f = sine * v.off(k);
    const T b = c * v.off(k);
    // No hypot: the prescaled matrix keeps |g| and |f| within a few times ||T||, so the
    // squares cannot overflow, and an underflow drops a rotation of ~1e-154 relative size.
    r = std::sqrt(g * g + f * f);
    c = r == 0 ? T(1) : g / r;
    sine = r == 0 ? T(0) : f / r;
    if (k != j - 1) v.off(k + 1) = r;
    g = v.diag(k + 1) - p;
    r = (v.diag(k) - g) * sine + 2 * c * b;
    p = sine * r;
    v.diag(k + 1) = g + p;
    g = c * r - b;
    // Swapping the two rows of a rotation flips the sign of its sine.
    cs[v.pair(k)] = c;
    sn[v.pair(k)] = v.reversed ? -sine : sine;
  }
  v.diag(s) -= p;
  v.off(s) = g;
}

// Components of zt's rows rotated together: a chunk of every row of a sweep stays in cache,
// and the carried row lives in registers.
constexpr int64_t kRotationChunk = 32;

// Applies rotations q in [qlo, qhi] to a chunk of `width` components (from c0) of rows
// (q, q + 1) of zt [*, cols]: row q + 1 becomes s z_q + c z_{q+1} and row q becomes
// c z_q - s z_{q+1}, in descending or ascending q order. With W > 0 the width is the
// compile-time W, so the carried row stays in registers.
template <int64_t W, Real T>
void rotate_chunk(T* zt, int64_t cols, int64_t c0, int64_t width, int64_t qlo, int64_t qhi,
                  const T* cs, const T* sn, bool descending) {
  const int64_t wd = W > 0 ? W : width;
  T carry[kRotationChunk];
  auto row = [&](int64_t q) { return zt + q * cols + c0; };
  if (descending) {
    std::copy_n(row(qhi + 1), wd, carry);
    for (int64_t q = qhi; q >= qlo; --q) {
      T* zq = row(q);
      T* zq1 = row(q + 1);
      const T c = cs[q], s = sn[q];
#pragma omp simd
      for (int64_t x = 0; x < wd; ++x) {
        const T z = zq[x];
        zq1[x] = s * z + c * carry[x];
        carry[x] = c * z - s * carry[x];
      }
    }
    std::copy_n(carry, wd, row(qlo));
  } else {
    std::copy_n(row(qlo), wd, carry);
    for (int64_t q = qlo; q <= qhi; ++q) {
      T* zq = row(q);
      const T* zq1 = row(q + 1);
      const T c = cs[q], s = sn[q];
#pragma omp simd
      for (int64_t x = 0; x < wd; ++x) {
        const T z1 = zq1[x];
        zq[x] = c * carry[x] - s * z1;
        carry[x] = s * carry[x] + c * z1;
      }
    }
    std::copy_n(carry, wd, row(qhi + 1));
  }
}

// The rotations of one sweep on every component of zt's rows, chunk by chunk (the chunks are
// independent, so they run in parallel).
template <Real T>
void apply_rotations(T* zt, int64_t cols, int64_t qlo, int64_t qhi, const T* cs, const T* sn,
                     bool descending) {
  const int64_t chunks = ceil_div(cols, kRotationChunk);
#pragma omp parallel for schedule(static) if (chunks > 1 && \
                                              (qhi - qlo + 1) * cols >= kParallelThreshold)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t c0 = chunk * kRotationChunk, width = std::min(kRotationChunk, cols - c0);
    if (width == kRotationChunk) {
      rotate_chunk<kRotationChunk>(zt, cols, c0, width, qlo, qhi, cs, sn, descending);
    } else {
      rotate_chunk<0>(zt, cols, c0, width, qlo, qhi, cs, sn, descending);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Householder tridiagonalisation. The symmetric matrix is kept in the upper triangle of a
// row-major buffer, so "column i below the diagonal" is row i right of it and every level-2
// operation walks contiguous rows.

// Reflectors per panel; the trailing update is one rank-2nb gemm per row block.
constexpr int64_t kTridiagonalBlock = 32;
// Reflectors applied together in the back-transformation (I - V T V^T: three gemms).
constexpr int64_t kBackTransformBlock = 64;
// Fixed row partition of a symmetric matrix-vector product, independent of the thread count.
constexpr int64_t kSymvParts = 16;

// H = I - tau v v^T with v[0] = 1 maps (alpha, x) to (beta, 0, ..., 0). Overwrites x with
// v[1:] and returns (tau, beta); tau = 0 (H = I) when x is already zero.
template <Real T>
std::pair<T, T> householder(T alpha, T* x, int64_t n) {
  const T xnorm = norm(x, n);
  if (xnorm == 0) return {T(0), alpha};
  const T beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
  scale(T(1) / (alpha - beta), x, n);
  return {(beta - alpha) / beta, beta};
}

// y = S v for the symmetric S = r[i0:i0+m, i0:i0+m] stored in its upper triangle (row stride
// ld). Each row is read once, for its dot with v and its axpy into y; rows are split into
// parts of equal area with private y's added in order, so the sum is thread-count free.
template <Real T>
void symv_upper(const T* r, int64_t ld, int64_t i0, int64_t m, const T* v, T* y) {
  const int64_t parts = m * m >= 4 * kParallelThreshold ? kSymvParts : 1;
  std::vector<int64_t> bounds(static_cast<size_t>(parts + 1), m);
  bounds[0] = 0;
  const double total = 0.5 * static_cast<double>(m) * static_cast<double>(m + 1);
  for (int64_t row = 0, p = 1; row < m && p < parts; ++row) {
    const double done = static_cast<double>(row) * static_cast<double>(m) -
                        0.5 * static_cast<double>(row) * static_cast<double>(row - 1);
    while (p < parts && done >= total * static_cast<double>(p) / static_cast<double>(parts)) {
      bounds[static_cast<size_t>(p++)] = row;
    }
  }
  std::vector<T> partial(static_cast<size_t>(parts * m), T(0));
#pragma omp parallel for schedule(static) if (parts > 1)
  for (int64_t p = 0; p < parts; ++p) {
    T* yp = partial.data() + p * m;
    for (int64_t k = bounds[static_cast<size_t>(p)]; k < bounds[static_cast<size_t>(p + 1)]; ++k) {
      const T* row = r + (i0 + k) * ld + i0;
      yp[k] += dot_serial(row + k, v + k, m - k);
      const T vk = v[k];
#pragma omp simd
      for (int64_t j = k + 1; j < m; ++j) yp[j] += vk * row[j];
    }
  }
  std::copy_n(partial.data(), m, y);
  for (int64_t p = 1; p < parts; ++p) {
    const T* yp = partial.data() + p * m;
    for (int64_t j = 0; j < m; ++j) y[j] += yp[j];
  }
}

// Reduces rows [i0, i1) (LAPACK's dlatrd, in rows): row i is first brought up to date with the
// panel's earlier reflectors, then its reflector v_i and w_i = tau (A' v - (tau/2)(v^T A' v) v)
// are formed, where A' is the trailing matrix updated by the panel so far; the update
// A' -= v w^T + w v^T itself is deferred to one gemm per panel. vw holds the reflectors in rows
// [0, nb) and the w's in rows [nb, 2nb), each n long.
template <Real T>
void tridiagonal_panel(T* r, int64_t n, int64_t i0, int64_t i1, T* vw, int64_t nb, T* d, T* e,
                       T* tau) {
  std::vector<const T*> vrows(static_cast<size_t>(nb)), wrows(static_cast<size_t>(nb));
  std::vector<T> h1(static_cast<size_t>(nb)), h2(static_cast<size_t>(nb));
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t c = i - i0;
    T* a = r + i * n + i;  // row i from the diagonal on
    auto v_row = [&](int64_t p) { return vw + p * n; };
    auto w_row = [&](int64_t p) { return vw + (nb + p) * n; };
    if (c > 0) {
      // a -= V(i, :c) W(i:, :c)^T + W(i, :c) V(i:, :c)^T
      for (int64_t p = 0; p < c; ++p) {
        vrows[p] = v_row(p) + i;
        wrows[p] = w_row(p) + i;
        h1[p] = v_row(p)[i];
        h2[p] = w_row(p)[i];
      }
      subtract_combination(wrows.data(), c, h1.data(), a, n - i);
      subtract_combination(vrows.data(), c, h2.data(), a, n - i);
    }
    d[i] = a[0];
    if (i == n - 1) break;
    const int64_t m = n - i - 1;
    const auto [t, beta] = householder(a[1], a + 2, m - 1);
    e[i] = beta;
    tau[i] = t;
    a[1] = beta;  // the reflector's tail stays in a[2:] for the back-transformation
    T* v = v_row(c) + i + 1;
    T* w = w_row(c) + i + 1;
    v[0] = 1;
    std::copy_n(a + 2, m - 1, v + 1);
    if (t == 0) {
      std::fill_n(w, m, T(0));
      continue;
    }
    symv_upper(r, n, i + 1, m, v, w);
    if (c > 0) {
      // w -= V (W^T v) + W (V^T v), the panel's deferred updates applied to v.
      for (int64_t p = 0; p < c; ++p) {
        vrows[p] = v_row(p) + i + 1;
        wrows[p] = w_row(p) + i + 1;
      }
      project(wrows.data(), c, v, m, h1.data());
      project(vrows.data(), c, v, m, h2.data());
      subtract_combination(vrows.data(), c, h1.data(), w, m);
      subtract_combination(wrows.data(), c, h2.data(), w, m);
    }
    scale(t, w, m);
    axpy(T(-0.5) * t * dot(w, v, m), v, w, m);
  }
}

// Reduces the symmetric matrix in the upper triangle of r [n, n] to tridiagonal form
// Q^T A Q = tridiag(e, d, e), Q = H_0 ... H_{n-2}. Reflector i is stored as r(i, i + 2:) with
// an implicit 1 at (i, i + 1), its tau in tau[i].
template <Real T>
void tridiagonalize(T* r, int64_t n, T* d, T* e, T* tau) {
  const int64_t nb = kTridiagonalBlock;
  // Rows: the panel's v's, its w's, and the v's again, so that [V W] and [W V] are both
  // plain strided views for the trailing gemm.
  std::vector<T> vw(static_cast<size_t>(3 * nb * n));
  for (int64_t i0 = 0; i0 < n; i0 += nb) {
    const int64_t i1 = std::min(n, i0 + nb);
    tridiagonal_panel(r, n, i0, i1, vw.data(), nb, d, e, tau);
    if (i1 == n) break;
    const int64_t m = n - i1;
    for (int64_t p = 0; p < nb; ++p) {
      std::copy_n(vw.data() + p * n + i1, m, vw.data() + (2 * nb + p) * n + i1);
    }
    // A22 -= V W^T + W V^T: [m, 2nb] x [2nb, m] -> [m, m], upper triangle
    triangular_update(Triangle::upper, MatrixRef<const T>{vw.data() + i1, m, 2 * nb, 1, n},
                      MatrixRef<const T>{vw.data() + nb * n + i1, 2 * nb, m, n, 1},
                      MatrixRef<T>{r + i1 * n + i1, m, m, n, 1});
  }
}

// x [n, cols] <- Q x for the Q of tridiagonalize, blocks of reflectors applied as
// I - V Tf V^T (LAPACK's dlarft/dlarfb), the last block first.
template <Real T>
void apply_reflectors(const T* r, int64_t n, const T* tau, T* x, int64_t cols) {
  const int64_t count = n - 1;
  if (count <= 0) return;
  const int64_t nb = kBackTransformBlock;
  std::vector<T> vt, gram(static_cast<size_t>(nb * nb)), tf(static_cast<size_t>(nb * nb));
  std::vector<T> y(static_cast<size_t>(nb * cols)), ty(static_cast<size_t>(nb * cols));
  for (int64_t b0 = (count - 1) / nb * nb; b0 >= 0; b0 -= nb) {
    const int64_t kb = std::min(nb, count - b0);
    const int64_t m = n - b0 - 1;  // the block's reflectors live in rows [b0 + 1, n)
    vt.assign(static_cast<size_t>(kb * m), T(0));
    for (int64_t p = 0; p < kb; ++p) {
      T* vp = vt.data() + p * m;
      vp[p] = 1;
      const T* tail = r + (b0 + p) * n + (b0 + p + 2);
      std::copy_n(tail, m - p - 1, vp + p + 1);
    }
    const MatrixRef<const T> vt_ref{vt.data(), kb, m, m, 1};
    const MatrixRef<const T> v_ref{vt.data(), m, kb, 1, m};
    // Tf upper triangular with H_b0 ... H_(b0+kb-1) = I - V Tf V^T:
    // Tf(:j, j) = -tau_j Tf(:j, :j) (V(:, :j)^T v_j).
    // [kb, m] x [m, kb] -> [kb, kb]
    gemm_strided(T(1), vt_ref, v_ref, T(0), MatrixRef<T>{gram.data(), kb, kb, kb, 1});
    std::fill(tf.begin(), tf.end(), T(0));
    for (int64_t j = 0; j < kb; ++j) {
      const T tj = tau[b0 + j];
      for (int64_t i = 0; i < j; ++i) {
        T s = 0;
        for (int64_t l = i; l < j; ++l) s += tf[i * kb + l] * gram[l * kb + j];
        tf[i * kb + j] = -tj * s;
      }
      tf[j * kb + j] = tj;
    }
    const MatrixRef<T> xs{x + (b0 + 1) * cols, m, cols, cols, 1};
    // [kb, m] x [m, cols] -> [kb, cols]
    gemm_strided(T(1), vt_ref, as_const(xs), T(0), MatrixRef<T>{y.data(), kb, cols, cols, 1});
    // [kb, kb] x [kb, cols] -> [kb, cols]
    gemm_strided(T(1), MatrixRef<const T>{tf.data(), kb, kb, kb, 1},
                 MatrixRef<const T>{y.data(), kb, cols, cols, 1}, T(0),
                 MatrixRef<T>{ty.data(), kb, cols, cols, 1});
    // [m, kb] x [kb, cols] -> [m, cols]
    gemm_strided(T(-1), v_ref, MatrixRef<const T>{ty.data(), kb, cols, cols, 1}, T(1), xs);
  }
}

// out[i, k] = zt[order[k], i]: eigenvector rows to sorted columns, in cache-sized tiles.
template <Real T>
void transpose_sorted(const T* zt, int64_t n, const std::vector<int64_t>& order, T* out,
                      int64_t cols) {
  constexpr int64_t kTile = 32;
  for (int64_t k0 = 0; k0 < cols; k0 += kTile) {
    for (int64_t i0 = 0; i0 < n; i0 += kTile) {
      for (int64_t k = k0; k < std::min(cols, k0 + kTile); ++k) {
        const T* src = zt + order[static_cast<size_t>(k)] * n;
        for (int64_t i = i0; i < std::min(n, i0 + kTile); ++i) out[i * cols + k] = src[i];
      }
    }
  }
}

// Checks a for eigh and loads (a + a^T) / 2, scaled by 2^-exponent so that its largest entry
// is in [0.5, 1) (no overflow or harmful underflow in the norms), into the upper triangle of r.
template <Real T>
int load_symmetric(const Tensor<T>& a, T tolerance, std::string_view op, T* r) {
  check_square(a, op);
  const int64_t n = a.shape()[0];
  const T* src = a.data();
  const int64_t rs = a.strides()[0], cs = a.strides()[1];
  auto at = [&](int64_t i, int64_t j) { return src[i * rs + j * cs]; };
  T amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const T v = at(i, j);
      if (!std::isfinite(v)) {
        fail(op, "matrix of shape {} has a non-finite entry {} at ({}, {})", to_string(a.shape()),
             v, i, j);
      }
      amax = std::max(amax, std::abs(v));
    }
  }
  T worst = 0;
  int64_t wi = 0, wj = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) {
      const T diff = std::abs(at(i, j) - at(j, i));
      if (diff > worst) {
        worst = diff;
        wi = i;
        wj = j;
      }
    }
  }
  if (worst > tolerance * amax) {
    fail(op,
         "matrix of shape {} is not symmetric: a({}, {}) = {} and a({}, {}) = {} differ by {}, "
         "more than the tolerance {} * max|a| = {}",
         to_string(a.shape()), wi, wj, at(wi, wj), wj, wi, at(wj, wi), worst, tolerance,
         tolerance * amax);
  }
  int exponent = 0;
  if (amax > 0) std::frexp(amax, &exponent);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i; j < n; ++j) {
      r[i * n + j] = (std::ldexp(at(i, j), -exponent) + std::ldexp(at(j, i), -exponent)) / 2;
    }
  }
  return exponent;
}

template <Real T>
EighResult<T> eigh_impl(const Tensor<T>& a, T tolerance, bool vectors, std::string_view op) {
  LAMPPOST_CHECK(tolerance >= 0, op, "symmetry tolerance must be >= 0, got {}", tolerance);
  check_square(a, op);
  const int64_t n = a.shape()[0];
  std::vector<T> r(static_cast<size_t>(n * n)), d(static_cast<size_t>(n));
  std::vector<T> e(static_cast<size_t>(std::max<int64_t>(n - 1, 0)) + 1), tau(e.size());
  const int exponent = load_symmetric(a, tolerance, op, r.data());
  tridiagonalize(r.data(), n, d.data(), e.data(), tau.data());

  std::vector<T> zt;
  if (vectors) {
    zt.assign(static_cast<size_t>(n * n), T(0));
    for (int64_t i = 0; i < n; ++i) zt[i * n + i] = 1;
  }
  tridiagonal_eigen(d.data(), e.data(), n, vectors ? zt.data() : nullptr, n, kMaxSweeps, op);
  const auto order = argsort(d.data(), n);

  EighResult<T> result;
  result.eigenvalues = Tensor<T>::empty({n});
  for (int64_t k = 0; k < n; ++k) {
    result.eigenvalues.data()[k] = std::ldexp(d[order[k]], exponent);
  }
  if (vectors) {
    result.eigenvectors = Tensor<T>::empty({n, n});
    transpose_sorted(zt.data(), n, order, result.eigenvectors.data(), n);
    apply_reflectors(r.data(), n, tau.data(), result.eigenvectors.data(), n);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Least squares

// Throws naming the first non-finite entry of the 2-d t (C order); what names the operand.
template <Real T>
void check_finite_matrix(const Tensor<T>& t, std::string_view op, std::string_view what,
                         const Shape& shown) {
  const T* p = t.data();
  const int64_t rows = t.shape()[0], cols = t.shape()[1];
  const int64_t rs = t.strides()[0], cs = t.strides()[1];
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const T v = p[i * rs + j * cs];
      if (!std::isfinite(v)) [[unlikely]] {
        if (shown.size() == 1) {
          fail(op, "{} of shape {} has a non-finite entry {} at {}", what, to_string(shown), v, i);
        }
        fail(op, "{} of shape {} has a non-finite entry {} at ({}, {})", what, to_string(shown), v,
             i, j);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Operators

// Runs y = a(x) and returns y's contiguous data after checking its shape.
template <Real T>
T* apply_operator(const LinearOperator<T>& a, const Tensor<T>& x, Tensor<T>& y, std::string_view op,
                  std::string_view what) {
  a(x, y);
  LAMPPOST_CHECK(y.shape() == x.shape(), op, "the {} returned shape {} for an input of shape {}",
                 what, to_string(y.shape()), to_string(x.shape()));
  if (!y.is_contiguous()) y = y.contiguous();
  return y.data();
}

// ---------------------------------------------------------------------------------------------
// Lanczos helpers

// Two Gram-Schmidt passes decide whether a vector is numerically inside the span: a pass that
// removes more than this fraction of the norm calls for another (Daniel, Gragg, Kaufman and
// Stewart's criterion, as in ARPACK).
constexpr double kReorthogonalizeRatio = 0.7071067811865476;

// The Ritz values wanted from T_m, as indices into tridiagonal_eigen's (unsorted) output.
template <Real T>
struct RitzSelection {
  std::vector<int64_t> index;  // ascending values
  std::vector<T> values;
  std::vector<T> residuals;  // |beta_m s_m|, the last component of T's eigenvector times beta_m
  T scale = 0;               // max |theta|, the yardstick of the tolerance
  bool converged = false;
};

template <Real T>
std::vector<T> tridiagonal_values(const T* alpha, const T* beta, int64_t m) {
  std::vector<T> d(alpha, alpha + m), e(beta, beta + std::max<int64_t>(m - 1, 0));
  e.push_back(T(0));
  tridiagonal_eigen(d.data(), e.data(), m, static_cast<T*>(nullptr), 0, kMaxSweeps, "lanczos");
  return d;
}

template <Real T>
RitzSelection<T> select_ritz(const std::vector<T>& alpha, const std::vector<T>& beta, T beta_next,
                             const LanczosOptions<T>& options, int64_t wanted) {
  const int64_t m = static_cast<int64_t>(alpha.size());
  std::vector<T> d(alpha), e(beta.begin(), beta.begin() + (m - 1));
  e.push_back(T(0));
  std::vector<T> last(static_cast<size_t>(m), T(0));
  last[static_cast<size_t>(m - 1)] = 1;
  tridiagonal_eigen(d.data(), e.data(), m, last.data(), 1, kMaxSweeps, "lanczos");
  const auto order = argsort(d.data(), m);
  T scale_estimate = 0;
  for (T theta : d) scale_estimate = std::max(scale_estimate, std::abs(theta));

  // Candidates in ascending order. Without reorthogonalisation, converged eigenvalues come back
  // as several copies (kept once) and spurious values appear that are also eigenvalues of T
  // without its first row and column (Cullum and Willoughby); those are dropped.
  std::vector<int64_t> candidates;
  if (options.full_reorthogonalization || m == 1) {
    candidates = order;
  } else {
    const T same = 64 * std::numeric_limits<T>::epsilon() * scale_estimate * std::sqrt(T(m));
    auto hat = tridiagonal_values(alpha.data() + 1, beta.data() + 1, m - 1);
    std::sort(hat.begin(), hat.end());
    for (int64_t g0 = 0; g0 < m;) {
      int64_t g1 = g0 + 1;
      while (g1 < m && d[order[g1]] - d[order[g1 - 1]] <= same) ++g1;
      if (g1 - g0 > 1) {
        int64_t best = order[g0];
        for (int64_t q = g0; q < g1; ++q) {
          if (std::abs(last[order[q]]) < std::abs(last[best])) best = order[q];
        }
        candidates.push_back(best);
      } else {
        const T theta = d[order[g0]];
        const auto it = std::lower_bound(hat.begin(), hat.end(), theta - same);
        if (it == hat.end() || *it > theta + same) candidates.push_back(order[g0]);
      }
      g0 = g1;
    }
  }

  const int64_t count = static_cast<int64_t>(candidates.size());
  const int64_t k = options.k;
  std::vector<int64_t> chosen;
  auto take = [&](int64_t from, int64_t to) {
    for (int64_t q = std::max<int64_t>(from, 0); q < std::min(to, count); ++q) {
      if (chosen.empty() || chosen.back() < q) chosen.push_back(q);
    }
  };
  if (options.which != Which::largest) take(0, k);
  if (options.which != Which::smallest) take(count - k, count);

  RitzSelection<T> sel;
  sel.scale = scale_estimate;
  sel.converged = static_cast<int64_t>(chosen.size()) == wanted;
  for (int64_t q : chosen) {
    const int64_t idx = candidates[static_cast<size_t>(q)];
    const T residual = std::abs(beta_next * last[idx]);
    sel.index.push_back(idx);
    sel.values.push_back(d[idx]);
    sel.residuals.push_back(residual);
    if (!(residual <= options.tol * scale_estimate)) sel.converged = false;
  }
  return sel;
}

// The three-term step after w = A v: w <- w - alpha v - beta_prev v_prev (v_prev may be null)
// in one pass, returning ||w|| (fixed blocks summed in order, as in project). Both passes of
// non-reorthogonalised Lanczos run it, so the second regenerates the first's vectors bit for
// bit.
template <Real T>
T lanczos_recurrence(T* w, const T* v, const T* v_prev, T alpha, T beta_prev, int64_t n) {
  const T* vp = v_prev != nullptr ? v_prev : v;
  const T bp = v_prev != nullptr ? beta_prev : T(0);
  const int64_t blocks = ceil_div(n, kReduceBlock);
  std::vector<T> partial(static_cast<size_t>(blocks));
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i0 = b * kReduceBlock, i1 = std::min(n, i0 + kReduceBlock);
    T acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = i0; i < i1; ++i) {
      const T x = w[i] - alpha * v[i] - bp * vp[i];
      w[i] = x;
      acc += x * x;
    }
    partial[static_cast<size_t>(b)] = acc;
  }
  T sum = 0;
  for (T p : partial) sum += p;
  return std::sqrt(sum);
}

// out = a x, in one pass (out may be x).
template <Real T>
void scaled_copy(T a, const T* x, T* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = a * x[i];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The tridiagonal eigen-iteration (declared in the header for the Lanczos code and the tests)

template <Real T>
void tridiagonal_eigen(T* d, T* e, int64_t n, T* zt, int64_t cols, int max_sweeps,
                       std::string_view op) {
  if (n <= 1) return;
  // A power-of-two scale (exact) to a largest entry in [0.5, 1) keeps the squares in the
  // deflation test and in the rotations from overflowing, and lets the test use an absolute
  // floor.
  T amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(d[i]));
  for (int64_t i = 0; i + 1 < n; ++i) amax = std::max(amax, std::abs(e[i]));
  int exponent = 0;
  if (amax > 0) std::frexp(amax, &exponent);
  for (int64_t i = 0; i < n; ++i) d[i] = std::ldexp(d[i], -exponent);
  for (int64_t i = 0; i + 1 < n; ++i) e[i] = std::ldexp(e[i], -exponent);

  const T eps2 = std::numeric_limits<T>::epsilon() * std::numeric_limits<T>::epsilon();
  const T safe_min = std::numeric_limits<T>::min();
  // LAPACK's test: relative to the neighbouring diagonal entries, so graded matrices keep
  // their small eigenvalues' accuracy.
  auto negligible = [&](T off, T d0, T d1) {
    return off * off <= eps2 * std::abs(d0) * std::abs(d1) + safe_min;
  };
  std::vector<T> cs(static_cast<size_t>(n - 1)), sn(static_cast<size_t>(n - 1));

  for (int64_t l = 0; l < n;) {
    int64_t m = l;
    while (m < n - 1 && !negligible(e[m], d[m], d[m + 1])) ++m;
    if (m < n - 1) e[m] = 0;
    if (m == l) {
      ++l;
      continue;
    }
    // Deflate at the end with the smaller diagonal entry: QL from the top, QR from the bottom.
    const BlockView<T> view{d, e, l, m, std::abs(d[m]) < std::abs(d[l])};
    const int64_t size = m - l + 1;
    T noise = 0;  // eps * ||block||, once the block has stalled under the relative test
    auto split = [&](int64_t k) {
      return negligible(view.off(k), view.diag(k), view.diag(k + 1)) ||
             std::abs(view.off(k)) <= noise;
    };
    int sweeps = 0;
    for (int64_t s = 0; s < size - 1;) {
      int64_t j = s;
      while (j < size - 1 && !split(j)) ++j;
      if (j < size - 1) view.off(j) = 0;
      if (j == s) {
        ++s;
        sweeps = 0;
        continue;
      }
      if (sweeps == kRelativeSweeps && noise == 0) {
        T block_norm = 0;
        for (int64_t k = s; k <= j; ++k) {
          block_norm =
              std::max({block_norm, std::abs(view.diag(k)), k < j ? std::abs(view.off(k)) : T(0)});
        }
        noise = std::numeric_limits<T>::epsilon() * block_norm;
        continue;  // look for splits again before sweeping
      }
      if (sweeps++ == max_sweeps) {
        fail(op,
             "the tridiagonal QL/QR iteration did not converge: no eigenvalue split off a block "
             "of size {} after {} sweeps",
             j - s + 1, max_sweeps);
      }
      ql_sweep(view, s, j, cs.data(), sn.data());
      if (zt != nullptr) {
        const int64_t q0 = view.pair(s), q1 = view.pair(j - 1);
        apply_rotations(zt, cols, std::min(q0, q1), std::max(q0, q1), cs.data(), sn.data(),
                        !view.reversed);
      }
    }
    l = m + 1;
  }
  for (int64_t i = 0; i < n; ++i) d[i] = std::ldexp(d[i], exponent);
}

template void tridiagonal_eigen(float*, float*, int64_t, float*, int64_t, int, std::string_view);
template void tridiagonal_eigen(double*, double*, int64_t, double*, int64_t, int, std::string_view);

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Public API

template <Real T>
Tensor<T> cholesky(const Tensor<T>& a) {
  detail::check_square(a, "cholesky");
  const int64_t n = a.shape()[0];
  Tensor<T> l = Tensor<T>::zeros({n, n});
  T* w = l.data();
  const T* src = a.data();
  const int64_t rs = a.strides()[0], cs = a.strides()[1];
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      const T v = src[i * rs + j * cs];
      if (!std::isfinite(v)) {
        fail("cholesky", "matrix of shape {} has a non-finite entry {} at ({}, {})",
             to_string(a.shape()), v, i, j);
      }
      w[i * n + j] = v;
    }
  }
  // Right-looking blocks: factor the diagonal block, solve the panel below it against it, and
  // update the trailing lower triangle with one gemm per row block.
  std::vector<T> panel;
  for (int64_t k0 = 0; k0 < n; k0 += detail::kCholeskyBlock) {
    const int64_t k1 = std::min(n, k0 + detail::kCholeskyBlock), b = k1 - k0;
    detail::cholesky_diagonal_block(w, n, k0, k1, a.shape());
    if (k1 == n) break;
    const int64_t m = n - k1;
    // The panel is solved transposed, P = L11^-1 A21^T = L21^T, so that its rows are
    // contiguous for the substitution.
    panel.resize(static_cast<size_t>(b * m));
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t p = 0; p < b; ++p) panel[p * m + r] = w[(k1 + r) * n + k0 + p];
    }
    detail::trsm(Triangle::lower, detail::MatrixRef<const T>{w + k0 * n + k0, b, b, n, 1},
                 detail::MatrixRef<T>{panel.data(), b, m, m, 1});
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t p = 0; p < b; ++p) w[(k1 + r) * n + k0 + p] = panel[p * m + r];
    }
    // A22 -= L21 L21^T: [m, b] x [b, m] -> [m, m], lower triangle
    detail::triangular_update(Triangle::lower, detail::MatrixRef<const T>{panel.data(), m, b, 1, m},
                              detail::MatrixRef<const T>{panel.data(), b, m, m, 1},
                              detail::MatrixRef<T>{w + k1 * n + k1, m, m, n, 1});
  }
  for (int64_t i = 0; i < n; ++i) std::fill(w + i * n + i + 1, w + (i + 1) * n, T(0));
  return l;
}

template <Real T>
Tensor<T> solve_triangular(const Tensor<T>& t, const Tensor<T>& b, Triangle triangle, Op op) {
  return detail::solve_triangular_checked(t, b, triangle, op, "solve_triangular");
}

template <Real T>
Tensor<T> cholesky_solve(const Tensor<T>& l, const Tensor<T>& b) {
  Tensor<T> x = detail::solve_triangular_checked(l, b, Triangle::lower, Op::none, "cholesky_solve");
  detail::solve_triangular_in_place(l, Triangle::lower, Op::transpose, x.data(),
                                    b.ndim() == 2 ? b.shape()[1] : 1);
  return x;
}

template <Real T>
CgResult<T> conjugate_gradient(const LinearOperator<T>& a, const Tensor<T>& b,
                               const CgOptions<T>& options) {
  constexpr std::string_view kOp = "conjugate_gradient";
  LAMPPOST_CHECK(static_cast<bool>(a), kOp, "the operator is empty");
  LAMPPOST_CHECK(options.rtol >= 0 && std::isfinite(options.rtol), kOp,
                 "rtol must be finite and >= 0, got {}", options.rtol);
  LAMPPOST_CHECK(options.max_iterations >= 0, kOp, "max_iterations must be >= 0, got {}",
                 options.max_iterations);
  const int64_t n = b.numel();
  const Tensor<T> rhs = b.contiguous();
  const T* bp = rhs.data();
  for (int64_t i = 0; i < n; ++i) {
    LAMPPOST_CHECK(std::isfinite(bp[i]), kOp,
                   "right-hand side has a non-finite entry {} at flat index {}", bp[i], i);
  }
  const int64_t max_iterations = options.max_iterations > 0 ? options.max_iterations : 2 * n;

  CgResult<T> result;
  result.x = Tensor<T>::zeros(b.shape());
  if (options.x0) {
    LAMPPOST_CHECK(options.x0->shape() == b.shape(), kOp,
                   "initial guess of shape {} does not match the right-hand side of shape {}",
                   to_string(options.x0->shape()), to_string(b.shape()));
    result.x.assign(*options.x0);
  }
  const T b_norm = detail::norm(bp, n);
  if (b_norm == 0) {  // x = 0 is exact, whatever the guess
    result.x.fill(T(0));
    result.converged = true;
    return result;
  }
  const T target = options.rtol * b_norm;
  T* x = result.x.data();

  Tensor<T> r = rhs.clone(), z = Tensor<T>::empty(b.shape()), p = Tensor<T>::empty(b.shape());
  Tensor<T> q = Tensor<T>::empty(b.shape());
  // r = b - A x, recomputed from x (also to check convergence against the true residual).
  auto true_residual = [&]() {
    const T* ax = detail::apply_operator(a, result.x, q, kOp, "operator");
    T* rp = r.data();
    for (int64_t i = 0; i < n; ++i) rp[i] = bp[i] - ax[i];
    return detail::norm(rp, n);
  };
  // z = M^-1 r and r^T z, which must be positive.
  auto precondition = [&](int64_t iteration) {
    const T* zp = r.data();
    if (options.preconditioner) {
      zp = detail::apply_operator(options.preconditioner, r, z, kOp, "preconditioner");
    }
    const T rz = detail::dot(r.data(), zp, n);
    if (!(rz > 0)) {
      LAMPPOST_CHECK(std::isfinite(rz), kOp,
                     "the preconditioner returned non-finite values at iteration {}", iteration);
      fail(kOp, "the preconditioner is not positive definite: r^T M^-1 r = {} at iteration {}", rz,
           iteration);
    }
    return std::pair<const T*, T>{zp, rz};
  };

  T r_norm = options.x0 ? true_residual() : b_norm;
  if (r_norm <= target) {
    result.residual_norm = r_norm;
    result.converged = true;
    return result;
  }
  auto [zp, rz] = precondition(0);
  std::copy_n(zp, n, p.data());
  for (int64_t it = 1; it <= max_iterations; ++it) {
    T* pp = p.data();
    const T* qp = detail::apply_operator(a, p, q, kOp, "operator");
    const T pq = detail::dot(pp, qp, n);
    if (!(pq > 0)) {
      LAMPPOST_CHECK(std::isfinite(pq), kOp,
                     "the operator returned non-finite values at iteration {}", it);
      fail(kOp, "the operator is not positive definite: p^T A p = {} at iteration {}", pq, it);
    }
    const T step = rz / pq;
    detail::axpy(step, pp, x, n);
    detail::axpy(-step, qp, r.data(), n);
    result.iterations = it;
    r_norm = detail::norm(r.data(), n);
    bool restart = false;
    if (r_norm <= target) {
      // The recursive residual drifts from b - A x; only the true one decides, and when they
      // disagree the iteration restarts from the true residual.
      r_norm = true_residual();
      if (r_norm <= target) {
        result.residual_norm = r_norm;
        result.converged = true;
        return result;
      }
      restart = true;
    }
    const auto [zn, rz_new] = precondition(it);
    if (restart) {
      std::copy_n(zn, n, pp);
    } else {
      const T beta = rz_new / rz;
      for (int64_t i = 0; i < n; ++i) pp[i] = zn[i] + beta * pp[i];
    }
    rz = rz_new;
  }
  result.residual_norm = true_residual();
  result.converged = result.residual_norm <= target;
  return result;
}

template <Real T>
EighResult<T> eigh(const Tensor<T>& a, T symmetry_tolerance) {
  return detail::eigh_impl(a, symmetry_tolerance, true, "eigh");
}

template <Real T>
Tensor<T> eigvalsh(const Tensor<T>& a, T symmetry_tolerance) {
  return detail::eigh_impl(a, symmetry_tolerance, false, "eigvalsh").eigenvalues;
}

template <Real T>
EighResult<T> eigh_tridiagonal(const Tensor<T>& diagonal, const Tensor<T>& off_diagonal,
                               bool vectors) {
  constexpr std::string_view kOp = "eigh_tridiagonal";
  LAMPPOST_CHECK(diagonal.ndim() == 1, kOp, "diagonal must be 1-d, got shape {}",
                 to_string(diagonal.shape()));
  const int64_t n = diagonal.shape()[0];
  LAMPPOST_CHECK(off_diagonal.ndim() == 1 && off_diagonal.shape()[0] == std::max<int64_t>(n - 1, 0),
                 kOp, "off-diagonal of shape {} does not fit a diagonal of shape {}",
                 to_string(off_diagonal.shape()), to_string(diagonal.shape()));
  std::vector<T> d = diagonal.to_vector(), e = off_diagonal.to_vector();
  for (int64_t i = 0; i < n; ++i) {
    LAMPPOST_CHECK(std::isfinite(d[i]) && (i + 1 == n || std::isfinite(e[i])), kOp,
                   "non-finite entry at row {}", i);
  }
  e.push_back(T(0));
  std::vector<T> zt;
  if (vectors) {
    zt.assign(static_cast<size_t>(n * n), T(0));
    for (int64_t i = 0; i < n; ++i) zt[i * n + i] = 1;
  }
  detail::tridiagonal_eigen(d.data(), e.data(), n, vectors ? zt.data() : nullptr, n,
                            detail::kMaxSweeps, kOp);
  const auto order = detail::argsort(d.data(), n);
  EighResult<T> result;
  result.eigenvalues = Tensor<T>::empty({n});
  for (int64_t k = 0; k < n; ++k) result.eigenvalues.data()[k] = d[order[k]];
  if (vectors) {
    result.eigenvectors = Tensor<T>::empty({n, n});
    detail::transpose_sorted(zt.data(), n, order, result.eigenvectors.data(), n);
  }
  return result;
}

template <Real T>
LeastSquaresResult<T> least_squares(const Tensor<T>& a, const Tensor<T>& b,
                                    const LeastSquaresOptions<T>& options) {
  constexpr std::string_view kOp = "least_squares";
  LAMPPOST_CHECK(a.ndim() == 2, kOp, "needs a 2-d matrix, got shape {}", to_string(a.shape()));
  const int64_t n = a.shape()[0], m = a.shape()[1];
  LAMPPOST_CHECK((b.ndim() == 1 || b.ndim() == 2) && b.shape()[0] == n, kOp,
                 "right-hand side of shape {} does not match the matrix of shape {}: it must be "
                 "[{}] or [{}, k]",
                 to_string(b.shape()), to_string(a.shape()), n, n);
  LAMPPOST_CHECK(options.ridge >= 0 && std::isfinite(options.ridge), kOp,
                 "ridge must be finite and >= 0, got {}", options.ridge);
  LAMPPOST_CHECK(std::isfinite(options.cutoff), kOp, "cutoff must be finite, got {}",
                 options.cutoff);
  const int64_t k = b.ndim() == 2 ? b.shape()[1] : 1;
  const Tensor<T> rhs = b.ndim() == 2 ? b : b.reshape({n, 1});
  detail::check_finite_matrix(a, kOp, "matrix", a.shape());
  detail::check_finite_matrix(rhs, kOp, "right-hand side", b.shape());

  const int64_t p = std::min(n, m);
  const bool wide = m >= n;  // the Gram matrix is A A^T, else A^T A
  LeastSquaresResult<T> result;
  result.x = b.ndim() == 2 ? Tensor<T>::zeros({m, k}) : Tensor<T>::zeros({m});
  result.singular_values = Tensor<T>::zeros({p});
  if (p == 0) return result;

  // Half of A A^T's multiply-adds, which dominate least squares when m >> n (or n >> m). Blocks
  // as tall as the triangular updates' (the inner dimension is the long one here, so each block's
  // GEMM is costly and taller blocks keep it efficient).
  Tensor<T> g = Tensor<T>::empty({p, p});
  gemm_symmetric(T(1), wide ? a : a.t(), g, SymmetricFill::full, detail::kUpdateRows);
  for (int64_t i = 0; i < p; ++i) {
    LAMPPOST_CHECK(std::isfinite(g.data()[i * p + i]), kOp,
                   "the Gram matrix of the matrix of shape {} overflows in {} (row {} of {} has "
                   "squared norm {}): rescale the matrix",
                   to_string(a.shape()), std::is_same_v<T, float> ? "float" : "double", i,
                   wide ? "A" : "A^T", g.data()[i * p + i]);
  }
  // The Gram matrix is exactly symmetric, so no tolerance is needed.
  const EighResult<T> e = detail::eigh_impl(g, T(0), true, kOp);
  const T* l = e.eigenvalues.data();  // ascending
  const T largest = std::max(l[p - 1], T(0));
  const T cutoff = options.cutoff < 0 ? T(p) * std::numeric_limits<T>::epsilon() : options.cutoff;
  const T threshold = cutoff * largest;
  while (result.rank < p && l[p - 1 - result.rank] > threshold) ++result.rank;
  for (int64_t i = 0; i < p; ++i) {
    result.singular_values.data()[i] = std::sqrt(std::max(l[p - 1 - i], T(0)));
  }

  // The eigenvectors used are the last `used` columns (the largest eigenvalues), scaled by w.
  const bool ridge = options.ridge > 0;
  const int64_t used = ridge ? p : result.rank;
  if (used == 0) return result;
  const int64_t first = p - used;
  const Tensor<T> v = e.eigenvectors.slice(1, first, p);
  auto weigh = [&](Tensor<T>& c) {  // c [used, k] <- diag(w) c
    T* cp = c.data();
    for (int64_t i = 0; i < used; ++i) {
      const T li = l[first + i];
      const T w = ridge ? T(1) / (std::max(li, T(0)) + options.ridge) : T(1) / li;
      for (int64_t j = 0; j < k; ++j) cp[i * k + j] *= w;
    }
  };
  Tensor<T> x = result.x.reshape({m, k});
  Tensor<T> c = Tensor<T>::empty({used, k});
  if (wide) {
    gemm(T(1), v, Op::transpose, rhs, Op::none, T(0), c);  // [used, n] x [n, k] -> [used, k]
    weigh(c);
    Tensor<T> y = Tensor<T>::empty({n, k});
    gemm(T(1), v, Op::none, c, Op::none, T(0), y);       // [n, used] x [used, k] -> [n, k]
    gemm(T(1), a, Op::transpose, y, Op::none, T(0), x);  // [m, n] x [n, k] -> [m, k]
  } else {
    Tensor<T> z = Tensor<T>::empty({m, k});
    gemm(T(1), a, Op::transpose, rhs, Op::none, T(0), z);  // [m, n] x [n, k] -> [m, k]
    gemm(T(1), v, Op::transpose, z, Op::none, T(0), c);    // [used, m] x [m, k] -> [used, k]
    weigh(c);
    gemm(T(1), v, Op::none, c, Op::none, T(0), x);  // [m, used] x [used, k] -> [m, k]
  }
  return result;
}

template <Real T>
LanczosResult<T> lanczos(const LinearOperator<T>& a, int64_t n, const LanczosOptions<T>& options) {
  constexpr std::string_view kOp = "lanczos";
  LAMPPOST_CHECK(static_cast<bool>(a), kOp, "the operator is empty");
  LAMPPOST_CHECK(n >= 1, kOp, "the operator size must be >= 1, got {}", n);
  LAMPPOST_CHECK(options.k >= 1, kOp, "k must be >= 1, got {}", options.k);
  LAMPPOST_CHECK(options.max_iterations >= 0, kOp, "max_iterations must be >= 0, got {}",
                 options.max_iterations);
  LAMPPOST_CHECK(options.tol > 0 && std::isfinite(options.tol), kOp,
                 "tol must be finite and > 0, got {}", options.tol);
  const int64_t ends = options.which == Which::both_ends ? 2 : 1;
  const int64_t wanted = std::min(n, ends * options.k);
  const int64_t cap =
      std::min(n, options.max_iterations > 0 ? options.max_iterations
                                             : std::max<int64_t>(200, 20 * options.k));
  LAMPPOST_CHECK(cap >= wanted, kOp, "max_iterations {} is below the {} eigenvalues asked for", cap,
                 wanted);
  const bool reorthogonalize = options.full_reorthogonalization;
  const T eps = std::numeric_limits<T>::epsilon();

  Rng rng(options.seed);
  auto start_vector = [&]() {
    Tensor<T> v = rng.normal<T>({n});
    detail::scale(T(1) / detail::norm(v.data(), n), v.data(), n);
    return v;
  };

  std::vector<T> alpha, beta;    // T_m: diagonal, and beta[j] couples j and j + 1
  std::vector<Tensor<T>> basis;  // all Lanczos vectors, or the last two
  std::vector<const T*> rows;    // basis data, for the Gram-Schmidt kernels
  std::vector<T> h;
  basis.push_back(start_vector());
  Tensor<T> w = Tensor<T>::empty({n}), y = w;
  T norm_estimate = 0;  // max row sum of |T_m|, a lower bound of ||A||
  detail::RitzSelection<T> sel;
  bool invariant = false;

  for (;;) {
    const int64_t j = static_cast<int64_t>(alpha.size());
    const Tensor<T>& v = basis.back();
    const T* v_prev = basis.size() > 1 ? basis[basis.size() - 2].data() : nullptr;
    // w = A v in our own buffer: the operator may have handed back storage it keeps.
    const T* av = detail::apply_operator(a, v, y, kOp, "operator");
    if (!y.shares_storage_with(w)) {
      std::copy_n(av, n, w.data());
      y = w;
    }
    T* wp = w.data();
    T aj = detail::dot(v.data(), wp, n);
    T bj = detail::lanczos_recurrence(wp, v.data(), v_prev, aj, j > 0 ? beta.back() : T(0), n);
    LAMPPOST_CHECK(std::isfinite(aj) && std::isfinite(bj), kOp,
                   "the operator returned non-finite values at iteration {}", j);
    if (reorthogonalize) {
      rows.clear();
      for (const auto& q : basis) rows.push_back(q.data());
      h.resize(rows.size());
      for (int pass = 0; pass < 2 && bj > 0; ++pass) {
        detail::project(rows.data(), static_cast<int64_t>(rows.size()), wp, n, h.data());
        detail::subtract_combination(rows.data(), static_cast<int64_t>(rows.size()), h.data(), wp,
                                     n);
        aj += h.back();
        const T before = bj;
        bj = detail::norm(wp, n);
        if (bj >= T(detail::kReorthogonalizeRatio) * before) break;
        if (pass == 1) bj = 0;  // w lies in the span: an invariant subspace
      }
      invariant = bj == 0;
    } else {
      invariant = bj <= eps * std::max(norm_estimate, std::abs(aj));
    }
    alpha.push_back(aj);
    norm_estimate = std::max(norm_estimate, std::abs(aj) + (j > 0 ? beta.back() : T(0)) + bj);
    const int64_t m = j + 1;
    const bool last = m == cap || (invariant && !reorthogonalize);
    // A check costs O(m^2): every step while m is small, then every m/32 steps, which runs at
    // most ~3% more operator applications than needed.
    const bool check_now = m >= wanted && (m <= 32 || m % detail::ceil_div(m, 32) == 0);
    if (check_now || invariant || last) {
      sel = detail::select_ritz(alpha, beta, invariant ? T(0) : bj, options, wanted);
      if (sel.converged) break;
    }
    if (last) break;

    // Without reorthogonalisation the oldest vector's buffer is free again.
    Tensor<T> next = !reorthogonalize && basis.size() == 2 ? basis.front() : Tensor<T>::empty({n});
    if (invariant) {
      // Continue in the orthogonal complement with a fresh vector; T_m splits there (beta 0).
      next = start_vector();
      for (int pass = 0; pass < 2; ++pass) {
        detail::project(rows.data(), static_cast<int64_t>(rows.size()), next.data(), n, h.data());
        detail::subtract_combination(rows.data(), static_cast<int64_t>(rows.size()), h.data(),
                                     next.data(), n);
      }
      detail::scale(T(1) / detail::norm(next.data(), n), next.data(), n);
      beta.push_back(T(0));
    } else {
      detail::scaled_copy(T(1) / bj, wp, next.data(), n);
      beta.push_back(bj);
    }
    basis.push_back(std::move(next));
    if (!reorthogonalize && basis.size() > 2) basis.erase(basis.begin());
  }

  const int64_t m = static_cast<int64_t>(alpha.size());
  const int64_t count = static_cast<int64_t>(sel.index.size());
  LanczosResult<T> result;
  result.iterations = m;
  result.converged = sel.converged;
  result.eigenvalues = Tensor<T>::from_vector(sel.values);
  result.residual_norms = Tensor<T>::from_vector(sel.residuals);
  if (!options.compute_vectors || count == 0) return result;

  // Ritz vectors y_i = V s_i from T_m's eigenvectors (the same eigenvalues, bit for bit, as
  // the selection used: the rotations do not feed back into d and e).
  std::vector<T> d(alpha), e(beta.begin(), beta.begin() + (m - 1)), s(static_cast<size_t>(m * m));
  e.push_back(T(0));
  for (int64_t i = 0; i < m; ++i) s[i * m + i] = 1;
  detail::tridiagonal_eigen(d.data(), e.data(), m, s.data(), m, detail::kMaxSweeps, kOp);
  Tensor<T> vectors = Tensor<T>::zeros({n, count});
  T* out = vectors.data();
  auto accumulate = [&](const T* vj, int64_t jj) {
#pragma omp parallel for schedule(static) if (n * count >= kParallelThreshold)
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c < count; ++c) out[r * count + c] += vj[r] * s[sel.index[c] * m + jj];
    }
  };
  if (reorthogonalize) {
    for (int64_t jj = 0; jj < m; ++jj) accumulate(basis[jj].data(), jj);
  } else {
    // Regenerate the vectors: the same start, operator and coefficients give the same ones.
    rng = Rng(options.seed);
    Tensor<T> v = start_vector(), v_prev = Tensor<T>::empty({n}), next = Tensor<T>::empty({n});
    for (int64_t jj = 0; jj < m; ++jj) {
      accumulate(v.data(), jj);
      if (jj + 1 == m) break;
      y = next;
      const T* av = detail::apply_operator(a, v, y, kOp, "operator");
      T* np = next.data();
      if (!y.shares_storage_with(next)) std::copy_n(av, n, np);
      (void)detail::lanczos_recurrence(np, v.data(), jj > 0 ? v_prev.data() : nullptr, alpha[jj],
                                       jj > 0 ? beta[jj - 1] : T(0), n);
      detail::scaled_copy(T(1) / beta[jj], np, np, n);
      std::swap(v_prev, v);  // v_prev <- v, v <- next, next <- the free buffer
      std::swap(v, next);
    }
  }
  // Normalise, and replace the residual estimates by ||A y - theta y||.
  Tensor<T> column = Tensor<T>::empty({n});
  result.converged = count == wanted;
  const T tol = options.tol * sel.scale;
  for (int64_t c = 0; c < count; ++c) {
    T* col = column.data();
    for (int64_t r = 0; r < n; ++r) col[r] = out[r * count + c];
    const T inv = T(1) / detail::norm(col, n);
    detail::scale(inv, col, n);
    for (int64_t r = 0; r < n; ++r) out[r * count + c] = col[r];
    const T* ay = detail::apply_operator(a, column, y, kOp, "operator");
    T res = 0;
    for (int64_t r = 0; r < n; ++r) {
      const T diff = ay[r] - sel.values[c] * col[r];
      res += diff * diff;
    }
    result.residual_norms.data()[c] = std::sqrt(res);
    if (!(std::sqrt(res) <= tol)) result.converged = false;
  }
  result.eigenvectors = vectors;
  return result;
}

#define LAMPPOST_LINALG_INSTANTIATE(T)                                                   \
  template Tensor<T> cholesky(const Tensor<T>&);                                         \
  template Tensor<T> solve_triangular(const Tensor<T>&, const Tensor<T>&, Triangle, Op); \
  template Tensor<T> cholesky_solve(const Tensor<T>&, const Tensor<T>&);                 \
  template CgResult<T> conjugate_gradient(const LinearOperator<T>&, const Tensor<T>&,    \
                                          const CgOptions<T>&);                          \
  template EighResult<T> eigh(const Tensor<T>&, T);                                      \
  template Tensor<T> eigvalsh(const Tensor<T>&, T);                                      \
  template EighResult<T> eigh_tridiagonal(const Tensor<T>&, const Tensor<T>&, bool);     \
  template LeastSquaresResult<T> least_squares(const Tensor<T>&, const Tensor<T>&,       \
                                               const LeastSquaresOptions<T>&);           \
  template LanczosResult<T> lanczos(const LinearOperator<T>&, int64_t, const LanczosOptions<T>&);

LAMPPOST_LINALG_INSTANTIATE(float)
LAMPPOST_LINALG_INSTANTIATE(double)
#undef LAMPPOST_LINALG_INSTANTIATE

}  // namespace lamppost
