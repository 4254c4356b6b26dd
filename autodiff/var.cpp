#include "autodiff/var.h"

#include <algorithm>

#include "autodiff/ops.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace lamppost {

namespace {
thread_local bool tracing = true;
}  // namespace

bool tracing_enabled() {
  return tracing;
}

TraceMode::TraceMode(bool enabled) : previous_(tracing) {
  tracing = enabled;
}
TraceMode::~TraceMode() {
  tracing = previous_;
}

namespace detail {

template <Real T>
Node<T>::~Node() {
  // Destroying the output of a 100,000-op chain would otherwise recurse 100,000 deep. Inputs
  // this node owns alone are taken apart here, in a loop, before they are released.
  std::vector<Var<T>> pending = std::move(inputs);
  while (!pending.empty()) {
    Var<T> var = std::move(pending.back());
    pending.pop_back();
    const auto& node = var.node();
    if (node && node.use_count() == 1) {
      for (auto& input : node->inputs) pending.push_back(std::move(input));
      node->inputs.clear();
    }
  }
}

template struct Node<float>;
template struct Node<double>;

namespace {

template <class U>
struct BlockAllocator {
  using value_type = U;
  BlockAllocator() = default;
  template <class V>
  BlockAllocator(const BlockAllocator<V>&) {}  // NOLINT(google-explicit-constructor)
  U* allocate(size_t n) { return static_cast<U*>(allocate_block(n * sizeof(U))); }
  void deallocate(U* p, size_t n) { free_block(p, n * sizeof(U)); }
  template <class V>
  bool operator==(const BlockAllocator<V>&) const {
    return true;
  }
};

}  // namespace

template <Real T>
std::shared_ptr<Node<T>> make_node(Tensor<T> value) {
  return std::allocate_shared<Node<T>>(BlockAllocator<Node<T>>(), std::move(value));
}

template std::shared_ptr<Node<float>> make_node(Tensor<float>);
template std::shared_ptr<Node<double>> make_node(Tensor<double>);

}  // namespace detail

template <Real T>
Var<T>::Var(Tensor<T> value) : node_(detail::make_node(std::move(value))) {}

template <Real T>
const Tensor<T>& Var<T>::value() const {
  LAMPPOST_CHECK(node_ != nullptr, "Var", "the value of an undefined Var was read");
  return node_->value;
}

namespace detail {

template <Real T>
uint64_t record_tag(std::string_view op, std::span<const Var<T>> inputs) {
  uint64_t tag = 0;
  for (const Var<T>& input : inputs) {
    LAMPPOST_CHECK(input.defined(), op, "an input is an undefined Var");
    tag = std::max(tag, input.node()->tag);
  }
  return tracing ? tag : 0;
}

template uint64_t record_tag(std::string_view, std::span<const Var<float>>);
template uint64_t record_tag(std::string_view, std::span<const Var<double>>);

template <Real T>
Var<T> apply_recorded(const std::shared_ptr<const Primitive<T>>& primitive,
                      std::span<const Var<T>> inputs, uint64_t tag) {
  auto node = make_node(primitive->forward(inputs));
  node->primitive = primitive;
  node->inputs.assign(inputs.begin(), inputs.end());
  node->tag = tag;
  return Var<T>(std::move(node));
}

}  // namespace detail

template <Real T>
Var<T> apply(const std::shared_ptr<const Primitive<T>>& primitive, std::span<const Var<T>> inputs) {
  const uint64_t tag = detail::record_tag(primitive->name(), inputs);
  if (tag == 0) return Var<T>(primitive->forward(inputs));
  return detail::apply_recorded(primitive, inputs, tag);
}

namespace detail {

template <Real T>
void accumulate(Var<T>& sum, const Var<T>& term) {
  if (!sum.defined()) {
    sum = term;
  } else if (!tracing && sum.node().use_count() == 1 && sum.value().owns_storage_alone() &&
             sum.value().is_contiguous()) {
    Tensor<T> value = sum.value();
    value += term.value();
  } else {
    sum = add(sum, term);
  }
}

template void accumulate(Var<float>&, const Var<float>&);
template void accumulate(Var<double>&, const Var<double>&);

}  // namespace detail

template class Primitive<float>;
template class Primitive<double>;
template class Var<float>;
template class Var<double>;
template Var<float> apply(const std::shared_ptr<const Primitive<float>>&,
                          std::span<const Var<float>>);
template Var<double> apply(const std::shared_ptr<const Primitive<double>>&,
                           std::span<const Var<double>>);
namespace detail {
template Var<float> apply_recorded(const std::shared_ptr<const Primitive<float>>&,
                                   std::span<const Var<float>>, uint64_t);
template Var<double> apply_recorded(const std::shared_ptr<const Primitive<double>>&,
                                    std::span<const Var<double>>, uint64_t);
}  // namespace detail

}  // namespace lamppost
