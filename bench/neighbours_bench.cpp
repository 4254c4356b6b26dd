// k-NN classification throughput on Fashion-MNIST: 10,000 training images (784 pixels in
// [0, 1]) as references, 1,000 test images as the queries of one iteration, k = 1 and 10, on 1
// and 2 threads. Queries per second are in the items_per_second column; the accuracy counter
// (about 0.8) shows that the neighbours found are the right ones. Skipped when the Debian
// package dataset-fashion-mnist is missing.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "models/neighbours.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace lamppost {
namespace {

constexpr int64_t kReferences = 10000;
constexpr int64_t kQueries = 1000;

template <Real T>
struct FashionMnist {
  Dataset<T> train{};
  Dataset<T> test{};
  std::string error{};  // why the files could not be read; empty when they were
};

// Loaded once per type, on first use.
template <Real T>
const FashionMnist<T>& fashion_mnist() {
  static const FashionMnist<T> data = [] {
    FashionMnist<T> loaded;
    try {
      loaded.train = load_fashion_mnist<T>({.split = Split::train,
                                            .n = kReferences,
                                            .scaling = PixelScaling::unit,
                                            .targets = Targets::one_hot});
      loaded.test = load_fashion_mnist<T>(
          {.split = Split::test, .n = kQueries, .scaling = PixelScaling::unit});
    } catch (const Error& e) {
      loaded.error = e.what();
    }
    return loaded;
  }();
  return data;
}

template <Real T>
void BM_Knn(benchmark::State& state) {
  const FashionMnist<T>& data = fashion_mnist<T>();
  if (!data.error.empty()) {
    state.SkipWithError(data.error.c_str());
    return;
  }
  ThreadCountGuard threads(static_cast<int>(state.range(1)));
  NeighbourModel<T> model({.k = state.range(0)});
  model.fit(data.train.x, data.train.y);
  // Once untimed, so that the buffers of the first call are not counted.
  std::vector<int64_t> predicted = classify(model, data.test.x);
  for (auto _ : state) {
    predicted = classify(model, data.test.x);
    benchmark::DoNotOptimize(predicted.data());
  }
  int64_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == data.test.labels[i];
  state.counters["accuracy"] = double(correct) / double(kQueries);
  state.SetItemsProcessed(state.iterations() * kQueries);
}

BENCHMARK(BM_Knn<float>)
    ->ArgsProduct({{1, 10}, {1, 2}})
    ->ArgNames({"k", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Knn<double>)
    ->ArgsProduct({{1, 10}, {1, 2}})
    ->ArgNames({"k", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace lamppost

BENCHMARK_MAIN();
