// The public element-wise and reduction ops: argument checks, broadcasting and allocation here;
// the loops live in tensor/simd/.
#include "tensor/ops.h"

#include <array>
#include <string_view>
#include <type_traits>

#include "tensor/error.h"
#include "tensor/simd/elementwise.h"
#include "tensor/simd/functors.h"
#include "tensor/simd/reduce.h"

namespace lamppost {
namespace detail {
namespace {

template <Real T>
Shape result_shape(std::string_view, const Tensor<T>& a) {
  return a.shape();
}
template <Real T>
Shape result_shape(std::string_view op, const Tensor<T>& a, const Tensor<T>& b) {
  return broadcast_shapes(a.shape(), b.shape(), op);
}
template <Real T>
Shape result_shape(std::string_view op, const Tensor<T>& a, const Tensor<T>& b,
                   const Tensor<T>& c) {
  try {
    return broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), op), c.shape(), op);
  } catch (const Error&) {
    // Name all three shapes, not just the pair that failed.
    fail(op, "shapes {}, {} and {} cannot be broadcast together", to_string(a.shape()),
         to_string(b.shape()), to_string(c.shape()));
  }
}

// The span of elements a view can touch, [first, last].
template <Real T>
std::array<const T*, 2> extent_of(const Tensor<T>& t) {
  int64_t last = 0;
  for (int d = 0; d < t.ndim(); ++d) last += (t.shape()[d] - 1) * t.strides()[d];
  return {t.data(), t.data() + last};
}

template <Real T>
bool may_overlap(const Tensor<T>& a, const Tensor<T>& b) {
  if (!a.shares_storage_with(b) || a.numel() == 0 || b.numel() == 0) return false;
  const auto [a_first, a_last] = extent_of(a);
  const auto [b_first, b_last] = extent_of(b);
  return a_first <= b_last && b_first <= a_last;
}

// Element i of `in` is element i of `out` for every i (in already has out's shape), so reading
// one and writing the other in the same step is safe.
template <Real T>
bool same_view(const Tensor<T>& out, const Tensor<T>& in) {
  if (in.data() != out.data()) return false;
  for (int d = 0; d < out.ndim(); ++d) {
    if (out.shape()[d] > 1 && in.strides()[d] != out.strides()[d]) return false;
  }
  return true;
}

// out = f(inputs...) into a preallocated out of the broadcast shape. An input overlapping out
// other than as the very same view is copied first, or the loop would read elements it has
// already overwritten.
template <class F, Real T, class... Tensors>
void map_into(std::string_view op, const F& f, Tensor<T>& out, const Tensors&... inputs) {
  static_assert((std::is_same_v<Tensors, Tensor<T>> && ...));
  const Shape shape = result_shape(op, inputs...);
  LAMPPOST_CHECK(out.shape() == shape, op, "out has shape {}, but the result has shape {}",
                 to_string(out.shape()), to_string(shape));
  for (int d = 0; d < out.ndim(); ++d) {
    LAMPPOST_CHECK(out.shape()[d] == 1 || out.strides()[d] != 0, op,
                   "out is a broadcast view (shape {}, strides {}); its elements alias each other",
                   to_string(out.shape()), to_string(out.strides()));
  }
  auto prepare = [&](const Tensor<T>& in) {
    Tensor<T> view = in.broadcast_to(shape);
    if (may_overlap(view, out) && !same_view(out, view)) view = view.clone();
    return view;
  };
  simd::elementwise(f, out, std::array<Tensor<T>, sizeof...(Tensors)>{prepare(inputs)...});
}

// f(first, rest...) into a fresh contiguous tensor.
template <class F, Real T, class... Tensors>
Tensor<T> map_new(std::string_view op, const F& f, const Tensor<T>& first, const Tensors&... rest) {
  const Shape shape = result_shape(op, first, rest...);
  Tensor<T> out = Tensor<T>::empty(shape);
  simd::elementwise(f, out,
                    std::array<Tensor<T>, 1 + sizeof...(Tensors)>{first.broadcast_to(shape),
                                                                  rest.broadcast_to(shape)...});
  return out;
}

// Which axes of an ndim-dimensional tensor `axes` names; throws on a bad or repeated axis.
std::vector<bool> axis_flags(std::string_view op, int ndim, const std::vector<int>& axes) {
  std::vector<bool> flags(ndim, false);
  for (int axis : axes) {
    const int a = normalize_axis(axis, ndim, op);
    LAMPPOST_CHECK(!flags[a], op, "axis {} appears twice in ({})", a, fmt::join(axes, ", "));
    flags[a] = true;
  }
  return flags;
}

std::vector<int> all_axes(int ndim) {
  std::vector<int> axes(ndim);
  for (int d = 0; d < ndim; ++d) axes[d] = d;
  return axes;
}

// The reduction of map(a) along axes with reducer R. With empty_ok false, reducing over zero
// elements (into a non-empty result) throws.
template <class R, class M, Real T>
Tensor<T> reduce(std::string_view op, const M& map, const Tensor<T>& a,
                 const std::vector<int>& axes, bool keepdims, bool empty_ok) {
  const std::vector<bool> flags = axis_flags(op, a.ndim(), axes);
  Shape shape, kept_shape;
  int64_t reduced_count = 1;
  for (int d = 0; d < a.ndim(); ++d) {
    if (flags[d]) {
      reduced_count *= a.shape()[d];
      kept_shape.push_back(1);
    } else {
      shape.push_back(a.shape()[d]);
      kept_shape.push_back(a.shape()[d]);
    }
  }
  Tensor<T> out = Tensor<T>::empty(shape);
  LAMPPOST_CHECK(empty_ok || reduced_count > 0 || out.numel() == 0, op,
                 "cannot reduce over zero elements: shape {} along axes ({})", to_string(a.shape()),
                 fmt::join(axes, ", "));
  simd::reduce_axes<R>(map, a, flags, out);
  return keepdims ? out.reshape(kept_shape) : out;
}

template <Real T>
int64_t reduced_count(const Tensor<T>& a, const Tensor<T>& reduced) {
  return reduced.numel() == 0 ? 0 : a.numel() / reduced.numel();
}

}  // namespace
}  // namespace detail

// ---- element-wise ----

#define LAMPPOST_UNARY(name, Functor)                          \
  template <Real T>                                            \
  Tensor<T> name(const Tensor<T>& a) {                         \
    return detail::map_new(#name, detail::simd::Functor{}, a); \
  }                                                            \
  template <Real T>                                            \
  void name(const Tensor<T>& a, Tensor<T>& out) {              \
    detail::map_into(#name, detail::simd::Functor{}, out, a);  \
  }                                                            \
  template Tensor<float> name(const Tensor<float>&);           \
  template Tensor<double> name(const Tensor<double>&);         \
  template void name(const Tensor<float>&, Tensor<float>&);    \
  template void name(const Tensor<double>&, Tensor<double>&);

#define LAMPPOST_BINARY(name, Functor)                                            \
  template <Real T>                                                               \
  Tensor<T> name(const Tensor<T>& a, const Tensor<T>& b) {                        \
    return detail::map_new(#name, detail::simd::Functor{}, a, b);                 \
  }                                                                               \
  template <Real T>                                                               \
  void name(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out) {             \
    detail::map_into(#name, detail::simd::Functor{}, out, a, b);                  \
  }                                                                               \
  template Tensor<float> name(const Tensor<float>&, const Tensor<float>&);        \
  template Tensor<double> name(const Tensor<double>&, const Tensor<double>&);     \
  template void name(const Tensor<float>&, const Tensor<float>&, Tensor<float>&); \
  template void name(const Tensor<double>&, const Tensor<double>&, Tensor<double>&);

LAMPPOST_UNARY(neg, Neg)
LAMPPOST_UNARY(abs, Abs)
LAMPPOST_UNARY(square, Square)
LAMPPOST_UNARY(sqrt, Sqrt)
LAMPPOST_UNARY(exp, Exp)
LAMPPOST_UNARY(expm1, Expm1)
LAMPPOST_UNARY(log, Log)
LAMPPOST_UNARY(log1p, Log1p)
LAMPPOST_UNARY(sin, Sin)
LAMPPOST_UNARY(cos, Cos)
LAMPPOST_UNARY(tanh, Tanh)
LAMPPOST_UNARY(erf, Erf)
LAMPPOST_UNARY(sigmoid, Sigmoid)
LAMPPOST_UNARY(relu, Relu)
LAMPPOST_UNARY(sign, Sign)

LAMPPOST_BINARY(add, Add)
LAMPPOST_BINARY(sub, Sub)
LAMPPOST_BINARY(mul, Mul)
LAMPPOST_BINARY(div, Div)
LAMPPOST_BINARY(pow, Pow)
LAMPPOST_BINARY(maximum, Maximum)
LAMPPOST_BINARY(minimum, Minimum)
LAMPPOST_BINARY(equal, Equal)
LAMPPOST_BINARY(not_equal, NotEqual)
LAMPPOST_BINARY(less, Less)
LAMPPOST_BINARY(less_equal, LessEqual)
LAMPPOST_BINARY(greater, Greater)
LAMPPOST_BINARY(greater_equal, GreaterEqual)

#undef LAMPPOST_UNARY
#undef LAMPPOST_BINARY

template <Real T>
Tensor<T> where(const Tensor<T>& cond, const Tensor<T>& a, const Tensor<T>& b) {
  return detail::map_new("where", detail::simd::Where{}, cond, a, b);
}
template <Real T>
void where(const Tensor<T>& cond, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out) {
  detail::map_into("where", detail::simd::Where{}, out, cond, a, b);
}
template Tensor<float> where(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&);
template Tensor<double> where(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&);
template void where(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&,
                    Tensor<float>&);
template void where(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&,
                    Tensor<double>&);

// ---- reductions ----

template <Real T>
Tensor<T> sum(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims) {
  return detail::reduce<detail::simd::SumReducer>("sum", detail::simd::Identity{}, a, axes,
                                                  keepdims, true);
}
template <Real T>
T sum(const Tensor<T>& a) {
  return sum(a, detail::all_axes(a.ndim())).item();
}

template <Real T>
Tensor<T> mean(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims) {
  Tensor<T> out = detail::reduce<detail::simd::SumReducer>("mean", detail::simd::Identity{}, a,
                                                           axes, keepdims, false);
  div(out, Tensor<T>::scalar(static_cast<T>(detail::reduced_count(a, out))), out);
  return out;
}
template <Real T>
T mean(const Tensor<T>& a) {
  return mean(a, detail::all_axes(a.ndim())).item();
}

template <Real T>
Tensor<T> max(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims) {
  return detail::reduce<detail::simd::MaxReducer>("max", detail::simd::Identity{}, a, axes,
                                                  keepdims, false);
}
template <Real T>
T max(const Tensor<T>& a) {
  return max(a, detail::all_axes(a.ndim())).item();
}

template <Real T>
Tensor<T> min(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims) {
  return detail::reduce<detail::simd::MinReducer>("min", detail::simd::Identity{}, a, axes,
                                                  keepdims, false);
}
template <Real T>
T min(const Tensor<T>& a) {
  return min(a, detail::all_axes(a.ndim())).item();
}

template <Real T>
Tensor<T> norm(const Tensor<T>& a, const std::vector<int>& axes, bool keepdims) {
  Tensor<T> out = detail::reduce<detail::simd::SumReducer>("norm", detail::simd::Square{}, a, axes,
                                                           keepdims, true);
  sqrt(out, out);
  return out;
}
template <Real T>
T norm(const Tensor<T>& a) {
  return norm(a, detail::all_axes(a.ndim())).item();
}

template <Real T>
T dot(const Tensor<T>& a, const Tensor<T>& b) {
  LAMPPOST_CHECK(a.shape() == b.shape(), "dot", "shapes {} and {} differ", to_string(a.shape()),
                 to_string(b.shape()));
  const auto plan = detail::make_plan<2>(a.shape(), {&a.strides(), &b.strides()});
  return detail::simd::reduce_plan<detail::simd::SumReducer>(
      detail::simd::Mul{}, plan, std::array<const T*, 2>{a.data(), b.data()}, a.numel());
}

namespace detail {
namespace {
template <bool Largest, Real T>
std::vector<int64_t> arg_reduce(std::string_view op, const Tensor<T>& a, int axis) {
  const int ax = normalize_axis(axis, a.ndim(), op);
  LAMPPOST_CHECK(a.shape()[ax] > 0, op, "axis {} of shape {} is empty", ax, to_string(a.shape()));
  std::vector<int64_t> out(a.numel() / a.shape()[ax]);
  simd::arg_reduce<Largest>(a, ax, out.data());
  return out;
}
}  // namespace
}  // namespace detail

template <Real T>
std::vector<int64_t> argmax(const Tensor<T>& a, int axis) {
  return detail::arg_reduce<true>("argmax", a, axis);
}
template <Real T>
std::vector<int64_t> argmin(const Tensor<T>& a, int axis) {
  return detail::arg_reduce<false>("argmin", a, axis);
}

template <Real T>
Tensor<T> sum_to(const Tensor<T>& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int lead = a.ndim() - static_cast<int>(shape.size());
  std::vector<int> axes;
  bool fits = lead >= 0;
  for (int d = 0; fits && d < a.ndim(); ++d) {
    if (d < lead) {
      axes.push_back(d);
    } else if (shape[d - lead] != a.shape()[d]) {
      fits = shape[d - lead] == 1;
      axes.push_back(d);
    }
  }
  LAMPPOST_CHECK(fits, "sum_to", "cannot sum shape {} to {}: {} does not broadcast to {}",
                 to_string(a.shape()), to_string(shape), to_string(shape), to_string(a.shape()));
  return sum(a, axes).reshape(shape);
}

#define LAMPPOST_INSTANTIATE_REDUCTION(name)                                        \
  template float name(const Tensor<float>&);                                        \
  template double name(const Tensor<double>&);                                      \
  template Tensor<float> name(const Tensor<float>&, const std::vector<int>&, bool); \
  template Tensor<double> name(const Tensor<double>&, const std::vector<int>&, bool);
LAMPPOST_INSTANTIATE_REDUCTION(sum)
LAMPPOST_INSTANTIATE_REDUCTION(mean)
LAMPPOST_INSTANTIATE_REDUCTION(max)
LAMPPOST_INSTANTIATE_REDUCTION(min)
LAMPPOST_INSTANTIATE_REDUCTION(norm)
#undef LAMPPOST_INSTANTIATE_REDUCTION

template float dot(const Tensor<float>&, const Tensor<float>&);
template double dot(const Tensor<double>&, const Tensor<double>&);
template std::vector<int64_t> argmax(const Tensor<float>&, int);
template std::vector<int64_t> argmax(const Tensor<double>&, int);
template std::vector<int64_t> argmin(const Tensor<float>&, int);
template std::vector<int64_t> argmin(const Tensor<double>&, int);
template Tensor<float> sum_to(const Tensor<float>&, const Shape&);
template Tensor<double> sum_to(const Tensor<double>&, const Shape&);

std::string_view simd_architecture() {
  return xsimd::default_arch::name();
}

}  // namespace lamppost
