#include "autodiff/transforms.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <span>

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
  Tensor<T> forward(std::span<const Var<T>> inputs) const override { return inputs[0].value(); }
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
    auto node = make_node(args[i].value());
    if (args[i].traced()) {
      node->primitive = identity;
      node->inputs = {args[i]};
    }
    node->tag = ++last_tag;
    leaves.emplace_back(std::move(node));
  }
  return leaves;
}

// Positions of nodes by address, for one sweep: open addressing in one array, so that entries
// cost no allocation each (std::unordered_map cost a small network's sweeps more than its ops).
class NodePositions {
 public:
  static constexpr int32_t kAbsent = -1;

  explicit NodePositions(size_t expected) : slots_(std::bit_ceil(2 * expected + 2)) {}

  // Empties the table in time proportional to its entries, not its size.
  void clear() {
    for (const size_t i : used_) slots_[i] = Slot();
    used_.clear();
  }

  int32_t find(const void* node) const {
    for (size_t i = slot_of(node);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].node == node) return slots_[i].position;
      if (slots_[i].node == nullptr) return kAbsent;
    }
  }

  // The position of `node`, inserting it with `position` if it is absent; and whether it was.
  std::pair<int32_t&, bool> try_insert(const void* node, int32_t position) {
    if (2 * (used_.size() + 1) > slots_.size()) grow();
    size_t i = slot_of(node);
    for (; slots_[i].node != nullptr; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].node == node) return {slots_[i].position, false};
    }
    slots_[i] = {node, position};
    used_.push_back(i);
    return {slots_[i].position, true};
  }

 private:
  struct Slot {
    const void* node = nullptr;
    int32_t position = kAbsent;
  };

  size_t slot_of(const void* node) const {
    // Fibonacci hashing of the address; nodes are at least 16-byte aligned.
    const uint64_t bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(node) >> 4);
    return static_cast<size_t>((bits * 0x9E3779B97F4A7C15ull) >> 32) & (slots_.size() - 1);
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    std::swap(old, slots_);
    const std::vector<size_t> old_used = std::move(used_);
    used_.clear();
    for (const size_t i : old_used) try_insert(old[i].node, old[i].position);
  }

  std::vector<Slot> slots_;
  std::vector<size_t> used_;  // indices of the filled slots
};

// The traced ancestors of an output that may depend on the leaves (tag >= the oldest leaf's):
// inputs before the nodes that use them, each node's inputs as positions in that order (or
// NodePositions::kAbsent for inputs outside it), and the leaves' positions. The leaves are
// boundaries: the walk does not pass through them.
template <Real T>
struct Subgraph {
  std::vector<Var<T>> order;
  std::vector<int32_t> first_input;  // order[k]'s inputs are at inputs[first_input[k] ...]
  std::vector<int32_t> inputs;
  std::vector<bool> is_leaf;
  std::vector<int32_t> leaf_positions;  // per leaf

  std::span<const int32_t> inputs_of(size_t k) const {
    return {inputs.data() + first_input[k], node(k).inputs.size()};
  }
  const Node<T>& node(size_t k) const { return *order[k].node(); }
  // Whether the sweep runs order[k]'s rule: not for leaves and constants.
  bool has_rule(size_t k) const { return !is_leaf[k] && node(k).primitive != nullptr; }
};

// An explicit stack, not recursion: a chain of 100,000 ops must not overflow the call stack.
template <Real T>
Subgraph<T> trace_subgraph(const Var<T>& output, const std::vector<Var<T>>& leaves) {
  // The tables and the stack are kept per thread and emptied on the way out (nothing in here
  // can call back into it): fresh ones per sweep, and a graph grown one node at a time, cost a
  // small network's sweep more than its ops did.
  thread_local NodePositions leaf_set(4);
  thread_local NodePositions positions(64);
  thread_local std::vector<std::pair<const Var<T>*, size_t>> stack;
  thread_local std::vector<const Var<T>*> placed;  // the order, until its size is known
  struct Clear {
    ~Clear() {
      leaf_set.clear();
      positions.clear();
      stack.clear();
      placed.clear();
    }
  } clear;
  uint64_t min_tag = UINT64_MAX;
  for (const Var<T>& leaf : leaves) {
    min_tag = std::min(min_tag, leaf.node()->tag);
    leaf_set.try_insert(leaf.node().get(), 0);
  }
  auto within = [min_tag](const Var<T>& var) { return var.traced() && var.node()->tag >= min_tag; };
  constexpr int32_t kOnStack = -2;  // visited, not yet placed
  size_t input_count = 0;
  if (within(output)) {
    positions.try_insert(output.node().get(), kOnStack);
    stack.emplace_back(&output, 0);
    while (!stack.empty()) {
      auto& [var, next] = stack.back();
      const Node<T>& node = *var->node();
      if (leaf_set.find(&node) == NodePositions::kAbsent && next < node.inputs.size()) {
        const Var<T>& input = node.inputs[next++];
        if (within(input) && positions.try_insert(input.node().get(), kOnStack).second) {
          stack.emplace_back(&input, 0);
        }
        continue;
      }
      positions.try_insert(&node, 0).first = static_cast<int32_t>(placed.size());
      placed.push_back(var);
      input_count += node.inputs.size();
      stack.pop_back();
    }
  }
  const size_t size = placed.size();
  Subgraph<T> graph;
  graph.order.reserve(size);
  for (const Var<T>* var : placed) graph.order.push_back(*var);
  graph.first_input.resize(size);
  graph.inputs.reserve(input_count);
  graph.is_leaf.resize(size);
  for (size_t k = 0; k < size; ++k) {
    const Node<T>& node = graph.node(k);
    graph.is_leaf[k] = leaf_set.find(&node) != NodePositions::kAbsent;
    graph.first_input[k] = static_cast<int32_t>(graph.inputs.size());
    for (const Var<T>& input : node.inputs) {
      graph.inputs.push_back(within(input) && !graph.is_leaf[k] ? positions.find(input.node().get())
                                                                : NodePositions::kAbsent);
    }
  }
  graph.leaf_positions.reserve(leaves.size());
  for (const Var<T>& leaf : leaves)
    graph.leaf_positions.push_back(positions.find(leaf.node().get()));
  return graph;
}

// Reverse sweep: cotangents of the leaves given the output's cotangent (zeros for a leaf the
// output does not depend on).
template <Real T>
std::vector<Var<T>> backward(const Var<T>& output, const Var<T>& cotangent,
                             const std::vector<Var<T>>& leaves) {
  const Subgraph<T> graph = trace_subgraph(output, leaves);
  const TraceMode mode(TransformScope::sweep_traced());

  const size_t size = graph.order.size();
  std::vector<Var<T>> cotangents(size);
  if (size != 0) cotangents.back() = cotangent;  // the output comes last
  // Cotangents of slices wait here, per sliced value, to be placed in one embed.
  struct Pieces {
    std::vector<SliceSpec> specs;
    std::vector<Var<T>> parts;
  };
  std::vector<Pieces> pieces(size);
  auto complete = [&](size_t k) -> Var<T>& {
    if (!pieces[k].parts.empty()) {
      detail::accumulate(cotangents[k], embed<T>(graph.order[k].shape(), std::move(pieces[k].specs),
                                                 pieces[k].parts));
      pieces[k] = Pieces();
    }
    return cotangents[k];
  };
  for (size_t k = size; k-- > 0;) {
    if (!graph.has_rule(k) || !complete(k).defined()) continue;
    const Var<T> cot = std::move(cotangents[k]);  // complete here, and needed no more
    const Node<T>& node = graph.node(k);
    const std::span<const int32_t> inputs = graph.inputs_of(k);
    if (const auto spec = node.primitive->slice_of_input()) {
      if (inputs[0] != NodePositions::kAbsent) {
        pieces[inputs[0]].specs.push_back(*spec);
        pieces[inputs[0]].parts.push_back(cot);
      }
      continue;
    }
    const auto input_cotangents = node.primitive->vjp(node.inputs, graph.order[k], cot);
    for (size_t i = 0; i < inputs.size(); ++i) {
      // Only inputs that lead back to the leaves collect cotangents.
      if (inputs[i] != NodePositions::kAbsent && input_cotangents[i].defined()) {
        detail::accumulate(cotangents[inputs[i]], input_cotangents[i]);
      }
    }
  }
  std::vector<Var<T>> result;
  result.reserve(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    const int32_t position = graph.leaf_positions[i];
    result.push_back(position != NodePositions::kAbsent && complete(position).defined()
                         ? cotangents[position]
                         : Var<T>(Tensor<T>::zeros(leaves[i].shape())));
  }
  return result;
}

// Forward sweep: the output's tangent given the leaves' tangents. A tangent is dropped as soon
// as the last node that reads it is done.
template <Real T>
Var<T> forward_tangent(const Var<T>& output, const std::vector<Var<T>>& leaves,
                       const std::vector<Var<T>>& tangents) {
  const Subgraph<T> graph = trace_subgraph(output, leaves);
  const TraceMode mode(TransformScope::sweep_traced());
  const size_t size = graph.order.size();

  std::vector<int32_t> readers(size, 0);
  for (const int32_t input : graph.inputs) {
    if (input != NodePositions::kAbsent) ++readers[input];
  }
  std::vector<Var<T>> tangent_of(size);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (graph.leaf_positions[i] != NodePositions::kAbsent) {
      tangent_of[graph.leaf_positions[i]] = tangents[i];
    }
  }
  std::vector<Var<T>> input_tangents;
  for (size_t k = 0; k < size; ++k) {
    if (!graph.has_rule(k)) continue;
    input_tangents.assign(graph.node(k).inputs.size(), Var<T>());
    bool any = false;
    size_t i = 0;
    for (const int32_t input : graph.inputs_of(k)) {
      if (input != NodePositions::kAbsent) {
        input_tangents[i] = tangent_of[input];
        any = any || input_tangents[i].defined();
        if (--readers[input] == 0) tangent_of[input] = Var<T>();
      }
      ++i;
    }
    if (any) {
      tangent_of[k] =
          graph.node(k).primitive->jvp(graph.node(k).inputs, graph.order[k], input_tangents);
    }
  }
  return size != 0 && tangent_of.back().defined() ? tangent_of.back()
                                                  : Var<T>(Tensor<T>::zeros(output.shape()));
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
  for (const int64_t extent : x.shape()) shape.push_back(extent);
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
  for (const int64_t extent : x.shape()) shape.push_back(extent);
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
