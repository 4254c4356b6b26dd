// Var<T>: a differentiable value. A Var holds a Tensor and, when traced, the node that made it:
// the primitive applied and its input Vars. Nodes are recorded only when some input is traced
// (only the transforms in transforms.h create traced leaves), so code that takes no derivative
// keeps nothing alive.
//
// Primitives are the small set of ops with derivative rules. Each has a forward kernel on
// Tensors and two rules, vjp and jvp, written only with differentiable Var ops: that is what
// makes every transform compose (grad of grad, jvp of grad, ...).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

template <Real T>
class Var;

// Elements start, start + step, ... below stop (step > 0) along an axis; negative start and stop
// count from the end, as in Tensor::slice.
struct SliceSpec {
  int axis;
  int64_t start;
  int64_t stop;
  int64_t step;
};

template <Real T>
class Primitive {
 public:
  virtual ~Primitive() = default;
  virtual std::string_view name() const = 0;
  // The output's value from the inputs' values (inputs[i].value()).
  virtual Tensor<T> forward(std::span<const Var<T>> inputs) const = 0;
  // Cotangents of the inputs given the output's cotangent; an undefined Var where an input
  // gets none (it is not differentiable there, or the rule knows the result is zero).
  virtual std::vector<Var<T>> vjp(const std::vector<Var<T>>& primals, const Var<T>& output,
                                  const Var<T>& cotangent) const = 0;
  // The output's tangent given the inputs' tangents; an undefined Var in `tangents` is zero.
  virtual Var<T> jvp(const std::vector<Var<T>>& primals, const Var<T>& output,
                     const std::vector<Var<T>>& tangents) const = 0;
  // For an op whose output is a slice of its one input, that slice; otherwise none. A reverse
  // sweep then places the cotangents of all slices of one value (a model's layers in its
  // parameter vector) with one op, where embedding each in zeros and adding would pass over
  // the whole value once per slice.
  virtual std::optional<SliceSpec> slice_of_input() const { return std::nullopt; }
};

namespace detail {

template <Real T>
struct Node {
  explicit Node(Tensor<T> computed) : value(std::move(computed)) {}

  Tensor<T> value;
  std::shared_ptr<const Primitive<T>> primitive;  // null for constants
  std::vector<Var<T>> inputs;
  // 0 for an untraced value; otherwise the newest transform leaf among the node's ancestors.
  // A node older than a transform's leaves cannot depend on them, so the transform's graph
  // walks stop there and never wander into an outer transform's graph.
  uint64_t tag = 0;

  ~Node();  // tears long chains down without recursion
};

// A node holding `value`, allocated from the tensor library's per-thread block caches: every op
// makes a node and every graph drops them all at once, and malloc cost more than a small
// tensor's arithmetic did.
template <Real T>
std::shared_ptr<Node<T>> make_node(Tensor<T> value);

}  // namespace detail

template <Real T>
class Var {
 public:
  // An undefined Var: stands for "no cotangent/tangent" (zero) inside the transforms.
  Var() = default;
  // A constant (untraced) value. Implicit, so tensors mix freely with Vars in expressions.
  Var(Tensor<T> value);  // NOLINT(google-explicit-constructor)

  bool defined() const { return node_ != nullptr; }
  bool traced() const { return node_ && node_->tag != 0; }
  const Tensor<T>& value() const;
  const Shape& shape() const { return value().shape(); }
  int ndim() const { return value().ndim(); }
  int64_t numel() const { return value().numel(); }
  T item() const { return value().item(); }

  // The graph, for the transforms.
  const std::shared_ptr<detail::Node<T>>& node() const { return node_; }
  explicit Var(std::shared_ptr<detail::Node<T>> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<detail::Node<T>> node_;
};

// Runs a primitive: its forward kernel on the inputs' values, and a node in the graph when
// tracing is on and some input is traced.
template <Real T>
Var<T> apply(const std::shared_ptr<const Primitive<T>>& primitive, std::span<const Var<T>> inputs);
template <Real T>
Var<T> apply(const std::shared_ptr<const Primitive<T>>& primitive,
             std::initializer_list<Var<T>> inputs) {
  return apply<T>(primitive, std::span<const Var<T>>(inputs.begin(), inputs.size()));
}

namespace detail {
// The tag of the node that `apply` records for these inputs, or 0 when it records none (tracing
// is off, or no input is traced). Throws, naming the op, on an undefined input.
template <Real T>
uint64_t record_tag(std::string_view op, std::span<const Var<T>> inputs);
// The primitive's output as a graph node that records it and its inputs under tag (non-zero,
// from record_tag).
template <Real T>
Var<T> apply_recorded(const std::shared_ptr<const Primitive<T>>& primitive,
                      std::span<const Var<T>> inputs, uint64_t tag);
}  // namespace detail

// Sets whether ops record graph nodes, for a scope, and restores the previous setting.
class TraceMode {
 public:
  explicit TraceMode(bool enabled);
  ~TraceMode();
  TraceMode(const TraceMode&) = delete;
  TraceMode& operator=(const TraceMode&) = delete;

 private:
  bool previous_;
};

// Turns recording off in its scope: results are constants (inference, optimizer updates,
// and the derivative computations of a transform that nothing outside will differentiate).
class NoTrace : public TraceMode {
 public:
  NoTrace() : TraceMode(false) {}
};

bool tracing_enabled();

namespace detail {
// sum += term (an undefined sum is zero): in place when recording is off and no other Var or
// tensor sees the sum's buffer, else as a new Var.
template <Real T>
void accumulate(Var<T>& sum, const Var<T>& term);
}  // namespace detail

extern template class Var<float>;
extern template class Var<double>;

}  // namespace lamppost
