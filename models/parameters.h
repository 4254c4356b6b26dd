// A model's parameters live in one flat vector (the llm.c habit): optimizers update one vector,
// and the theory code reads w, w - w0 and per-layer blocks. A ParameterLayout says where each
// named block sits in that vector and hands out views of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/var.h"
#include "tensor/tensor.h"

namespace lamppost {

struct ParameterBlock {
  std::string name;
  int64_t offset = 0;  // of the block's first element in the flat vector
  Shape shape;         // of the block as its view presents it (row-major)
  int64_t size = 0;    // elements
};

class ParameterLayout {
 public:
  // Appends a block after the existing ones. Names are unique.
  void add(std::string name, Shape shape);

  int64_t size() const { return size_; }  // elements of the flat vector
  const std::vector<ParameterBlock>& blocks() const { return blocks_; }
  const ParameterBlock& block(std::string_view name) const;  // throws naming an unknown block

  // The block as a view of a flat vector of this layout: it shares the vector's storage, so
  // writes through it change the vector.
  template <Real T>
  Tensor<T> view(const Tensor<T>& flat, std::string_view name) const;
  // The same, differentiable in the flat vector (a slice, reshaped).
  template <Real T>
  Var<T> view(const Var<T>& flat, std::string_view name) const;

 private:
  void check_flat(const Shape& shape) const;

  std::vector<ParameterBlock> blocks_;
  int64_t size_ = 0;
};

}  // namespace lamppost
