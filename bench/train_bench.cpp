// Training-step throughput of the MLP 784 -> 1024 -> 1024 -> 1024 -> 10 (relu, NTK
// parameterization) on Fashion-MNIST batches of 256, with the cross-entropy loss and SGD with
// momentum: the forward pass alone, forward + gradient, and a whole step (forward, gradient,
// update). Samples per second are in the items_per_second column.
//
// And one plain SGD step of a tiny MLP 2 -> 16 -> 16 -> 1 (relu, standard parameterization, as
// torch.nn.Linear) on a batch of 8 with the mean squared error: what per-op overhead costs a
// small model (bench/compare times the same step in PyTorch).
#include <benchmark/benchmark.h>

#include <vector>

#include "autodiff/ops.h"
#include "autodiff/transforms.h"
#include "data/fashion_mnist.h"
#include "models/loss.h"
#include "models/mlp.h"
#include "optim/optimizer.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace lamppost {
namespace {

constexpr int64_t kBatch = 256;

template <Real T>
struct Setup {
  Mlp<T> mlp{{.inputs = 784, .hidden = {1024, 1024, 1024}, .outputs = 10, .sigma_w = 1.4}};
  Dataset<T> data;
  Tensor<T> params;

  Setup()
      : data(load_fashion_mnist<T>({.n = 60 * kBatch, .shuffle = true, .seed = 1})),
        params(mlp.init(1)) {}

  // Batch b of the shuffled training set: a view, and its labels.
  Tensor<T> x(int64_t b) const { return data.x.slice(0, b * kBatch, (b + 1) * kBatch); }
  std::vector<int64_t> labels(int64_t b) const {
    const auto first = data.labels.begin() + b * kBatch;
    return {first, first + kBatch};
  }
};

template <Real T>
Setup<T>& setup() {
  static Setup<T> s;
  return s;
}

enum class Work { forward, gradient, step };

template <Real T>
void run(benchmark::State& state, Work work) {
  ThreadCountGuard threads(static_cast<int>(state.range(0)));
  Setup<T>& s = setup<T>();
  Tensor<T> params = s.params.clone();
  Sgd<T> sgd(constant_schedule(0.01), 0.9);
  int64_t b = 0;
  for (auto _ : state) {
    const Tensor<T> x = s.x(b);
    const std::vector<int64_t> labels = s.labels(b);
    b = (b + 1) % 60;
    if (work == Work::forward) {
      benchmark::DoNotOptimize(s.mlp.predict(params, x).data());
      continue;
    }
    const auto [loss, grads] = value_and_grad<T>(
        [&](const std::vector<Var<T>>& p) {
          return cross_entropy_loss(s.mlp.forward(p[0], Var<T>(x)), labels);
        },
        {Var<T>(params)});
    benchmark::DoNotOptimize(loss.item());
    if (work == Work::step) sgd.step(params, grads[0].value());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

#define LAMPPOST_TRAIN_BENCH(T, work)                   \
  void BM_Train_##work##_##T(benchmark::State& state) { \
    run<T>(state, Work::work);                          \
  }                                                     \
  BENCHMARK(BM_Train_##work##_##T)                      \
      ->Arg(1)                                          \
      ->Arg(2)                                          \
      ->ArgName("threads")                              \
      ->Unit(benchmark::kMillisecond)                   \
      ->UseRealTime();

LAMPPOST_TRAIN_BENCH(float, forward)
LAMPPOST_TRAIN_BENCH(float, gradient)
LAMPPOST_TRAIN_BENCH(float, step)
LAMPPOST_TRAIN_BENCH(double, forward)
LAMPPOST_TRAIN_BENCH(double, gradient)
LAMPPOST_TRAIN_BENCH(double, step)

template <Real T>
void BM_TinyStep(benchmark::State& state) {
  ThreadCountGuard threads(static_cast<int>(state.range(0)));
  const Mlp<T> mlp({.inputs = 2,
                    .hidden = {16, 16},
                    .outputs = 1,
                    .parameterization = Parameterization::standard});
  Tensor<T> params = mlp.init(1);
  const Tensor<T> x = Rng(2).normal<T>({8, 2});
  const Tensor<T> y = Rng(3).normal<T>({8, 1});
  Sgd<T> sgd(constant_schedule(0.01));
  for (auto _ : state) {
    const auto [loss, grads] = value_and_grad<T>(
        [&](const std::vector<Var<T>>& p) { return mse(mlp.forward(p[0], Var<T>(x)), y); },
        {Var<T>(params)});
    benchmark::DoNotOptimize(loss.item());
    sgd.step(params, grads[0].value());
  }
}
BENCHMARK(BM_TinyStep<float>)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TinyStep<double>)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lamppost

BENCHMARK_MAIN();
