#include "models/loss.h"

#include "autodiff/ops.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace lamppost {

namespace {

void check_labels(std::string_view op, const Shape& outputs, const std::vector<int64_t>& labels) {
  LAMPPOST_CHECK(outputs.size() == 2, op, "outputs must be [n, k], got shape {}",
                 to_string(outputs));
  LAMPPOST_CHECK(static_cast<int64_t>(labels.size()) == outputs[0], op,
                 "{} labels for outputs of shape {}", labels.size(), to_string(outputs));
}

}  // namespace

template <Real T>
Var<T> square_loss(const Var<T>& prediction, const Tensor<T>& target) {
  LAMPPOST_CHECK(prediction.shape() == target.shape(), "square_loss",
                 "prediction {} and target {} differ", to_string(prediction.shape()),
                 to_string(target.shape()));
  return sum(square(sub(prediction, Var<T>(target)))) * T(0.5);
}

template <Real T>
Var<T> cross_entropy_loss(const Var<T>& logits, const std::vector<int64_t>& labels) {
  check_labels("cross_entropy_loss", logits.shape(), labels);
  const int64_t k = logits.shape()[1];
  Tensor<T> one_hot = Tensor<T>::zeros(logits.shape());
  for (size_t i = 0; i < labels.size(); ++i) {
    LAMPPOST_CHECK(labels[i] >= 0 && labels[i] < k, "cross_entropy_loss",
                   "label {} of row {} is outside [0, {})", labels[i], i, k);
    one_hot.at({static_cast<int64_t>(i), labels[i]}) = T(1);
  }
  return cross_entropy(logits, one_hot);
}

template <Real T>
double zero_one_error(const Tensor<T>& outputs, const std::vector<int64_t>& labels) {
  check_labels("zero_one_error", outputs.shape(), labels);
  const int64_t n = outputs.shape()[0];
  LAMPPOST_CHECK(n > 0, "zero_one_error", "no rows to count errors over");
  int64_t wrong = 0;
  if (outputs.shape()[1] == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t label = labels[static_cast<size_t>(i)];
      LAMPPOST_CHECK(label == 1 || label == -1, "zero_one_error",
                     "label {} of row {} is not +-1 (a scalar output is read by its sign)", label,
                     i);
      const T y = outputs.at({i, 0});
      wrong += !(label == 1 ? y > 0 : y < 0);
    }
  } else {
    const std::vector<int64_t> predicted = argmax(outputs, 1);
    for (int64_t i = 0; i < n; ++i)
      wrong += predicted[static_cast<size_t>(i)] != labels[static_cast<size_t>(i)];
  }
  return static_cast<double>(wrong) / static_cast<double>(n);
}

template Var<float> square_loss(const Var<float>&, const Tensor<float>&);
template Var<double> square_loss(const Var<double>&, const Tensor<double>&);
template Var<float> cross_entropy_loss(const Var<float>&, const std::vector<int64_t>&);
template Var<double> cross_entropy_loss(const Var<double>&, const std::vector<int64_t>&);
template double zero_one_error(const Tensor<float>&, const std::vector<int64_t>&);
template double zero_one_error(const Tensor<double>&, const std::vector<int64_t>&);

}  // namespace lamppost
