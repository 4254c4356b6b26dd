// Nearest neighbours by brute force, k-NN, and the weighted interpolating nearest neighbours
// (wiNN) of Belkin, Hsu and Mitra, "Overfitting or perfect fitting? Risk bounds for
// classification and regression rules that interpolate" (NeurIPS 2018): the k nearest training
// points vote with the singular weights ||x - x_i||^-alpha, so the rule fits every training
// label exactly (noisy ones included) and still approaches the Bayes risk as n and k grow.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

// The search handles queries in blocks of max(1, kNeighbourBlockBytes / (n * sizeof(T))) rows,
// so the squared distances it holds at once take at most about this much memory, however many
// queries there are. 16 MiB stays below glibc's largest mmap threshold, so malloc reuses one
// block's buffer for the next instead of mapping (and faulting in) fresh pages each time.
inline constexpr int64_t kNeighbourBlockBytes = int64_t{1} << 24;

template <Real T>
struct Neighbours {
  int64_t k = 0;
  // [queries * k], row-major: query i's neighbours, nearest first; equal distances by lower index.
  std::vector<int64_t> indices{};
  // [queries, k]: Euclidean distances (not squared), summed from the coordinate differences, so a
  // query equal to a reference is at distance exactly 0.
  Tensor<T> distances{};
};

// The k nearest rows of references [n, d] to each row of queries [q, d], by brute force. The
// squared distances of a block of queries to every reference come from one GEMM
// (squared_distances); that expansion, ||a||^2 + ||b||^2 - 2 a.b, is only accurate up to about
// d * eps * (||a||^2 + ||b||^2), so it serves to shortlist: every reference within that error
// bound of the k-th smallest is kept, and the shortlist is ranked by distances summed from the
// differences. The answer is therefore the exact k nearest (ties to the lower index), the same
// whatever the thread count or block size. Threads (OpenMP) share the queries of a block.
// Throws naming the shapes unless both are 2-d with the same d, naming k and n unless
// 1 <= k <= n, and naming the row when a row is not finite.
template <Real T>
Neighbours<T> nearest_neighbours(const Tensor<T>& references, const Tensor<T>& queries, int64_t k);

struct NeighbourOptions {
  int64_t k = 1;     // neighbours consulted
  double alpha = 0;  // 0: equal weights (k-NN); > 0: wiNN, weights ||x - x_i||^-alpha
};

// Predicts sum_i w_i y_i / sum_i w_i over the k nearest training rows: regression, or
// classification with one-hot or +-1 targets (see classify). With alpha > 0 a query at distance 0
// from some training rows gets the mean of their targets, exactly: wiNN interpolates. The weights
// are taken relative to the nearest distance d_1, w_i = (d_1 / d_i)^alpha, which is the same
// rule with w_1 = 1, so they can neither overflow nor all underflow.
template <Real T>
class NeighbourModel {
 public:
  // Throws naming k unless k >= 1, and alpha unless it is finite and >= 0.
  explicit NeighbourModel(NeighbourOptions options);

  const NeighbourOptions& options() const { return options_; }

  // x [n, d], y [n] or [n, outputs]; keeps x and y (views of them when they are contiguous).
  // Throws naming the shapes, or k and n when k > n.
  void fit(const Tensor<T>& x, const Tensor<T>& y);
  // [q] or [q, outputs], as y was, for queries [q, d]. Throws when called before fit.
  Tensor<T> predict(const Tensor<T>& queries) const;

 private:
  NeighbourOptions options_;
  Tensor<T> x_{};
  Tensor<T> y_{};
  bool fitted_ = false;
};

extern template class NeighbourModel<float>;
extern template class NeighbourModel<double>;

// Class indices from a model fitted on one-hot targets [n, classes] (the argmax of the
// prediction, ties to the smallest class: with alpha = 0 this is the majority vote of the k
// nearest labels, with alpha > 0 the weighted vote of wiNN) or on +-1 targets [n] or [n, 1]
// (1 where the prediction is > 0, else 0).
template <Real T>
std::vector<int64_t> classify(const NeighbourModel<T>& model, const Tensor<T>& queries);

}  // namespace lamppost
