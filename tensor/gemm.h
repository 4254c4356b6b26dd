// Matrix multiplication. gemm computes C = alpha * op(A) * op(B) + beta * C on 2-d views of
// any strides (transposed and sliced views are read in place, never copied); matmul allocates
// the result and batches over a leading axis.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace lamppost {

enum class Op { none, transpose };

// C = alpha * op(a) * op(b) + beta * C. Shapes: op(a) [m, k], op(b) [k, n], c [m, n].
// With beta == 0, C is overwritten (NaNs in C do not propagate); with alpha == 0 or k == 0,
// C = beta * C and a, b are not read (BLAS semantics). c must not overlap a or b, nor be a
// broadcast view. The result does not depend on the thread count: every element sums its k
// products in the same order.
template <Real T>
void gemm(T alpha, const Tensor<T>& a, Op op_a, const Tensor<T>& b, Op op_b, T beta, Tensor<T>& c);

// Which part of a symmetric product gemm_symmetric writes.
enum class SymmetricFill { upper, full };

// C = alpha * a * a^T for a [n, k] and c [n, n]. The rows go in blocks of block_rows, each
// multiplied only by the rows from its own first one on, so about half of gemm's multiply-adds
// run. With SymmetricFill::full every entry below the diagonal is then copied from its mirror
// image, so c is exactly symmetric (gemm itself may sum the products of c(i, j) and c(j, i) in
// different orders). With SymmetricFill::upper only the upper triangle is meant: entries left of
// the diagonal blocks are left unwritten, and those below the diagonal inside them are gemm's,
// for a caller that passes over c tile by tile anyway and mirrors there. The default blocks
// suit n in the hundreds (a tangent kernel's Gram products): taller ones would skip less.
template <Real T>
void gemm_symmetric(T alpha, const Tensor<T>& a, Tensor<T>& c,
                    SymmetricFill fill = SymmetricFill::full, int64_t block_rows = 64);

// [m, k] x [k, n] -> [m, n]; [batch, m, k] x [batch, k, n] -> [batch, m, n]; a 2-d operand
// is shared by every batch of a 3-d one ([batch, m, k] x [k, n], [m, k] x [batch, k, n]).
template <Real T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);

namespace detail {

// A matrix inside strided storage: element (i, j) is data[i * row_stride + j * col_stride].
template <class T>
struct MatrixRef {
  T* data;
  int64_t rows;
  int64_t cols;
  int64_t row_stride;
  int64_t col_stride;
};

// The optimised kernel behind gemm, on raw strided matrices (already transposed by stride).
template <Real T>
void gemm_strided(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c);

// Cache block sizes of the packed kernel. mr x nr is the register tile of the micro-kernel (fixed
// at compile time for this build's SIMD architecture); mc is a multiple of mr, nc of nr.
struct GemmBlocking {
  int64_t mr;
  int64_t nr;
  int64_t mc;
  int64_t kc;
  int64_t nc;
};

// Products of fewer multiply-adds (m * n * k) than this run on one thread: waking a second
// one costs more than it saves. Larger ones use up to max_threads(). At 2^22, the training
// steps of kernel_constancy (32 x 512 x 512 products) ran a fifth slower on 2 threads than at
// 2^24, where a square product of n = 256 is the smallest one threaded.
inline constexpr int64_t kGemmParallelWork = int64_t{1} << 24;

// The tuned block sizes gemm_strided uses.
template <Real T>
GemmBlocking gemm_blocking();

// gemm_strided with other cache block sizes (mr and nr must be gemm_blocking's): for the tuning
// benchmark, and for tests that cross block edges on small matrices.
template <Real T>
void gemm_blocked(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c,
                  const GemmBlocking& blocking);

// The naive triple loop: the test oracle for gemm_strided. Accumulates in the order k = 0..K-1.
template <Real T>
void gemm_reference(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c);

}  // namespace detail
}  // namespace lamppost
