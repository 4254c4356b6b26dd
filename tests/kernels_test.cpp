#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/kernel_machine.h"
#include "models/kernels.h"
#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;
using testing::max_abs_difference;
using testing::relative_difference;

template <class T>
class KernelsTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(KernelsTest, Types);

template <class T>
double eps() {
  return std::numeric_limits<T>::epsilon();
}

template <class T>
Tensor<T> normal(Shape shape, uint64_t seed) {
  Rng rng(seed);
  return rng.normal<T>(std::move(shape));
}

// Rows as double vectors, whatever the view's strides.
template <class T>
std::vector<std::vector<double>> rows_of(const Tensor<T>& x) {
  const std::vector<T> flat = x.to_vector();
  const size_t n = static_cast<size_t>(x.shape()[0]), d = static_cast<size_t>(x.shape()[1]);
  std::vector<std::vector<double>> rows(n, std::vector<double>(d));
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < d; ++k) rows[i][k] = double(flat[i * d + k]);
  }
  return rows;
}

double squared_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

double squared_norm(const std::vector<double>& a) {
  return squared_distance(a, std::vector<double>(a.size(), 0.0));
}

// Checks squared_distances(x1, x2) entry by entry against the plain loop, to the accuracy the
// header promises: about eps * (||x1_i||^2 + ||x2_j||^2).
template <class T>
void expect_distances_match_loop(const Tensor<T>& x1, const Tensor<T>& x2) {
  const Tensor<T> d = squared_distances(x1, x2);
  const auto r1 = rows_of(x1), r2 = rows_of(x2);
  ASSERT_EQ(d.shape(), (Shape{x1.shape()[0], x2.shape()[0]}));
  const std::vector<T> got = d.to_vector();
  const double tolerance = 4 * double(x1.shape()[1] + 2) * eps<T>();
  for (size_t i = 0; i < r1.size(); ++i) {
    for (size_t j = 0; j < r2.size(); ++j) {
      const double want = squared_distance(r1[i], r2[j]);
      const double scale = squared_norm(r1[i]) + squared_norm(r2[j]);
      const double value = double(got[i * r2.size() + j]);
      ASSERT_GE(value, 0) << i << ", " << j;
      ASSERT_NEAR(value, want, tolerance * scale + 1e-300) << i << ", " << j;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// squared_distances

TYPED_TEST(KernelsTest, SquaredDistancesMatchTheLoopOnRandomShapes) {
  using T = TypeParam;
  // The last one is wider than one tile of the pass after the GEMM (16384 entries).
  const std::vector<std::array<int64_t, 3>> shapes = {
      {1, 1, 1}, {1, 5, 3}, {7, 4, 1}, {33, 17, 65}, {130, 70, 9}, {64, 200, 300}, {3, 20000, 2}};
  uint64_t seed = 1;
  for (const auto& [n1, n2, d] : shapes) {
    SCOPED_TRACE(fmt::format("n1 {} n2 {} d {}", n1, n2, d));
    const Tensor<T> x1 = normal<T>({n1, d}, seed++), x2 = normal<T>({n2, d}, seed++);
    expect_distances_match_loop(x1, x2);
    expect_distances_match_loop(x1, x1);
  }
}

TYPED_TEST(KernelsTest, SquaredDistancesReadTransposedAndStridedViews) {
  using T = TypeParam;
  // x1 [40, 6] as the transpose of a [6, 40] tensor; x2 [25, 6] as every other row and every
  // third column of a larger one, offset into its storage.
  const Tensor<T> x1 = normal<T>({6, 40}, 11).t();
  const Tensor<T> x2 = normal<T>({60, 20}, 12).slice(0, 3, 53, 2).slice(1, 1, 18, 3);
  ASSERT_EQ(x2.shape(), (Shape{25, 6}));
  ASSERT_FALSE(x1.is_contiguous());
  ASSERT_FALSE(x2.is_contiguous());
  expect_distances_match_loop(x1, x2);
  expect_distances_match_loop(x2, x1);
  expect_distances_match_loop(x1, x1);
  expect_distances_match_loop(x2, x2);
}

// x1 == x2 takes the symmetric path (half the GEMM, mirrored); it must cross its row blocks
// correctly and agree with the general path on a copy.
TYPED_TEST(KernelsTest, SquaredDistancesOfOneSetAreSymmetricWithAZeroDiagonal) {
  using T = TypeParam;
  const int64_t n = 1100, d = 3;
  const Tensor<T> x = normal<T>({n, d}, 21);
  expect_distances_match_loop(x, x);
  const Tensor<T> same = squared_distances(x, x);
  const Tensor<T> general = squared_distances(x, x.clone());
  const T* s = same.data();
  const T* g = general.data();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(s[i * n + i], T(0)) << i;
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(s[i * n + j], s[j * n + i]) << i << ", " << j;
      worst = std::max(worst, std::abs(double(s[i * n + j]) - double(g[i * n + j])));
    }
  }
  EXPECT_LE(worst, 100 * eps<T>() * d);
}

// Rows of large norm that are close to each other: the expansion ||a||^2 + ||b||^2 - 2 a.b
// cancels catastrophically, and taken as it is it goes negative (checked here, so that the test
// exercises the correction). Every entry must be non-negative and match the direct sum to a
// small relative error, and equal rows must give exactly 0, on both paths.
TYPED_TEST(KernelsTest, SmallDistancesAreNonNegativeAccurateAndExactlyZeroForEqualRows) {
  using T = TypeParam;
  const int64_t n = 64, d = 16;
  Tensor<T> x = normal<T>({n, d}, 31) * T(1e-3) + T(100);
  x.select(0, 5).assign(x.select(0, 9));  // an exact duplicate
  const Tensor<T> y = x.clone();
  const Tensor<T> norms_x = sum(square(x), {1}), norms_y = sum(square(y), {1});
  Tensor<T> expansion = Tensor<T>::empty({n, n});
  gemm(T(-2), x, Op::none, y, Op::transpose, T(0), expansion);  // [n, d] x [d, n] -> [n, n]
  expansion = expansion + norms_x.reshape({n, 1}) + norms_y.reshape({1, n});
  ASSERT_LT(min(expansion), T(0)) << "the data does not exercise the correction";

  const auto rows = rows_of(x);
  for (const Tensor<T>& other : {x, y}) {
    const Tensor<T> dist = squared_distances(x, other);
    EXPECT_EQ(dist.at({5, 9}), T(0));
    EXPECT_EQ(dist.at({9, 5}), T(0));
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(dist.at({i, i}), T(0));
      for (int64_t j = 0; j < n; ++j) {
        // Above the cut the expansion's error is a few eps (||x_i||^2 + ||x_j||^2), at most a few
        // percent of the value; below it the direct sum's is d eps relative.
        const double want = squared_distance(rows[size_t(i)], rows[size_t(j)]);
        const double error = std::abs(double(dist.at({i, j})) - want);
        const double scale = squared_norm(rows[size_t(i)]) + squared_norm(rows[size_t(j)]);
        ASSERT_LE(error, 4 * d * eps<T>() * want + 8 * eps<T>() * scale) << i << ", " << j;
        ASSERT_LE(error, 0.05 * want) << i << ", " << j;
      }
    }
  }
}

TEST(KernelsErrors, SquaredDistancesNameBothShapes) {
  const Tensor<double> a({3, 4}), b({3, 5}), v({4});
  const std::string mismatch = error_of([&] { (void)squared_distances(a, b); });
  EXPECT_CONTAINS(mismatch, "[squared_distances]");
  EXPECT_CONTAINS(mismatch, "(3, 4)");
  EXPECT_CONTAINS(mismatch, "(3, 5)");
  EXPECT_CONTAINS(error_of([&] { (void)squared_distances(a, v); }), "(4,)");
}

// ---------------------------------------------------------------------------------------------
// Kernels

double reference_kernel(KernelKind kind, double squared, double bandwidth) {
  return kind == KernelKind::gaussian ? std::exp(-squared / (2 * bandwidth * bandwidth))
                                      : std::exp(-std::sqrt(squared) / bandwidth);
}

// The Gram matrix by the closed form, in double.
template <class T>
Tensor<double> reference_gram(KernelKind kind, const Tensor<T>& x1, const Tensor<T>& x2,
                              double bandwidth) {
  const auto r1 = rows_of(x1), r2 = rows_of(x2);
  Tensor<double> k = Tensor<double>::empty({int64_t(r1.size()), int64_t(r2.size())});
  for (size_t i = 0; i < r1.size(); ++i) {
    for (size_t j = 0; j < r2.size(); ++j) {
      k.data()[i * r2.size() + j] =
          reference_kernel(kind, squared_distance(r1[i], r2[j]), bandwidth);
    }
  }
  return k;
}

TYPED_TEST(KernelsTest, GramEntriesMatchTheClosedForms) {
  using T = TypeParam;
  const int64_t d = 7;
  const Tensor<T> x1 = normal<T>({45, d}, 41), x2 = normal<T>({30, d}, 42);
  for (const KernelKind kind : {KernelKind::gaussian, KernelKind::laplace}) {
    for (const double bandwidth : {0.7, 3.0}) {
      SCOPED_TRACE(fmt::format("{} bandwidth {}", to_string(kind), bandwidth));
      const Kernel<T> kernel = make_kernel<T>(kind, bandwidth);
      EXPECT_EQ(kernel.name, fmt::format("{}(bandwidth={})", to_string(kind), bandwidth));
      for (const Tensor<T>& other : {x1, x2}) {
        const Tensor<T> k = kernel.gram(x1, other);
        const Tensor<double> want = reference_gram(kind, x1, other, bandwidth);
        ASSERT_EQ(k.shape(), want.shape());
        const auto got = k.to_vector();
        const auto expected = want.to_vector();
        // The exponent carries the distance's error, about eps * (norms) / bandwidth^2 for the
        // Gaussian; the Laplace's square root halves the relative error.
        const double tolerance = 64 * d * eps<T>() / std::min(1.0, bandwidth * bandwidth);
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_NEAR(double(got[i]), expected[i], tolerance) << i;
        }
      }
    }
  }
}

TYPED_TEST(KernelsTest, GramOfOneSetIsSymmetricWithUnitDiagonal) {
  using T = TypeParam;
  const int64_t n = 600;
  const Tensor<T> x = normal<T>({n, 10}, 51);
  for (const KernelKind kind : {KernelKind::gaussian, KernelKind::laplace}) {
    SCOPED_TRACE(to_string(kind));
    const Tensor<T> k = make_kernel<T>(kind, 2.0).gram(x, x);
    const T* p = k.data();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(p[i * n + i], T(1)) << i;
      for (int64_t j = 0; j < i; ++j) {
        ASSERT_EQ(p[i * n + j], p[j * n + i]) << i << ", " << j;
        ASSERT_GT(p[i * n + j], T(0));
        ASSERT_LT(p[i * n + j], T(1));
      }
    }
  }
}

TEST(KernelsNames, KindsRoundTripAndUnknownNamesListTheChoices) {
  for (const KernelKind kind : {KernelKind::gaussian, KernelKind::laplace}) {
    EXPECT_EQ(parse_kernel_kind(to_string(kind)), kind);
  }
  EXPECT_EQ(to_string(KernelKind::laplace), "laplace");
  const std::string message = error_of([] { (void)parse_kernel_kind("cauchy"); });
  EXPECT_CONTAINS(message, "'cauchy'");
  EXPECT_CONTAINS(message, "gaussian, laplace");
}

TEST(KernelsErrors, BandwidthMustBePositiveAndFinite) {
  for (const double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(bad);
    const std::string gaussian = error_of([&] { (void)gaussian_kernel<double>(bad); });
    EXPECT_CONTAINS(gaussian, "[gaussian_kernel] bandwidth must be positive and finite, got");
    EXPECT_CONTAINS(gaussian, fmt::format("{}", bad));
    EXPECT_CONTAINS(error_of([&] { (void)laplace_kernel<float>(bad); }), "[laplace_kernel]");
    EXPECT_CONTAINS(error_of([&] { (void)make_kernel<float>(KernelKind::gaussian, bad); }),
                    "[gaussian_kernel]");
  }
}

// Points 0, 1, 3, 7 on a line: the six distances 1, 2, 3, 4, 6, 7 have median 3.5, and their
// odd-count subsets 0, 1, 3 (distances 1, 2, 3) have median 2.
TYPED_TEST(KernelsTest, MedianDistanceOfAKnownSet) {
  using T = TypeParam;
  const Tensor<T> line = Tensor<T>::from_vector({0, 1, 3, 7}, {4, 1});
  EXPECT_DOUBLE_EQ(median_distance(line), 3.5);
  EXPECT_DOUBLE_EQ(median_distance(line.slice(0, 0, 3)), 2.0);
  // In the plane, through the transposed view of the coordinates: (0, 0), (3, 4), (6, 8) have
  // distances 5, 5, 10.
  const Tensor<T> plane = Tensor<T>::from_vector({0, 3, 6, 0, 4, 8}, {2, 3}).t();
  EXPECT_DOUBLE_EQ(median_distance(plane), 5.0);
}

// Above kMedianDistanceSample rows the median is that of the rows Rng(seed).permutation picks.
TEST(KernelsMedian, LargeSetsUseAFixedSeedSample) {
  const int64_t n = 2500, d = 3;
  const Tensor<double> x = normal<double>({n, d}, 61);
  const auto rows = rows_of(x);
  const std::vector<int64_t> order = Rng(9).permutation(n);
  std::vector<double> distances;
  for (int64_t a = 0; a < kMedianDistanceSample; ++a) {
    for (int64_t b = a + 1; b < kMedianDistanceSample; ++b) {
      distances.push_back(std::sqrt(
          squared_distance(rows[size_t(order[size_t(a)])], rows[size_t(order[size_t(b)])])));
    }
  }
  std::sort(distances.begin(), distances.end());
  const size_t half = distances.size() / 2;  // an even count: 499500
  const double want = 0.5 * (distances[half - 1] + distances[half]);
  const double got = median_distance(x, 9);
  EXPECT_NEAR(got, want, 1e-12 * want);
  EXPECT_EQ(median_distance(x, 9), got);
  EXPECT_NE(median_distance(x, 10), got);
}

TEST(KernelsErrors, MedianDistanceNeedsTwoRows) {
  EXPECT_CONTAINS(error_of([] {
                    (void)median_distance(Tensor<double>({1, 3}));
                  }),
                  "[median_distance] needs [n, d] with n >= 2, got shape (1, 3)");
  EXPECT_CONTAINS(error_of([] { (void)median_distance(Tensor<float>({4})); }), "(4,)");
}

// ---------------------------------------------------------------------------------------------
// Kernel machines

// ||K alpha - y|| / ||y|| with K by the closed form in double: a residual the machine did not
// compute itself.
double independent_residual(const Tensor<double>& k, const Tensor<double>& alpha,
                            const Tensor<double>& y) {
  const int64_t n = k.shape()[0];
  return relative_difference(matmul(k, alpha.reshape({n, -1})), y.reshape({n, -1}));
}

TEST(KernelMachine, InterpolatesItsTrainingLabels) {
  const int64_t n = 300, d = 5;
  const Tensor<double> x = normal<double>({n, d}, 71);
  const Tensor<double> y3 = normal<double>({n, 3}, 72);
  // At the median distance the Gaussian's K has condition number ~1e10 here, and a backward
  // stable solve leaves a residual of about eps * cond; half of it gives ~1e6, room for 1e-8.
  // The Laplace kernel's K is far better conditioned (~1e3) at the median itself.
  const double median = median_distance(x);
  for (const KernelKind kind : {KernelKind::gaussian, KernelKind::laplace}) {
    const double bandwidth = kind == KernelKind::gaussian ? median / 2 : median;
    const Kernel<double> kernel = make_kernel<double>(kind, bandwidth);
    const Tensor<double> k = reference_gram(kind, x, x, bandwidth);
    for (const Tensor<double>& y : {y3.select(1, 0), y3}) {
      SCOPED_TRACE(fmt::format("{} y {}", to_string(kind), to_string(y.shape())));
      KernelMachine<double> machine(kernel);
      const KernelFitReport report = machine.fit(x, y);
      EXPECT_TRUE(report.converged);
      EXPECT_EQ(report.iterations, 0);
      EXPECT_LE(report.residual, 1e-8);
      EXPECT_EQ(machine.coefficients().shape(), y.shape());
      EXPECT_LE(independent_residual(k, machine.coefficients(), y), 1e-8);
      const Tensor<double> fitted = machine.predict(x);
      ASSERT_EQ(fitted.shape(), y.shape());
      EXPECT_LE(relative_difference(fitted, y), 1e-8);
    }
  }
}

// Outputs are solved together; each must equal the one-output fit of its column.
TEST(KernelMachine, OutputsAreIndependentColumns) {
  const Tensor<double> x = normal<double>({120, 4}, 81), y = normal<double>({120, 3}, 82);
  const Tensor<double> xt = normal<double>({17, 4}, 83);
  KernelMachine<double> joint(laplace_kernel<double>(2.0));
  (void)joint.fit(x, y);
  const Tensor<double> predicted = joint.predict(xt);
  ASSERT_EQ(predicted.shape(), (Shape{17, 3}));
  for (int64_t c = 0; c < 3; ++c) {
    KernelMachine<double> single(laplace_kernel<double>(2.0));
    (void)single.fit(x, y.select(1, c));
    EXPECT_LE(max_abs_difference(single.coefficients(), joint.coefficients().select(1, c)), 1e-9);
    const Tensor<double> p = single.predict(xt);
    ASSERT_EQ(p.shape(), (Shape{17}));
    EXPECT_LE(max_abs_difference(p, predicted.select(1, c)), 1e-9);
  }
}

// (K + lambda I)^-1 y through the eigendecomposition K = V diag(l) V^T, from the closed-form K.
Tensor<double> ridge_by_eigh(const Tensor<double>& k, const Tensor<double>& y, double ridge) {
  const int64_t n = k.shape()[0];
  const EighResult<double> eig = eigh(k);
  Tensor<double> coordinates = matmul(eig.eigenvectors.t(), y.reshape({n, -1}));
  coordinates = coordinates / (eig.eigenvalues.reshape({n, 1}) + ridge);
  return matmul(eig.eigenvectors, coordinates).reshape(y.shape());
}

TEST(KernelMachine, RidgeMatchesTheEigendecomposition) {
  const int64_t n = 250, d = 6;
  const Tensor<double> x = normal<double>({n, d}, 91), y = normal<double>({n, 2}, 92);
  const Tensor<double> xt = normal<double>({40, d}, 93);
  const double bandwidth = median_distance(x);
  for (const KernelKind kind : {KernelKind::gaussian, KernelKind::laplace}) {
    for (const double ridge : {1e-3, 0.5}) {
      for (const KernelSolver solver : {KernelSolver::direct, KernelSolver::conjugate_gradient}) {
        SCOPED_TRACE(fmt::format("{} ridge {} solver {}", to_string(kind), ridge, int(solver)));
        KernelMachineOptions<double> options;
        options.ridge = ridge;
        options.solver = solver;
        KernelMachine<double> machine(make_kernel<double>(kind, bandwidth), options);
        const KernelFitReport report = machine.fit(x, y);
        EXPECT_TRUE(report.converged);
        const Tensor<double> want = ridge_by_eigh(reference_gram(kind, x, x, bandwidth), y, ridge);
        // CG stops at ||r|| <= 1e-10 ||y||, and alpha's error is at most cond(K + ridge I) times
        // that; the direct solve is far tighter.
        const double tolerance = solver == KernelSolver::direct ? 1e-10 : 1e-10 * (n / ridge);
        EXPECT_LE(relative_difference(machine.coefficients(), want), tolerance);
        // Predictions are K(xt, X) alpha with the closed-form cross Gram.
        const Tensor<double> predicted = machine.predict(xt);
        const Tensor<double> expected = matmul(reference_gram(kind, xt, x, bandwidth), want);
        EXPECT_LE(relative_difference(predicted, expected), tolerance);
      }
    }
  }
}

// The data of the CG tests: Fashion-MNIST-like in spirit (a smooth Gaussian kernel on clustered
// points in moderate dimension), whose spectrum decays fast, as kernel spectra do.
struct CgProblem {
  Tensor<double> x;
  Tensor<double> y;
  double bandwidth = 0;
};

CgProblem cg_problem(int64_t n, int64_t k) {
  const int64_t d = 10;
  Rng rng(101);
  const Tensor<double> centres = rng.normal<double>({8, d}) * 2.0;
  Tensor<double> x = rng.normal<double>({n, d});
  for (int64_t i = 0; i < n; ++i) {
    Tensor<double> row = x.select(0, i);
    row += centres.select(0, i % 8);
  }
  CgProblem problem{x, rng.normal<double>({n, k}), 0};
  problem.bandwidth = median_distance(x);
  return problem;
}

TEST(KernelMachine, ConjugateGradientsAgreeWithTheDirectSolve) {
  const int64_t n = 400;
  const double ridge = 1e-2;
  for (const int64_t outputs : {1, 3}) {
    const CgProblem p = cg_problem(n, outputs);
    const Tensor<double> y = outputs == 1 ? p.y.select(1, 0) : p.y;
    KernelMachineOptions<double> options;
    options.ridge = ridge;
    KernelMachine<double> direct(gaussian_kernel<double>(p.bandwidth), options);
    (void)direct.fit(p.x, y);
    for (const int64_t rank : {0, 20}) {
      SCOPED_TRACE(fmt::format("outputs {} rank {}", outputs, rank));
      options.solver = KernelSolver::conjugate_gradient;
      options.preconditioner_rank = rank;
      options.rtol = 1e-10;
      KernelMachine<double> cg(gaussian_kernel<double>(p.bandwidth), options);
      const KernelFitReport report = cg.fit(p.x, y);
      EXPECT_TRUE(report.converged);
      EXPECT_GT(report.iterations, 0);
      EXPECT_EQ(report.preconditioner_iterations > 0, rank > 0);
      EXPECT_LE(report.residual, 1e-10);
      // alpha's error is bounded by cond(K + ridge I) <= (n + ridge) / ridge times rtol.
      EXPECT_LE(relative_difference(cg.coefficients(), direct.coefficients()), 1e-10 * (n / ridge));
      EXPECT_LE(relative_difference(cg.predict(p.x), direct.predict(p.x)), 1e-9);
    }
  }
}

TEST(KernelMachine, ThePreconditionerCutsTheIterationsOnAGaussianKernel) {
  const CgProblem p = cg_problem(500, 1);
  KernelMachineOptions<double> options;
  options.ridge = 1e-3;
  options.solver = KernelSolver::conjugate_gradient;
  options.rtol = 1e-8;
  KernelMachine<double> plain(gaussian_kernel<double>(p.bandwidth), options);
  options.preconditioner_rank = 40;
  KernelMachine<double> preconditioned(gaussian_kernel<double>(p.bandwidth), options);
  const KernelFitReport a = plain.fit(p.x, p.y);
  const KernelFitReport b = preconditioned.fit(p.x, p.y);
  ASSERT_TRUE(a.converged);
  ASSERT_TRUE(b.converged);
  EXPECT_GE(a.iterations, 3 * b.iterations) << a.iterations << " vs " << b.iterations;
  // Counting the Lanczos steps that built it, the preconditioner still pays for itself.
  EXPECT_GE(a.iterations, 2 * (b.iterations + b.preconditioner_iterations))
      << a.iterations << " vs " << b.iterations << " + " << b.preconditioner_iterations;
  EXPECT_LE(relative_difference(preconditioned.coefficients(), plain.coefficients()), 1e-8 * 5e5);
}

TEST(KernelMachine, ConjugateGradientsReportNonConvergenceWithoutThrowing) {
  const CgProblem p = cg_problem(200, 2);
  KernelMachineOptions<double> options;
  options.solver = KernelSolver::conjugate_gradient;
  options.max_iterations = 3;
  KernelMachine<double> machine(gaussian_kernel<double>(p.bandwidth), options);
  const KernelFitReport report = machine.fit(p.x, p.y);
  EXPECT_FALSE(report.converged);
  EXPECT_EQ(report.iterations, 3);
  // CG minimises the error in the K-norm, so the residual after 3 steps need not be below 1;
  // it must be the true one of the returned coefficients.
  EXPECT_GT(report.residual, 1e-6);
  const Tensor<double> k = reference_gram(KernelKind::gaussian, p.x, p.x, p.bandwidth);
  EXPECT_NEAR(independent_residual(k, machine.coefficients(), p.y), report.residual,
              1e-9 * report.residual);
  EXPECT_EQ(machine.predict(p.x).shape(), p.y.shape());
}

TEST(KernelMachine, FloatFitsToFloatAccuracy) {
  const Tensor<float> x = normal<float>({200, 5}, 111), y = normal<float>({200, 2}, 112);
  const double bandwidth = median_distance(x);
  KernelMachine<float> laplace(laplace_kernel<float>(bandwidth));
  const KernelFitReport interpolation = laplace.fit(x, y);
  EXPECT_LE(interpolation.residual, 1e-4);
  // predict's cross Gram is rounded differently from fit's symmetric one, an error that K's
  // condition number (~1e3) amplifies.
  EXPECT_LE(relative_difference(laplace.predict(x), y), 1e-3);

  // CG's float default rtol (1e-5) is near the rounding floor of a float residual,
  // eps * cond(K + lambda I); a ridge of 1 keeps the condition number small enough for 1e-5.
  KernelMachineOptions<float> options;
  options.ridge = 1;
  options.solver = KernelSolver::conjugate_gradient;
  options.preconditioner_rank = 10;
  KernelMachine<float> ridge(gaussian_kernel<float>(bandwidth), options);
  const KernelFitReport report = ridge.fit(x, y);
  EXPECT_TRUE(report.converged);
  EXPECT_LE(report.residual, 1e-5);
  const Tensor<double> want =
      ridge_by_eigh(reference_gram(KernelKind::gaussian, x, x, bandwidth), y.cast<double>(), 1);
  EXPECT_LE(relative_difference(ridge.coefficients().cast<double>(), want), 1e-3);
}

// Duplicated points make K singular: the direct solve refuses, naming what to change, rather
// than regularising behind the caller's back; a ridge makes the same data solvable.
TEST(KernelMachine, ASingularDirectSolveNamesTheKernelTheSizeAndThePivot) {
  Tensor<double> x = normal<double>({50, 3}, 121);
  x.slice(0, 25, 50).assign(x.slice(0, 0, 25));
  const Tensor<double> y = normal<double>({50}, 122);
  KernelMachine<double> machine(gaussian_kernel<double>(1.5));
  const std::string message = error_of([&] { (void)machine.fit(x, y); });
  EXPECT_CONTAINS(message, "[KernelMachine::fit]");
  EXPECT_CONTAINS(message, "gaussian(bandwidth=1.5)");
  EXPECT_CONTAINS(message, "n = 50");
  EXPECT_CONTAINS(message, "not positive definite");
  EXPECT_CONTAINS(message, "pivot");
  EXPECT_CONTAINS(message, "ridge");
  EXPECT_CONTAINS(message, "smaller bandwidth");
  EXPECT_FALSE(machine.fitted());

  KernelMachineOptions<double> options;
  options.ridge = 1e-6;
  KernelMachine<double> ridge(gaussian_kernel<double>(1.5), options);
  EXPECT_LE(ridge.fit(x, y).residual, 1e-8);
}

TEST(KernelMachine, PredictionsOfManyPointsComeInBlocks) {
  // More test points than one Gram block holds (2^22 entries / 5 training points): the blocks
  // must tile the output exactly.
  const Tensor<double> x = normal<double>({5, 2}, 131), y = normal<double>({5, 2}, 132);
  KernelMachine<double> machine(gaussian_kernel<double>(1.0));
  (void)machine.fit(x, y);
  const int64_t m = (int64_t{1} << 22) / 5 + 7;
  const Tensor<double> xt = normal<double>({m, 2}, 133);
  const Tensor<double> predicted = machine.predict(xt);
  ASSERT_EQ(predicted.shape(), (Shape{m, 2}));
  // Against one Gram matrix of all test points (the entries themselves are checked elsewhere).
  const Tensor<double> want = matmul(machine.kernel().gram(xt, x), machine.coefficients());
  EXPECT_LE(max_abs_difference(predicted, want), 1e-12 * max_abs_difference(want, want * 0.0));
  EXPECT_EQ(machine.predict(xt.slice(0, 0, 0)).shape(), (Shape{0, 2}));
}

TEST(KernelMachine, UserKernelsPlugIn) {
  // The linear kernel plus a constant, through a Gram function written here: with ridge it
  // is ridge regression on (x, 1), so an exactly linear target is fitted up to the ridge.
  Kernel<double> linear{"linear", [](const Tensor<double>& a, const Tensor<double>& b) {
                          return matmul(a, b.t()) + 1.0;  // [n1, d] x [d, n2] -> [n1, n2]
                        }};
  const Tensor<double> x = normal<double>({60, 3}, 141);
  const Tensor<double> w = Tensor<double>::from_vector({1.0, -2.0, 0.5}, {3, 1});
  const Tensor<double> y = (matmul(x, w) + 3.0).reshape({60});
  KernelMachineOptions<double> options;
  options.ridge = 1e-9;
  KernelMachine<double> machine(linear, options);
  (void)machine.fit(x, y);
  const Tensor<double> xt = normal<double>({9, 3}, 142);
  EXPECT_LE(max_abs_difference(machine.predict(xt), (matmul(xt, w) + 3.0).reshape({9})), 1e-6);
  // Without the ridge the rank-4 Gram matrix cannot be factored.
  KernelMachine<double> interpolating(linear);
  EXPECT_CONTAINS(error_of([&] { (void)interpolating.fit(x, y); }), "'linear'");
}

TEST(KernelMachineErrors, NameTheOpAndTheValues) {
  const Kernel<double> kernel = gaussian_kernel<double>(1.0);
  auto with = [&](auto change) {
    KernelMachineOptions<double> options;
    change(options);
    return error_of([&] { KernelMachine<double> machine(kernel, options); });
  };
  EXPECT_CONTAINS(with([](auto& o) { o.ridge = -0.5; }),
                  "[KernelMachine] ridge must be finite and >= 0, got -0.5");
  EXPECT_CONTAINS(with([](auto& o) { o.ridge = std::numeric_limits<double>::quiet_NaN(); }),
                  "got nan");
  EXPECT_CONTAINS(with([](auto& o) { o.preconditioner_rank = -1; }), "preconditioner_rank");
  EXPECT_CONTAINS(with([](auto& o) { o.rtol = -1; }), "rtol");
  EXPECT_CONTAINS(with([](auto& o) { o.max_iterations = -2; }), "max_iterations");
  EXPECT_CONTAINS(error_of([] {
                    KernelMachine<double> m(Kernel<double>{"empty", {}});
                  }),
                  "kernel 'empty' has no Gram function");

  KernelMachine<double> machine(kernel);
  EXPECT_CONTAINS(error_of([&] {
                    (void)machine.predict(Tensor<double>({2, 3}));
                  }),
                  "[KernelMachine::predict] called before fit");
  EXPECT_CONTAINS(error_of([&] { (void)machine.coefficients(); }),
                  "[KernelMachine::coefficients] called before fit");

  const Tensor<double> x = normal<double>({10, 3}, 151), y = normal<double>({10}, 152);
  EXPECT_CONTAINS(error_of([&] { (void)machine.fit(x, Tensor<double>({9})); }),
                  "y must be [n] or [n, k] with n = 10 rows of x, got shape (9,)");
  EXPECT_CONTAINS(error_of([&] {
                    (void)machine.fit(x, Tensor<double>({10, 2, 1}));
                  }),
                  "(10, 2, 1)");
  EXPECT_CONTAINS(error_of([&] { (void)machine.fit(Tensor<double>({10}), y); }),
                  "x must be [n, d] with n >= 1, got (10,)");
  Tensor<double> bad = y.clone();
  bad.at({4}) = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(error_of([&] { (void)machine.fit(x, bad); }),
                  "y has a non-finite entry inf at flat index 4");

  (void)machine.fit(x, y);
  EXPECT_CONTAINS(error_of([&] {
                    (void)machine.predict(Tensor<double>({4, 2}));
                  }),
                  "[KernelMachine::predict] x must be [m, 3] like the training inputs, got shape "
                  "(4, 2)");

  KernelMachineOptions<double> options;
  options.solver = KernelSolver::conjugate_gradient;
  options.preconditioner_rank = 10;
  KernelMachine<double> too_small(kernel, options);
  EXPECT_CONTAINS(error_of([&] { (void)too_small.fit(x, y); }),
                  "preconditioner_rank 10 must be below the n = 10 training points");

  Kernel<double> wrong{"wrong", [](const Tensor<double>& a, const Tensor<double>&) {
                         return Tensor<double>({a.shape()[0], 1});
                       }};
  KernelMachine<double> broken(wrong);
  EXPECT_CONTAINS(error_of([&] { (void)broken.fit(x, y); }),
                  "kernel 'wrong' returned a Gram matrix of shape (10, 1) for 10 points");
}

}  // namespace
}  // namespace lamppost
