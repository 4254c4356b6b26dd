// Element-wise ops and reductions on Tensor<T>.
//
// Element-wise ops broadcast their operands as NumPy does. Each comes in two forms: one that
// allocates a contiguous result, and one that writes into `out`, a preallocated tensor (or any
// non-broadcast view) of the broadcast shape, for loops that must not allocate. out may be one
// of the operands itself; an operand that overlaps out in any other way is read from a copy.
// Binary ops also take a scalar on either side, and the arithmetic ones have operators.
// Comparisons return 1 where they hold and 0 elsewhere, in T.
//
// Reductions run over all elements (returning T) or along axes (returning a tensor, with the
// reduced axes kept as extent 1 when keepdims). Their results are bit-identical whatever the
// thread count. max and min propagate NaN; sum of nothing is 0; mean, max and min of nothing
// throw.
//
// Every error is an lamppost::Error naming the op and the offending shapes, e.g.
// "[add] shapes (3, 2) and (3,) cannot be broadcast together".
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

// A scalar argument: it takes T from the tensor argument, so add(x, 2) works for float x.
template <class T>
using ScalarOf = std::type_identity_t<T>;

// ---- unary ----
// clang-format off
template <Real T> Tensor<T> neg(const Tensor<T>& a);
template <Real T> void neg(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> abs(const Tensor<T>& a);
template <Real T> void abs(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> square(const Tensor<T>& a);
template <Real T> void square(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> sqrt(const Tensor<T>& a);
template <Real T> void sqrt(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> exp(const Tensor<T>& a);
template <Real T> void exp(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> expm1(const Tensor<T>& a);
template <Real T> void expm1(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> log(const Tensor<T>& a);
template <Real T> void log(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> log1p(const Tensor<T>& a);
template <Real T> void log1p(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> sin(const Tensor<T>& a);
template <Real T> void sin(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> cos(const Tensor<T>& a);
template <Real T> void cos(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> tanh(const Tensor<T>& a);
template <Real T> void tanh(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> erf(const Tensor<T>& a);
template <Real T> void erf(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> sigmoid(const Tensor<T>& a);  // 1 / (1 + e^-a)
template <Real T> void sigmoid(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> relu(const Tensor<T>& a);  // a < 0 ? 0 : a (NaN stays NaN)
template <Real T> void relu(const Tensor<T>& a, Tensor<T>& out);
template <Real T> Tensor<T> sign(const Tensor<T>& a);  // -1, 0 or 1; NaN and -0 kept
template <Real T> void sign(const Tensor<T>& a, Tensor<T>& out);

// ---- binary ----
template <Real T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void add(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void sub(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void mul(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void div(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void pow(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void maximum(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void minimum(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> equal(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void equal(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> not_equal(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void not_equal(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> less(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void less(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> less_equal(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void less_equal(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> greater(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void greater(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T> Tensor<T> greater_equal(const Tensor<T>& a, const Tensor<T>& b);
template <Real T> void greater_equal(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
// clang-format on

// The binary ops with a scalar on one side (broadcast as a 0-d tensor).
#define LAMPPOST_SCALAR_FORMS(name)                   \
  template <Real T>                                   \
  Tensor<T> name(const Tensor<T>& a, ScalarOf<T> b) { \
    return name(a, Tensor<T>::scalar(b));             \
  }                                                   \
  template <Real T>                                   \
  Tensor<T> name(ScalarOf<T> a, const Tensor<T>& b) { \
    return name(Tensor<T>::scalar(a), b);             \
  }
LAMPPOST_SCALAR_FORMS(add)
LAMPPOST_SCALAR_FORMS(sub)
LAMPPOST_SCALAR_FORMS(mul)
LAMPPOST_SCALAR_FORMS(div)
LAMPPOST_SCALAR_FORMS(pow)
LAMPPOST_SCALAR_FORMS(maximum)
LAMPPOST_SCALAR_FORMS(minimum)
LAMPPOST_SCALAR_FORMS(equal)
LAMPPOST_SCALAR_FORMS(not_equal)
LAMPPOST_SCALAR_FORMS(less)
LAMPPOST_SCALAR_FORMS(less_equal)
LAMPPOST_SCALAR_FORMS(greater)
LAMPPOST_SCALAR_FORMS(greater_equal)
#undef LAMPPOST_SCALAR_FORMS

// ---- ternary ----
// cond != 0 ? a : b, all three broadcast together.
template <Real T>
Tensor<T> where(const Tensor<T>& cond, const Tensor<T>& a, const Tensor<T>& b);
template <Real T>
void where(const Tensor<T>& cond, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out);
template <Real T>
Tensor<T> where(const Tensor<T>& cond, const Tensor<T>& a, ScalarOf<T> b) {
  return where(cond, a, Tensor<T>::scalar(b));
}
template <Real T>
Tensor<T> where(const Tensor<T>& cond, ScalarOf<T> a, const Tensor<T>& b) {
  return where(cond, Tensor<T>::scalar(a), b);
}

// ---- operators ----
// clang-format off
template <Real T> Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }
template <Real T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <Real T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <Real T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <Real T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <Real T> Tensor<T> operator+(const Tensor<T>& a, ScalarOf<T> b) { return add(a, b); }
template <Real T> Tensor<T> operator-(const Tensor<T>& a, ScalarOf<T> b) { return sub(a, b); }
template <Real T> Tensor<T> operator*(const Tensor<T>& a, ScalarOf<T> b) { return mul(a, b); }
template <Real T> Tensor<T> operator/(const Tensor<T>& a, ScalarOf<T> b) { return div(a, b); }
template <Real T> Tensor<T> operator+(ScalarOf<T> a, const Tensor<T>& b) { return add(a, b); }
template <Real T> Tensor<T> operator-(ScalarOf<T> a, const Tensor<T>& b) { return sub(a, b); }
template <Real T> Tensor<T> operator*(ScalarOf<T> a, const Tensor<T>& b) { return mul(a, b); }
template <Real T> Tensor<T> operator/(ScalarOf<T> a, const Tensor<T>& b) { return div(a, b); }
// clang-format on

// Compound assignment writes through a's view (b broadcast to a's shape), so it works on a
// temporary view too: x.slice(0, 0, 2) += 1 changes x.
#define LAMPPOST_COMPOUND(op, name)                          \
  template <Real T>                                          \
  Tensor<T>& operator op(Tensor<T>& a, const Tensor<T>& b) { \
    name(a, b, a);                                           \
    return a;                                                \
  }                                                          \
  template <Real T>                                          \
  Tensor<T>& operator op(Tensor<T>& a, ScalarOf<T> b) {      \
    name(a, Tensor<T>::scalar(b), a);                        \
    return a;                                                \
  }                                                          \
  template <Real T>                                          \
  Tensor<T> operator op(Tensor<T>&& a, const Tensor<T>& b) { \
    name(a, b, a);                                           \
    return a;                                                \
  }                                                          \
  template <Real T>                                          \
  Tensor<T> operator op(Tensor<T>&& a, ScalarOf<T> b) {      \
    name(a, Tensor<T>::scalar(b), a);                        \
    return a;                                                \
  }
LAMPPOST_COMPOUND(+=, add)
LAMPPOST_COMPOUND(-=, sub)
LAMPPOST_COMPOUND(*=, mul)
LAMPPOST_COMPOUND(/=, div)
#undef LAMPPOST_COMPOUND

// ---- reductions ----
// Axes may be negative (counted from the end) and must be distinct: sum(x, {0}) sums over
// axis 0, sum(x, {}) reduces nothing and returns a copy. (There is deliberately no int-axis
// overload: with one, sum(x, {}) would silently mean axis 0.)
template <Real T>
T sum(const Tensor<T>& a);
template <Real T>
Tensor<T> sum(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims = false);
template <Real T>
T mean(const Tensor<T>& a);
template <Real T>
Tensor<T> mean(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims = false);
template <Real T>
T max(const Tensor<T>& a);
template <Real T>
Tensor<T> max(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims = false);
template <Real T>
T min(const Tensor<T>& a);
template <Real T>
Tensor<T> min(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims = false);
// The L2 norm: sqrt of the sum of squares (not rescaled, so it overflows as the sum does).
template <Real T>
T norm(const Tensor<T>& a);
template <Real T>
Tensor<T> norm(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims = false);

// The inner product of all elements of two tensors of the same shape.
template <Real T>
T dot(const Tensor<T>& a, const Tensor<T>& b);

// The index along axis of the first largest / smallest element of each line, in C order over
// the other axes (so the result has the shape of a without axis, flattened). A NaN counts as
// the extreme, as in NumPy.
template <Real T>
std::vector<int64_t> argmax(const Tensor<T>& a, int axis);
template <Real T>
std::vector<int64_t> argmin(const Tensor<T>& a, int axis);

// a summed back to `shape`, a shape that broadcasts to a's shape: the leading axes a has in
// excess are summed away, and so are the axes where shape has extent 1 and a does not. This is
// the adjoint of broadcast_to. When a already has `shape`, the result is a itself, not a copy.
template <Real T>
Tensor<T> sum_to(const Tensor<T>& a, const Shape& shape);

// The SIMD instruction set the kernels were compiled for (e.g. "avx512bw"; "sse2" without
// -march=native).
std::string_view simd_architecture();

}  // namespace lamppost
