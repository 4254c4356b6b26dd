#include "tensor/linalg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

template <class T>
class LinalgTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LinalgTest, Types);

template <class T>
T eps() {
  return std::numeric_limits<T>::epsilon();
}

// Expects the string to contain the text.
#define EXPECT_CONTAINS(haystack, needle)                                        \
  do {                                                                           \
    const std::string found_in_ = (haystack);                                    \
    EXPECT_NE(found_in_.find(needle), std::string::npos) << "in: " << found_in_; \
  } while (0)

template <class T>
T max_abs(const Tensor<T>& a) {
  T m = 0;
  for (T v : a.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  auto av = a.to_vector(), bv = b.to_vector();
  for (size_t i = 0; i < av.size(); ++i) av[i] -= bv[i];
  return Tensor<T>::from_vector(av, a.shape());
}

template <class T>
T max_diff(const Tensor<T>& a, const Tensor<T>& b) {
  EXPECT_EQ(a.shape(), b.shape());
  return max_abs(sub(a, b));
}

template <class T>
Tensor<T> normal(Shape shape, uint64_t seed) {
  Rng rng(seed);
  return rng.normal<T>(std::move(shape));
}

// A product of n Householder reflections of random vectors: an orthogonal matrix with no
// structure. Built in double and rounded, so float tests see an orthogonal matrix to float
// precision.
template <class T>
Tensor<T> random_orthogonal(int64_t n, uint64_t seed) {
  Tensor<double> q = Tensor<double>::eye(n);
  Rng rng(seed);
  double* qd = q.data();
  std::vector<double> qu(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const auto u = rng.normal<double>({n}).to_vector();
    double uu = 0;
    for (double x : u) uu += x * x;
    // Q <- Q (I - 2 u u^T / u^T u)
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += qd[i * n + j] * u[j];
      qu[i] = 2 * s / uu;
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) qd[i * n + j] -= qu[i] * u[j];
    }
  }
  return q.cast<T>();
}

// Q diag(d) Q^T, exactly symmetric.
template <class T>
Tensor<T> with_spectrum(const Tensor<T>& q, const std::vector<T>& d) {
  const int64_t n = q.shape()[0];
  Tensor<T> qd = q.clone();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) qd.at({i, j}) *= d[j];
  }
  Tensor<T> a = matmul(qd, q.t());  // [n, n] x [n, n] -> [n, n]
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) a.at({j, i}) = a.at({i, j});
  }
  return a;
}

// Checks an eigendecomposition of a: values against the expected ones (sorted), ||A V - V D||
// and ||V^T V - I||, all relative to the scale of a.
template <class T>
void expect_eigenpairs(const Tensor<T>& a, const EighResult<T>& r, std::vector<T> expected, T tol) {
  const int64_t n = a.shape()[0];
  ASSERT_EQ(r.eigenvalues.shape(), (Shape{n}));
  ASSERT_EQ(r.eigenvectors.shape(), (Shape{n, n}));
  std::sort(expected.begin(), expected.end());
  const T scale = max_abs(a);
  const auto values = r.eigenvalues.to_vector();
  EXPECT_TRUE(std::is_sorted(values.begin(), values.end()));
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(values[i], expected[i], tol * scale) << i;
  Tensor<T> vd = r.eigenvectors.clone();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) vd.at({i, j}) *= values[j];
  }
  EXPECT_LE(max_diff(matmul(a, r.eigenvectors), vd), tol * scale);  // [n, n] x [n, n]
  EXPECT_LE(max_diff(matmul(r.eigenvectors.t(), r.eigenvectors), Tensor<T>::eye(n)), tol);
}

template <class T>
T eig_tol(int64_t n) {
  return T(20) * T(std::max<int64_t>(n, 10)) * eps<T>();
}

// ---------------------------------------------------------------------------------------------
// Cholesky and triangular solves

// A lower factor with a positive, well-conditioned diagonal.
template <class T>
Tensor<T> random_lower(int64_t n, uint64_t seed) {
  Tensor<T> l = normal<T>({n, n}, seed);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T& x = l.at({i, j});
      x = j > i ? T(0) : (j == i ? T(1) + std::abs(x) : x / T(std::sqrt(double(n)) * 2));
    }
  }
  return l;
}

TYPED_TEST(LinalgTest, CholeskyRecoversAKnownFactor) {
  using T = TypeParam;
  // Sizes inside one block, across the 128-row blocks and past the 256-row update blocks.
  for (int64_t n : {1, 2, 7, 128, 131, 300}) {
    const Tensor<T> l0 = random_lower<T>(n, 10 + n);
    const Tensor<T> a = matmul(l0, l0.t());  // [n, n] x [n, n] -> [n, n]
    const Tensor<T> l = cholesky(a);
    ASSERT_EQ(l.shape(), (Shape{n, n}));
    // The factor with a positive diagonal is unique.
    EXPECT_LE(max_diff(l, l0), T(50) * eps<T>() * T(n)) << "n = " << n;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j < n; ++j) ASSERT_EQ(l.at({i, j}), T(0));
    }
  }
}

TYPED_TEST(LinalgTest, CholeskyReadsOnlyTheLowerTriangleOfAnyView) {
  using T = TypeParam;
  const int64_t n = 150;
  const Tensor<T> l0 = random_lower<T>(n, 3);
  Tensor<T> a = matmul(l0, l0.t());  // [n, n] x [n, n] -> [n, n]
  // A transposed view of a matrix whose upper triangle is garbage: the view's lower triangle
  // is a's (symmetric) lower triangle mirrored, so write the garbage into a's lower part.
  Tensor<T> stored = a.clone();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) stored.at({i, j}) = std::numeric_limits<T>::quiet_NaN();
  }
  EXPECT_LE(max_diff(cholesky(stored.t()), l0), T(50) * eps<T>() * T(n));
}

TEST(LinalgErrors, CholeskyNamesShapesEntriesAndPivots) {
  EXPECT_CONTAINS(error_of([] {
                    (void)cholesky(Tensor<double>::zeros({2, 3}));
                  }),
                  ("[cholesky] needs a square matrix, got shape (2, 3)"));
  Tensor<double> a = Tensor<double>::eye(3);
  a.at({2, 1}) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_CONTAINS(error_of([&] { (void)cholesky(a); }),
                  ("[cholesky] matrix of shape (3, 3) has a non-finite entry nan at (2, 1)"));
  a.at({2, 1}) = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(error_of([&] { (void)cholesky(a); }), ("non-finite entry inf at (2, 1)"));

  // L0 L0^T with integer entries, then the last pivot pushed to exactly -0.25.
  const Tensor<double> l0 =
      Tensor<double>::from_vector({1, 0, 0, 0, 2, 1, 0, 0, -1, 3, 2, 0, 1, 1, 1, 1}, {4, 4});
  Tensor<double> b = matmul(l0, l0.t());  // [4, 4] x [4, 4] -> [4, 4]
  b.at({3, 3}) -= 1.25;
  EXPECT_CONTAINS(error_of([&] { (void)cholesky(b); }),
                  ("[cholesky] matrix of shape (4, 4) is not positive definite: pivot 3 is "
                   "-0.25"));

  // A pivot in the second 128-row block is named by its global index.
  const int64_t n = 200;
  Tensor<double> c = Tensor<double>::eye(n);
  c.at({150, 150}) = -2;
  EXPECT_CONTAINS(error_of([&] { (void)cholesky(c); }),
                  ("is not positive definite: pivot 150 is -2"));
}

TYPED_TEST(LinalgTest, TriangularSolvesAllFourCases) {
  using T = TypeParam;
  const int64_t n = 300;  // three 128-row diagonal blocks
  const Tensor<T> l = random_lower<T>(n, 21);
  const Tensor<T> u = l.t().contiguous();
  for (int64_t m : {1, 7, 600}) {  // 600 columns: several column chunks
    const Tensor<T> x = normal<T>({n, m}, 30 + m);
    const T tol = T(100) * eps<T>() * T(n);
    struct Case {
      const Tensor<T>* t;
      Triangle triangle;
      Op op;
      Tensor<T> effective;  // op(t)
    };
    const Case cases[] = {{&l, Triangle::lower, Op::none, l},
                          {&u, Triangle::upper, Op::none, u},
                          {&l, Triangle::lower, Op::transpose, l.t()},
                          {&u, Triangle::upper, Op::transpose, u.t()}};
    for (const auto& c : cases) {
      const Tensor<T> b = matmul(c.effective, x);  // [n, n] x [n, m] -> [n, m]
      EXPECT_LE(max_diff(solve_triangular(*c.t, b, c.triangle, c.op), x), tol)
          << "m = " << m << " triangle " << int(c.triangle) << " op " << int(c.op);
    }
  }
  // One right-hand side as a vector keeps its shape.
  const Tensor<T> xv = normal<T>({n}, 5);
  const Tensor<T> bv = matmul(l, xv.reshape({n, 1})).reshape({n});
  const Tensor<T> sv = solve_triangular(l, bv, Triangle::lower);
  EXPECT_EQ(sv.shape(), (Shape{n}));
  EXPECT_LE(max_diff(sv, xv), T(100) * eps<T>() * T(n));
}

TYPED_TEST(LinalgTest, TriangularSolveIgnoresTheOtherTriangle) {
  using T = TypeParam;
  const int64_t n = 140;
  const Tensor<T> l = random_lower<T>(n, 8);
  Tensor<T> full = l.clone();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) full.at({i, j}) = T(1e3);
  }
  const Tensor<T> x = normal<T>({n, 3}, 9);
  const Tensor<T> b = matmul(l, x);  // [n, n] x [n, 3] -> [n, 3]
  EXPECT_LE(max_diff(solve_triangular(full, b, Triangle::lower), x), T(100) * eps<T>() * T(n));
}

TYPED_TEST(LinalgTest, CholeskySolveSolvesSpdSystems) {
  using T = TypeParam;
  const int64_t n = 200;
  const Tensor<T> q = random_orthogonal<T>(n, 4);
  std::vector<T> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = T(1) + T(i) / T(n);  // condition number 2
  const Tensor<T> a = with_spectrum(q, d);
  const Tensor<T> x = normal<T>({n, 4}, 6);
  const Tensor<T> b = matmul(a, x);  // [n, n] x [n, 4] -> [n, 4]
  const Tensor<T> got = cholesky_solve(cholesky(a), b);
  EXPECT_LE(max_diff(got, x), T(200) * eps<T>() * T(n));
  EXPECT_LE(max_diff(matmul(a, got), b), T(200) * eps<T>() * T(n));  // the residual
}

TEST(LinalgErrors, TriangularSolveNamesShapesAndSingularity) {
  const Tensor<double> t = Tensor<double>::eye(3);
  EXPECT_CONTAINS(
      error_of([&] { (void)solve_triangular(t, Tensor<double>::ones({4}), Triangle::lower); }),
      ("[solve_triangular] right-hand side of shape (4,) does not match the "
       "matrix of shape (3, 3)"));
  EXPECT_CONTAINS(error_of([&] {
                    (void)solve_triangular(Tensor<double>::ones({3, 2}), Tensor<double>::ones({3}),
                                           Triangle::upper);
                  }),
                  ("[solve_triangular] needs a square matrix, got shape (3, 2)"));
  Tensor<double> s = Tensor<double>::eye(3);
  s.at({1, 1}) = 0;
  EXPECT_CONTAINS(
      error_of([&] { (void)solve_triangular(s, Tensor<double>::ones({3}), Triangle::upper); }),
      ("[solve_triangular] matrix of shape (3, 3) is singular: diagonal entry 1 "
       "is 0"));
  EXPECT_CONTAINS(error_of([&] {
                    (void)cholesky_solve(s, Tensor<double>::ones({3, 2}));
                  }),
                  ("[cholesky_solve] matrix of shape (3, 3) is singular"));
}

// ---------------------------------------------------------------------------------------------
// Conjugate gradients

// The 1-d Laplacian tridiag(-1, 2, -1) plus shift * I, applied without forming it.
template <class T>
LinearOperator<T> laplacian(T shift, int* calls = nullptr) {
  return [shift, calls](const Tensor<T>& x, Tensor<T>& y) {
    if (calls != nullptr) ++*calls;
    const int64_t n = x.numel();
    const T* xp = x.data();
    T* yp = y.data();
    for (int64_t i = 0; i < n; ++i) {
      yp[i] = (2 + shift) * xp[i] - (i > 0 ? xp[i - 1] : T(0)) - (i + 1 < n ? xp[i + 1] : T(0));
    }
  };
}

TYPED_TEST(LinalgTest, ConjugateGradientSolvesAnSpdOperator) {
  using T = TypeParam;
  const int64_t n = 400;
  const Tensor<T> x = normal<T>({n}, 11);
  Tensor<T> b = Tensor<T>::empty({n});
  laplacian<T>(T(0.05))(x, b);
  int calls = 0;
  const auto result = conjugate_gradient(laplacian<T>(T(0.05), &calls), b);
  ASSERT_TRUE(result.converged);
  // Condition number ~ 80: CG needs far fewer than n steps.
  EXPECT_LT(result.iterations, 150);
  EXPECT_GT(result.iterations, 10);
  EXPECT_EQ(calls, result.iterations + 1);  // plus the true-residual check
  Tensor<T> ax = Tensor<T>::empty({n});
  laplacian<T>(T(0.05))(result.x, ax);
  const T b_norm = std::sqrt([&] {
    T s = 0;
    for (T v : b.to_vector()) s += v * v;
    return s;
  }());
  const T residual = std::sqrt([&] {
    T s = 0;
    for (T v : sub(b, ax).to_vector()) s += v * v;
    return s;
  }());
  CgOptions<T> defaults;
  EXPECT_LE(residual, defaults.rtol * b_norm * T(1.01));
  EXPECT_NEAR(result.residual_norm, residual, T(0.1) * residual + T(10) * eps<T>() * b_norm);
  EXPECT_LE(max_diff(result.x, x), (std::is_same_v<T, float> ? T(2e-2) : T(1e-7)));
}

TEST(ConjugateGradient, WorksOnMatricesOfAnyShapeAndOperatorsThatAssign) {
  // b is [20, 30]; the operator is x -> A x with A SPD [20, 20], and assigns a new tensor to y.
  const int64_t n = 20;
  const Tensor<double> q = random_orthogonal<double>(n, 2);
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = 1 + i;
  const Tensor<double> a = with_spectrum(q, d);
  const Tensor<double> x = normal<double>({n, 30}, 3);
  const Tensor<double> b = matmul(a, x);  // [20, 20] x [20, 30] -> [20, 30]
  const auto result = conjugate_gradient<double>(
      [&](const Tensor<double>& v, Tensor<double>& y) { y = matmul(a, v); }, b);
  ASSERT_TRUE(result.converged);
  EXPECT_EQ(result.x.shape(), b.shape());
  EXPECT_LE(max_diff(result.x, x), 1e-8);
}

TEST(ConjugateGradient, PreconditionerCutsIterationsOnABadlyScaledSystem) {
  // A = D^1/2 (Laplacian + I) D^1/2 with D spanning six orders of magnitude: Jacobi
  // preconditioning undoes the scaling.
  const int64_t n = 300;
  std::vector<double> scale(n);
  for (int64_t i = 0; i < n; ++i) scale[i] = std::pow(10.0, 6.0 * double(i) / double(n - 1));
  const auto base = laplacian<double>(1.0);
  LinearOperator<double> a = [&](const Tensor<double>& x, Tensor<double>& y) {
    Tensor<double> sx = x.clone();
    for (int64_t i = 0; i < n; ++i) sx.data()[i] *= std::sqrt(scale[i]);
    base(sx, y);
    for (int64_t i = 0; i < n; ++i) y.data()[i] *= std::sqrt(scale[i]);
  };
  const Tensor<double> x = normal<double>({n}, 12);
  Tensor<double> b = Tensor<double>::empty({n});
  a(x, b);
  CgOptions<double> plain;
  plain.max_iterations = 100000;
  const auto slow = conjugate_gradient(a, b, plain);
  CgOptions<double> jacobi;
  jacobi.preconditioner = [&](const Tensor<double>& r, Tensor<double>& z) {
    for (int64_t i = 0; i < n; ++i) z.data()[i] = r.data()[i] / (3.0 * scale[i]);
  };
  const auto fast = conjugate_gradient(a, b, jacobi);
  ASSERT_TRUE(fast.converged);
  EXPECT_LT(fast.iterations * 3, slow.iterations);
  EXPECT_LE(max_diff(fast.x, x), 1e-6);
}

TEST(ConjugateGradient, ReportsNonConvergence) {
  const int64_t n = 500;
  const Tensor<double> b = normal<double>({n}, 13);
  CgOptions<double> options;
  options.max_iterations = 5;
  const auto result = conjugate_gradient(laplacian<double>(0.0), b, options);
  EXPECT_FALSE(result.converged);
  EXPECT_EQ(result.iterations, 5);
  // The reported residual is the true one of the returned x.
  Tensor<double> ax = Tensor<double>::empty({n});
  laplacian<double>(0.0)(result.x, ax);
  double s = 0;
  for (double v : sub(b, ax).to_vector()) s += v * v;
  EXPECT_NEAR(result.residual_norm, std::sqrt(s), 1e-12 * std::sqrt(s));
  EXPECT_GT(result.residual_norm, 1e-3);
}

TEST(ConjugateGradient, ExactGuessesAndZeroRightHandSidesTakeNoSteps) {
  const int64_t n = 50;
  const Tensor<double> x = normal<double>({n}, 14);
  Tensor<double> b = Tensor<double>::empty({n});
  laplacian<double>(0.5)(x, b);
  CgOptions<double> options;
  options.x0 = x;
  const auto exact = conjugate_gradient(laplacian<double>(0.5), b, options);
  EXPECT_TRUE(exact.converged);
  EXPECT_EQ(exact.iterations, 0);
  EXPECT_EQ(exact.x.to_vector(), x.to_vector());

  const auto zero = conjugate_gradient(laplacian<double>(0.5), Tensor<double>::zeros({n}), options);
  EXPECT_TRUE(zero.converged);
  EXPECT_EQ(zero.x.to_vector(), std::vector<double>(n, 0.0));
}

TEST(ConjugateGradient, ErrorsNameTheProblem) {
  const Tensor<double> b = Tensor<double>::ones({10});
  // -Laplacian is negative definite.
  LinearOperator<double> negative = [](const Tensor<double>& x, Tensor<double>& y) {
    laplacian<double>(0.0)(x, y);
    for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = -y.data()[i];
  };
  EXPECT_CONTAINS(error_of([&] { (void)conjugate_gradient(negative, b); }),
                  ("[conjugate_gradient] the operator is not positive definite: p^T A p = "));
  LinearOperator<double> wrong_shape = [](const Tensor<double>&, Tensor<double>& y) {
    y = Tensor<double>::zeros({3});
  };
  EXPECT_CONTAINS(error_of([&] { (void)conjugate_gradient(wrong_shape, b); }),
                  ("[conjugate_gradient] the operator returned shape (3,) for an input of "
                   "shape (10,)"));
  LinearOperator<double> nan = [](const Tensor<double>&, Tensor<double>& y) {
    y.fill(std::numeric_limits<double>::quiet_NaN());
  };
  EXPECT_CONTAINS(error_of([&] { (void)conjugate_gradient(nan, b); }),
                  ("the operator returned non-finite values at iteration 1"));
  CgOptions<double> bad_m;
  bad_m.preconditioner = negative;
  EXPECT_CONTAINS(error_of([&] { (void)conjugate_gradient(laplacian<double>(0.0), b, bad_m); }),
                  ("the preconditioner is not positive definite: r^T M^-1 r = "));
  Tensor<double> b_nan = b.clone();
  b_nan.at({4}) = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(error_of([&] { (void)conjugate_gradient(laplacian<double>(0.0), b_nan); }),
                  ("right-hand side has a non-finite entry inf at flat index 4"));
}

// ---------------------------------------------------------------------------------------------
// Symmetric eigensolver

TYPED_TEST(LinalgTest, EighRecoversAKnownSpectrum) {
  using T = TypeParam;
  // 300: ten tridiagonalisation panels, five back-transformation blocks, two update blocks.
  for (int64_t n : {3, 33, 300}) {
    const Tensor<T> q = random_orthogonal<T>(n, 40 + n);
    std::vector<T> d(n);
    for (int64_t i = 0; i < n; ++i) d[i] = std::sin(T(1.7) * T(i)) * T(3);  // unsorted, signed
    const Tensor<T> a = with_spectrum(q, d);
    SCOPED_TRACE("n = " + std::to_string(n));
    expect_eigenpairs(a, eigh(a), d, eig_tol<T>(n));
    // Values only: the same numbers to rounding.
    std::sort(d.begin(), d.end());
    const auto values = eigvalsh(a).to_vector();
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(values[i], d[i], eig_tol<T>(n) * T(3));
  }
}

TYPED_TEST(LinalgTest, EighHandlesRepeatedEigenvalues) {
  using T = TypeParam;
  const int64_t n = 80;
  const Tensor<T> q = random_orthogonal<T>(n, 7);
  std::vector<T> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = T(i % 3) - T(1);  // -1, 0, 1, each ~27 times
  const Tensor<T> a = with_spectrum(q, d);
  expect_eigenpairs(a, eigh(a), d, eig_tol<T>(n));
}

TYPED_TEST(LinalgTest, EighOfARankDeficientGramMatrix) {
  using T = TypeParam;
  // B B^T with B [n, r]: n - r eigenvalues at 0, the cluster that rounding blurs most.
  const int64_t n = 200, r = 30;
  const Tensor<T> b = normal<T>({n, r}, 19);
  Tensor<T> a = matmul(b, b.t());  // [n, r] x [r, n] -> [n, n]
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) a.at({j, i}) = a.at({i, j});
  }
  const auto result = eigh(a);
  const auto values = result.eigenvalues.to_vector();
  // The nonzero spectrum is that of B^T B [r, r].
  const auto small = eigvalsh(matmul(b.t(), b)).to_vector();  // [r, n] x [n, r] -> [r, r]
  std::vector<T> expected(n - r, T(0));
  expected.insert(expected.end(), small.begin(), small.end());
  expect_eigenpairs(a, result, expected, eig_tol<T>(n));
}

TYPED_TEST(LinalgTest, EighOnTinyMatrices) {
  using T = TypeParam;
  const auto one = eigh(Tensor<T>::full({1, 1}, T(-4)));
  EXPECT_EQ(one.eigenvalues.to_vector(), std::vector<T>{-4});
  EXPECT_EQ(one.eigenvectors.to_vector(), std::vector<T>{1});

  // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1) / sqrt 2 and (1, 1) / sqrt 2.
  const Tensor<T> a = Tensor<T>::from_vector({2, 1, 1, 2}, {2, 2});
  const auto two = eigh(a);
  expect_eigenpairs(a, two, {1, 3}, T(10) * eps<T>());
  EXPECT_NEAR(std::abs(two.eigenvectors.at({0, 1})), T(std::numbers::sqrt2 / 2), T(4) * eps<T>());

  const auto empty = eigh(Tensor<T>::zeros({0, 0}));
  EXPECT_EQ(empty.eigenvalues.numel(), 0);
  EXPECT_EQ(empty.eigenvectors.shape(), (Shape{0, 0}));
}

TYPED_TEST(LinalgTest, EighOfADiagonalMatrixSortsIt) {
  using T = TypeParam;
  const std::vector<T> d = {3, -1, 7, 0, 2, -1};
  const int64_t n = static_cast<int64_t>(d.size());
  Tensor<T> a = Tensor<T>::zeros({n, n});
  for (int64_t i = 0; i < n; ++i) a.at({i, i}) = d[i];
  const auto r = eigh(a);
  EXPECT_EQ(r.eigenvalues.to_vector(), (std::vector<T>{-1, -1, 0, 2, 3, 7}));
  // Exactly a permutation matrix up to signs.
  for (int64_t k = 0; k < n; ++k) {
    int64_t ones = 0;
    for (int64_t i = 0; i < n; ++i) {
      const T v = std::abs(r.eigenvectors.at({i, k}));
      EXPECT_TRUE(v == 0 || v == 1) << v;
      if (v == 1) {
        ++ones;
        EXPECT_EQ(d[i], r.eigenvalues.at({k}));
      }
    }
    EXPECT_EQ(ones, 1);
  }
}

// tridiag(-1, 2, -1) has eigenvalues 2 - 2 cos(k pi / (n + 1)), k = 1..n.
template <class T>
std::vector<T> laplacian_spectrum(int64_t n) {
  std::vector<T> d(n);
  for (int64_t k = 1; k <= n; ++k) {
    d[k - 1] = T(2 - 2 * std::cos(double(k) * std::numbers::pi / double(n + 1)));
  }
  return d;
}

TYPED_TEST(LinalgTest, EighOfAnAlreadyTridiagonalMatrix) {
  using T = TypeParam;
  const int64_t n = 100;
  Tensor<T> a = Tensor<T>::zeros({n, n});
  for (int64_t i = 0; i < n; ++i) {
    a.at({i, i}) = 2;
    if (i + 1 < n) a.at({i, i + 1}) = a.at({i + 1, i}) = -1;
  }
  expect_eigenpairs(a, eigh(a), laplacian_spectrum<T>(n), eig_tol<T>(n));

  const auto tri = eigh_tridiagonal(Tensor<T>::full({n}, T(2)), Tensor<T>::full({n - 1}, T(-1)));
  expect_eigenpairs(a, tri, laplacian_spectrum<T>(n), eig_tol<T>(n));
  const auto values_only =
      eigh_tridiagonal(Tensor<T>::full({n}, T(2)), Tensor<T>::full({n - 1}, T(-1)), false);
  EXPECT_EQ(values_only.eigenvalues.to_vector(), tri.eigenvalues.to_vector());
  EXPECT_EQ(values_only.eigenvectors.numel(), 0);
}

TEST(Eigh, GradedSpectrumKeepsAbsoluteAccuracy) {
  // Eigenvalues from 1 down to 1e-14: errors stay at eps * ||A||, vectors orthonormal.
  const int64_t n = 60;
  const Tensor<double> q = random_orthogonal<double>(n, 17);
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = std::pow(10.0, -14.0 * double(i) / double(n - 1));
  const Tensor<double> a = with_spectrum(q, d);
  expect_eigenpairs(a, eigh(a), d, eig_tol<double>(n));
}

TEST(Eigh, GradedTridiagonalGivesRelativeAccuracyFromEitherEnd) {
  // A graded tridiagonal, and the same matrix reversed: the iteration deflates from the end
  // with the small entries (QL for one, QR for the other), so both give the tiny eigenvalues
  // to high relative accuracy and agree with each other.
  const int64_t n = 12;
  std::vector<double> d(n), e(n - 1);
  for (int64_t i = 0; i < n; ++i) d[i] = std::pow(10.0, -2.0 * double(i));
  for (int64_t i = 0; i + 1 < n; ++i) e[i] = 0.3 * std::pow(10.0, -2.0 * double(i) - 1);
  std::vector<double> dr(d.rbegin(), d.rend()), er(e.rbegin(), e.rend());
  const auto fwd = eigh_tridiagonal(Tensor<double>::from_vector(d), Tensor<double>::from_vector(e));
  const auto rev =
      eigh_tridiagonal(Tensor<double>::from_vector(dr), Tensor<double>::from_vector(er));
  const auto vf = fwd.eigenvalues.to_vector(), vr = rev.eigenvalues.to_vector();
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(vf[i], vr[i], 1e-13 * std::abs(vf[i])) << i;
    EXPECT_GT(vf[i], 0);  // a graded positive definite matrix
  }
  // T Z = Z Lambda for both, componentwise relative to the row's scale.
  auto check = [&](const std::vector<double>& dd, const std::vector<double>& ee,
                   const EighResult<double>& r) {
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < n; ++i) {
        double tz = dd[i] * r.eigenvectors.at({i, k});
        if (i > 0) tz += ee[i - 1] * r.eigenvectors.at({i - 1, k});
        if (i + 1 < n) tz += ee[i] * r.eigenvectors.at({i + 1, k});
        EXPECT_NEAR(tz, r.eigenvalues.at({k}) * r.eigenvectors.at({i, k}), 1e-14);
      }
    }
  };
  check(d, e, fwd);
  check(dr, er, rev);
}

TEST(Eigh, ExtremeScalesAreHandled) {
  for (double s : {1e-200, 1e200}) {
    const int64_t n = 20;
    const Tensor<double> q = random_orthogonal<double>(n, 5);
    std::vector<double> d(n);
    for (int64_t i = 0; i < n; ++i) d[i] = s * double(i - 7);
    const Tensor<double> a = with_spectrum(q, d);
    expect_eigenpairs(a, eigh(a), d, eig_tol<double>(n));
  }
}

TEST(Eigh, ReadsStridedViews) {
  const int64_t n = 40;
  const Tensor<double> q = random_orthogonal<double>(n, 23);
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = double(i) * 0.5 - 3;
  const Tensor<double> a = with_spectrum(q, d);
  // Every other row and column of a [2n, 2n] matrix holding a.
  Tensor<double> big = Tensor<double>::full({2 * n, 2 * n}, 99.0);
  big.slice(0, 0, 2 * n, 2).slice(1, 0, 2 * n, 2).assign(a);
  const auto view = big.slice(0, 0, 2 * n, 2).slice(1, 0, 2 * n, 2).t();
  expect_eigenpairs(a, eigh(view), d, eig_tol<double>(n));
}

TEST(LinalgErrors, EighNamesShapesEntriesAndAsymmetry) {
  EXPECT_CONTAINS(error_of([] {
                    (void)eigh(Tensor<double>::zeros({3, 2}));
                  }),
                  ("[eigh] needs a square matrix, got shape (3, 2)"));
  Tensor<double> a = Tensor<double>::eye(4);
  a.at({1, 3}) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_CONTAINS(error_of([&] { (void)eigvalsh(a); }),
                  ("[eigvalsh] matrix of shape (4, 4) has a non-finite entry nan at (1, 3)"));
  Tensor<double> b = Tensor<double>::eye(4);
  b.at({0, 2}) = 0.5;
  b.at({2, 0}) = 0.5 + 1e-12;  // within the default tolerance: accepted
  EXPECT_EQ(error_of([&] { (void)eigh(b); }), "");
  b.at({3, 1}) = 0.25;  // the worst pair is named
  EXPECT_CONTAINS(error_of([&] { (void)eigh(b); }),
                  ("[eigh] matrix of shape (4, 4) is not symmetric: a(1, 3) = 0 and "
                   "a(3, 1) = 0.25 differ by 0.25"));
  EXPECT_EQ(error_of([&] { (void)eigh(b, 1.0); }), "");  // a looser tolerance accepts it
}

TEST(LinalgErrors, TridiagonalIterationFailureIsAnError) {
  // With no sweeps allowed, the first unreduced block is reported instead of returning garbage.
  std::vector<double> d = {1, 2, 3, 4}, e = {1, 1, 1, 0};
  EXPECT_CONTAINS(error_of([&] {
                    detail::tridiagonal_eigen(d.data(), e.data(), 4, static_cast<double*>(nullptr),
                                              0, 0, "eigh");
                  }),
                  ("[eigh] the tridiagonal QL/QR iteration did not converge: no eigenvalue "
                   "split off a block of size 4 after 0 sweeps"));
  EXPECT_CONTAINS(error_of([] {
                    (void)eigh_tridiagonal(Tensor<double>::ones({3}), Tensor<double>::ones({3}));
                  }),
                  ("[eigh_tridiagonal] off-diagonal of shape (3,) does not fit a diagonal of "
                   "shape (3,)"));
}

// ---------------------------------------------------------------------------------------------
// Lanczos

// A = Q diag(d) Q^T with Q = H_1 H_2 H_3 (three random reflections), applied in O(n) per
// product: the matrix is never formed.
template <class T>
struct ReflectedDiagonal {
  std::vector<T> d;
  std::vector<std::vector<T>> u;  // unit reflection vectors
  int calls = 0;

  ReflectedDiagonal(std::vector<T> diag, uint64_t seed) : d(std::move(diag)) {
    Rng rng(seed);
    for (int r = 0; r < 3; ++r) {
      auto v = rng.normal<T>({static_cast<int64_t>(d.size())}).to_vector();
      T s = 0;
      for (T x : v) s += x * x;
      for (T& x : v) x /= std::sqrt(s);
      u.push_back(v);
    }
  }
  void reflect(std::vector<T>& x, int r) const {
    T s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += u[r][i] * x[i];
    for (size_t i = 0; i < x.size(); ++i) x[i] -= 2 * s * u[r][i];
  }
  // Q^T = H_3 H_2 H_1: reflect by 1, 2, 3 in turn.
  void apply(const Tensor<T>& x, Tensor<T>& y) {
    ++calls;
    std::vector<T> v = x.to_vector();
    for (int r = 0; r < 3; ++r) reflect(v, r);
    for (size_t i = 0; i < v.size(); ++i) v[i] *= d[i];
    for (int r = 2; r >= 0; --r) reflect(v, r);
    std::copy(v.begin(), v.end(), y.data());
  }
  // Column i of Q.
  std::vector<T> eigenvector(int64_t i) const {
    std::vector<T> v(d.size(), T(0));
    v[i] = 1;
    for (int r = 2; r >= 0; --r) reflect(v, r);
    return v;
  }
};

// A bulk in [0, 1] and a few eigenvalues outside it on both sides, as Hessian spectra look.
template <class T>
std::vector<T> outlier_spectrum(int64_t n) {
  std::vector<T> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = T(i) / T(n);
  d[0] = -3;
  d[1] = -2;
  d[2] = T(-1.5);
  d[n - 1] = 5;
  d[n - 2] = 4;
  d[n - 3] = 3;
  return d;
}

TYPED_TEST(LinalgTest, LanczosFindsExtremeEigenpairs) {
  using T = TypeParam;
  const int64_t n = 1000;
  for (bool reorth : {true, false}) {
    SCOPED_TRACE(reorth ? "full reorthogonalisation" : "no reorthogonalisation");
    ReflectedDiagonal<T> op(outlier_spectrum<T>(n), 31);
    LinearOperator<T> a = [&](const Tensor<T>& x, Tensor<T>& y) { op.apply(x, y); };
    LanczosOptions<T> options;
    options.k = 3;
    options.which = Which::both_ends;
    options.full_reorthogonalization = reorth;
    options.compute_vectors = true;
    const auto r = lanczos(a, n, options);
    ASSERT_TRUE(r.converged);
    const std::vector<T> expected = {-3, -2, T(-1.5), 3, 4, 5};
    const auto values = r.eigenvalues.to_vector();
    ASSERT_EQ(values.size(), expected.size());
    const T tol = std::is_same_v<T, float> ? T(1e-4) : T(1e-10);
    for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(values[i], expected[i], tol * 5);
    EXPECT_LT(r.iterations, 200);
    // Vectors: unit, with small true residuals, and parallel to the known eigenvectors.
    ASSERT_EQ(r.eigenvectors.shape(), (Shape{n, 6}));
    const int64_t index[] = {0, 1, 2, n - 3, n - 2, n - 1};
    for (int64_t c = 0; c < 6; ++c) {
      const auto q = op.eigenvector(index[c]);
      T dotp = 0, nrm = 0;
      for (int64_t i = 0; i < n; ++i) {
        dotp += q[i] * r.eigenvectors.at({i, c});
        nrm += r.eigenvectors.at({i, c}) * r.eigenvectors.at({i, c});
      }
      EXPECT_NEAR(nrm, T(1), T(10) * eps<T>() * T(std::sqrt(double(n))));
      EXPECT_NEAR(std::abs(dotp), T(1), (std::is_same_v<T, float> ? T(1e-4) : T(1e-12)));
      EXPECT_LE(r.residual_norms.at({c}), options.tol * 5);
    }
  }
}

TEST(Lanczos, LargestAndSmallestOnADiagonalOperator) {
  const int64_t n = 1200;
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = std::sqrt(double(i));  // distinct, clustering upward
  LinearOperator<double> a = [&](const Tensor<double>& x, Tensor<double>& y) {
    for (int64_t i = 0; i < n; ++i) y.data()[i] = d[i] * x.data()[i];
  };
  for (bool reorth : {true, false}) {
    LanczosOptions<double> options;
    options.k = 2;
    options.full_reorthogonalization = reorth;
    options.max_iterations = 400;
    options.which = Which::largest;
    const auto top = lanczos(a, n, options);
    ASSERT_TRUE(top.converged) << reorth;
    EXPECT_NEAR(top.eigenvalues.at({1}), d[n - 1], 1e-9);
    EXPECT_NEAR(top.eigenvalues.at({0}), d[n - 2], 1e-9);
    options.which = Which::smallest;
    const auto bottom = lanczos(a, n, options);
    ASSERT_TRUE(bottom.converged) << reorth;
    EXPECT_NEAR(bottom.eigenvalues.at({0}), 0.0, 1e-9);
    EXPECT_NEAR(bottom.eigenvalues.at({1}), 1.0, 1e-9);
  }
}

TEST(Lanczos, DropsGhostCopiesWithoutReorthogonalization) {
  // A tolerance no run can meet keeps Lanczos going to its cap, long after the outliers have
  // converged and lost orthogonality: T_m then holds several copies of each, and spurious
  // values. The answer must still be the three distinct top eigenvalues.
  const int64_t n = 1000;
  ReflectedDiagonal<double> op(outlier_spectrum<double>(n), 32);
  LinearOperator<double> a = [&](const Tensor<double>& x, Tensor<double>& y) { op.apply(x, y); };
  LanczosOptions<double> options;
  options.k = 3;
  options.full_reorthogonalization = false;
  options.max_iterations = 400;
  options.tol = 1e-300;
  const auto r = lanczos(a, n, options);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 400);
  const auto values = r.eigenvalues.to_vector();
  ASSERT_EQ(values.size(), 3u);
  EXPECT_NEAR(values[0], 3, 1e-10);
  EXPECT_NEAR(values[1], 4, 1e-10);
  EXPECT_NEAR(values[2], 5, 1e-10);
}

TEST(Lanczos, IsDeterministicGivenTheSeed) {
  const int64_t n = 500;
  ReflectedDiagonal<double> op(outlier_spectrum<double>(n), 33);
  LinearOperator<double> a = [&](const Tensor<double>& x, Tensor<double>& y) { op.apply(x, y); };
  LanczosOptions<double> options;
  options.k = 2;
  options.compute_vectors = true;
  const auto r1 = lanczos(a, n, options);
  const auto r2 = lanczos(a, n, options);
  EXPECT_EQ(r1.eigenvalues.to_vector(), r2.eigenvalues.to_vector());
  EXPECT_EQ(r1.eigenvectors.to_vector(), r2.eigenvectors.to_vector());
  EXPECT_EQ(r1.iterations, r2.iterations);
  options.seed = 99;
  const auto r3 = lanczos(a, n, options);
  EXPECT_NE(r1.eigenvectors.to_vector(), r3.eigenvectors.to_vector());
  EXPECT_NEAR(r3.eigenvalues.at({1}), 5, 1e-10);
}

TEST(Lanczos, InvariantSubspacesEndOrRestartTheIteration) {
  // 2 I: the first step spans an invariant subspace.
  const int64_t n = 30;
  LinearOperator<double> twice = [](const Tensor<double>& x, Tensor<double>& y) {
    for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = 2 * x.data()[i];
  };
  LanczosOptions<double> options;
  options.k = 1;
  options.full_reorthogonalization = false;
  const auto one = lanczos(twice, n, options);
  EXPECT_TRUE(one.converged);
  EXPECT_EQ(one.iterations, 1);
  EXPECT_NEAR(one.eigenvalues.at({0}), 2, 1e-14);
  // With reorthogonalisation a fresh orthogonal start continues, so the multiplicity shows.
  options.full_reorthogonalization = true;
  options.k = 3;
  options.compute_vectors = true;
  const auto three = lanczos(twice, n, options);
  EXPECT_TRUE(three.converged);
  EXPECT_EQ(three.eigenvalues.to_vector(), std::vector<double>(3, 2.0));
  const Tensor<double> gram = matmul(three.eigenvectors.t(), three.eigenvectors);
  EXPECT_LE(max_diff(gram, Tensor<double>::eye(3)), 1e-13);
  // The whole space when n is smaller than the Krylov cap: every eigenvalue, exactly.
  const int64_t small = 5;
  LinearOperator<double> diag = [](const Tensor<double>& x, Tensor<double>& y) {
    for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = double(i) * x.data()[i];
  };
  options.k = 5;
  options.compute_vectors = false;
  const auto all = lanczos(diag, small, options);
  EXPECT_TRUE(all.converged);
  const auto v = all.eigenvalues.to_vector();
  ASSERT_EQ(v.size(), 5u);
  for (int64_t i = 0; i < small; ++i) EXPECT_NEAR(v[i], double(i), 1e-13);
}

TEST(Lanczos, ReportsNonConvergenceAndBadArguments) {
  const int64_t n = 800;
  LinearOperator<double> a = laplacian<double>(0.0);
  LanczosOptions<double> options;
  options.max_iterations = 5;
  const auto r = lanczos(a, n, options);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 5);
  EXPECT_GT(r.residual_norms.at({0}), options.tol * 4);

  EXPECT_CONTAINS(error_of([&] { (void)lanczos(a, 0, options); }),
                  ("[lanczos] the operator size must be >= 1, got 0"));
  options.k = 0;
  EXPECT_CONTAINS(error_of([&] { (void)lanczos(a, n, options); }),
                  ("[lanczos] k must be >= 1, got 0"));
  options.k = 4;
  options.which = Which::both_ends;
  EXPECT_CONTAINS(error_of([&] { (void)lanczos(a, n, options); }),
                  ("[lanczos] max_iterations 5 is below the 8 eigenvalues asked for"));
  LinearOperator<double> wrong = [](const Tensor<double>&, Tensor<double>& y) {
    y = Tensor<double>::zeros({2, 2});
  };
  options.max_iterations = 0;
  EXPECT_CONTAINS(error_of([&] { (void)lanczos(wrong, n, options); }),
                  ("[lanczos] the operator returned shape (2, 2) for an input of shape (800,)"));
}

// ---------------------------------------------------------------------------------------------
// Determinism

TEST(LinalgThreads, ResultsDoNotDependOnTheThreadCount) {
  // Sizes past every parallel threshold: the partitioned symmetric products of the
  // tridiagonalisation, the chunked rotations and solves, the blocked reductions of CG/Lanczos.
  const int64_t n = 400;
  const Tensor<double> g = normal<double>({n, n}, 50);
  Tensor<double> a = g.clone();
  a.assign(g.t());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) a.at({i, j}) += g.at({i, j});
  }
  Tensor<double> spd = matmul(g, g.t());  // [n, n] x [n, n] -> [n, n]
  for (int64_t i = 0; i < n; ++i) spd.at({i, i}) += double(n);
  const Tensor<double> rhs = normal<double>({n, 600}, 51);
  const int64_t big = 200000;
  LinearOperator<double> op = laplacian<double>(1.0);
  const Tensor<double> b = normal<double>({big}, 52);
  LanczosOptions<double> lopt;
  lopt.k = 2;
  lopt.max_iterations = 30;
  lopt.tol = 1e-300;

  auto run = [&](int threads) {
    ThreadCountGuard guard(threads);
    const auto e = eigh(a);
    const Tensor<double> x = cholesky_solve(cholesky(spd), rhs);
    const auto cg = conjugate_gradient(op, b);
    const auto lz = lanczos(op, big, lopt);
    std::vector<double> all = e.eigenvalues.to_vector();
    for (const auto* t : {&e.eigenvectors, &x, &cg.x, &lz.eigenvalues}) {
      const auto v = t->to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  const auto one = run(1);
  EXPECT_TRUE(one == run(3));  // bit for bit
}

}  // namespace
}  // namespace lamppost
