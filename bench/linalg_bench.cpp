// Dense linear algebra timings. GEMM, Cholesky and triangular solves report their nominal flop
// counts as a rate (the GFLOP counter, in GFLOP/s); GEMM is the yardstick for the blocked
// factorisations in the same run. The eigensolvers have no fixed flop count (the QL/QR part
// varies): their GFLOP counter is the tridiagonalisation's 4/3 n^3 over the whole time. CG and
// Lanczos report seconds per operator application. One size: --benchmark_filter=/500/.
#include <benchmark/benchmark.h>

#include <cmath>

#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/random.h"

namespace lamppost {
namespace {

void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {500, 1000, 2000, 4000}) b->Arg(n);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// B B^T / n + I: symmetric positive definite with condition number ~ 5.
Tensor<double> spd_matrix(int64_t n, uint64_t seed) {
  Rng rng(seed);
  const Tensor<double> b = rng.normal<double>({n, n});
  Tensor<double> a = Tensor<double>::eye(n);
  gemm(1.0 / double(n), b, Op::none, b, Op::transpose, 1.0, a);  // [n, n] x [n, n] -> [n, n]
  return a;
}

Tensor<double> symmetric_matrix(int64_t n, uint64_t seed) {
  Rng rng(seed);
  const Tensor<double> b = rng.normal<double>({n, n});
  Tensor<double> a = b.clone();
  a.assign(b.t());
  const auto bv = b.to_vector();
  double* ap = a.data();
  for (int64_t i = 0; i < n * n; ++i) ap[i] = 0.5 * (ap[i] + bv[i]);
  return a;
}

void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP"] =
      benchmark::Counter(flops * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

// The yardstick for the blocked factorisations in the same run: C = A B, 2 n^3 flops.
void BM_Gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  Rng rng(8);
  const Tensor<double> a = rng.normal<double>({n, n}), b = rng.normal<double>({n, n});
  Tensor<double> c = Tensor<double>::empty({n, n});
  for (auto _ : state) {
    gemm(1.0, a, Op::none, b, Op::none, 0.0, c);  // [n, n] x [n, n] -> [n, n]
    benchmark::DoNotOptimize(c.data());
  }
  set_gflops(state, 2 * double(n) * double(n) * double(n));
}
BENCHMARK(BM_Gemm)->Apply(sizes);

void BM_Cholesky(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor<double> a = spd_matrix(n, 1);
  for (auto _ : state) benchmark::DoNotOptimize(cholesky(a).data());
  set_gflops(state, double(n) * double(n) * double(n) / 3);
}
BENCHMARK(BM_Cholesky)->Apply(sizes);

// n right-hand sides: n^3 flops.
void BM_SolveTriangular(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor<double> l = cholesky(spd_matrix(n, 2));
  Rng rng(3);
  const Tensor<double> b = rng.normal<double>({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(solve_triangular(l, b, Triangle::lower).data());
  set_gflops(state, double(n) * double(n) * double(n));
}
BENCHMARK(BM_SolveTriangular)->Apply(sizes);

void BM_Eigvalsh(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor<double> a = symmetric_matrix(n, 4);
  for (auto _ : state) benchmark::DoNotOptimize(eigvalsh(a).data());
  set_gflops(state, 4.0 / 3.0 * double(n) * double(n) * double(n));
}
BENCHMARK(BM_Eigvalsh)->Apply(sizes);

void BM_Eigh(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor<double> a = symmetric_matrix(n, 5);
  for (auto _ : state) benchmark::DoNotOptimize(eigh(a).eigenvectors.data());
  set_gflops(state, 4.0 / 3.0 * double(n) * double(n) * double(n));
}
BENCHMARK(BM_Eigh)->Apply(sizes);

// CG on the dense SPD matrix applied through gemm; counters give the steps and the time per
// step (one matrix-vector product plus the vector updates).
void BM_ConjugateGradient(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor<double> a = spd_matrix(n, 6);
  Rng rng(7);
  const Tensor<double> b = rng.normal<double>({n});
  const LinearOperator<double> op = [&](const Tensor<double>& x, Tensor<double>& y) {
    Tensor<double> y2 = y.reshape({n, 1});
    gemm(1.0, a, Op::none, x.reshape({n, 1}), Op::none, 0.0, y2);  // [n, n] x [n, 1] -> [n, 1]
  };
  int64_t steps = 0;
  for (auto _ : state) {
    const auto result = conjugate_gradient(op, b);
    if (!result.converged) state.SkipWithError("CG did not converge");
    steps = result.iterations;
  }
  state.counters["steps"] = double(steps);
  state.counters["s/step"] =
      benchmark::Counter(double(steps + 1) * double(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ConjugateGradient)->Apply(sizes);

// 40 Lanczos steps on the 1-d Laplacian of size n (never formed), with and without full
// reorthogonalisation; a tolerance nothing meets keeps the step count fixed.
void BM_Lanczos(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool reorth = state.range(1) != 0;
  const LinearOperator<double> op = [](const Tensor<double>& x, Tensor<double>& y) {
    const int64_t m = x.numel();
    const double* xp = x.data();
    double* yp = y.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      yp[i] = 2 * xp[i] - (i > 0 ? xp[i - 1] : 0.0) - (i + 1 < m ? xp[i + 1] : 0.0);
    }
  };
  LanczosOptions<double> options;
  options.k = 2;
  options.max_iterations = 40;
  options.tol = 1e-300;
  options.full_reorthogonalization = reorth;
  for (auto _ : state) {
    const auto result = lanczos(op, n, options);
    benchmark::DoNotOptimize(result.eigenvalues.data());
  }
  state.counters["s/step"] = benchmark::Counter(
      40.0 * double(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Lanczos)
    ->ArgsProduct({{100000, 1000000}, {0, 1}})
    ->ArgNames({"n", "reorth"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace lamppost

BENCHMARK_MAIN();
