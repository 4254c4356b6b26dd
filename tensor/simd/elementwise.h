// The element-wise driver: one template for every arity (unary, binary, ternary). It walks the
// operands through one strided plan (tensor/strided.h) and handles each row with the fastest
// loop the row allows: a vector body on direct loads when every operand is contiguous or
// broadcast along the row, a vector body on gathered elements otherwise, and a scalar tail.
// Work is cut into fixed blocks of elements, so how a tensor is split into vector bodies and
// tails (and so every bit of the result) does not depend on the thread count; blocks are spread
// over OpenMP threads above kParallelThreshold.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "tensor/simd/xsimd.h"

#include "tensor/parallel.h"
#include "tensor/strided.h"
#include "tensor/tensor.h"

namespace lamppost::detail::simd {

template <class T>
using Batch = xsimd::batch<T>;

// Elements per work item of the element-wise driver.
inline constexpr int64_t kElementBlock = int64_t{1} << 14;

// Calls fn(offsets, count, inner_strides) for the pieces of rows that cover the flat (C-order)
// elements [begin, end) of plan: whole rows in the middle, partial rows at either end.
template <size_t N, class F>
void for_each_segment(const StridedPlan<N>& plan, int64_t begin, int64_t end, F&& fn) {
  const int64_t length = plan.row_length();
  if (begin >= end || length == 0) return;
  const int64_t first_row = begin / length;
  const int64_t last_row = (end - 1) / length;
  int64_t row = first_row;
  for_each_row(plan, first_row, last_row + 1,
               [&](std::array<int64_t, N> offsets, int64_t, const std::array<int64_t, N>& inner) {
                 const int64_t lo = row == first_row ? begin - row * length : 0;
                 const int64_t hi = row == last_row ? end - row * length : length;
                 for (size_t k = 0; k < N; ++k) offsets[k] += lo * inner[k];
                 fn(offsets, hi - lo, inner);
                 ++row;
               });
}

// Runs body(begin, end) over [0, count) in blocks of `block` items, spread over the OpenMP
// threads when `parallel`. The blocks are the same whatever the thread count.
template <class Body>
void for_each_block(int64_t count, int64_t block, bool parallel, const Body& body) {
  const int64_t blocks = (count + block - 1) / block;
  if (blocks <= 1) {
    body(0, count);
    return;
  }
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < blocks; ++b) body(b * block, std::min(count, (b + 1) * block));
}

// An input read along a row: contiguous (stride 1) or broadcast (stride 0).
template <class T>
struct ContiguousInput {
  const T* data;
  Batch<T> batch(int64_t i) const { return Batch<T>::load_unaligned(data + i); }
  T scalar(int64_t i) const { return data[i]; }
};
template <class T>
struct BroadcastInput {
  T value;
  Batch<T> splat;
  Batch<T> batch(int64_t) const { return splat; }
  T scalar(int64_t) const { return value; }
};

template <class F, class T, class... Inputs>
void vector_row(const F& f, T* out, int64_t n, const Inputs&... in) {
  constexpr auto width = static_cast<int64_t>(Batch<T>::size);
  int64_t i = 0;
  for (; i + width <= n; i += width) f(in.batch(i)...).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = f(in.scalar(i)...);
}

// Turns each input's row stride (0 or 1 here) into its input type, one at a time, so the row
// loop is compiled for that combination with no per-element branch.
template <class F, class T, size_t N, class... Inputs>
void dispatch_row(const F& f, T* out, int64_t n, const std::array<const T*, N>& in,
                  const std::array<int64_t, N>& stride, const Inputs&... ready) {
  constexpr size_t k = sizeof...(Inputs);
  if constexpr (k == N) {
    vector_row(f, out, n, ready...);
  } else if (stride[k] == 0) {
    dispatch_row(f, out, n, in, stride, ready..., BroadcastInput<T>{*in[k], Batch<T>(*in[k])});
  } else {
    dispatch_row(f, out, n, in, stride, ready..., ContiguousInput<T>{in[k]});
  }
}

// f applied to element i of each strided input.
template <class F, class T, size_t N, size_t... K>
T call_at(const F& f, const std::array<const T*, N>& in, const std::array<int64_t, N>& stride,
          int64_t i, std::index_sequence<K...>) {
  return f(in[K][i * stride[K]]...);
}

// Any strides: each batch of elements is gathered into a buffer, computed as a vector, and
// scattered back, since a transcendental functor costs far more per element on scalars.
template <class F, class T, size_t N, size_t... K>
void strided_row(const F& f, T* out, int64_t out_stride, int64_t n,
                 const std::array<const T*, N>& in, const std::array<int64_t, N>& stride,
                 std::index_sequence<K...> operands) {
  constexpr auto width = static_cast<int64_t>(Batch<T>::size);
  std::array<std::array<T, width>, N> gathered;
  std::array<T, width> result;
  int64_t i = 0;
  for (; i + width <= n; i += width) {
    for (size_t k = 0; k < N; ++k) {
      for (int64_t j = 0; j < width; ++j) gathered[k][j] = in[k][(i + j) * stride[k]];
    }
    f(Batch<T>::load_unaligned(gathered[K].data())...).store_unaligned(result.data());
    for (int64_t j = 0; j < width; ++j) out[(i + j) * out_stride] = result[j];
  }
  for (; i < n; ++i) out[i * out_stride] = call_at(f, in, stride, i, operands);
}

// out = f(in[0], ..., in[N-1]) element by element. Every input already has out's shape
// (broadcast views); out is not a broadcast view and does not overlap an input, except by
// being exactly the same view.
template <class F, Real T, size_t N>
void elementwise(const F& f, Tensor<T>& out, const std::array<Tensor<T>, N>& in) {
  std::array<const Shape*, N + 1> strides{&out.strides()};
  std::array<const T*, N> base{};
  for (size_t k = 0; k < N; ++k) {
    strides[k + 1] = &in[k].strides();
    base[k] = in[k].data();
  }
  const auto plan = make_plan<N + 1>(out.shape(), strides);
  T* const out_base = out.data();

  const int64_t count = out.numel();
  for_each_block(
      count, kElementBlock, count >= kParallelThreshold, [&](int64_t begin, int64_t end) {
        for_each_segment(plan, begin, end, [&](const auto& offset, int64_t n, const auto& inner) {
          std::array<const T*, N> row{};
          std::array<int64_t, N> stride{};
          bool vector = inner[0] == 1;
          bool constant = true;
          for (size_t k = 0; k < N; ++k) {
            row[k] = base[k] + offset[k + 1];
            stride[k] = inner[k + 1];
            vector = vector && stride[k] <= 1;
            constant = constant && stride[k] == 0;
          }
          T* o = out_base + offset[0];
          if (vector && constant) {
            std::fill_n(o, n, call_at(f, row, stride, 0, std::make_index_sequence<N>()));
          } else if (vector) {
            dispatch_row(f, o, n, row, stride);
          } else {
            strided_row(f, o, inner[0], n, row, stride, std::make_index_sequence<N>());
          }
        });
      });
}

}  // namespace lamppost::detail::simd
