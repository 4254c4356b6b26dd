// Transforms of functions of Vars: grad, value_and_grad, vjp, jvp, jacobian, hvp. They nest:
// each transform evaluates the function on fresh traced leaves, and the derivative rules are
// themselves differentiable ops, so grad(grad(f)), jvp(grad(f)) and so on work to any order.
//
// Functions take `const std::vector<Var<T>>&` (several arguments) or `const Var<T>&` (one).
// A transform called outside any other transform returns constants: its graph is freed when
// it returns. Called inside another transform, it returns traced Vars the outer one can
// differentiate.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "autodiff/var.h"

namespace lamppost {

template <Real T>
using Function = std::function<Var<T>(const std::vector<Var<T>>&)>;
template <Real T>
using UnaryFunction = std::function<Var<T>(const Var<T>&)>;
template <Real T>
using Pullback = std::function<std::vector<Var<T>>(const Var<T>& cotangent)>;

// Value of f(args) and the gradients of that scalar with respect to args[argnums].
template <Real T>
std::pair<Var<T>, std::vector<Var<T>>> value_and_grad(const Function<T>& f,
                                                      const std::vector<Var<T>>& args,
                                                      const std::vector<int>& argnums = {0});

// Gradients of scalar f with respect to args[argnums].
template <Real T>
std::vector<Var<T>> grad(const Function<T>& f, const std::vector<Var<T>>& args,
                         const std::vector<int>& argnums = {0});

// x -> df/dx for scalar f of one argument; compose freely: grad(grad(f)).
template <Real T>
UnaryFunction<T> grad(UnaryFunction<T> f);

// f(args) and its pullback: cotangent of the output -> cotangents of every argument. The graph
// lives as long as the pullback does.
template <Real T>
std::pair<Var<T>, Pullback<T>> vjp(const Function<T>& f, const std::vector<Var<T>>& args);

// f(args) and its directional derivative along `tangents` (one per argument), by forward mode.
template <Real T>
std::pair<Var<T>, Var<T>> jvp(const Function<T>& f, const std::vector<Var<T>>& args,
                              const std::vector<Var<T>>& tangents);

// d f / d x with shape f(x).shape + x.shape, by reverse mode (one vjp per output element) or
// forward mode (one jvp per input element); the function is evaluated once either way.
template <Real T>
Var<T> jacobian_reverse(const UnaryFunction<T>& f, const Var<T>& x);
template <Real T>
Var<T> jacobian_forward(const UnaryFunction<T>& f, const Var<T>& x);

// Hessian-vector product of scalar f at x along v. The default is forward-over-reverse,
// jvp(grad f)(x; v); hvp_reverse is reverse-over-reverse, grad(<grad f, v>)(x).
template <Real T>
Var<T> hvp(const UnaryFunction<T>& f, const Var<T>& x, const Var<T>& v);
template <Real T>
Var<T> hvp_reverse(const UnaryFunction<T>& f, const Var<T>& x, const Var<T>& v);

// Detaches a value from the graph: its derivative is zero.
template <Real T>
Var<T> stop_gradient(const Var<T>& x);

}  // namespace lamppost
