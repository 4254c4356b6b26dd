// Element-wise and reduction bandwidth, with a STREAM triad in the same binary as the yardstick.
// bytes_per_second counts the bytes an op must move (each input read once, the output written
// once), so a memory-bound op can be compared with the triad directly: `add` into a
// preallocated output moves the same three arrays as a[i] = b[i] + s * c[i].
//
// Arguments: elements per array, threads, strided (1: every other element of arrays twice as
// long, which takes the driver's strided loop). 2^16 floats per array stay in L2; 2^25 floats
// (128 MiB per array) are far beyond any cache.
//
//   elementwise_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/tensor.h"

namespace lamppost {
namespace {

constexpr int64_t kInCache = int64_t{1} << 16;
constexpr int64_t kOutOfCache = int64_t{1} << 25;

void sizes_threads_layouts(benchmark::internal::Benchmark* b) {
  for (int64_t n : {kInCache, kOutOfCache}) {
    for (int64_t threads : {1, 2}) {
      for (int64_t strided : {0, 1}) b->Args({n, threads, strided});
    }
  }
  b->ArgNames({"n", "threads", "strided"})->UseRealTime();
}

Tensor<float> operand(int64_t n, bool strided, float value) {
  if (!strided) return Tensor<float>::full({n}, value);
  return Tensor<float>::full({2 * n}, value).slice(0, 0, 2 * n, 2);
}

void binary(benchmark::State& state,
            void (*op)(const Tensor<float>&, const Tensor<float>&, Tensor<float>&)) {
  const int64_t n = state.range(0);
  const bool strided = state.range(2) != 0;
  ThreadCountGuard guard(static_cast<int>(state.range(1)));
  const Tensor<float> a = operand(n, strided, 0.5f);
  const Tensor<float> b = operand(n, strided, 0.25f);
  Tensor<float> out = operand(n, strided, 0.0f);
  for (auto _ : state) {
    op(a, b, out);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * n * static_cast<int64_t>(sizeof(float)));
}

void unary(benchmark::State& state, void (*op)(const Tensor<float>&, Tensor<float>&)) {
  const int64_t n = state.range(0);
  const bool strided = state.range(2) != 0;
  ThreadCountGuard guard(static_cast<int>(state.range(1)));
  const Tensor<float> a = operand(n, strided, 0.5f);
  Tensor<float> out = operand(n, strided, 0.0f);
  for (auto _ : state) {
    op(a, out);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * n * static_cast<int64_t>(sizeof(float)));
}

BENCHMARK_CAPTURE(binary, add, add<float>)->Apply(sizes_threads_layouts);
BENCHMARK_CAPTURE(binary, mul, mul<float>)->Apply(sizes_threads_layouts);
BENCHMARK_CAPTURE(unary, exp, exp<float>)->Apply(sizes_threads_layouts);
BENCHMARK_CAPTURE(unary, tanh, tanh<float>)->Apply(sizes_threads_layouts);

// The STREAM triad as a plain OpenMP loop: the bandwidth the machine gives a simple kernel.
void stream_triad(benchmark::State& state) {
  const int64_t n = state.range(0);
  ThreadCountGuard guard(static_cast<int>(state.range(1)));
  Tensor<float> a = Tensor<float>::full({n}, 0.0f);
  const Tensor<float> b = Tensor<float>::full({n}, 0.5f);
  const Tensor<float> c = Tensor<float>::full({n}, 0.25f);
  float* const pa = a.data();
  const float* const pb = b.data();
  const float* const pc = c.data();
  const float s = 3.0f;
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * n * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(stream_triad)
    ->ArgsProduct({{kInCache, kOutOfCache}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseRealTime();

// Reductions of a [rows, 1024] matrix of 2^25 floats: everything, along axis 1 (each output a
// contiguous row) and along axis 0 (rows folded together). Bytes: the input, read once.
void reduction(benchmark::State& state,
               Tensor<float> (*op)(const Tensor<float>&, const std::vector<int>&, bool)) {
  const int64_t cols = 1024, rows = kOutOfCache / cols;
  const std::vector<int> axes = state.range(0) == 2
                                    ? std::vector<int>{0, 1}
                                    : std::vector<int>{static_cast<int>(state.range(0))};
  ThreadCountGuard guard(static_cast<int>(state.range(1)));
  const Tensor<float> x = Tensor<float>::full({rows, cols}, 0.5f);
  for (auto _ : state) benchmark::DoNotOptimize(op(x, axes, false));
  state.SetBytesProcessed(state.iterations() * rows * cols * static_cast<int64_t>(sizeof(float)));
}
void reduction_axes(benchmark::internal::Benchmark* b) {
  // axis 2 stands for both axes (the full reduction).
  b->ArgsProduct({{0, 1, 2}, {1, 2}})->ArgNames({"axis", "threads"})->UseRealTime();
}
BENCHMARK_CAPTURE(reduction, sum, sum<float>)->Apply(reduction_axes);
BENCHMARK_CAPTURE(reduction, max, max<float>)->Apply(reduction_axes);

}  // namespace
}  // namespace lamppost

BENCHMARK_MAIN();
