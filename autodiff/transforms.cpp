#include "autodiff/transforms.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include "autodiff/ops.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace lamppost {
namespace detail {
namespace {

// How many transforms are running on this thread. The derivative computations of the
// outermost one are recorded by nobody (its results are returned as constants), so its sweeps
// run untraced; inner transforms' sweeps are traced so that outer ones can differentiate them.
thread_local int transform_depth = 0;

std::atomic<uint64_t> last_tag{0};

class TransformScope {
 public:
  TransformScope() { ++transform_depth; }
  ~TransformScope() { --transform_depth; }
  TransformScope(const TransformScope&) = delete;
  TransformScope& operator=(const TransformScope&) = delete;

  // Whether this is the outermost transform: its results go back to untraced code.
  static bool outermost() { return transform_depth == 1; }

  // Recording is off in the sweeps of the outermost transform, on in all others.
  static bool sweep_traced() { return transform_depth > 1; }

 private:
  TraceMode trace_{true};  // the function under a transform is traced even inside a NoTrace
};

// The identity, as the primitive behind a transform's leaves: a leaf made from a traced
// argument stays connected to it, so an outer transform sees through the inner one.
template <Real T>
class Identity final : public Primitive<T> {
 public:
  std::string_view name() const override { return "identity"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& inputs) const override { return inputs[0]; }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cotangent) const override {
    return {cotangent};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tangents) const override {
    return tangents[0];
  }
};

// Fresh traced leaves standing for the arguments, all newer than any existing node.
template <Real T>
std::vector<Var<T>> make_leaves(const std::vector<Var<T>>& args, std::string_view transform) {
  std::vector<Var<T>> leaves;
  leaves.reserve(args.size());
  static const auto identity = std::make_shared<const Identity<T>>();
  for (size_t i = 0; i < args.size(); ++i) {
    LAMPPOST_CHECK(args[i].defined(), transform, "argument {} is an undefined Var", i);
    auto node = std::make_shared<Node<T>>();
    node->value = args[i].value();
    if (args[i].traced()) {
      node->primitive = identity;
      node->inputs = {args[i]};
    }
    node->tag = ++last_tag;
    leaves.emplace_back(std::move(node));
  }
  return leaves;
}

// Traced ancestors of `output` that may depend on the leaves (tag >= min_tag), inputs before
// the nodes that use them; the leaves are boundaries. An explicit stack, not recursion: a
// chain of 100,000 ops must not overflow the call stack.
template <Real T>
std::vector<Var<T>> topological_order(const Var<T>& output, uint64_t min_tag,
                                      const std::unordered_set<const Node<T>*>& leaves) {
  std::vector<Var<T>> order;
  if (!output.traced() || output.node()->tag < min_tag) return order;
  std::unordered_set<const Node<T>*> visited{output.node().get()};
  std::vector<std::pair<Var<T>, size_t>> stack{{output, 0}};
  while (!stack.empty()) {
    auto& [var, next] = stack.back();
    const Node<T>& node = *var.node();
    if (!leaves.contains(&node) && next < node.inputs.size()) {
      const Var<T>& input = node.inputs[next++];
      if (input.traced() && input.node()->tag >= min_tag &&
          visited.insert(input.node().get()).second) {
        stack.emplace_back(input, 0);
      }
      continue;
    }
    order.push_back(std::move(var));
    stack.pop_back();
  }
  return order;
}

template <Real T>
std::unordered_set<const Node<T>*> node_set(const std::vector<Var<T>>& leaves) {
  std::unordered_set<const Node<T>*> set;
  for (const Var<T>& leaf : leaves) set.insert(leaf.node().get());
  return set;
}

template <Real T>
uint64_t oldest_tag(const std::vector<Var<T>>& leaves) {
  uint64_t tag = UINT64_MAX;
  for (const Var<T>& leaf : leaves) tag = std::min(tag, leaf.node()->tag);
  return tag;
}

// Reverse sweep: cotangents of the leaves given the output's cotangent (zeros for a leaf the
// output does not depend on).
template <Real T>
std::vector<Var<T>> backward(const Var<T>& output, const Var<T>& cotangent,
                             const std::vector<Var<T>>& leaves) {
  const auto leaf_set = node_set(leaves);
  const uint64_t min_tag = oldest_tag(leaves);
  const auto order = topological_order(output, min_tag, leaf_set);
  const TraceMode mode(TransformScope::sweep_traced());

  std::unordered_map<const Node<T>*, Var<T>> cotangents;
  if (!order.empty()) cotangents[output.node().get()] = cotangent;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node<T>* node = it->node().get();
    if (leaf_set.contains(node) || !node->primitive) continue;
    auto found = cotangents.find(node);
    if (found == cotangents.end()) continue;
    const Var<T> cot = std::move(found->second);
    cotangents.erase(found);  // each node's cotangent is complete here and needed no more
    // Running sums of the inputs that lead back to the leaves; others get nothing.
    std::vector<Var<T>*> sums(node->inputs.size(), nullptr);
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Var<T>& input = node->inputs[i];
      if (input.traced() && input.node()->tag >= min_tag) sums[i] = &cotangents[input.node().get()];
    }
    if (tracing_enabled()) {
      const auto input_cots = node->primitive->vjp(node->inputs, *it, cot);
      for (size_t i = 0; i < sums.size(); ++i) {
        if (sums[i] != nullptr && input_cots[i].defined()) {
          *sums[i] = sums[i]->defined() ? add(*sums[i], input_cots[i]) : input_cots[i];
        }
      }
    } else {
      node->primitive->accumulate_vjp(node->inputs, *it, cot, sums);
    }
  }
  std::vector<Var<T>> result;
  result.reserve(leaves.size());
  for (const Var<T>& leaf : leaves) {
    auto found = cotangents.find(leaf.node().get());
    result.push_back(found != cotangents.end() ? found->second
                                               : Var<T>(Tensor<T>::zeros(leaf.shape())));
  }
  return result;
}

// Forward sweep: the output's tangent given the leaves' tangents. A tangent is dropped as soon
// as the last node that reads it is done.
template <Real T>
Var<T> forward_tangent(const Var<T>& output, const std::vector<Var<T>>& leaves,
                       const std::vector<Var<T>>& tangents) {
  const auto leaf_set = node_set(leaves);
  const auto order = topological_order(output, oldest_tag(leaves), leaf_set);
  const TraceMode mode(TransformScope::sweep_traced());

  std::unordered_map<const Node<T>*, int> readers;
  for (const Var<T>& var : order) {
    if (leaf_set.contains(var.node().get())) continue;
    for (const Var<T>& input : var.node()->inputs) ++readers[input.node().get()];
  }
  std::unordered_map<const Node<T>*, Var<T>> tangent_of;
  for (size_t i = 0; i < leaves.size(); ++i) tangent_of[leaves[i].node().get()] = tangents[i];

  for (const Var<T>& var : order) {
    const Node<T>* node = var.node().get();
    if (leaf_set.contains(node) || !node->primitive) continue;
    std::vector<Var<T>> input_tangents(node->inputs.size());
    bool any = false;
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Node<T>* input = node->inputs[i].node().get();
      auto found = tangent_of.find(input);
      if (found != tangent_of.end()) {
        input_tangents[i] = found->second;
        any = true;
      }
      if (--readers[input] == 0 && input != output.node().get()) tangent_of.erase(input);
    }
    if (any) tangent_of[node] = node->primitive->jvp(node->inputs, var, input_tangents);
  }
  auto found = tangent_of.find(output.node().get());
  return found != tangent_of.end() ? found->second : Var<T>(Tensor<T>::zeros(output.shape()));
}

void check_argnums(const std::vector<int>& argnums, size_t count, std::string_view transform) {
  LAMPPOST_CHECK(!argnums.empty(), transform, "argnums is empty: nothing to differentiate");
  for (int a : argnums) {
    LAMPPOST_CHECK(a >= 0 && static_cast<size_t>(a) < count, transform,
                   "argnum {} is out of range for a function of {} arguments", a, count);
  }
}

// What a transform hands back: the value alone when the caller is untraced code, so the graph
// is freed on return; the traced Var when an outer transform will differentiate it.
template <Real T>
Var<T> hand_back(const Var<T>& var) {
  return TransformScope::outermost() ? Var<T>(var.value()) : var;
}

template <Real T>
void check_scalar(const Var<T>& out, std::string_view transform) {
  LAMPPOST_CHECK(out.defined(), transform, "the function returned an undefined Var");
  LAMPPOST_CHECK(out.numel() == 1, transform,
                 "the function must return a scalar (one element), got shape {}",
                 to_string(out.shape()));
}

}  // namespace
}  // namespace detail

template <Real T>
std::pair<Var<T>, std::vector<Var<T>>> value_and_grad(const Function<T>& f,
                                                      const std::vector<Var<T>>& args,
                                                      const std::vector<int>& argnums) {
  detail::check_argnums(argnums, args.size(), "grad");
  detail::TransformScope scope;
  const auto leaves = detail::make_leaves(args, "grad");
  const Var<T> out = f(leaves);
  detail::check_scalar(out, "grad");
  std::vector<Var<T>> wrt;
  for (int a : argnums) wrt.push_back(leaves[a]);
  auto grads = detail::backward(out, Var<T>(Tensor<T>::ones(out.shape())), wrt);
  return {detail::hand_back(out), std::move(grads)};
}

template <Real T>
std::vector<Var<T>> grad(const Function<T>& f, const std::vector<Var<T>>& args,
                         const std::vector<int>& argnums) {
  return value_and_grad(f, args, argnums).second;
}

template <Real T>
UnaryFunction<T> grad(UnaryFunction<T> f) {
  return [f = std::move(f)](const Var<T>& x) {
    return grad<T>([&f](const std::vector<Var<T>>& a) { return f(a[0]); }, {x})[0];
  };
}

template <Real T>
std::pair<Var<T>, Pullback<T>> vjp(const Function<T>& f, const std::vector<Var<T>>& args) {
  std::vector<Var<T>> leaves;
  Var<T> out, primal;
  {
    detail::TransformScope scope;
    leaves = detail::make_leaves(args, "vjp");
    out = f(leaves);
    LAMPPOST_CHECK(out.defined(), "vjp", "the function returned an undefined Var");
    primal = detail::hand_back(out);
  }
  Pullback<T> pullback = [out, leaves](const Var<T>& cotangent) {
    LAMPPOST_CHECK(cotangent.defined() && cotangent.shape() == out.shape(), "vjp",
                   "cotangent shape {} does not match the output shape {}",
                   cotangent.defined() ? to_string(cotangent.shape()) : "(undefined)",
                   to_string(out.shape()));
    detail::TransformScope scope;
    return detail::backward(out, cotangent, leaves);
  };
  return {primal, std::move(pullback)};
}

template <Real T>
std::pair<Var<T>, Var<T>> jvp(const Function<T>& f, const std::vector<Var<T>>& args,
                              const std::vector<Var<T>>& tangents) {
  LAMPPOST_CHECK(tangents.size() == args.size(), "jvp", "{} tangents given for {} arguments",
                 tangents.size(), args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    LAMPPOST_CHECK(
        tangents[i].defined() && args[i].defined() && tangents[i].shape() == args[i].shape(), "jvp",
        "tangent {} has shape {} but argument {} has shape {}", i,
        tangents[i].defined() ? to_string(tangents[i].shape()) : "(undefined)", i,
        args[i].defined() ? to_string(args[i].shape()) : "(undefined)");
  }
  detail::TransformScope scope;
  const auto leaves = detail::make_leaves(args, "jvp");
  const Var<T> out = f(leaves);
  LAMPPOST_CHECK(out.defined(), "jvp", "the function returned an undefined Var");
  return {detail::hand_back(out), detail::forward_tangent(out, leaves, tangents)};
}

template <Real T>
Var<T> jacobian_reverse(const UnaryFunction<T>& f, const Var<T>& x) {
  detail::TransformScope scope;
  const auto leaves = detail::make_leaves<T>({x}, "jacobian");
  const Var<T> out = f(leaves[0]);
  LAMPPOST_CHECK(out.defined(), "jacobian", "the function returned an undefined Var");
  std::vector<Var<T>> rows;
  rows.reserve(out.numel());
  for (int64_t i = 0; i < out.numel(); ++i) {
    Tensor<T> basis = Tensor<T>::zeros(out.shape());
    basis.data()[i] = T(1);
    rows.push_back(reshape(detail::backward(out, Var<T>(basis), leaves)[0], {1, x.numel()}));
  }
  Shape shape = out.shape();
  shape.insert(shape.end(), x.shape().begin(), x.shape().end());
  if (rows.empty()) return Var<T>(Tensor<T>::zeros(shape));
  return reshape(concat(rows, 0), shape);
}

template <Real T>
Var<T> jacobian_forward(const UnaryFunction<T>& f, const Var<T>& x) {
  detail::TransformScope scope;
  const auto leaves = detail::make_leaves<T>({x}, "jacobian");
  const Var<T> out = f(leaves[0]);
  LAMPPOST_CHECK(out.defined(), "jacobian", "the function returned an undefined Var");
  std::vector<Var<T>> columns;
  columns.reserve(x.numel());
  for (int64_t j = 0; j < x.numel(); ++j) {
    Tensor<T> basis = Tensor<T>::zeros(x.shape());
    basis.data()[j] = T(1);
    columns.push_back(
        reshape(detail::forward_tangent(out, leaves, {Var<T>(basis)}), {out.numel(), 1}));
  }
  Shape shape = out.shape();
  shape.insert(shape.end(), x.shape().begin(), x.shape().end());
  if (columns.empty()) return Var<T>(Tensor<T>::zeros(shape));
  return reshape(concat(columns, 1), shape);
}

template <Real T>
Var<T> hvp(const UnaryFunction<T>& f, const Var<T>& x, const Var<T>& v) {
  const auto gradient = grad<T>(f);
  return jvp<T>([&](const std::vector<Var<T>>& a) { return gradient(a[0]); }, {x}, {v}).second;
}

template <Real T>
Var<T> hvp_reverse(const UnaryFunction<T>& f, const Var<T>& x, const Var<T>& v) {
  LAMPPOST_CHECK(v.defined() && v.shape() == x.shape(), "hvp",
                 "direction shape {} does not match {}",
                 v.defined() ? to_string(v.shape()) : "(undefined)", to_string(x.shape()));
  const auto gradient = grad<T>(f);
  return grad<T>([&](const Var<T>& y) { return sum(mul(gradient(y), v)); })(x);
}

template <Real T>
Var<T> stop_gradient(const Var<T>& x) {
  return Var<T>(x.value());
}

#define LAMPPOST_INSTANTIATE(T)                                                                \
  template std::pair<Var<T>, std::vector<Var<T>>> value_and_grad(                              \
      const Function<T>&, const std::vector<Var<T>>&, const std::vector<int>&);                \
  template std::vector<Var<T>> grad(const Function<T>&, const std::vector<Var<T>>&,            \
                                    const std::vector<int>&);                                  \
  template UnaryFunction<T> grad(UnaryFunction<T>);                                            \
  template std::pair<Var<T>, Pullback<T>> vjp(const Function<T>&, const std::vector<Var<T>>&); \
  template std::pair<Var<T>, Var<T>> jvp(const Function<T>&, const std::vector<Var<T>>&,       \
                                         const std::vector<Var<T>>&);                          \
  template Var<T> jacobian_reverse(const UnaryFunction<T>&, const Var<T>&);                    \
  template Var<T> jacobian_forward(const UnaryFunction<T>&, const Var<T>&);                    \
  template Var<T> hvp(const UnaryFunction<T>&, const Var<T>&, const Var<T>&);                  \
  template Var<T> hvp_reverse(const UnaryFunction<T>&, const Var<T>&, const Var<T>&);          \
  template Var<T> stop_gradient(const Var<T>&);
LAMPPOST_INSTANTIATE(float)
LAMPPOST_INSTANTIATE(double)
#undef LAMPPOST_INSTANTIATE

}  // namespace lamppost
