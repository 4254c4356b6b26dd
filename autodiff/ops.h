// Differentiable ops on Vars. Each is a primitive (primitives.cpp: forward kernel, vjp, jvp) or
// a composite of primitives. Binary ops broadcast like NumPy through the broadcast_to
// primitive, whose vjp (sum_to) is the one place where gradients are summed back to an
// input's shape.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "autodiff/var.h"

namespace lamppost {

// The second operand of a binary op converts from a Tensor (or a Var of the same type): its
// parameter does not take part in deducing T.
template <Real T>
using VarArg = std::type_identity_t<Var<T>>;

// Element-wise, with broadcasting.
template <Real T>
Var<T> add(const Var<T>& a, const VarArg<T>& b);
template <Real T>
Var<T> sub(const Var<T>& a, const VarArg<T>& b);
template <Real T>
Var<T> mul(const Var<T>& a, const VarArg<T>& b);
template <Real T>
Var<T> div(const Var<T>& a, const VarArg<T>& b);
template <Real T>
Var<T> pow(const Var<T>& a, const VarArg<T>& b);  // a > 0 where b varies
// maximum/minimum: on ties the whole derivative goes to the first operand.
template <Real T>
Var<T> maximum(const Var<T>& a, const VarArg<T>& b);
template <Real T>
Var<T> minimum(const Var<T>& a, const VarArg<T>& b);
// cond != 0 selects a, else b; cond is a constant mask.
template <Real T>
Var<T> where(const Tensor<T>& cond, const Var<T>& a, const VarArg<T>& b);

template <Real T>
Var<T> neg(const Var<T>& x);
template <Real T>
Var<T> abs(const Var<T>& x);  // derivative sign(x), 0 at 0
template <Real T>
Var<T> exp(const Var<T>& x);
template <Real T>
Var<T> log(const Var<T>& x);
template <Real T>
Var<T> sqrt(const Var<T>& x);
template <Real T>
Var<T> tanh(const Var<T>& x);
template <Real T>
Var<T> erf(const Var<T>& x);
template <Real T>
Var<T> sigmoid(const Var<T>& x);
template <Real T>
Var<T> relu(const Var<T>& x);  // derivative 1 for x > 0, else 0
// log(1 + e^x), smooth relu.
template <Real T>
Var<T> softplus(const Var<T>& x);
// x Phi(x), Phi the standard normal CDF (the exact gelu, not the tanh approximation).
template <Real T>
Var<T> gelu(const Var<T>& x);
template <Real T>
Var<T> sin(const Var<T>& x);
template <Real T>
Var<T> cos(const Var<T>& x);
template <Real T>
Var<T> square(const Var<T>& x);
template <Real T>
Var<T> pow(const Var<T>& x, T exponent);

// Reductions. Axes may be negative; an empty axes list reduces everything.
template <Real T>
Var<T> sum(const Var<T>& x);  // 0-d
template <Real T>
Var<T> sum(const Var<T>& x, const std::vector<int>& axes, bool keepdims = false);
template <Real T>
Var<T> mean(const Var<T>& x);
template <Real T>
Var<T> mean(const Var<T>& x, const std::vector<int>& axes, bool keepdims = false);
// max/min along one axis: on ties the derivative is shared equally by the tied elements.
template <Real T>
Var<T> max(const Var<T>& x, int axis, bool keepdims = false);
template <Real T>
Var<T> min(const Var<T>& x, int axis, bool keepdims = false);

// Shapes.
template <Real T>
Var<T> reshape(const Var<T>& x, const Shape& shape);
template <Real T>
Var<T> permute(const Var<T>& x, const std::vector<int>& axes);
template <Real T>
Var<T> transpose(const Var<T>& x, int axis0 = -2, int axis1 = -1);
template <Real T>
Var<T> broadcast_to(const Var<T>& x, const Shape& shape);
template <Real T>
Var<T> sum_to(const Var<T>& x, const Shape& shape);
template <Real T>
Var<T> slice(const Var<T>& x, int axis, int64_t start, int64_t stop, int64_t step = 1);
// The adjoint of taking slices: zeros of shape `full` with pieces[i] added into slice specs[i]
// of them (overlapping slices add up).
template <Real T>
Var<T> embed(const Shape& full, std::vector<SliceSpec> specs, const std::vector<Var<T>>& pieces);
template <Real T>
Var<T> concat(const std::vector<Var<T>>& parts, int axis);
template <Real T>
Var<T> gather_rows(const Var<T>& x, const std::vector<int64_t>& rows);

// [m, k] x [k, n] -> [m, n], batched over a leading axis like lamppost::matmul.
template <Real T>
Var<T> matmul(const Var<T>& a, const VarArg<T>& b);

// Composites.
template <Real T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims = false);
template <Real T>
Var<T> softmax(const Var<T>& x, int axis = -1);
template <Real T>
Var<T> log_softmax(const Var<T>& x, int axis = -1);
// Mean over rows of the cross-entropy between logits [n, k] and target probabilities [n, k].
template <Real T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<T>& targets);
// Mean squared error over all elements.
template <Real T>
Var<T> mse(const Var<T>& prediction, const VarArg<T>& target);
// x [n, in] W [in, out] + b [out].
template <Real T>
Var<T> linear(const Var<T>& x, const VarArg<T>& weight, const VarArg<T>& bias);

// Operators.
template <Real T>
Var<T> operator+(const Var<T>& a, const VarArg<T>& b) {
  return add(a, b);
}
template <Real T>
Var<T> operator-(const Var<T>& a, const VarArg<T>& b) {
  return sub(a, b);
}
template <Real T>
Var<T> operator*(const Var<T>& a, const VarArg<T>& b) {
  return mul(a, b);
}
template <Real T>
Var<T> operator/(const Var<T>& a, const VarArg<T>& b) {
  return div(a, b);
}
template <Real T>
Var<T> operator-(const Var<T>& x) {
  return neg(x);
}
template <Real T>
Var<T> operator+(const Var<T>& a, std::type_identity_t<T> b) {
  return add(a, Var<T>(Tensor<T>::scalar(b)));
}
template <Real T>
Var<T> operator-(const Var<T>& a, std::type_identity_t<T> b) {
  return sub(a, Var<T>(Tensor<T>::scalar(b)));
}
template <Real T>
Var<T> operator*(const Var<T>& a, std::type_identity_t<T> b) {
  return mul(a, Var<T>(Tensor<T>::scalar(b)));
}
template <Real T>
Var<T> operator/(const Var<T>& a, std::type_identity_t<T> b) {
  return div(a, Var<T>(Tensor<T>::scalar(b)));
}
template <Real T>
Var<T> operator+(std::type_identity_t<T> a, const Var<T>& b) {
  return add(Var<T>(Tensor<T>::scalar(a)), b);
}
template <Real T>
Var<T> operator-(std::type_identity_t<T> a, const Var<T>& b) {
  return sub(Var<T>(Tensor<T>::scalar(a)), b);
}
template <Real T>
Var<T> operator*(std::type_identity_t<T> a, const Var<T>& b) {
  return mul(Var<T>(Tensor<T>::scalar(a)), b);
}
template <Real T>
Var<T> operator/(std::type_identity_t<T> a, const Var<T>& b) {
  return div(Var<T>(Tensor<T>::scalar(a)), b);
}

}  // namespace lamppost
