// Kernels on R^d and their Gram matrices. Every Gram matrix starts from the pairwise squared
// distances, computed as ||a||^2 + ||b||^2 - 2 a.b so that the O(n1 n2 d) part is one GEMM.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tensor/tensor.h"

namespace lamppost {

// ||x1_i - x2_j||^2 between the rows of x1 [n1, d] and x2 [n2, d]: [n1, n2]. The expansion
// rounds to within about eps * (||x1_i||^2 + ||x2_j||^2), which for (nearly) equal rows can be
// all of the value or turn it negative; entries below 128 times that are recomputed directly as
// sum_k (x1_ik - x2_jk)^2. So every entry is >= 0 (clamped, in effect), equal rows give exactly
// 0, and small distances keep a small relative error (the Laplace kernel's square root, and
// singular kernels, need that). When x1 and x2 are the same view (a Gram matrix of one set) only
// half the GEMM runs, and the result is exactly symmetric with a zero diagonal. Throws naming
// both shapes when they are not 2-d with the same d.
template <Real T>
Tensor<T> squared_distances(const Tensor<T>& x1, const Tensor<T>& x2);

enum class KernelKind { gaussian, laplace };

std::string_view to_string(KernelKind kind);
// The inverse; throws naming the unknown value and the choices.
KernelKind parse_kernel_kind(std::string_view name);

// A kernel as its Gram function, so that kernels defined elsewhere (the analytic NTK in theory/)
// plug into the kernel machines too. gram(x1 [n1, d], x2 [n2, d]) returns a fresh [n1, n2].
template <Real T>
struct Kernel {
  std::string name{};  // for messages, e.g. "gaussian(bandwidth=2.5)"
  std::function<Tensor<T>(const Tensor<T>& x1, const Tensor<T>& x2)> gram{};
};

// exp(-||x - z||^2 / (2 sigma^2)) with sigma = bandwidth.
template <Real T>
Kernel<T> gaussian_kernel(double bandwidth);
// exp(-||x - z|| / sigma) with sigma = bandwidth.
template <Real T>
Kernel<T> laplace_kernel(double bandwidth);
// One of the two above by kind. All three throw unless the bandwidth is positive and finite.
template <Real T>
Kernel<T> make_kernel(KernelKind kind, double bandwidth);

// Rows sampled by median_distance: enough for a stable median at a bounded cost.
inline constexpr int64_t kMedianDistanceSample = 1000;

// The median of the distances ||x_i - x_j||, i < j, between the rows of x [n, d] (the mean of
// the two middle values when their count is even), a common bandwidth choice. With more than
// kMedianDistanceSample rows, only that many, drawn without replacement with Rng(seed), are
// used. Throws when x is not 2-d with at least 2 rows.
template <Real T>
double median_distance(const Tensor<T>& x, uint64_t seed = 0);

}  // namespace lamppost
