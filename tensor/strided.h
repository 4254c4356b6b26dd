// Walking N operands of one shape that each have their own strides (a broadcast operand has
// stride 0). Every strided kernel in lamppost (copies, element-wise fallbacks, reductions over
// views) iterates through this one mechanism: the shape is cut into rows along the last
// dimension, and the caller handles a row with a tight loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tensor/shape.h"

namespace lamppost::detail {

template <size_t N>
struct StridedPlan {
  Shape shape;  // at least one dimension; the last one is the row
  std::array<Shape, N> strides;

  int64_t row_length() const { return shape.back(); }
  int64_t rows() const {
    int64_t r = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i];
    return r;
  }
};

// Drops extent-1 dimensions and merges neighbours that are contiguous in every operand, so a
// contiguous tensor becomes one row and a transposed one keeps its two dimensions.
template <size_t N>
StridedPlan<N> make_plan(const Shape& shape, const std::array<const Shape*, N>& strides) {
  StridedPlan<N> plan;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool merge = !plan.shape.empty() && [&] {
      for (size_t k = 0; k < N; ++k) {
        if (plan.strides[k].back() != (*strides[k])[d] * shape[d]) return false;
      }
      return true;
    }();
    if (merge) {
      plan.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) plan.strides[k].back() = (*strides[k])[d];
    } else {
      plan.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) plan.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (plan.shape.empty()) {  // 0-d, or every extent is 1: one element
    plan.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) plan.strides[k].push_back(0);
  }
  return plan;
}

// Calls fn(offsets, row_length, inner_strides) for rows [begin, end) of the plan, where
// offsets[k] is operand k's element offset at the start of the row.
template <size_t N, class F>
void for_each_row(const StridedPlan<N>& plan, int64_t begin, int64_t end, F&& fn) {
  if (begin >= end || plan.row_length() == 0) return;
  const size_t outer = plan.shape.size() - 1;
  std::array<int64_t, N> inner{};
  for (size_t k = 0; k < N; ++k) inner[k] = plan.strides[k].back();

  // Multi-index of row `begin` over the outer dimensions, and the offsets it gives.
  Shape index(outer, 0);
  std::array<int64_t, N> offsets{};
  int64_t rest = begin;
  for (size_t d = outer; d-- > 0;) {
    index[d] = rest % plan.shape[d];
    rest /= plan.shape[d];
    for (size_t k = 0; k < N; ++k) offsets[k] += index[d] * plan.strides[k][d];
  }
  for (int64_t row = begin; row < end; ++row) {
    fn(offsets, plan.row_length(), inner);
    for (size_t d = outer; d-- > 0;) {  // odometer step
      for (size_t k = 0; k < N; ++k) offsets[k] += plan.strides[k][d];
      if (++index[d] < plan.shape[d]) break;
      for (size_t k = 0; k < N; ++k) offsets[k] -= plan.shape[d] * plan.strides[k][d];
      index[d] = 0;
    }
  }
}

}  // namespace lamppost::detail
