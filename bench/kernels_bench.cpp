// Kernel machine timings on Fashion-MNIST training rows (784 pixels in [0, 1], the first n in
// file order), Gaussian kernel at the median pairwise distance, n = 2000 and 5000, double and
// float. Skipped when the Debian package dataset-fashion-mnist is missing.
// - Gram: K(X, X) (same = 1: the symmetric path, half the GEMM) and K(X, X') for a copy X' of
//   X (same = 0: the general path, as predict runs it). The GFLOP counter is the nominal
//   2 n^2 d of the full product in both cases, so the symmetric path's saving shows as a rate.
// - DirectSolve: a whole interpolating fit (Gram, Cholesky of n^3 / 3 flops, solves) with one
//   output (class 0 against the rest) and ten (one-hot labels).
// - ConjugateGradient: the interpolating fit of the ten one-hot outputs by CG with the EigenPro
//   preconditioner of rank 50 (and, at n = 2000 only, for its cost, rank = 0: plain CG), to
//   rtol 1e-6 in double and 1e-2 in float, at most kMaxSteps steps. A float residual cannot go
//   much below eps * cond(K): at n = 5000 CG stalls near 6e-3, and the float Cholesky's residual
//   is 2e-3. Counters: CG steps, Lanczos steps of the preconditioner, the fit's time per operator
//   application of either kind (the Gram matrix included, a small share), the residual and
//   whether CG converged.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "data/fashion_mnist.h"
#include "models/kernel_machine.h"
#include "models/kernels.h"
#include "tensor/error.h"

namespace lamppost {
namespace {

constexpr int64_t kMaxRows = 5000;
constexpr int64_t kMaxSteps = 3000;

template <Real T>
struct FashionMnist {
  Dataset<T> train{};
  std::map<int64_t, double> bandwidths{};  // median distance of the first n rows, by n
  std::string error{};                     // why the files could not be read; empty if they were
};

// Loaded once per type, on first use.
template <Real T>
FashionMnist<T>& fashion_mnist() {
  static FashionMnist<T> data = [] {
    FashionMnist<T> loaded;
    try {
      loaded.train = load_fashion_mnist<T>(
          {.n = kMaxRows, .scaling = PixelScaling::unit, .targets = Targets::one_hot});
    } catch (const Error& e) {
      loaded.error = e.what();
    }
    return loaded;
  }();
  return data;
}

// The first n rows, their one-hot labels and the Gaussian kernel at their median distance; false
// (with the benchmark skipped) when the data set is missing.
template <Real T>
bool setup(benchmark::State& state, int64_t n, Tensor<T>& x, Tensor<T>& y, Kernel<T>& kernel) {
  FashionMnist<T>& data = fashion_mnist<T>();
  if (!data.error.empty()) {
    state.SkipWithError(data.error.c_str());
    return false;
  }
  x = data.train.x.slice(0, 0, n);
  y = data.train.y.slice(0, 0, n);
  auto [entry, added] = data.bandwidths.try_emplace(n, 0.0);
  if (added) entry->second = median_distance(x);
  kernel = gaussian_kernel<T>(entry->second);
  return true;
}

void sizes(benchmark::internal::Benchmark* b, const char* name, std::vector<int64_t> values) {
  b->ArgsProduct({{2000, kMaxRows}, std::move(values)})
      ->ArgNames({"n", name})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

void cg_sizes(benchmark::internal::Benchmark* b) {
  b->Args({2000, 0})
      ->Args({2000, 50})
      ->Args({kMaxRows, 50})
      ->ArgNames({"n", "rank"})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

template <Real T>
void BM_Gram(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool same = state.range(1) != 0;
  Tensor<T> x, y;
  Kernel<T> kernel;
  if (!setup(state, n, x, y, kernel)) return;
  const Tensor<T> other = same ? x : x.clone();
  for (auto _ : state) benchmark::DoNotOptimize(kernel.gram(x, other).data());
  const double flops = 2 * double(n) * double(n) * double(x.shape()[1]);
  state.counters["GFLOP"] =
      benchmark::Counter(flops * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK_TEMPLATE(BM_Gram, double)->Apply([](auto* b) { sizes(b, "same", {0, 1}); });
BENCHMARK_TEMPLATE(BM_Gram, float)->Apply([](auto* b) { sizes(b, "same", {0, 1}); });

template <Real T>
void BM_DirectSolve(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int64_t outputs = state.range(1);
  Tensor<T> x, y;
  Kernel<T> kernel;
  if (!setup(state, n, x, y, kernel)) return;
  const Tensor<T> targets = outputs == 1 ? y.select(1, 0) : y;
  KernelFitReport report;
  for (auto _ : state) {
    KernelMachine<T> machine(kernel);
    try {
      report = machine.fit(x, targets);
    } catch (const Error& e) {  // K not positive definite in this precision
      state.SkipWithError(e.what());
      return;
    }
    benchmark::DoNotOptimize(machine.coefficients().data());
  }
  state.counters["residual"] = report.residual;
}
BENCHMARK_TEMPLATE(BM_DirectSolve, double)->Apply([](auto* b) { sizes(b, "outputs", {1, 10}); });
BENCHMARK_TEMPLATE(BM_DirectSolve, float)->Apply([](auto* b) { sizes(b, "outputs", {1, 10}); });

template <Real T>
void BM_ConjugateGradient(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor<T> x, y;
  Kernel<T> kernel;
  if (!setup(state, n, x, y, kernel)) return;
  KernelMachineOptions<T> options;
  options.solver = KernelSolver::conjugate_gradient;
  options.preconditioner_rank = state.range(1);
  options.rtol = std::is_same_v<T, float> ? 1e-2 : 1e-6;
  options.max_iterations = kMaxSteps;
  KernelFitReport report;
  for (auto _ : state) {
    KernelMachine<T> machine(kernel, options);
    report = machine.fit(x, y);
    benchmark::DoNotOptimize(machine.coefficients().data());
  }
  const double steps = double(report.iterations + report.preconditioner_iterations);
  state.counters["steps"] = double(report.iterations);
  state.counters["lanczos"] = double(report.preconditioner_iterations);
  state.counters["s/step"] =
      benchmark::Counter(steps * double(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["residual"] = report.residual;
  state.counters["converged"] = report.converged ? 1 : 0;
}
BENCHMARK_TEMPLATE(BM_ConjugateGradient, double)->Apply(cg_sizes);
BENCHMARK_TEMPLATE(BM_ConjugateGradient, float)->Apply(cg_sizes);

}  // namespace
}  // namespace lamppost

BENCHMARK_MAIN();
