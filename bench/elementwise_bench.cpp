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
//   elementwise_bench --benchmark_filter=add_versus_triad   (the 80% floor, as one ratio)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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
void triad(float* a, const float* b, const float* c, float s, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

void stream_triad(benchmark::State& state) {
  const int64_t n = state.range(0);
  ThreadCountGuard guard(static_cast<int>(state.range(1)));
  Tensor<float> a = Tensor<float>::full({n}, 0.0f);
  const Tensor<float> b = Tensor<float>::full({n}, 0.5f);
  const Tensor<float> c = Tensor<float>::full({n}, 0.25f);
  for (auto _ : state) {
    triad(a.data(), b.data(), c.data(), 3.0f, n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * n * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(stream_triad)
    ->ArgsProduct({{kInCache, kOutOfCache}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseRealTime();

// The floor check: `add` into a preallocated output against the triad on the same three
// out-of-cache arrays, alternating call by call so both see the same machine. Like STREAM, it
// reports the best time of each (other processes on a shared machine only ever slow a call
// down); ratio = add's bandwidth / the triad's, which must stay at 0.8 or more.
void add_versus_triad(benchmark::State& state) {
  const int64_t n = kOutOfCache;
  ThreadCountGuard guard(static_cast<int>(state.range(0)));
  Tensor<float> a = Tensor<float>::full({n}, 0.0f);
  const Tensor<float> b = Tensor<float>::full({n}, 0.5f);
  const Tensor<float> c = Tensor<float>::full({n}, 0.25f);
  using Clock = std::chrono::steady_clock;
  double best_add = INFINITY, best_triad = INFINITY;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    triad(a.data(), b.data(), c.data(), 3.0f, n);
    benchmark::ClobberMemory();
    const auto t1 = Clock::now();
    add(b, c, a);
    benchmark::ClobberMemory();
    const auto t2 = Clock::now();
    best_triad = std::min(best_triad, std::chrono::duration<double>(t1 - t0).count());
    best_add = std::min(best_add, std::chrono::duration<double>(t2 - t1).count());
  }
  const double bytes = 3.0 * static_cast<double>(n) * sizeof(float);
  state.counters["add_GBps"] = bytes / best_add / 1e9;
  state.counters["triad_GBps"] = bytes / best_triad / 1e9;
  state.counters["ratio"] = best_triad / best_add;
}
BENCHMARK(add_versus_triad)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();

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
