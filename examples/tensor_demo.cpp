// A short tour of lamppost's tensor layer, and the main job until the `lamppost` program
// exists: GEMM speed, then a few results with known answers.
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/npy.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace lamppost;

namespace {

// Best of a few runs, in seconds: the least disturbed by whatever else the machine is doing.
template <class F>
double best_seconds(int runs, F&& work) {
  double best = INFINITY;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

template <Real T>
double gemm_gflops(int64_t n, Rng& rng) {
  const Tensor<T> a = rng.normal<T>({n, n}), b = rng.normal<T>({n, n});
  Tensor<T> c = Tensor<T>::empty({n, n});
  const double seconds = best_seconds(5, [&] { gemm(T(1), a, Op::none, b, Op::none, T(0), c); });
  return 2.0 * n * n * n / seconds * 1e-9;
}

// A random orthogonal matrix: the eigenvectors of a random symmetric one.
Tensor<double> random_orthogonal(int64_t n, Rng& rng) {
  const Tensor<double> g = rng.normal<double>({n, n});
  return eigh(add(g, g.t())).eigenvectors;
}

}  // namespace

int main() {
  Rng rng(2021);
  fmt::print("lamppost tensor demo: {} threads, SIMD {}\n\n", max_threads(), simd_architecture());

  fmt::print("GEMM, C = A B with n x n operands (best of 5)\n");
  for (int64_t n : {256, 1024}) {
    fmt::print("  n = {:4d}   float {:6.1f} GFLOP/s   double {:6.1f} GFLOP/s\n", n,
               gemm_gflops<float>(n, rng), gemm_gflops<double>(n, rng));
  }

  const Tensor<double> z = rng.normal<double>({1'000'000});
  fmt::print("\nrandn, 10^6 draws: mean {:+.4f} (0), std {:.4f} (1)\n", mean(z),
             std::sqrt(mean(square(z))));

  // A symmetric matrix with a chosen spectrum: Q diag(1, ..., 6) Q^T.
  const int64_t n = 6;
  const Tensor<double> q = random_orthogonal(n, rng);
  const Tensor<double> spectrum = Tensor<double>::arange(1, n + 1);
  const Tensor<double> a = matmul(mul(q, spectrum), q.t());  // [n, n] x [n, n] -> [n, n]
  const Tensor<double> found = eigvalsh(a);
  fmt::print("eigvalsh of Q diag(1..6) Q^T: [{:.12f}]\n", fmt::join(found.to_vector(), ", "));

  // Cholesky and CG on an SPD system with a known solution.
  const int64_t m = 400;
  const Tensor<double> g = rng.normal<double>({m, m});
  const Tensor<double> spd = add(matmul(g.t(), g), Tensor<double>::eye(m) * double(m));
  const Tensor<double> x_true = rng.normal<double>({m});
  const Tensor<double> rhs = matmul(spd, x_true.reshape({m, 1})).reshape({m});
  const Tensor<double> x_chol = cholesky_solve(cholesky(spd), rhs);
  const auto cg = conjugate_gradient<double>(
      [&](const Tensor<double>& v, Tensor<double>& out) {
        out.assign(matmul(spd, v.reshape({m, 1})).reshape({m}));
      },
      rhs);
  fmt::print("SPD solve, n = {}: Cholesky error {:.2e}; CG error {:.2e} after {} iterations\n", m,
             norm(sub(x_chol, x_true)), norm(sub(cg.x, x_true)), cg.iterations);

  // Lanczos on an operator that is never formed: diag(1, 1/2, 1/3, ..., 1/N), a spectrum that
  // decays like a network Hessian's.
  const int64_t big = 1'000'000;
  const Tensor<double> diagonal = div(1.0, Tensor<double>::arange(1, big + 1));
  LanczosOptions<double> options;
  options.k = 3;
  const auto top = lanczos<double>(
      [&](const Tensor<double>& v, Tensor<double>& out) { mul(diagonal, v, out); }, big, options);
  fmt::print("Lanczos, top 3 of diag(1/i), N = 10^6: [{:.10f}] (1/3, 1/2, 1), {}, {} steps\n",
             fmt::join(top.eigenvalues.to_vector(), ", "),
             top.converged ? "converged" : "NOT converged", top.iterations);

  // .npy round trip.
  const auto path = std::filesystem::temp_directory_path() / "lamppost_demo.npy";
  save_npy(path, a);
  const bool same = load_npy<double>(path).to_vector() == a.to_vector();
  std::filesystem::remove(path);
  fmt::print(".npy round trip of that 6 x 6 matrix: {}\n", same ? "bit-exact" : "DIFFERS");
  return same ? 0 : 1;
}
