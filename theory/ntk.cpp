#include "theory/ntk.h"

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/ops.h"

namespace lamppost {

template <Real T>
Tensor<T> tangent_kernel(const UnaryFunction<T>& outputs, const Tensor<T>& params) {
  const Tensor<T> jacobian = jacobian_reverse<T>(outputs, Var<T>(params)).value();
  LAMPPOST_CHECK(jacobian.ndim() >= 2 && jacobian.ndim() <= 3, "tangent_kernel",
                 "the outputs must be [n] or [n, k], got a Jacobian of shape {}",
                 to_string(jacobian.shape()));
  const Tensor<T> rows = jacobian.reshape({-1, params.numel()});  // [n k, M]
  return matmul(rows, rows.t());
}

template <Real T>
Tensor<T> tangent_kernel(const Mlp<T>& mlp, const Tensor<T>& params, const Tensor<T>& x) {
  const int64_t n = x.shape()[0];
  const int64_t k = mlp.config().outputs;
  const size_t layers = mlp.config().hidden.size() + 1;
  // Zero shifts of every pre-activation: the pullback of the outputs' column o gives, for each
  // layer, d f_o(x_i) / d h^l_i for all samples i at once (samples do not mix).
  std::vector<Var<T>> shifts;
  std::vector<int64_t> widths = mlp.config().hidden;
  widths.push_back(k);
  for (int64_t width : widths) shifts.emplace_back(Tensor<T>::zeros({n, width}));
  std::vector<Tensor<T>> inputs;
  const auto [output, pullback] = vjp<T>(
      [&](const std::vector<Var<T>>& z) {
        const auto trace = mlp.trace(Var<T>(params), Var<T>(x), z);
        for (const Var<T>& input : trace.inputs) inputs.push_back(input.value());
        return trace.output;
      },
      shifts);
  // derivatives[o][l]: [n, d_l]
  std::vector<std::vector<Var<T>>> derivatives;
  for (int64_t o = 0; o < k; ++o) {
    Tensor<T> column = Tensor<T>::zeros({n, k});
    column.slice(1, o, o + 1).fill(T(1));
    derivatives.push_back(pullback(Var<T>(column)));
  }
  const NoTrace no_trace;
  const auto bias_scale = static_cast<T>(mlp.config().biases ? mlp.bias_scale() : 0.0);
  Tensor<T> kernel = Tensor<T>::zeros({n * k, n * k});
  // Both factors of each layer's term are symmetric products: gemm_symmetric runs about half
  // of a GEMM's multiply-adds for each.
  Tensor<T> gram = Tensor<T>::empty({n, n});
  Tensor<T> outer = Tensor<T>::empty({n * k, n * k});
  for (size_t l = 0; l < layers; ++l) {
    const auto scale = static_cast<T>(mlp.input_scale(l + 1));
    // c^2 A A^T + s^2, [n, n]
    gemm_symmetric(scale * scale, inputs[l], gram);
    gram += bias_scale * bias_scale;
    // D_l with rows (i, o): the outputs' derivatives stacked [k, n, d] -> [n, k, d] -> [n k, d].
    const int64_t d = widths[l];
    Tensor<T> rows = derivatives[0][l].value();
    if (k > 1) {
      Tensor<T> stacked = Tensor<T>::empty({k, n, d});
      for (int64_t o = 0; o < k; ++o)
        stacked.select(0, o).assign(derivatives[static_cast<size_t>(o)][l].value());
      rows = stacked.permute({1, 0, 2}).contiguous().reshape({n * k, d});
    }
    gemm_symmetric(T(1), rows, outer);
    // The [n, n] Gram matrix spread over the outputs: [n, 1, n, 1] -> [n, k, n, k] -> [n k, n k]
    // (no copy when k = 1).
    outer *=
        gram.reshape({n, 1, n, 1}).broadcast_to({n, k, n, k}).contiguous().reshape({n * k, n * k});
    kernel += outer;
  }
  return kernel;
}

template <Real T>
double relative_change(const Tensor<T>& kernel, const Tensor<T>& initial) {
  LAMPPOST_CHECK(kernel.shape() == initial.shape(), "relative_change", "kernels {} and {} differ",
                 to_string(kernel.shape()), to_string(initial.shape()));
  const double base = static_cast<double>(norm(initial));
  LAMPPOST_CHECK(base > 0, "relative_change", "the initial kernel is zero");
  return static_cast<double>(norm(kernel - initial)) / base;
}

template <Real T>
KernelExtremes kernel_extremes(const Tensor<T>& kernel) {
  const Tensor<T> eigenvalues = eigvalsh(kernel);
  const T* values = eigenvalues.data();
  return {static_cast<double>(values[0]), static_cast<double>(values[eigenvalues.numel() - 1])};
}

template <Real T>
Observer<T> track_kernel(const Mlp<T>& mlp, Tensor<T> x, std::vector<KernelRecord>& records) {
  return [&mlp, x = std::move(x), &records](const StepInfo<T>& info) {
    const KernelExtremes extremes = kernel_extremes(tangent_kernel(mlp, info.params, x));
    records.push_back({info.step, info.loss, extremes.lambda_min, extremes.lambda_max});
  };
}

template <Real T>
Tensor<T> linearized_outputs(const UnaryFunction<T>& outputs, const Tensor<T>& w0,
                             const Tensor<T>& w) {
  LAMPPOST_CHECK(w.shape() == w0.shape(), "linearized_outputs",
                 "parameters {} and initial parameters {} differ in shape", to_string(w.shape()),
                 to_string(w0.shape()));
  const auto [value, tangent] =
      jvp<T>([&](const std::vector<Var<T>>& args) { return outputs(args[0]); }, {Var<T>(w0)},
             {Var<T>(w - w0)});
  return value.value() + tangent.value();
}

template Tensor<float> tangent_kernel(const UnaryFunction<float>&, const Tensor<float>&);
template Tensor<double> tangent_kernel(const UnaryFunction<double>&, const Tensor<double>&);
template Tensor<float> tangent_kernel(const Mlp<float>&, const Tensor<float>&,
                                      const Tensor<float>&);
template Tensor<double> tangent_kernel(const Mlp<double>&, const Tensor<double>&,
                                       const Tensor<double>&);
template double relative_change(const Tensor<float>&, const Tensor<float>&);
template KernelExtremes kernel_extremes(const Tensor<float>&);
template KernelExtremes kernel_extremes(const Tensor<double>&);
template Observer<float> track_kernel(const Mlp<float>&, Tensor<float>, std::vector<KernelRecord>&);
template Observer<double> track_kernel(const Mlp<double>&, Tensor<double>,
                                       std::vector<KernelRecord>&);
template Tensor<float> linearized_outputs(const UnaryFunction<float>&, const Tensor<float>&,
                                          const Tensor<float>&);
template Tensor<double> linearized_outputs(const UnaryFunction<double>&, const Tensor<double>&,
                                           const Tensor<double>&);
template double relative_change(const Tensor<double>&, const Tensor<double>&);

}  // namespace lamppost
