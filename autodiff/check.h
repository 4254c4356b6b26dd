// Finite-difference checkers for derivatives, for the tests and for users checking their own
// models: gradients, jvps and Hessian-vector products against central differences.
// Run them in double precision; in float, rounding swamps the differences for small steps.
#pragma once

#include <string>

#include "autodiff/transforms.h"

namespace lamppost {

struct CheckOptions {
  double step = 1e-5;  // h of the central differences
  int points = 4;      // 2: (f(x+h) - f(x-h)) / 2h, error O(h^2); 4: error O(h^4)
  double abs_tolerance = 1e-6;
  double rel_tolerance = 1e-6;
};

struct CheckResult {
  bool passed = false;
  double max_abs_error = 0;  // over all compared entries
  double max_rel_error = 0;  // |error| / max(|reference|, tiny)
  int64_t worst_index = -1;  // flat index of the entry furthest outside the tolerance
  std::string message;       // says which entry failed and by how much
};

// The gradient of scalar f at x, entry by entry, against central differences along each
// coordinate (2 or 4 evaluations of f per entry: meant for inputs of modest size).
template <Real T>
CheckResult check_grad(const UnaryFunction<T>& f, const Tensor<T>& x, CheckOptions options = {});

// jvp(f)(x; v) against the central difference of f along v.
template <Real T>
CheckResult check_jvp(const UnaryFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v,
                      CheckOptions options = {});

// vjp(f)(x)(u) against central differences of <u, f> along each coordinate.
template <Real T>
CheckResult check_vjp(const UnaryFunction<T>& f, const Tensor<T>& x, const Tensor<T>& u,
                      CheckOptions options = {});

// hvp(f)(x; v) (forward-over-reverse, or reverse-over-reverse when `reverse`) against the
// central difference of grad f along v.
template <Real T>
CheckResult check_hvp(const UnaryFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v,
                      CheckOptions options = {}, bool reverse = false);

}  // namespace lamppost
