// The element-wise and reduction functors. Each is written once and called both on a scalar T
// (tails, strided rows) and on xsimd::batch<T, Arch> (vector bodies); xsimd's math functions
// take either (on a scalar they forward to std::). NaN handling follows NumPy: maximum,
// minimum, max and min propagate NaN, sign and relu keep it.
#pragma once

#include <limits>

#include "tensor/simd/xsimd.h"

namespace lamppost::detail::simd {

// The element type behind a scalar or a batch.
template <class V>
struct Scalar {
  using type = V;
};
template <class T, class A>
struct Scalar<xsimd::batch<T, A>> {
  using type = T;
};
template <class V>
using scalar_t = typename Scalar<V>::type;

// A constant of V's element type, broadcast when V is a batch.
template <class V>
V constant(double value) {
  return V(static_cast<scalar_t<V>>(value));
}

// mask ? a : b, lane by lane for batches.
template <class T>
T if_else(bool mask, const T& a, const T& b) {
  return mask ? a : b;
}
template <class T, class A>
xsimd::batch<T, A> if_else(const xsimd::batch_bool<T, A>& mask, const xsimd::batch<T, A>& a,
                           const xsimd::batch<T, A>& b) {
  return xsimd::select(mask, a, b);
}

// 1 where mask holds, else 0: the value comparisons return.
template <class V, class M>
V indicator(const M& mask) {
  return if_else(mask, constant<V>(1), constant<V>(0));
}

// a != b with IEEE semantics (true when either is NaN). xsimd 8.1's operator!= on AVX and
// AVX-512 compares ordered, so NaN != NaN is false there; this helper avoids it.
template <class V>
auto not_equal(const V& a, const V& b) {
  return !(a == b);
}

// The larger of a and b, NaN if either is NaN (the hardware max returns the second operand).
template <class V>
V nan_max(const V& a, const V& b) {
  return if_else(xsimd::isnan(a) | (a > b), a, b);
}
template <class V>
V nan_min(const V& a, const V& b) {
  return if_else(xsimd::isnan(a) | (a < b), a, b);
}

// ---- unary ----

struct Identity {
  template <class V>
  V operator()(const V& x) const {
    return x;
  }
};
struct Neg {
  template <class V>
  V operator()(const V& x) const {
    return -x;
  }
};
struct Abs {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::abs(x);
  }
};
struct Square {
  template <class V>
  V operator()(const V& x) const {
    return x * x;
  }
};
struct Exp {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::exp(x);
  }
};
struct Expm1 {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::expm1(x);
  }
};
struct Log {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::log(x);
  }
};
struct Log1p {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::log1p(x);
  }
};
struct Sqrt {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::sqrt(x);
  }
};
struct Sin {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::sin(x);
  }
};
struct Cos {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::cos(x);
  }
};
struct Tanh {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::tanh(x);
  }
};
struct Erf {
  template <class V>
  V operator()(const V& x) const {
    return xsimd::erf(x);
  }
};
// 1 / (1 + e^-x): for very negative x, e^-x overflows to inf and the result is a clean 0.
struct Sigmoid {
  template <class V>
  V operator()(const V& x) const {
    return constant<V>(1) / (constant<V>(1) + xsimd::exp(-x));
  }
};
// x < 0 ? 0 : x, so NaN passes through as in PyTorch.
struct Relu {
  template <class V>
  V operator()(const V& x) const {
    return if_else(x < constant<V>(0), constant<V>(0), x);
  }
};
// -1, 0 or 1; keeps the sign of zero and NaN, as NumPy does.
struct Sign {
  template <class V>
  V operator()(const V& x) const {
    return if_else(x > constant<V>(0), constant<V>(1),
                   if_else(x < constant<V>(0), constant<V>(-1), x));
  }
};

// ---- binary ----

struct Add {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return a + b;
  }
};
struct Sub {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return a - b;
  }
};
struct Mul {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return a * b;
  }
};
struct Div {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return a / b;
  }
};
// xsimd's pow is exp(b log|a|) with the sign fixed up, which gets some IEEE special cases
// wrong; those that matter are set here as std::pow has them: a^0 = 1^b = 1 (even for NaN),
// 0^negative = inf, NaN otherwise propagates. (-0 to a negative odd power gives +inf, not -inf;
// a negative infinite base to a fractional power gives NaN.)
struct Pow {
  template <class V>
  V operator()(const V& a, const V& b) const {
    const V zero = constant<V>(0), one = constant<V>(1);
    V z = xsimd::pow(a, b);
    z = if_else((a == zero) & (b < zero), constant<V>(std::numeric_limits<double>::infinity()), z);
    z = if_else(xsimd::isnan(a) | xsimd::isnan(b), a + b, z);
    return if_else((b == zero) | (a == one), one, z);
  }
};
struct Maximum {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return nan_max(a, b);
  }
};
struct Minimum {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return nan_min(a, b);
  }
};
struct Equal {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return indicator<V>(a == b);
  }
};
struct NotEqual {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return indicator<V>(not_equal(a, b));
  }
};
struct Less {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return indicator<V>(a < b);
  }
};
struct LessEqual {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return indicator<V>(a <= b);
  }
};
struct Greater {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return indicator<V>(a > b);
  }
};
struct GreaterEqual {
  template <class V>
  V operator()(const V& a, const V& b) const {
    return indicator<V>(a >= b);
  }
};

// ---- ternary ----

// cond != 0 selects a (a NaN condition counts as true, as in NumPy).
struct Where {
  template <class V>
  V operator()(const V& cond, const V& a, const V& b) const {
    return if_else(not_equal(cond, constant<V>(0)), a, b);
  }
};

// ---- reductions: an identity and an associative combine ----

struct SumReducer {
  template <class V>
  static V identity() {
    return constant<V>(0);
  }
  template <class V>
  static V combine(const V& a, const V& b) {
    return a + b;
  }
};
struct MaxReducer {
  template <class V>
  static V identity() {
    return constant<V>(-std::numeric_limits<double>::infinity());
  }
  template <class V>
  static V combine(const V& a, const V& b) {
    return nan_max(a, b);
  }
};
struct MinReducer {
  template <class V>
  static V identity() {
    return constant<V>(std::numeric_limits<double>::infinity());
  }
  template <class V>
  static V combine(const V& a, const V& b) {
    return nan_min(a, b);
  }
};

}  // namespace lamppost::detail::simd
