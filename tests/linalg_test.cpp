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

// ---------------------------------------------------------------------------------------------
// Least squares

// A = U diag(s) W^T with U, W random orthogonal ([n, n] and [m, m]; only their first r = |s|
// columns enter A) and its Moore-Penrose pseudo-inverse W_r diag(1/s) U_r^T, both built in
// double by plain loops: the oracle the Gram-matrix method is checked against. Columns r.. of
// W span A's null space.
template <class T>
struct KnownSvd {
  Tensor<T> a;
  Tensor<T> pinv;
  Tensor<double> u;
  Tensor<double> w;
};

template <class T>
KnownSvd<T> known_svd(int64_t n, int64_t m, const std::vector<double>& s, uint64_t seed) {
  const Tensor<double> u = random_orthogonal<double>(n, seed);
  const Tensor<double> w = random_orthogonal<double>(m, seed + 1000);
  const int64_t r = static_cast<int64_t>(s.size());
  Tensor<double> a = Tensor<double>::zeros({n, m}), pinv = Tensor<double>::zeros({m, n});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m; ++j) {
      for (int64_t q = 0; q < r; ++q) {
        a.at({i, j}) += u.at({i, q}) * s[q] * w.at({j, q});
        pinv.at({j, i}) += w.at({j, q}) * u.at({i, q}) / s[q];
      }
    }
  }
  return {a.cast<T>(), pinv.cast<T>(), u, w};
}

// r singular values evenly spaced from 3 down to 0.5: condition number 6 over the kept ones.
std::vector<double> spread_values(int64_t r) {
  std::vector<double> s(static_cast<size_t>(r));
  for (int64_t q = 0; q < r; ++q)
    s[q] = 3.0 - 2.5 * double(q) / double(std::max<int64_t>(r - 1, 1));
  return s;
}

template <class T>
T frobenius(const Tensor<T>& a) {
  double s = 0;
  for (T v : a.to_vector()) s += double(v) * double(v);
  return T(std::sqrt(s));
}

// Relative error ||got - want|| / ||want|| (absolute when want is 0).
template <class T>
T relative(const Tensor<T>& got, const Tensor<T>& want) {
  EXPECT_EQ(got.shape(), want.shape());
  const T scale = frobenius(want);
  return frobenius(sub(got, want)) / (scale > 0 ? scale : T(1));
}

// The components of x [m] (or each column of x [m, k]) along columns from.. of w [m, m], as
// a fraction of ||x||: 0 when x lies in the span of w's first `from` columns.
template <class T>
double outside_span(const Tensor<T>& x, const Tensor<double>& w, int64_t from) {
  const int64_t m = w.shape()[0];
  const Tensor<double> xd = x.template cast<double>().reshape({m, -1});
  const int64_t k = xd.shape()[1];
  double outside = 0, total = 0;
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t q = 0; q < m; ++q) {
      double p = 0;
      for (int64_t i = 0; i < m; ++i) p += w.at({i, q}) * xd.at({i, c});
      if (q >= from) outside += p * p;
      total += p * p;
    }
  }
  return std::sqrt(outside / std::max(total, 1e-300));
}

// Tolerance for a solve whose kept singular values span a ratio kappa: the Gram matrix squares
// it.
template <class T>
T ls_tol(T kappa, int64_t size) {
  return T(50) * T(size) * kappa * kappa * eps<T>();
}

TYPED_TEST(LinalgTest, LeastSquaresGivesThePseudoInverseOnBothSidesOfTheThreshold) {
  using T = TypeParam;
  struct Case {
    int64_t n, m, r;
  };
  // Over-determined (m < n), square, under-determined (m > n); full rank and rank-deficient.
  const Case cases[] = {{7, 4, 4}, {7, 4, 2}, {5, 5, 5}, {5, 5, 3},    {4, 7, 4},
                        {4, 7, 1}, {1, 3, 1}, {3, 1, 1}, {30, 20, 12}, {20, 30, 20}};
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "n = " << c.n << ", m = " << c.m << ", rank " << c.r);
    const auto s = spread_values(c.r);
    const auto svd = known_svd<T>(c.n, c.m, s, 100 + 10 * c.n + c.m);
    const Tensor<T>& a = svd.a;
    // b = I: the columns of x are A^+ e_i, so x is A^+ itself.
    const auto result = least_squares(a, Tensor<T>::eye(c.n));
    const Tensor<T>& x = result.x;
    ASSERT_EQ(x.shape(), (Shape{c.m, c.n}));
    EXPECT_EQ(result.rank, c.r);
    const T tol = ls_tol<T>(T(6), std::max(c.n, c.m));
    EXPECT_LE(relative(x, svd.pinv), tol);
    // The four Penrose conditions, which determine A^+ uniquely.
    const Tensor<T> ax = matmul(a, x);                  // [n, m] x [m, n] -> [n, n]
    const Tensor<T> xa = matmul(x, a);                  // [m, n] x [n, m] -> [m, m]
    EXPECT_LE(relative(matmul(ax, a), a), tol);         // A X A = A
    EXPECT_LE(relative(matmul(xa, x), x), tol);         // X A X = X
    EXPECT_LE(max_diff(ax.t().contiguous(), ax), tol);  // (A X)^T = A X
    EXPECT_LE(max_diff(xa.t().contiguous(), xa), tol);  // (X A)^T = X A
    // Singular values: s descending, then zeros.
    ASSERT_EQ(result.singular_values.shape(), (Shape{std::min(c.n, c.m)}));
    for (int64_t q = 0; q < std::min(c.n, c.m); ++q) {
      const T want = q < c.r ? T(s[q]) : T(0);
      EXPECT_NEAR(result.singular_values.at({q}), want, q < c.r ? tol * T(3) : std::sqrt(tol)) << q;
    }
  }
}

TYPED_TEST(LinalgTest, LeastSquaresSolvesConsistentUnderdeterminedSystemsWithMinimumNorm) {
  using T = TypeParam;
  for (int64_t r : {6, 4}) {  // full row rank, and rank-deficient but consistent
    SCOPED_TRACE(::testing::Message() << "rank " << r);
    const int64_t n = 6, m = 15;
    const auto svd = known_svd<T>(n, m, spread_values(r), 7 + r);
    const Tensor<double> x0 = normal<double>({m}, 8);
    // b = A x0 lies in A's range; the min-norm solution is x0 projected on the row space,
    // W_r W_r^T x0.
    Tensor<double> want = Tensor<double>::zeros({m});
    for (int64_t q = 0; q < r; ++q) {
      double p = 0;
      for (int64_t i = 0; i < m; ++i) p += svd.w.at({i, q}) * x0.at({i});
      for (int64_t i = 0; i < m; ++i) want.at({i}) += p * svd.w.at({i, q});
    }
    const Tensor<T> b = matmul(svd.a, x0.cast<T>().reshape({m, 1})).reshape({n});
    const auto result = least_squares(svd.a, b);
    ASSERT_EQ(result.x.shape(), (Shape{m}));
    EXPECT_EQ(result.rank, r);
    const T tol = ls_tol<T>(T(6), m);
    const Tensor<T> ax = matmul(svd.a, result.x.reshape({m, 1})).reshape({n});
    EXPECT_LE(relative(ax, b), tol);                     // solved exactly
    EXPECT_LE(outside_span(result.x, svd.w, r), tol);    // orthogonal to the null space
    EXPECT_LE(relative(result.x, want.cast<T>()), tol);  // so it is the min-norm solution
  }
}

TYPED_TEST(LinalgTest, LeastSquaresMakesOverdeterminedResidualsOrthogonalToTheRange) {
  using T = TypeParam;
  const int64_t n = 15, m = 6;
  for (int64_t r : {6, 3}) {
    SCOPED_TRACE(::testing::Message() << "rank " << r);
    const auto svd = known_svd<T>(n, m, spread_values(r), 40 + r);
    const Tensor<T> b = normal<T>({n}, 41);  // not in the range: residual nonzero
    const auto result = least_squares(svd.a, b);
    EXPECT_EQ(result.rank, r);
    const Tensor<T> residual = sub(matmul(svd.a, result.x.reshape({m, 1})).reshape({n}), b);
    EXPECT_GT(frobenius(residual), T(0.1) * frobenius(b));
    // The normal equations A^T (A x - b) = 0, relative to ||A|| ||b||.
    const Tensor<T> normal_eq = matmul(svd.a.t(), residual.reshape({n, 1}));  // [m, n] x [n, 1]
    const T tol = ls_tol<T>(T(6), n);
    EXPECT_LE(frobenius(normal_eq), tol * T(3) * frobenius(b));
    EXPECT_LE(outside_span(result.x, svd.w, r), tol);
    if (r == m) {
      // Full column rank: the unique solution, (A^T A)^-1 A^T b by Cholesky.
      const Tensor<T> ata = matmul(svd.a.t(), svd.a);  // [m, n] x [n, m] -> [m, m]
      const Tensor<T> atb = matmul(svd.a.t(), b.reshape({n, 1})).reshape({m});
      EXPECT_LE(relative(result.x, cholesky_solve(cholesky(ata), atb)), tol);
    }
  }
}

TYPED_TEST(LinalgTest, LeastSquaresSolvesSeveralRightHandSidesLikeSingleOnes) {
  using T = TypeParam;
  for (auto [n, m] : {std::pair<int64_t, int64_t>{9, 5}, {5, 9}, {6, 6}}) {
    SCOPED_TRACE(::testing::Message() << "n = " << n << ", m = " << m);
    const Tensor<T> a = normal<T>({n, m}, 60 + n);
    const Tensor<T> b = normal<T>({n, 3}, 61);
    for (T ridge : {T(0), T(0.3)}) {
      LeastSquaresOptions<T> options;
      options.ridge = ridge;
      const auto all = least_squares(a, b, options);
      ASSERT_EQ(all.x.shape(), (Shape{m, 3}));
      for (int64_t c = 0; c < 3; ++c) {
        const auto one = least_squares(a, b.select(1, c).contiguous(), options);
        ASSERT_EQ(one.x.shape(), (Shape{m}));
        EXPECT_LE(relative(all.x.select(1, c).contiguous(), one.x), T(20) * eps<T>()) << c;
      }
    }
  }
}

TYPED_TEST(LinalgTest, LeastSquaresRidgeMatchesTheClosedForm) {
  using T = TypeParam;
  for (auto [n, m] : {std::pair<int64_t, int64_t>{12, 5}, {5, 12}, {7, 7}}) {
    for (int64_t r : {std::min(n, m), int64_t{2}}) {  // rank-deficient too: ridge makes it proper
      for (T lambda : {T(1e-3), T(0.5), T(40)}) {
        SCOPED_TRACE(::testing::Message()
                     << "n = " << n << ", m = " << m << ", rank " << r << ", ridge " << lambda);
        const auto svd = known_svd<T>(n, m, spread_values(r), 70 + n + r);
        const Tensor<T> b = normal<T>({n, 2}, 71);
        LeastSquaresOptions<T> options;
        options.ridge = lambda;
        const auto result = least_squares(svd.a, b, options);
        EXPECT_EQ(result.rank, r);
        // (A^T A + lambda I)^-1 A^T b by Cholesky: [m, n] x [n, m] -> [m, m]
        Tensor<T> lhs = matmul(svd.a.t(), svd.a);
        for (int64_t i = 0; i < m; ++i) lhs.at({i, i}) += lambda;
        const Tensor<T> want = cholesky_solve(cholesky(lhs), matmul(svd.a.t(), b));
        // The closed form's condition number is (9 + lambda) / lambda.
        const T kappa = std::sqrt((T(9) + lambda) / lambda);
        EXPECT_LE(relative(result.x, want), ls_tol<T>(kappa, std::max(n, m)));
      }
    }
  }
}

TEST(LeastSquares, TheCutoffDecidesWhichSingularValuesCount) {
  const int64_t n = 5, m = 4;
  const std::vector<double> s = {1, 1e-2, 1e-5};
  const auto svd = known_svd<double>(n, m, s, 90);
  const Tensor<double> b = normal<double>({n}, 91);
  // x = sum over the kept q of w_q (u_q . b) / s_q.
  auto truncated = [&](int64_t kept) {
    Tensor<double> x = Tensor<double>::zeros({m});
    for (int64_t q = 0; q < kept; ++q) {
      double p = 0;
      for (int64_t i = 0; i < n; ++i) p += svd.u.at({i, q}) * b.at({i});
      for (int64_t j = 0; j < m; ++j) x.at({j}) += svd.w.at({j, q}) * p / s[q];
    }
    return x;
  };
  struct Case {
    double cutoff;  // on the Gram matrix's eigenvalues, so on s^2
    int64_t rank;
  };
  // The default (4 eps on s^2, so s above ~3e-8) keeps 1e-5; 1e-6 keeps s > 1e-3; 1e-3 keeps
  // s > 0.03; 2 keeps nothing.
  for (const auto& c : {Case{-1, 3}, Case{1e-6, 2}, Case{1e-3, 1}, Case{2, 0}}) {
    SCOPED_TRACE(::testing::Message() << "cutoff " << c.cutoff);
    LeastSquaresOptions<double> options;
    options.cutoff = c.cutoff;
    const auto result = least_squares(svd.a, b, options);
    EXPECT_EQ(result.rank, c.rank);
    // Kept singular values down to 1e-5 make the squared condition number 1e10.
    EXPECT_LE(relative(result.x, truncated(c.rank)), 1e10 * 100 * eps<double>());
    const auto sv = result.singular_values.to_vector();
    ASSERT_EQ(sv.size(), 4u);
    for (size_t q = 0; q < 3; ++q) EXPECT_NEAR(sv[q], s[q], 1e-4 * s[q]) << q;
    EXPECT_LE(sv[3], 1e-7);  // the zero singular value, seen through the Gram matrix's noise
  }
}

TYPED_TEST(LinalgTest, LeastSquaresDefaultCutoffIsMinNMTimesEpsilon) {
  using T = TypeParam;
  // a = [diag(1, s), 0] [2, 3]: the Gram matrix diag(1, s^2) is exact, so s^2 just above and
  // just below 2 eps (min(n, m) = 2) falls on either side of the default cut-off.
  for (const auto& [factor, rank] : {std::pair<T, int64_t>{T(2.2), 2}, {T(1.8), 1}}) {
    Tensor<T> a = Tensor<T>::zeros({2, 3});
    a.at({0, 0}) = 1;
    a.at({1, 1}) = std::sqrt(factor * eps<T>());
    const auto result = least_squares(a, Tensor<T>::ones({2}));
    EXPECT_EQ(result.rank, rank) << "s^2 = " << factor << " eps";
    const T want = rank == 2 ? T(1) / a.at({1, 1}) : T(0);
    EXPECT_NEAR(result.x.at({1}), want, T(10) * eps<T>() * want);
    EXPECT_NEAR(result.x.at({0}), T(1), T(10) * eps<T>());
  }
}

TEST(LeastSquares, ZeroAndEmptyMatricesGiveZero) {
  const auto zero = least_squares(Tensor<double>::zeros({3, 4}), Tensor<double>::ones({3, 2}));
  EXPECT_EQ(zero.rank, 0);
  EXPECT_EQ(zero.x.shape(), (Shape{4, 2}));
  EXPECT_EQ(max_abs(zero.x), 0.0);
  EXPECT_EQ(max_abs(zero.singular_values), 0.0);
  LeastSquaresOptions<double> ridge;
  ridge.ridge = 1;
  EXPECT_EQ(
      max_abs(least_squares(Tensor<double>::zeros({3, 4}), Tensor<double>::ones({3}), ridge).x),
      0.0);
  const auto no_rows = least_squares(Tensor<double>::zeros({0, 3}), Tensor<double>::zeros({0}));
  EXPECT_EQ(no_rows.x.shape(), (Shape{3}));
  EXPECT_EQ(no_rows.singular_values.shape(), (Shape{0}));
  const auto no_columns =
      least_squares(Tensor<double>::zeros({3, 0}), Tensor<double>::ones({3, 2}));
  EXPECT_EQ(no_columns.x.shape(), (Shape{0, 2}));
}

TEST(LeastSquares, ReadsStridedViews) {
  const int64_t n = 6, m = 9;
  const Tensor<double> stored = normal<double>({m, n}, 95);  // a = stored^T, not contiguous
  const Tensor<double> wide_b = normal<double>({n, 4}, 96);
  const Tensor<double> b = wide_b.select(1, 2);  // stride 4
  const auto got = least_squares(stored.t(), b);
  const auto want = least_squares(stored.t().contiguous(), b.contiguous());
  EXPECT_LE(relative(got.x, want.x), 10 * eps<double>());
  // And the tall side through the stored matrix itself: [m, n] with b [m].
  const Tensor<double> tall_b = normal<double>({m, 3}, 97).select(1, 1);
  EXPECT_LE(relative(least_squares(stored, tall_b).x,
                     least_squares(stored.contiguous(), tall_b.contiguous()).x),
            10 * eps<double>());
}

TEST(LeastSquares, ResultsDoNotDependOnTheThreadCount) {
  // Past the gemm and eigensolver parallel thresholds, on both sides of the threshold.
  const Tensor<double> a = normal<double>({300, 500}, 98);
  const Tensor<double> b = normal<double>({300, 2}, 99);
  const Tensor<double> c = normal<double>({500, 2}, 100);
  auto run = [&](int threads) {
    ThreadCountGuard guard(threads);
    auto all = least_squares(a, b).x.to_vector();
    const auto tall = least_squares(a.t(), c).x.to_vector();
    all.insert(all.end(), tall.begin(), tall.end());
    return all;
  };
  EXPECT_TRUE(run(1) == run(3));  // bit for bit
}

TEST(LinalgErrors, LeastSquaresNamesShapesAndValues) {
  const Tensor<double> a = Tensor<double>::ones({3, 2});
  const Tensor<double> b = Tensor<double>::ones({3});
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(Tensor<double>::ones({3}), b); }),
                  "[least_squares] needs a 2-d matrix, got shape (3,)");
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, Tensor<double>::ones({4})); }),
                  "[least_squares] right-hand side of shape (4,) does not match the matrix of "
                  "shape (3, 2): it must be [3] or [3, k]");
  EXPECT_CONTAINS(error_of([&] {
                    (void)least_squares(a, Tensor<double>::ones({3, 1, 1}));
                  }),
                  "right-hand side of shape (3, 1, 1) does not match");
  LeastSquaresOptions<double> options;
  options.ridge = -1;
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, b, options); }),
                  "[least_squares] ridge must be finite and >= 0, got -1");
  options.ridge = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, b, options); }),
                  "ridge must be finite and >= 0, got inf");
  options.ridge = std::numeric_limits<double>::quiet_NaN();
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, b, options); }),
                  "ridge must be finite and >= 0, got nan");
  options.ridge = 0;
  options.cutoff = std::numeric_limits<double>::quiet_NaN();
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, b, options); }),
                  "[least_squares] cutoff must be finite, got nan");
  Tensor<double> bad = a.clone();
  bad.at({1, 0}) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(bad, b); }),
                  "[least_squares] matrix of shape (3, 2) has a non-finite entry nan at (1, 0)");
  Tensor<double> bad_b = b.clone();
  bad_b.at({2}) = -std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, bad_b); }),
                  "[least_squares] right-hand side of shape (3,) has a non-finite entry -inf at 2");
  Tensor<double> bad_bk = Tensor<double>::ones({3, 2});
  bad_bk.at({2, 1}) = std::numeric_limits<double>::infinity();
  EXPECT_CONTAINS(error_of([&] { (void)least_squares(a, bad_bk); }),
                  "right-hand side of shape (3, 2) has a non-finite entry inf at (2, 1)");
  EXPECT_CONTAINS(
      error_of([&] {
        (void)least_squares(Tensor<float>::full({2, 3}, 1e20f), Tensor<float>::ones({2}));
      }),
      "[least_squares] the Gram matrix of the matrix of shape (2, 3) overflows in "
      "float");
}

}  // namespace
}  // namespace lamppost
