// Autodiff cost on an MLP 784 -> 1024 -> 1024 -> 1024 -> 1 (relu, batch 256) and per-op
// overhead on a tiny MLP 2 -> 16 -> 16 -> 1 (batch 8). The parameters are one flat vector,
// sliced into layers, as models hold them. Floors (issue): gradient <= 3x forward,
// forward-over-reverse hvp <= 3x gradient, tiny forward + gradient under 10 us.
#include <benchmark/benchmark.h>

#include "autodiff/ops.h"
#include "autodiff/transforms.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace lamppost {
namespace {

template <Real T>
struct Mlp {
  std::vector<int64_t> widths;
  Tensor<T> x, y, w, direction;

  explicit Mlp(std::vector<int64_t> layer_widths, int64_t batch) : widths(std::move(layer_widths)) {
    Rng rng(1);
    int64_t count = 0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) count += (widths[l] + 1) * widths[l + 1];
    x = rng.normal<T>({batch, widths.front()});
    y = rng.normal<T>({batch, widths.back()});
    w = rng.normal<T>({count}, T(0), T(0.03));
    direction = rng.normal<T>({count});
  }

  Var<T> loss(const Var<T>& params) const {
    Var<T> h(x);
    int64_t at = 0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      const int64_t in = widths[l], out = widths[l + 1];
      const Var<T> weight = reshape(slice(params, 0, at, at + in * out), {in, out});
      at += in * out;
      const Var<T> bias = slice(params, 0, at, at + out);
      at += out;
      h = linear(h, weight, bias);  // [batch, in] x [in, out] -> [batch, out]
      if (l + 2 < widths.size()) h = relu(h);
    }
    return mse(h, Var<T>(y));
  }
};

template <Real T>
const Mlp<T>& big_mlp() {
  static const Mlp<T> mlp({784, 1024, 1024, 1024, 1}, 256);
  return mlp;
}

template <Real T>
const Mlp<T>& tiny_mlp() {
  static const Mlp<T> mlp({2, 16, 16, 1}, 8);
  return mlp;
}

enum class Work { forward, gradient, hvp_forward_over_reverse, hvp_reverse_over_reverse };

template <Real T>
void run(benchmark::State& state, const Mlp<T>& mlp, Work work) {
  ThreadCountGuard threads(static_cast<int>(state.range(0)));
  const UnaryFunction<T> loss = [&mlp](const Var<T>& p) { return mlp.loss(p); };
  const Var<T> w(mlp.w), v(mlp.direction);
  for (auto _ : state) {
    switch (work) {
      case Work::forward: {
        NoTrace no_trace;
        benchmark::DoNotOptimize(loss(w).item());
        break;
      }
      case Work::gradient:
        benchmark::DoNotOptimize(grad<T>(loss)(w).value().data());
        break;
      case Work::hvp_forward_over_reverse:
        benchmark::DoNotOptimize(hvp<T>(loss, w, v).value().data());
        break;
      case Work::hvp_reverse_over_reverse:
        benchmark::DoNotOptimize(hvp_reverse<T>(loss, w, v).value().data());
        break;
    }
  }
}

#define LAMPPOST_MLP_BENCH(T, work)                   \
  void BM_Mlp_##work##_##T(benchmark::State& s) {     \
    run<T>(s, big_mlp<T>(), Work::work);              \
  }                                                   \
  BENCHMARK(BM_Mlp_##work##_##T)                      \
      ->Arg(1)                                        \
      ->Arg(2)                                        \
      ->ArgName("threads")                            \
      ->Unit(benchmark::kMillisecond)                 \
      ->UseRealTime();                                \
  void BM_TinyMlp_##work##_##T(benchmark::State& s) { \
    run<T>(s, tiny_mlp<T>(), Work::work);             \
  }                                                   \
  BENCHMARK(BM_TinyMlp_##work##_##T)->Arg(1)->ArgName("threads")->Unit(benchmark::kMicrosecond);

LAMPPOST_MLP_BENCH(float, forward)
LAMPPOST_MLP_BENCH(float, gradient)
LAMPPOST_MLP_BENCH(float, hvp_forward_over_reverse)
LAMPPOST_MLP_BENCH(float, hvp_reverse_over_reverse)
LAMPPOST_MLP_BENCH(double, forward)
LAMPPOST_MLP_BENCH(double, gradient)
LAMPPOST_MLP_BENCH(double, hvp_forward_over_reverse)
LAMPPOST_MLP_BENCH(double, hvp_reverse_over_reverse)

}  // namespace
}  // namespace lamppost

BENCHMARK_MAIN();
