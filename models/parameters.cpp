#include "models/parameters.h"

#include <algorithm>

#include "autodiff/ops.h"
#include "tensor/error.h"

namespace lamppost {

void ParameterLayout::add(std::string name, Shape shape) {
  LAMPPOST_CHECK(std::none_of(blocks_.begin(), blocks_.end(),
                              [&](const ParameterBlock& b) { return b.name == name; }),
                 "ParameterLayout", "a block named '{}' exists already", name);
  const int64_t count = numel(shape, "ParameterLayout");
  blocks_.push_back({std::move(name), size_, std::move(shape), count});
  size_ += count;
}

const ParameterBlock& ParameterLayout::block(std::string_view name) const {
  const auto found = std::find_if(blocks_.begin(), blocks_.end(),
                                  [&](const ParameterBlock& b) { return b.name == name; });
  LAMPPOST_CHECK(found != blocks_.end(), "ParameterLayout", "no block named '{}'", name);
  return *found;
}

void ParameterLayout::check_flat(const Shape& shape) const {
  LAMPPOST_CHECK(shape == Shape{size_}, "ParameterLayout",
                 "the parameter vector has shape {}, but the layout needs ({},)", to_string(shape),
                 size_);
}

template <Real T>
Tensor<T> ParameterLayout::view(const Tensor<T>& flat, std::string_view name) const {
  check_flat(flat.shape());
  const ParameterBlock& b = block(name);
  return flat.slice(0, b.offset, b.offset + b.size).reshape(b.shape);
}

template <Real T>
Var<T> ParameterLayout::view(const Var<T>& flat, std::string_view name) const {
  check_flat(flat.shape());
  const ParameterBlock& b = block(name);
  return reshape(slice(flat, 0, b.offset, b.offset + b.size), b.shape);
}

template Tensor<float> ParameterLayout::view(const Tensor<float>&, std::string_view) const;
template Tensor<double> ParameterLayout::view(const Tensor<double>&, std::string_view) const;
template Var<float> ParameterLayout::view(const Var<float>&, std::string_view) const;
template Var<double> ParameterLayout::view(const Var<double>&, std::string_view) const;

}  // namespace lamppost
