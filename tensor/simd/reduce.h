// Reduction kernels. A reduction applies a map to each element (identity, square, or a product
// of two operands) and folds the results with a reducer (sum, max, min; see functors.h).
//
// Determinism and accuracy come from one rule: the elements are cut into blocks whose size does
// not depend on the thread count, each block is folded into a partial (several SIMD accumulators
// inside), and the partials are combined in a fixed pairwise tree. So a sum of 10^7 floats
// carries the error of a 4096-element run plus a log-depth tree, and is bit-identical with any
// number of threads.
//
// Along axes there are two loop orders, picked by where x's smallest stride lies:
//  - inner: the reduced axes hold the smallest stride (sum over rows of a row-major matrix).
//    Each output element is the reduction of its own strided sub-tensor.
//  - outer: a kept axis holds it (sum over the rows' index, e.g. axis 0). Whole kept rows are
//    folded into accumulator rows with vector loads, one block of reduced indices per partial
//    row, and the partial rows are combined element by element in the same pairwise tree.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "tensor/simd/xsimd.h"

#include "tensor/parallel.h"
#include "tensor/simd/elementwise.h"
#include "tensor/strided.h"
#include "tensor/tensor.h"

namespace lamppost::detail::simd {

// Elements folded into one partial of a reduction.
inline constexpr int64_t kReduceBlock = 4096;
// The outer order's work item: this many output elements times this many reduced indices.
inline constexpr int64_t kKeptBlock = 2048;
inline constexpr int64_t kFoldBlock = 256;

// The lanes of v folded in lane order.
template <class R, class T>
T fold_lanes(const Batch<T>& v) {
  std::array<T, Batch<T>::size> lanes;
  v.store_unaligned(lanes.data());
  T result = lanes[0];
  for (size_t i = 1; i < lanes.size(); ++i) result = R::combine(result, lanes[i]);
  return result;
}

template <class M, class T, size_t N, size_t... K>
Batch<T> map_batch(const M& map, const std::array<const T*, N>& in, int64_t i,
                   std::index_sequence<K...>) {
  return map(Batch<T>::load_unaligned(in[K] + i)...);
}

// Folds map(elements) of strided rows into one partial.
template <class R, class M, class T, size_t N>
class Accumulator {
 public:
  explicit Accumulator(const M& map) : map_(map) { acc_.fill(R::template identity<Batch<T>>()); }

  void add_row(const std::array<const T*, N>& in, int64_t n, const std::array<int64_t, N>& stride) {
    constexpr auto width = static_cast<int64_t>(Batch<T>::size);
    constexpr auto operands = std::make_index_sequence<N>();
    int64_t i = 0;
    if (std::all_of(stride.begin(), stride.end(), [](int64_t s) { return s == 1; })) {
      for (; i + 4 * width <= n; i += 4 * width) {
        for (int64_t a = 0; a < 4; ++a) {
          acc_[a] = R::combine(acc_[a], map_batch(map_, in, i + a * width, operands));
        }
      }
      for (; i + width <= n; i += width) {
        acc_[0] = R::combine(acc_[0], map_batch(map_, in, i, operands));
      }
      vector_used_ = vector_used_ || i > 0;
    }
    for (; i < n; ++i) rest_ = R::combine(rest_, call_at(map_, in, stride, i, operands));
  }

  // Skipping the untouched vector accumulators changes no bit (combining with the identity is
  // exact) and saves the lane fold on short rows.
  T result() const {
    if (!vector_used_) return rest_;
    const Batch<T> all = R::combine(R::combine(acc_[0], acc_[1]), R::combine(acc_[2], acc_[3]));
    return R::combine(fold_lanes<R>(all), rest_);
  }

 private:
  const M& map_;
  // Four independent accumulators, so the loop is not bound by the latency of one combine.
  std::array<Batch<T>, 4> acc_;
  T rest_ = R::template identity<T>();
  bool vector_used_ = false;
};

// The reduction of map(elements) over the flat elements [begin, end) of plan.
template <class R, class M, class T, size_t N>
T reduce_range(const M& map, const StridedPlan<N>& plan, const std::array<const T*, N>& base,
               int64_t begin, int64_t end) {
  Accumulator<R, M, T, N> acc(map);
  if (plan.shape.size() == 1) {  // one row: no walk needed (short rows are common here)
    std::array<const T*, N> in{};
    std::array<int64_t, N> stride{};
    for (size_t k = 0; k < N; ++k) {
      stride[k] = plan.strides[k][0];
      in[k] = base[k] + begin * stride[k];
    }
    acc.add_row(in, end - begin, stride);
    return acc.result();
  }
  for_each_segment(plan, begin, end, [&](const auto& offset, int64_t n, const auto& inner) {
    std::array<const T*, N> in{};
    for (size_t k = 0; k < N; ++k) in[k] = base[k] + offset[k];
    acc.add_row(in, n, inner);
  });
  return acc.result();
}

// rows[b] = the combination of rows[0..count) (each `width` elements, one after another) in a
// fixed pairwise tree; the result lands in row 0.
template <class R, class T>
void combine_rows(T* rows, int64_t count, int64_t width) {
  constexpr auto lanes = static_cast<int64_t>(Batch<T>::size);
  for (int64_t step = 1; step < count; step *= 2) {
    for (int64_t b = 0; b + step < count; b += 2 * step) {
      T* dst = rows + b * width;
      const T* src = rows + (b + step) * width;
      int64_t i = 0;
      for (; i + lanes <= width; i += lanes) {
        R::combine(Batch<T>::load_unaligned(dst + i), Batch<T>::load_unaligned(src + i))
            .store_unaligned(dst + i);
      }
      for (; i < width; ++i) dst[i] = R::combine(dst[i], src[i]);
    }
  }
}

// The reduction of map(elements) over all `count` elements of plan, in blocks of kReduceBlock;
// threaded when count reaches kParallelThreshold.
template <class R, class M, class T, size_t N>
T reduce_plan(const M& map, const StridedPlan<N>& plan, const std::array<const T*, N>& base,
              int64_t count) {
  if (count <= kReduceBlock) return reduce_range<R>(map, plan, base, 0, count);
  std::vector<T> partial((count + kReduceBlock - 1) / kReduceBlock);
  for_each_block(count, kReduceBlock, count >= kParallelThreshold, [&](int64_t begin, int64_t end) {
    partial[begin / kReduceBlock] = reduce_range<R>(map, plan, base, begin, end);
  });
  combine_rows<R>(partial.data(), static_cast<int64_t>(partial.size()), 1);
  return partial[0];
}

// x's axes `dims`, in that order, as a one-operand plan.
template <Real T>
StridedPlan<1> plan_over(const Tensor<T>& x, const std::vector<int>& dims) {
  Shape shape, strides;
  for (int d : dims) {
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  return make_plan<1>(shape, {&strides});
}

// Inner order: out[k] is the reduction of the sub-tensor of x at kept index k.
template <class R, class M, Real T>
void reduce_inner(const M& map, const Tensor<T>& x, const std::vector<int>& kept_dims,
                  const std::vector<int>& reduced_dims, int64_t reduced_count, Tensor<T>& out) {
  const StridedPlan<1> kept = plan_over(x, kept_dims);
  const StridedPlan<1> reduced = plan_over(x, reduced_dims);
  const T* const x_base = x.data();
  T* const o = out.data();
  const bool short_row =
      reduced.shape.size() == 1 && reduced_count < static_cast<int64_t>(Batch<T>::size);
  auto reduce_kept = [&](int64_t begin, int64_t end) {
    int64_t k = begin;
    for_each_segment(kept, begin, end, [&](const auto& offset, int64_t n, const auto& inner) {
      if (short_row) {
        // Rows shorter than a batch fold in order, which is what the general path would do
        // (its vector accumulators stay untouched); the tight loop avoids its overhead.
        const int64_t stride = reduced.strides[0][0];
        for (int64_t i = 0; i < n; ++i, ++k) {
          const T* line = x_base + offset[0] + i * inner[0];
          T acc = R::template identity<T>();
          for (int64_t j = 0; j < reduced_count; ++j) acc = R::combine(acc, map(line[j * stride]));
          o[k] = acc;
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i, ++k) {
        const std::array<const T*, 1> line{x_base + offset[0] + i * inner[0]};
        o[k] = reduce_plan<R>(map, reduced, line, reduced_count);
      }
    });
  };
  const int64_t kept_count = out.numel();
  if (reduced_count >= kParallelThreshold) {
    reduce_kept(0, kept_count);  // each reduction spreads over the threads itself
  } else {
    for_each_block(kept_count, std::max<int64_t>(1, kElementBlock / reduced_count),
                   kept_count * reduced_count >= kParallelThreshold, reduce_kept);
  }
}

// acc[i] = combine(acc[i], map(x[i * stride])) for i < n.
template <class R, class M, class T>
void fold_row(const M& map, T* acc, const T* x, int64_t n, int64_t stride) {
  constexpr auto width = static_cast<int64_t>(Batch<T>::size);
  int64_t i = 0;
  if (stride == 1) {
    for (; i + width <= n; i += width) {
      R::combine(Batch<T>::load_unaligned(acc + i), map(Batch<T>::load_unaligned(x + i)))
          .store_unaligned(acc + i);
    }
  }
  for (; i < n; ++i) acc[i] = R::combine(acc[i], map(x[i * stride]));
}

template <class R, class M, Real T>
void reduce_outer(const M& map, const Tensor<T>& x, const std::vector<int>& kept_dims,
                  const std::vector<int>& reduced_dims, int64_t reduced_count, Tensor<T>& out);

// The outer order on a contiguous [m, k] block with k smaller than a batch (a sum over the rows
// of an [n, 3] matrix): folding one short row per step would run on scalars, so `group` rows
// at a time are folded as one wide row, and the groups are combined at the end, in order.
template <class R, class M, Real T>
void reduce_narrow(const M& map, const Tensor<T>& block, T* out) {
  const int64_t m = block.shape()[0], k = block.shape()[1];
  const int64_t group = (4 * static_cast<int64_t>(Batch<T>::size) + k - 1) / k;
  const int64_t wide_rows = m / group;
  Tensor<T> wide_sums = Tensor<T>::empty({group * k});
  reduce_outer<R>(map, block.slice(0, 0, wide_rows * group).reshape({wide_rows, group * k}), {1},
                  {0}, wide_rows, wide_sums);
  const T* const sums = wide_sums.data();
  const T* const rest = block.data();
  for (int64_t j = 0; j < k; ++j) {
    T acc = sums[j];
    for (int64_t g = 1; g < group; ++g) acc = R::combine(acc, sums[g * k + j]);
    for (int64_t r = wide_rows * group; r < m; ++r) acc = R::combine(acc, map(rest[r * k + j]));
    out[j] = acc;
  }
}

// Outer order; kept_dims and reduced_dims come sorted by decreasing stride of x.
template <class R, class M, Real T>
void reduce_outer(const M& map, const Tensor<T>& x, const std::vector<int>& kept_dims,
                  const std::vector<int>& reduced_dims, int64_t reduced_count, Tensor<T>& out) {
  const StridedPlan<1> kept = plan_over(x, kept_dims);
  const StridedPlan<1> reduced = plan_over(x, reduced_dims);
  const int64_t kept_count = out.numel();

  // Partial rows follow the kept plan's order (x's layout), so a fold walks its accumulators
  // and x with unit strides together. out_view is out seen in that order.
  Shape kept_shape;
  std::vector<int> order;
  for (int d : kept_dims) {
    const int64_t position =
        std::count_if(kept_dims.begin(), kept_dims.end(), [&](int e) { return e < d; });
    order.push_back(static_cast<int>(position));
    kept_shape.push_back(x.shape()[d]);
  }
  Tensor<T> out_view = out.permute(order);
  const bool narrow = kept.shape.size() == 1 && kept.strides[0][0] == 1 &&
                      kept_count < static_cast<int64_t>(Batch<T>::size) &&
                      reduced.shape.size() == 1 && reduced.strides[0][0] == kept_count &&
                      reduced_count >= 4 * static_cast<int64_t>(Batch<T>::size) &&
                      out_view.is_contiguous();
  if (narrow) {
    // x as the [reduced, kept] block it is: reduced axes first, each group by stride.
    std::vector<int> axes = reduced_dims;
    axes.insert(axes.end(), kept_dims.begin(), kept_dims.end());
    reduce_narrow<R>(map, x.permute(axes).reshape({reduced_count, kept_count}), out.data());
    return;
  }
  const int64_t kept_blocks = (kept_count + kKeptBlock - 1) / kKeptBlock;
  const int64_t fold_blocks = (reduced_count + kFoldBlock - 1) / kFoldBlock;
  const bool direct = fold_blocks == 1 && out_view.is_contiguous();
  Tensor<T> rows = direct ? out : Tensor<T>::empty({fold_blocks * kept_count});

  const T* const x_base = x.data();
  T* const rows_base = rows.data();
  auto item = [&](int64_t index) {
    const int64_t k_begin = (index % kept_blocks) * kKeptBlock;
    const int64_t k_end = std::min(kept_count, k_begin + kKeptBlock);
    const int64_t m_begin = (index / kept_blocks) * kFoldBlock;
    const int64_t m_end = std::min(reduced_count, m_begin + kFoldBlock);
    T* const acc_row = rows_base + (index / kept_blocks) * kept_count;
    int64_t k = k_begin;
    for_each_segment(kept, k_begin, k_end, [&](const auto& offset, int64_t n, const auto& inner) {
      T* const acc = acc_row + k;
      std::fill_n(acc, n, R::template identity<T>());
      const T* const x_row = x_base + offset[0];
      for_each_segment(reduced, m_begin, m_end,
                       [&](const auto& r_offset, int64_t r_count, const auto& r_inner) {
                         for (int64_t j = 0; j < r_count; ++j) {
                           fold_row<R>(map, acc, x_row + r_offset[0] + j * r_inner[0], n, inner[0]);
                         }
                       });
      k += n;
    });
  };
  for_each_block(kept_blocks * fold_blocks, 1, kept_count * reduced_count >= kParallelThreshold,
                 [&](int64_t begin, int64_t end) {
                   for (int64_t i = begin; i < end; ++i) item(i);
                 });
  combine_rows<R>(rows_base, fold_blocks, kept_count);
  if (!direct) out_view.assign(rows.slice(0, 0, kept_count).reshape(kept_shape));
}

// out = the reduction of map(x) over the axes flagged in `reduced`; out has x's shape without
// those axes and is contiguous. A reduction over no elements gives the reducer's identity.
template <class R, class M, Real T>
void reduce_axes(const M& map, const Tensor<T>& x, const std::vector<bool>& reduced,
                 Tensor<T>& out) {
  std::vector<int> kept_dims, reduced_dims;
  int64_t reduced_count = 1;
  int innermost = -1;  // the axis with the smallest non-zero stride
  for (int d = 0; d < x.ndim(); ++d) {
    (reduced[d] ? reduced_dims : kept_dims).push_back(d);
    if (reduced[d]) reduced_count *= x.shape()[d];
    const int64_t stride = x.strides()[d];
    if (x.shape()[d] > 1 && stride != 0 && (innermost < 0 || stride <= x.strides()[innermost])) {
      innermost = d;
    }
  }
  if (out.numel() == 0) return;
  if (reduced_count == 0) {
    out.fill(R::template identity<T>());
    return;
  }
  // The order of reduced elements is free, and walking them in memory order keeps rows long.
  auto by_decreasing_stride = [&](int a, int b) { return x.strides()[a] > x.strides()[b]; };
  std::stable_sort(reduced_dims.begin(), reduced_dims.end(), by_decreasing_stride);
  if (innermost < 0 || reduced[innermost]) {
    reduce_inner<R>(map, x, kept_dims, reduced_dims, reduced_count, out);
  } else {
    std::stable_sort(kept_dims.begin(), kept_dims.end(), by_decreasing_stride);
    reduce_outer<R>(map, x, kept_dims, reduced_dims, reduced_count, out);
  }
}

// out[k] = the index along `axis` of the first largest (Largest) or smallest element of the
// k-th line of x, k in C order over the other axes; the first NaN wins, as in NumPy.
template <bool Largest, Real T>
void arg_reduce(const Tensor<T>& x, int axis, int64_t* out) {
  std::vector<int> kept_dims;
  int64_t kept_count = 1;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == axis) continue;
    kept_dims.push_back(d);
    kept_count *= x.shape()[d];
  }
  const StridedPlan<1> kept = plan_over(x, kept_dims);
  const int64_t length = x.shape()[axis];
  const int64_t stride = x.strides()[axis];
  const T* const x_base = x.data();
  auto best_of = [&](const T* line) {
    int64_t best = 0;
    T value = line[0];
    for (int64_t i = 1; i < length && value == value; ++i) {
      const T candidate = line[i * stride];
      if ((Largest ? candidate > value : candidate < value) || candidate != candidate) {
        best = i;
        value = candidate;
      }
    }
    return best;
  };
  for_each_block(kept_count, std::max<int64_t>(1, kElementBlock / length),
                 kept_count * length >= kParallelThreshold, [&](int64_t begin, int64_t end) {
                   int64_t k = begin;
                   for_each_segment(kept, begin, end,
                                    [&](const auto& offset, int64_t n, const auto& inner) {
                                      for (int64_t i = 0; i < n; ++i, ++k) {
                                        out[k] = best_of(x_base + offset[0] + i * inner[0]);
                                      }
                                    });
                 });
}

}  // namespace lamppost::detail::simd
