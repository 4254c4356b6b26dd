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

}  // namespace detail

template <Real T>
Var<T>::Var(Tensor<T> value) : node_(std::make_shared<detail::Node<T>>(std::move(value))) {}

template <Real T>
const Tensor<T>& Var<T>::value() const {
  LAMPPOST_CHECK(node_ != nullptr, "Var", "the value of an undefined Var was read");
  return node_->value;
}

template <Real T>
Var<T> apply(const std::shared_ptr<const Primitive<T>>& primitive, std::span<const Var<T>> inputs) {
  uint64_t tag = 0;
  for (const Var<T>& input : inputs) {
    LAMPPOST_CHECK(input.defined(), primitive->name(), "an input is an undefined Var");
    tag = std::max(tag, input.node()->tag);
  }
  auto node = std::make_shared<detail::Node<T>>(primitive->forward(inputs));
  if (tracing && tag != 0) {
    node->primitive = primitive;
    node->inputs.assign(inputs.begin(), inputs.end());
    node->tag = tag;
  }
  return Var<T>(std::move(node));
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

}  // namespace lamppost
