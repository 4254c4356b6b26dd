// Placeholder until the packed kernel lands: gemm runs the reference loop.
#include "tensor/gemm.h"

#include "tensor/error.h"

namespace lamppost {
namespace detail {

template <Real T>
MatrixRef<const T> as_matrix(const Tensor<T>& t, Op op) {
  MatrixRef<const T> m{t.data(), t.shape()[0], t.shape()[1], t.strides()[0], t.strides()[1]};
  if (op == Op::transpose) {
    std::swap(m.rows, m.cols);
    std::swap(m.row_stride, m.col_stride);
  }
  return m;
}

template <Real T>
void gemm_reference(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c) {
  for (int64_t i = 0; i < c.rows; ++i) {
    for (int64_t j = 0; j < c.cols; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < a.cols; ++p) {
        acc += a.data[i * a.row_stride + p * a.col_stride] *
               b.data[p * b.row_stride + j * b.col_stride];
      }
      T& out = c.data[i * c.row_stride + j * c.col_stride];
      out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
    }
  }
}

template <Real T>
void gemm_strided(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c) {
  gemm_reference(alpha, a, b, beta, c);
}

}  // namespace detail

template <Real T>
void gemm(T alpha, const Tensor<T>& a, Op op_a, const Tensor<T>& b, Op op_b, T beta, Tensor<T>& c) {
  LAMPPOST_CHECK(a.ndim() == 2 && b.ndim() == 2 && c.ndim() == 2, "gemm",
                 "needs 2-d operands, got shapes {}, {} and {}", to_string(a.shape()),
                 to_string(b.shape()), to_string(c.shape()));
  const auto ma = detail::as_matrix(a, op_a);
  const auto mb = detail::as_matrix(b, op_b);
  LAMPPOST_CHECK(ma.cols == mb.rows && c.shape()[0] == ma.rows && c.shape()[1] == mb.cols, "gemm",
                 "shapes {}{} and {}{} do not give {}", to_string(a.shape()),
                 op_a == Op::transpose ? "^T" : "", to_string(b.shape()),
                 op_b == Op::transpose ? "^T" : "", to_string(c.shape()));
  detail::gemm_strided(
      alpha, ma, mb, beta,
      detail::MatrixRef<T>{c.data(), c.shape()[0], c.shape()[1], c.strides()[0], c.strides()[1]});
}

template <Real T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  LAMPPOST_CHECK(a.ndim() == 2 && b.ndim() == 2, "matmul", "batched matmul is not written yet");
  Tensor<T> c = Tensor<T>::empty({a.shape()[0], b.shape()[1]});
  gemm(T(1), a, Op::none, b, Op::none, T(0), c);
  return c;
}

template void gemm(float, const Tensor<float>&, Op, const Tensor<float>&, Op, float,
                   Tensor<float>&);
template void gemm(double, const Tensor<double>&, Op, const Tensor<double>&, Op, double,
                   Tensor<double>&);
template Tensor<float> matmul(const Tensor<float>&, const Tensor<float>&);
template Tensor<double> matmul(const Tensor<double>&, const Tensor<double>&);

}  // namespace lamppost
