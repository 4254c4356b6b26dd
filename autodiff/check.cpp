#include "autodiff/check.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace lamppost {
namespace {

// Central difference of g along a direction: g maps a step t to a tensor g(x + t d).
template <Real T, class G>
Tensor<T> central_difference(const G& g, const CheckOptions& options) {
  const auto h = static_cast<T>(options.step);
  if (options.points == 2) return lamppost::div(lamppost::sub(g(h), g(-h)), T(2) * h);
  LAMPPOST_CHECK(options.points == 4, "check", "points must be 2 or 4, got {}", options.points);
  // (-g(2h) + 8 g(h) - 8 g(-h) + g(-2h)) / 12h
  const Tensor<T> near = lamppost::mul(lamppost::sub(g(h), g(-h)), T(8));
  const Tensor<T> far = lamppost::sub(g(T(2) * h), g(T(-2) * h));
  return lamppost::div(lamppost::sub(near, far), T(12) * h);
}

template <Real T>
CheckResult compare(const Tensor<T>& computed, const Tensor<T>& reference, const char* what,
                    const CheckOptions& options) {
  CheckResult result;
  LAMPPOST_CHECK(computed.shape() == reference.shape(), "check", "{}: shapes {} and {} differ",
                 what, to_string(computed.shape()), to_string(reference.shape()));
  const auto c = computed.to_vector();
  const auto r = reference.to_vector();
  double worst_excess = 0;
  result.passed = true;
  for (size_t i = 0; i < c.size(); ++i) {
    const double err = std::abs(double(c[i]) - double(r[i]));
    const double allowed = options.abs_tolerance + options.rel_tolerance * std::abs(double(r[i]));
    result.max_abs_error = std::max(result.max_abs_error, err);
    result.max_rel_error =
        std::max(result.max_rel_error, err / std::max(std::abs(double(r[i])), 1e-300));
    const bool ok = err <= allowed;  // false for NaN too
    if (!ok && (result.passed || err - allowed > worst_excess)) {
      worst_excess = err - allowed;
      result.worst_index = static_cast<int64_t>(i);
      result.message = fmt::format(
          "{}: entry {} is {} but finite differences give {} (error {:.3g}, allowed {:.3g})", what,
          i, c[i], r[i], err, allowed);
    }
    result.passed = result.passed && ok;
  }
  if (result.passed) {
    result.message = fmt::format("{}: {} entries agree, max abs error {:.3g}", what, c.size(),
                                 result.max_abs_error);
  }
  return result;
}

template <Real T>
Tensor<T> evaluate(const UnaryFunction<T>& f, const Tensor<T>& x) {
  NoTrace no_trace;
  return f(Var<T>(x)).value().contiguous();
}

// The Jacobian-transpose product by coordinates: entry i is d<u, f>/dx_i.
template <Real T, class F>
Tensor<T> coordinate_differences(const F& scalar_of, const Tensor<T>& x,
                                 const CheckOptions& options) {
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const Tensor<T> base = x.contiguous();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const Tensor<T> d = central_difference<T>(
        [&](T t) {
          Tensor<T> moved = base.clone();
          moved.data()[i] += t;
          return Tensor<T>::scalar(scalar_of(moved));
        },
        options);
    out.data()[i] = d.item();
  }
  return out;
}

}  // namespace

template <Real T>
CheckResult check_grad(const UnaryFunction<T>& f, const Tensor<T>& x, CheckOptions options) {
  const Tensor<T> computed = grad<T>(f)(Var<T>(x)).value();
  const Tensor<T> reference = coordinate_differences(
      [&](const Tensor<T>& at) { return evaluate(f, at).item(); }, x, options);
  return compare(computed, reference, "grad", options);
}

template <Real T>
CheckResult check_jvp(const UnaryFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v,
                      CheckOptions options) {
  const Tensor<T> computed =
      jvp<T>([&](const std::vector<Var<T>>& a) { return f(a[0]); }, {Var<T>(x)}, {Var<T>(v)})
          .second.value();
  const Tensor<T> reference = central_difference<T>(
      [&](T t) { return evaluate(f, lamppost::add(x, lamppost::mul(v, t))); }, options);
  return compare(computed, reference, "jvp", options);
}

template <Real T>
CheckResult check_vjp(const UnaryFunction<T>& f, const Tensor<T>& x, const Tensor<T>& u,
                      CheckOptions options) {
  const auto [out, pullback] =
      vjp<T>([&](const std::vector<Var<T>>& a) { return f(a[0]); }, {Var<T>(x)});
  const Tensor<T> computed = pullback(Var<T>(u))[0].value();
  const Tensor<T> reference = coordinate_differences(
      [&](const Tensor<T>& at) { return lamppost::dot(evaluate(f, at), u); }, x, options);
  return compare(computed, reference, "vjp", options);
}

template <Real T>
CheckResult check_hvp(const UnaryFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v,
                      CheckOptions options, bool reverse) {
  const Tensor<T> computed =
      (reverse ? hvp_reverse<T>(f, Var<T>(x), Var<T>(v)) : hvp<T>(f, Var<T>(x), Var<T>(v))).value();
  const auto gradient = grad<T>(f);
  const Tensor<T> reference = central_difference<T>(
      [&](T t) { return gradient(Var<T>(lamppost::add(x, lamppost::mul(v, t)))).value(); },
      options);
  return compare(computed, reference, reverse ? "hvp (reverse-over-reverse)" : "hvp", options);
}

#define LAMPPOST_INSTANTIATE(T)                                                               \
  template CheckResult check_grad(const UnaryFunction<T>&, const Tensor<T>&, CheckOptions);   \
  template CheckResult check_jvp(const UnaryFunction<T>&, const Tensor<T>&, const Tensor<T>&, \
                                 CheckOptions);                                               \
  template CheckResult check_vjp(const UnaryFunction<T>&, const Tensor<T>&, const Tensor<T>&, \
                                 CheckOptions);                                               \
  template CheckResult check_hvp(const UnaryFunction<T>&, const Tensor<T>&, const Tensor<T>&, \
                                 CheckOptions, bool);
LAMPPOST_INSTANTIATE(float)
LAMPPOST_INSTANTIATE(double)
#undef LAMPPOST_INSTANTIATE

}  // namespace lamppost
