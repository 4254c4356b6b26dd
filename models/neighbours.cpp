#include "models/neighbours.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "models/kernels.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace lamppost {
namespace {

// ||a - b||^2 summed in double from the differences: 0 for equal rows, and accurate relative to
// the distance itself, where the GEMM expansion is accurate only relative to the norms.
template <Real T>
double direct_squared_distance(const T* a, const T* b, int64_t d) {
  double sum = 0;
  for (int64_t l = 0; l < d; ++l) {
    const double difference = double(a[l]) - double(b[l]);
    sum += difference * difference;
  }
  return sum;
}

// The squared norms of the rows of x [rows, d] (contiguous), in double. A row whose squared norm
// is not finite, or so large that the GEMM expansion could overflow T, is refused: the shortlist
// bound below would not hold for it.
template <Real T>
std::vector<double> row_squared_norms(const Tensor<T>& x, const char* name) {
  const int64_t rows = x.shape()[0], d = x.shape()[1];
  const T* data = x.data();
  std::vector<double> norms(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows * d >= kParallelThreshold)
  for (int64_t i = 0; i < rows; ++i) {
    double sum = 0;
    for (int64_t l = 0; l < d; ++l) sum += double(data[i * d + l]) * double(data[i * d + l]);
    norms[static_cast<size_t>(i)] = sum;
  }
  constexpr double kLargest = double(std::numeric_limits<T>::max()) / 8;
  for (int64_t i = 0; i < rows; ++i) {
    const double norm = norms[static_cast<size_t>(i)];
    LAMPPOST_CHECK(norm <= kLargest, "nearest_neighbours",
                   "{} row {} is not finite or too large (squared norm {})", name, i, norm);
  }
  return norms;
}

// Scratch space of one thread, reused across its queries.
template <Real T>
struct SelectionScratch {
  std::vector<std::pair<T, int64_t>> heap{};
  std::vector<std::pair<double, int64_t>> shortlist{};
};

// The GEMM squared distances of one query: a_j is within e_j = slope * (||q||^2 + ||r_j||^2) of
// the true t_j (rounding of the two norms, of the dot product and of the sum, each at most about
// d * eps relative to the norms). The k references with the smallest a_j have t_j <= a_j + e_j,
// so the true k-th distance is at most a_(k) + the largest of their e_j; every reference that can
// reach it has a_j - e_j below that bound. Those are shortlisted and ranked by their direct
// distances.
template <Real T>
struct ShortlistBound {
  Tensor<T> references{};             // [n, d], contiguous
  std::vector<double> slope_norms{};  // slope * ||r_j||^2
  double slope = 0;
};

// Query i's k nearest references, from its row of GEMM squared distances.
template <Real T>
void select_nearest(const T* row, const T* query, double query_norm, const ShortlistBound<T>& bound,
                    int64_t k, int64_t* indices, T* distances, SelectionScratch<T>& scratch) {
  const int64_t n = bound.references.shape()[0], d = bound.references.shape()[1];
  // The k smallest a_j in a max-heap: one pass, and past the first few hundred rows almost every
  // row is turned away by a single, well-predicted comparison (nth_element's partitioning
  // mispredicts about every other one).
  auto& heap = scratch.heap;
  heap.clear();
  for (int64_t j = 0; j < k; ++j) heap.emplace_back(row[j], j);
  std::make_heap(heap.begin(), heap.end());
  for (int64_t j = k; j < n; ++j) {
    if (row[j] < heap.front().first) {
      std::pop_heap(heap.begin(), heap.end());
      heap.back() = {row[j], j};
      std::push_heap(heap.begin(), heap.end());
    }
  }
  double largest = 0;  // of slope * ||r_j||^2 over the k
  for (const auto& [value, j] : heap) {
    largest = std::max(largest, bound.slope_norms[static_cast<size_t>(j)]);
  }
  // a_j - slope (||q||^2 + ||r_j||^2) <= a_(k) + slope ||q||^2 + largest.
  const double limit = double(heap.front().first) + 2 * bound.slope * query_norm + largest;
  const T* reference = bound.references.data();
  auto& shortlist = scratch.shortlist;
  shortlist.clear();
  for (int64_t j = 0; j < n; ++j) {
    if (double(row[j]) - bound.slope_norms[static_cast<size_t>(j)] <= limit) {
      shortlist.emplace_back(direct_squared_distance(query, reference + j * d, d), j);
    }
  }
  // The k rows of the heap are on the shortlist. Pairs order by distance, then index.
  std::partial_sort(shortlist.begin(), shortlist.begin() + k, shortlist.end());
  for (int64_t r = 0; r < k; ++r) {
    indices[r] = shortlist[static_cast<size_t>(r)].second;
    distances[r] = T(std::sqrt(shortlist[static_cast<size_t>(r)].first));
  }
}

}  // namespace

template <Real T>
Neighbours<T> nearest_neighbours(const Tensor<T>& references, const Tensor<T>& queries, int64_t k) {
  LAMPPOST_CHECK(
      references.ndim() == 2 && queries.ndim() == 2 && references.shape()[1] == queries.shape()[1],
      "nearest_neighbours",
      "needs references [n, d] and queries [q, d] with the same d, got {} and {}",
      to_string(references.shape()), to_string(queries.shape()));
  const int64_t n = references.shape()[0], q = queries.shape()[0], d = references.shape()[1];
  LAMPPOST_CHECK(k >= 1 && k <= n, "nearest_neighbours",
                 "k = {} neighbours asked of n = {} references; needs 1 <= k <= n", k, n);
  const Tensor<T> refs = references.contiguous();
  const Tensor<T> qs = queries.contiguous();
  // Rounding of the norms (d + 1 roundings each), of the doubled dot product (d) and of the
  // three-term sum, with room to spare; see ShortlistBound.
  ShortlistBound<T> bound{.references = refs,
                          .slope_norms = row_squared_norms(refs, "references"),
                          .slope = double(2 * d + 16) * double(std::numeric_limits<T>::epsilon())};
  for (double& norm : bound.slope_norms) norm *= bound.slope;
  const std::vector<double> query_norms = row_squared_norms(qs, "queries");

  Neighbours<T> result{.k = k,
                       .indices = std::vector<int64_t>(static_cast<size_t>(q * k)),
                       .distances = Tensor<T>::empty({q, k})};
  T* distances = result.distances.data();
  const int64_t block =
      std::max<int64_t>(1, kNeighbourBlockBytes / (n * static_cast<int64_t>(sizeof(T))));
  for (int64_t start = 0; start < q; start += block) {
    const int64_t stop = std::min(q, start + block);
    const Tensor<T> squared = squared_distances(qs.slice(0, start, stop), refs);  // [b, n]
    const T* rows = squared.data();
#pragma omp parallel if ((stop - start) * n >= kParallelThreshold)
    {
      SelectionScratch<T> scratch;
#pragma omp for schedule(static)
      for (int64_t i = start; i < stop; ++i) {
        select_nearest(rows + (i - start) * n, qs.data() + i * d,
                       query_norms[static_cast<size_t>(i)], bound, k, result.indices.data() + i * k,
                       distances + i * k, scratch);
      }
    }
  }
  return result;
}

template <Real T>
NeighbourModel<T>::NeighbourModel(NeighbourOptions options) : options_(options) {
  LAMPPOST_CHECK(options_.k >= 1, "NeighbourModel", "k must be >= 1, got {}", options_.k);
  LAMPPOST_CHECK(std::isfinite(options_.alpha) && options_.alpha >= 0, "NeighbourModel",
                 "alpha must be finite and >= 0, got {}", options_.alpha);
}

template <Real T>
void NeighbourModel<T>::fit(const Tensor<T>& x, const Tensor<T>& y) {
  LAMPPOST_CHECK(x.ndim() == 2 && (y.ndim() == 1 || y.ndim() == 2) && y.shape()[0] == x.shape()[0],
                 "NeighbourModel", "fit needs x [n, d] and y [n] or [n, outputs], got {} and {}",
                 to_string(x.shape()), to_string(y.shape()));
  LAMPPOST_CHECK(options_.k <= x.shape()[0], "NeighbourModel",
                 "k = {} neighbours asked of n = {} training rows; needs k <= n", options_.k,
                 x.shape()[0]);
  x_ = x.contiguous();
  y_ = y.contiguous();
  fitted_ = true;
}

template <Real T>
Tensor<T> NeighbourModel<T>::predict(const Tensor<T>& queries) const {
  LAMPPOST_CHECK(fitted_, "NeighbourModel", "predict called before fit");
  LAMPPOST_CHECK(queries.ndim() == 2 && queries.shape()[1] == x_.shape()[1], "NeighbourModel",
                 "predict needs queries [q, {}] like the training x {}, got {}", x_.shape()[1],
                 to_string(x_.shape()), to_string(queries.shape()));
  const int64_t k = options_.k, q = queries.shape()[0];
  const int64_t outputs = y_.ndim() == 1 ? 1 : y_.shape()[1];
  const Neighbours<T> neighbours = nearest_neighbours(x_, queries, k);
  Tensor<T> prediction = y_.ndim() == 1 ? Tensor<T>::empty({q}) : Tensor<T>::empty({q, outputs});
  const T* distances = neighbours.distances.data();
  const T* targets = y_.data();
  T* out = prediction.data();
  const double alpha = options_.alpha;
#pragma omp parallel if (q * k * outputs >= kParallelThreshold)
  {
    std::vector<double> sums(static_cast<size_t>(outputs));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < q; ++i) {
      const T* distance = distances + i * k;
      const int64_t* index = neighbours.indices.data() + i * k;
      const double nearest = double(distance[0]);
      double total = 0;
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t r = 0; r < k; ++r) {
        // The singular weight ||x - x_i||^-alpha divided by that of the nearest neighbour; at
        // distance 0 the weights of the rows there dominate every other, so only they count.
        double weight = 1;
        if (alpha > 0) {
          weight = nearest > 0 ? std::pow(nearest / double(distance[r]), alpha)
                               : (distance[r] == T(0) ? 1.0 : 0.0);
        }
        total += weight;
        const T* target = targets + index[r] * outputs;
        for (int64_t o = 0; o < outputs; ++o) {
          sums[static_cast<size_t>(o)] += weight * double(target[o]);
        }
      }
      for (int64_t o = 0; o < outputs; ++o) {
        out[i * outputs + o] = T(sums[static_cast<size_t>(o)] / total);
      }
    }
  }
  return prediction;
}

template <Real T>
std::vector<int64_t> classify(const NeighbourModel<T>& model, const Tensor<T>& queries) {
  const Tensor<T> prediction = model.predict(queries);
  if (prediction.ndim() == 2 && prediction.shape()[1] > 1) return argmax(prediction, 1);
  const std::vector<T> values = prediction.to_vector();
  std::vector<int64_t> labels(values.size());
  for (size_t i = 0; i < values.size(); ++i) labels[i] = values[i] > T(0) ? 1 : 0;
  return labels;
}

template Neighbours<float> nearest_neighbours(const Tensor<float>&, const Tensor<float>&, int64_t);
template Neighbours<double> nearest_neighbours(const Tensor<double>&, const Tensor<double>&,
                                               int64_t);
template class NeighbourModel<float>;
template class NeighbourModel<double>;
template std::vector<int64_t> classify(const NeighbourModel<float>&, const Tensor<float>&);
template std::vector<int64_t> classify(const NeighbourModel<double>&, const Tensor<double>&);

}  // namespace lamppost
