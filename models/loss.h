// Losses of a model's outputs and classification errors.
#pragma once

#include <cstdint>
#include <vector>

#include "autodiff/var.h"
#include "tensor/tensor.h"

namespace lamppost {

// 1/2 ||prediction - target||^2, summed over every element (THEORY.md's L(w); mse averages).
template <Real T>
Var<T> square_loss(const Var<T>& prediction, const Tensor<T>& target);

// Mean over rows of -log softmax(logits)[label], logits [n, k], labels in [0, k).
template <Real T>
Var<T> cross_entropy_loss(const Var<T>& logits, const std::vector<int64_t>& labels);

// Fraction of rows of outputs [n, k] (k >= 2) whose largest entry is not at the label (ties go to
// the first), or, for outputs [n, 1], whose sign differs from a +-1 label (0 counts as wrong).
template <Real T>
double zero_one_error(const Tensor<T>& outputs, const std::vector<int64_t>& labels);

}  // namespace lamppost
