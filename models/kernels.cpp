#include "models/kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/names.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace lamppost {

namespace {

constexpr NameTable<KernelKind, 2> kKernelKinds = {{
    {KernelKind::gaussian, "gaussian"},
    {KernelKind::laplace, "laplace"},
}};

// Rows of x1 per block of gemm_symmetric in the symmetric case: at the n kernel machines work at
// (thousands) tall blocks keep each GEMM efficient and still skip nearly half the products.
constexpr int64_t kSymmetricBlockRows = 512;
// The pass after the GEMM works on tiles of at most this many entries: small enough to stay in
// the core's cache while the norms are added and the kernel's function is applied, and below
// kParallelThreshold, so the element-wise op called on a tile runs on the calling thread.
constexpr int64_t kTileEntries = 16384;
// The symmetric case's tiles are square, so that each one's mirror image is written as whole
// cache lines.
constexpr int64_t kSquareTile = 128;
static_assert(kSquareTile * kSquareTile <= kTileEntries && kTileEntries < kParallelThreshold);
// Tiles must not straddle two GEMM blocks: each tile lies in the part its block computed.
static_assert(kSymmetricBlockRows % kSquareTile == 0);

template <Real T>
bool same_view(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shares_storage_with(b) && a.offset() == b.offset() && a.shape() == b.shape() &&
         a.strides() == b.strides();
}

// Squared distances below this many epsilons times ||x1_i||^2 + ||x2_j||^2 are recomputed
// directly. The expansion's absolute error is a few eps * (||x1_i||^2 + ||x2_j||^2), so below
// the cut it could be most of the value (or make it negative); above it the relative error is at
// most a few percent, and usually far less. Only (nearly) equal rows fall below it, so the
// direct sums cost O(d) for few entries.
constexpr int kRecomputeEpsilons = 128;

// A Gram matrix entry by entry: out(i, j) = post(||x1_i - x2_j||^2). The GEMM leaves
// -2 x1 x2^T in out; then one pass over cache-sized tiles adds the norms, recomputes the small
// entries directly, and hands the tile, still in cache, to post (element-wise tensor ops in
// place, which run the SIMD kernels). For x1 == x2 only the upper triangle is computed and then
// mirrored, so the result is exactly symmetric, and its diagonal is post(0) exactly.
template <Real T, class Post>
Tensor<T> map_squared_distances(const Tensor<T>& x1, const Tensor<T>& x2, Post post) {
  LAMPPOST_CHECK(x1.ndim() == 2 && x2.ndim() == 2 && x1.shape()[1] == x2.shape()[1],
                 "squared_distances", "needs [n1, d] and [n2, d] with the same d, got {} and {}",
                 to_string(x1.shape()), to_string(x2.shape()));
  const int64_t n1 = x1.shape()[0], n2 = x2.shape()[0], dims = x1.shape()[1];
  const bool symmetric = same_view(x1, x2);
  const Tensor<T> norms1 = sum(square(x1), {1}).contiguous();
  const Tensor<T> norms2 = symmetric ? norms1 : sum(square(x2), {1}).contiguous();
  Tensor<T> out = Tensor<T>::empty({n1, n2});
  if (out.numel() == 0) return out;
  T* d = out.data();
  const T* a = norms1.data();
  const T* b = norms2.data();
  const T cut = kRecomputeEpsilons * std::numeric_limits<T>::epsilon();
  // sum_k (x1_ik - x2_jk)^2, through the views' strides.
  auto direct = [&, p1 = x1.data(), p2 = x2.data(), s1 = x1.strides(), s2 = x2.strides()](
                    int64_t i, int64_t j) {
    T s = 0;
    for (int64_t k = 0; k < dims; ++k) {
      const T diff = p1[i * s1[0] + k * s1[1]] - p2[j * s2[0] + k * s2[1]];
      s += diff * diff;
    }
    return s;
  };
  // Rows [r0, r1) x columns [c0, c1). The first loop has no branch, so that it vectorizes; the
  // rare rows with a small entry take a second look.
  auto finish_tile = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    for (int64_t i = r0; i < r1; ++i) {
      T* row = d + i * n2;
      const T ai = a[i];
      int small = 0;
      for (int64_t j = c0; j < c1; ++j) {
        const T v = (ai + b[j]) + row[j];
        row[j] = v;
        small |= v <= cut * (ai + b[j]);
      }
      if (small) {
        for (int64_t j = c0; j < c1; ++j) {
          if (row[j] <= cut * (ai + b[j])) row[j] = direct(i, j);
        }
      }
      if (symmetric && i >= c0 && i < c1) row[i] = 0;
    }
    Tensor<T> tile = out.slice(0, r0, r1).slice(1, c0, c1);
    post(tile);
  };
  const bool parallel = n1 * n2 >= kParallelThreshold;

  if (!symmetric) {
    gemm(T(-2), x1, Op::none, x2, Op::transpose, T(0), out);  // [n1, d] x [d, n2] -> [n1, n2]
    const int64_t cols = std::min(n2, kTileEntries), rows = kTileEntries / cols;
    const int64_t row_tiles = (n1 + rows - 1) / rows, col_tiles = (n2 + cols - 1) / cols;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t t = 0; t < row_tiles * col_tiles; ++t) {
      const int64_t r0 = t / col_tiles * rows, c0 = t % col_tiles * cols;
      finish_tile(r0, std::min(n1, r0 + rows), c0, std::min(n2, c0 + cols));
    }
    return out;
  }

  const int64_t n = n1;
  gemm_symmetric(T(-2), x1, out, SymmetricFill::upper, kSymmetricBlockRows);
  const int64_t tiles = (n + kSquareTile - 1) / kSquareTile;
  // Row tiles hold ever fewer tiles of the upper triangle, hence the dynamic schedule.
#pragma omp parallel for schedule(dynamic) if (parallel)
  for (int64_t ti = 0; ti < tiles; ++ti) {
    const int64_t r0 = ti * kSquareTile, r1 = std::min(n, r0 + kSquareTile);
    for (int64_t c0 = r0; c0 < n; c0 += kSquareTile) {
      const int64_t c1 = std::min(n, c0 + kSquareTile);
      finish_tile(r0, r1, c0, c1);
      // The tile's mirror image, below the diagonal. The diagonal tile's own lower part (which
      // the GEMM filled too) is overwritten from its upper part.
      for (int64_t j = c0; j < c1; ++j) {
        for (int64_t i = r0; i < std::min(r1, j); ++i) d[j * n + i] = d[i * n + j];
      }
    }
  }
  return out;
}

void check_bandwidth(double bandwidth, std::string_view op) {
  LAMPPOST_CHECK(std::isfinite(bandwidth) && bandwidth > 0, op,
                 "bandwidth must be positive and finite, got {}", bandwidth);
}

}  // namespace

template <Real T>
Tensor<T> squared_distances(const Tensor<T>& x1, const Tensor<T>& x2) {
  return map_squared_distances(x1, x2, [](Tensor<T>&) {});
}

std::string_view to_string(KernelKind kind) {
  return name_of(kKernelKinds, kind);
}

KernelKind parse_kernel_kind(std::string_view name) {
  return parse_name(kKernelKinds, name, "kernel");
}

template <Real T>
Kernel<T> gaussian_kernel(double bandwidth) {
  check_bandwidth(bandwidth, "gaussian_kernel");
  const Tensor<T> scale = Tensor<T>::scalar(T(-0.5 / (bandwidth * bandwidth)));
  return {fmt::format("gaussian(bandwidth={})", bandwidth),
          [scale](const Tensor<T>& x1, const Tensor<T>& x2) {
            return map_squared_distances(x1, x2, [&scale](Tensor<T>& tile) {
              mul(tile, scale, tile);
              exp(tile, tile);
            });
          }};
}

template <Real T>
Kernel<T> laplace_kernel(double bandwidth) {
  check_bandwidth(bandwidth, "laplace_kernel");
  const Tensor<T> scale = Tensor<T>::scalar(T(-1 / bandwidth));
  return {fmt::format("laplace(bandwidth={})", bandwidth),
          [scale](const Tensor<T>& x1, const Tensor<T>& x2) {
            return map_squared_distances(x1, x2, [&scale](Tensor<T>& tile) {
              sqrt(tile, tile);
              mul(tile, scale, tile);
              exp(tile, tile);
            });
          }};
}

template <Real T>
Kernel<T> make_kernel(KernelKind kind, double bandwidth) {
  switch (kind) {
    case KernelKind::gaussian:
      return gaussian_kernel<T>(bandwidth);
    case KernelKind::laplace:
      return laplace_kernel<T>(bandwidth);
  }
  fail("make_kernel", "unknown kernel kind {}", static_cast<int>(kind));
}

template <Real T>
double median_distance(const Tensor<T>& x, uint64_t seed) {
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[0] >= 2, "median_distance",
                 "needs [n, d] with n >= 2, got shape {}", to_string(x.shape()));
  const int64_t n = x.shape()[0];
  Tensor<T> rows = x;
  if (n > kMedianDistanceSample) {
    const std::vector<int64_t> order = Rng(seed).permutation(n);
    rows = Tensor<T>::empty({kMedianDistanceSample, x.shape()[1]});
    for (int64_t r = 0; r < kMedianDistanceSample; ++r) {
      Tensor<T> row = rows.select(0, r);
      row.assign(x.select(0, order[static_cast<size_t>(r)]));
    }
  }
  const int64_t m = rows.shape()[0];
  const Tensor<T> squared = squared_distances(rows, rows);
  const T* s = squared.data();
  std::vector<double> distances;
  distances.reserve(static_cast<size_t>(m * (m - 1) / 2));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = i + 1; j < m; ++j) distances.push_back(std::sqrt(double(s[i * m + j])));
  }
  const size_t half = distances.size() / 2;
  std::nth_element(distances.begin(), distances.begin() + half, distances.end());
  const double upper = distances[half];
  if (distances.size() % 2 == 1) return upper;
  const double lower = *std::max_element(distances.begin(), distances.begin() + half);
  return 0.5 * (lower + upper);
}

#define LAMPPOST_INSTANTIATE(T)                                             \
  template Tensor<T> squared_distances(const Tensor<T>&, const Tensor<T>&); \
  template Kernel<T> gaussian_kernel<T>(double);                            \
  template Kernel<T> laplace_kernel<T>(double);                             \
  template Kernel<T> make_kernel<T>(KernelKind, double);                    \
  template double median_distance(const Tensor<T>&, uint64_t);
LAMPPOST_INSTANTIATE(float)
LAMPPOST_INSTANTIATE(double)
#undef LAMPPOST_INSTANTIATE

}  // namespace lamppost
