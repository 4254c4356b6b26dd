#include "models/mlp.h"

#include <cmath>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "autodiff/ops.h"
#include "tensor/error.h"
#include "tensor/names.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace lamppost {

namespace {

constexpr NameTable<Activation, 7> kActivations = {{
    {Activation::relu, "relu"},
    {Activation::tanh, "tanh"},
    {Activation::erf, "erf"},
    {Activation::gelu, "gelu"},
    {Activation::softplus, "softplus"},
    {Activation::sigmoid, "sigmoid"},
    {Activation::identity, "identity"},
}};
constexpr NameTable<Parameterization, 2> kParameterizations = {{
    {Parameterization::ntk, "ntk"},
    {Parameterization::standard, "standard"},
}};

std::string weight_name(size_t layer) {
  return fmt::format("layer{}.weight", layer);
}
std::string bias_name(size_t layer) {
  return fmt::format("layer{}.bias", layer);
}

}  // namespace

std::string_view to_string(Activation activation) {
  return name_of(kActivations, activation);
}
std::string_view to_string(Parameterization parameterization) {
  return name_of(kParameterizations, parameterization);
}
Activation parse_activation(std::string_view name) {
  return parse_name(kActivations, name, "activation");
}
Parameterization parse_parameterization(std::string_view name) {
  return parse_name(kParameterizations, name, "parameterization");
}

template <Real T>
Var<T> activate(Activation activation, const Var<T>& x) {
  switch (activation) {
    case Activation::relu:
      return relu(x);
    case Activation::tanh:
      return tanh(x);
    case Activation::erf:
      return erf(x);
    case Activation::gelu:
      return gelu(x);
    case Activation::softplus:
      return softplus(x);
    case Activation::sigmoid:
      return sigmoid(x);
    case Activation::identity:
      return x;
  }
  fail("activate", "unknown activation {}", static_cast<int>(activation));
}

template <Real T>
Mlp<T>::Mlp(MlpConfig config) : config_(std::move(config)) {
  LAMPPOST_CHECK(config_.inputs > 0, "Mlp", "inputs must be positive, got {}", config_.inputs);
  LAMPPOST_CHECK(config_.outputs > 0, "Mlp", "outputs must be positive, got {}", config_.outputs);
  for (size_t l = 0; l < config_.hidden.size(); ++l) {
    LAMPPOST_CHECK(config_.hidden[l] > 0, "Mlp",
                   "hidden layer {} has width {}; widths must be positive", l + 1,
                   config_.hidden[l]);
  }
  LAMPPOST_CHECK(std::isfinite(config_.sigma_w) && config_.sigma_w > 0, "Mlp",
                 "sigma_w must be positive and finite, got {}", config_.sigma_w);
  LAMPPOST_CHECK(std::isfinite(config_.sigma_b) && config_.sigma_b >= 0, "Mlp",
                 "sigma_b must be non-negative and finite, got {}", config_.sigma_b);
  widths_.push_back(config_.inputs);
  widths_.insert(widths_.end(), config_.hidden.begin(), config_.hidden.end());
  widths_.push_back(config_.outputs);
  for (size_t l = 1; l < widths_.size(); ++l) {
    layout_.add(weight_name(l), {widths_[l - 1], widths_[l]});
    if (config_.biases) layout_.add(bias_name(l), {widths_[l]});
  }
}

template <Real T>
int64_t Mlp<T>::fan_in(size_t layer) const {
  return widths_[layer - 1];
}

template <Real T>
Tensor<T> Mlp<T>::init(uint64_t seed) const {
  Tensor<T> params = Rng(seed).normal<T>({layout_.size()});
  if (config_.parameterization == Parameterization::standard) {
    // The same draws as the NTK parameterization, scaled: both networks start as one function.
    for (size_t l = 1; l < widths_.size(); ++l) {
      Tensor<T> weight = layout_.view(params, weight_name(l));
      weight *= static_cast<T>(config_.sigma_w / std::sqrt(static_cast<double>(fan_in(l))));
      if (config_.biases) {
        Tensor<T> bias = layout_.view(params, bias_name(l));
        bias *= static_cast<T>(config_.sigma_b);
      }
    }
  }
  return params;
}

template <Real T>
double Mlp<T>::input_scale(size_t layer) const {
  return config_.parameterization == Parameterization::ntk
             ? config_.sigma_w / std::sqrt(static_cast<double>(fan_in(layer)))
             : 1.0;
}

template <Real T>
double Mlp<T>::bias_scale() const {
  return config_.parameterization == Parameterization::ntk ? config_.sigma_b : 1.0;
}

template <Real T>
Var<T> Mlp<T>::run(const Var<T>& params, const Var<T>& x, const std::vector<Var<T>>& shifts,
                   std::vector<Var<T>>* inputs) const {
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[1] == config_.inputs, "Mlp",
                 "inputs have shape {}, but the network takes [n, {}]", to_string(x.shape()),
                 config_.inputs);
  const size_t layers = widths_.size() - 1;
  LAMPPOST_CHECK(shifts.empty() || shifts.size() == layers, "Mlp",
                 "{} pre-activation shifts for {} layers", shifts.size(), layers);
  Var<T> h = x;
  for (size_t l = 1; l <= layers; ++l) {
    if (inputs != nullptr) inputs->push_back(h);
    const Var<T> weight = layout_.view(params, weight_name(l));
    // The scale multiplies the layer's input, the smaller side of the product for a batch
    // narrower than the layer (NTK parameterization; 1 otherwise).
    const Var<T> input =
        config_.parameterization == Parameterization::ntk ? h * static_cast<T>(input_scale(l)) : h;
    if (config_.biases) {
      const Var<T> bias = layout_.view(params, bias_name(l));
      h = linear(input, weight,
                 config_.parameterization == Parameterization::ntk
                     ? bias * static_cast<T>(bias_scale())
                     : bias);
    } else {
      h = matmul(input, weight);
    }
    if (!shifts.empty()) h = h + shifts[l - 1];
    if (l < layers || config_.nonlinear_output) h = activate(config_.activation, h);
  }
  return h;
}

template <Real T>
typename Mlp<T>::Trace Mlp<T>::trace(const Var<T>& params, const Var<T>& x,
                                     const std::vector<Var<T>>& shifts) const {
  Trace out;
  out.output = run(params, x, shifts, &out.inputs);
  return out;
}

template <Real T>
Var<T> Mlp<T>::forward(const Var<T>& params, const Var<T>& x) const {
  return run(params, x, {}, nullptr);
}

template <Real T>
Tensor<T> Mlp<T>::predict(const Tensor<T>& params, const Tensor<T>& x) const {
  const NoTrace no_trace;
  return forward(Var<T>(params), Var<T>(x)).value();
}

template Var<float> activate(Activation, const Var<float>&);
template Var<double> activate(Activation, const Var<double>&);
template class Mlp<float>;
template class Mlp<double>;

}  // namespace lamppost
