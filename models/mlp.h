// Fully-connected networks of any depth, as ../shared/THEORY.md defines them. With the NTK
// parameterization (the default) every weight and bias is drawn N(0, 1) and the forward pass
// scales:
//     h^1     = sigma_w / sqrt(d_0) * x W^1 + sigma_b * b^1
//     h^{l+1} = sigma_w / sqrt(d_l) * phi(h^l) W^{l+1} + sigma_b * b^{l+1}
//     f(w; x) = h^{L+1}, or phi(h^{L+1}) with a non-linear output layer (the contrast case).
// The standard parameterization puts those scales into the initialisation instead
// (W ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2)) and runs plain layers x W + b. Rows of x
// are samples; W^l is stored [fan_in, fan_out].
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "autodiff/var.h"
#include "models/parameters.h"
#include "tensor/tensor.h"

namespace lamppost {

enum class Activation { relu, tanh, erf, gelu, softplus, sigmoid, identity };
enum class Parameterization { ntk, standard };

std::string_view to_string(Activation activation);
std::string_view to_string(Parameterization parameterization);
// The inverses, for flags and saved models; they throw naming the unknown value and the choices.
Activation parse_activation(std::string_view name);
Parameterization parse_parameterization(std::string_view name);

// phi(x) for the activation.
template <Real T>
Var<T> activate(Activation activation, const Var<T>& x);

struct MlpConfig {
  int64_t inputs = 1;                // d_0
  std::vector<int64_t> hidden = {};  // d_1 .. d_L; none: a linear model
  int64_t outputs = 1;               // 1 (scalar) or k
  Activation activation = Activation::relu;
  Parameterization parameterization = Parameterization::ntk;
  double sigma_w = 1.0;
  double sigma_b = 0.1;
  bool biases = true;
  bool nonlinear_output = false;  // phi on the output layer too

  bool operator==(const MlpConfig&) const = default;
};

template <Real T>
class Mlp {
 public:
  // Throws naming the setting that is out of range (a width of 0, sigma_w <= 0, ...).
  explicit Mlp(MlpConfig config);

  const MlpConfig& config() const { return config_; }
  // Blocks "layer<l>.weight" [fan_in, fan_out] and "layer<l>.bias" [fan_out], l = 1 .. L + 1.
  const ParameterLayout& layout() const { return layout_; }
  int64_t parameter_count() const { return layout_.size(); }

  // Parameters at initialisation; the seed fixes them, whatever the thread count.
  Tensor<T> init(uint64_t seed) const;
  // Outputs [n, outputs] for inputs x [n, inputs], differentiable in the parameters and in x.
  Var<T> forward(const Var<T>& params, const Var<T>& x) const;

  // The forward pass with its intermediate values, for the theory code. shifts, when given, are
  // one per layer ([n, d_l]) and added to its pre-activation: zeros there let a vjp read
  // d f / d h^l for every sample at once (the structured tangent kernel does).
  struct Trace {
    std::vector<Var<T>> inputs;  // layer l's input: x for l = 1, else phi(h^{l-1})
    Var<T> output;
  };
  Trace trace(const Var<T>& params, const Var<T>& x, const std::vector<Var<T>>& shifts = {}) const;
  // sigma_w / sqrt(fan_in) under the NTK parameterization (the factor on layer l's input), 1
  // under the standard one; layers count from 1.
  double input_scale(size_t layer) const;
  // The factor on layer l's bias: sigma_b (NTK) or 1 (standard).
  double bias_scale() const;
  // forward with nothing recorded.
  Tensor<T> predict(const Tensor<T>& params, const Tensor<T>& x) const;

 private:
  int64_t fan_in(size_t layer) const;
  // The forward pass; each layer's input goes to *inputs when it is given (trace wants them,
  // forward does not).
  Var<T> run(const Var<T>& params, const Var<T>& x, const std::vector<Var<T>>& shifts,
             std::vector<Var<T>>* inputs) const;

  MlpConfig config_;
  std::vector<int64_t> widths_;  // d_0 .. d_{L+1}
  ParameterLayout layout_;
};

extern template class Mlp<float>;
extern template class Mlp<double>;

}  // namespace lamppost
