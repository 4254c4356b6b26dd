#include "tensor/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

using detail::GemmBlocking;
using detail::MatrixRef;

// How a matrix operand sits in memory. Each layout is a view of a larger random buffer, so a
// kernel that walks the wrong strides reads values that are really there but wrong.
enum class Layout {
  contiguous,  // [r, c], row-major
  transposed,  // the transpose of a contiguous [c, r]: unit row stride
  step_two,    // every other row and column of a [2r, 2c + 1] matrix
  sub_block,   // rows 2.. and columns 3.. of an [r + 3, c + 5] matrix
};

const char* name(Layout layout) {
  switch (layout) {
    case Layout::contiguous:
      return "contiguous";
    case Layout::transposed:
      return "transposed";
    case Layout::step_two:
      return "step_two";
    case Layout::sub_block:
      return "sub_block";
  }
  return "?";
}

template <class T>
Tensor<T> random_tensor(const Shape& shape, std::mt19937& rng) {
  std::uniform_real_distribution<T> dist(T(-1), T(1));
  std::vector<T> values(static_cast<size_t>(numel(shape)));
  for (T& v : values) v = dist(rng);
  return Tensor<T>::from_vector(values, shape);
}

template <class T>
Tensor<T> random_matrix(int64_t rows, int64_t cols, Layout layout, std::mt19937& rng) {
  switch (layout) {
    case Layout::contiguous:
      return random_tensor<T>({rows, cols}, rng);
    case Layout::transposed:
      return random_tensor<T>({cols, rows}, rng).t();
    case Layout::step_two:
      return random_tensor<T>({2 * rows, 2 * cols + 1}, rng)
          .slice(0, 0, 2 * rows, 2)
          .slice(1, 1, 2 * cols + 1, 2);
    case Layout::sub_block:
      return random_tensor<T>({rows + 3, cols + 5}, rng)
          .slice(0, 2, rows + 2)
          .slice(1, 3, cols + 3);
  }
  return {};
}

template <class T>
MatrixRef<const T> ref(const Tensor<T>& t, Op op) {
  MatrixRef<const T> m{t.data(), t.shape()[0], t.shape()[1], t.strides()[0], t.strides()[1]};
  if (op == Op::transpose) {
    std::swap(m.rows, m.cols);
    std::swap(m.row_stride, m.col_stride);
  }
  return m;
}

template <class T>
MatrixRef<T> ref(Tensor<T>& t) {
  return {t.data(), t.shape()[0], t.shape()[1], t.strides()[0], t.strides()[1]};
}

template <class T>
T element(MatrixRef<const T> m, int64_t i, int64_t j) {
  return m.data[i * m.row_stride + j * m.col_stride];
}

template <class T>
struct Case {
  int64_t m, n, k;
  Op op_a = Op::none, op_b = Op::none;
  Layout layout_a = Layout::contiguous, layout_b = Layout::contiguous,
         layout_c = Layout::contiguous;
  T alpha = T(1), beta = T(0);
  bool nan_c = false;  // fill C with NaN first (meaningful with beta == 0)

  std::string describe() const {
    return fmt::format("m={} n={} k={} op_a={} op_b={} a:{} b:{} c:{} alpha={} beta={}{}", m, n, k,
                       op_a == Op::transpose ? "T" : "N", op_b == Op::transpose ? "T" : "N",
                       name(layout_a), name(layout_b), name(layout_c), alpha, beta,
                       nan_c ? " C=NaN" : "");
  }
};

// Runs gemm (or gemm_blocked with the given block sizes) on the case and compares every
// element with gemm_reference, within a bound that grows with k: each of the k products and
// sums may round once, by at most eps relative to the sum of magnitudes.
template <class T>
void expect_matches_reference(const Case<T>& cs, std::mt19937& rng,
                              const GemmBlocking* blocking = nullptr) {
  SCOPED_TRACE(cs.describe());
  const bool ta = cs.op_a == Op::transpose;
  const bool tb = cs.op_b == Op::transpose;
  const Tensor<T> a = random_matrix<T>(ta ? cs.k : cs.m, ta ? cs.m : cs.k, cs.layout_a, rng);
  const Tensor<T> b = random_matrix<T>(tb ? cs.n : cs.k, tb ? cs.k : cs.n, cs.layout_b, rng);
  Tensor<T> c = random_matrix<T>(cs.m, cs.n, cs.layout_c, rng);
  if (cs.nan_c) c.fill(std::numeric_limits<T>::quiet_NaN());
  const Tensor<T> c0 = c.clone();

  if (blocking != nullptr) {
    detail::gemm_blocked(cs.alpha, ref(a, cs.op_a), ref(b, cs.op_b), cs.beta, ref(c), *blocking);
  } else {
    gemm(cs.alpha, a, cs.op_a, b, cs.op_b, cs.beta, c);
  }

  Tensor<T> want = c0.clone();
  detail::gemm_reference(cs.alpha, ref(a, cs.op_a), ref(b, cs.op_b), cs.beta, ref(want));

  const auto ma = ref(a, cs.op_a);
  const auto mb = ref(b, cs.op_b);
  const T eps = std::numeric_limits<T>::epsilon();
  int64_t bad = 0;
  std::string first_bad;
  for (int64_t i = 0; i < cs.m; ++i) {
    for (int64_t j = 0; j < cs.n; ++j) {
      T magnitude = 0;
      for (int64_t p = 0; p < cs.k; ++p) {
        magnitude += std::abs(element(ma, i, p) * element(mb, p, j));
      }
      const T old = c0.at({i, j});
      const T scaled_old = cs.beta == T(0) ? T(0) : std::abs(cs.beta * old);
      const T tol = T(2) * T(cs.k + 2) * eps * (std::abs(cs.alpha) * magnitude + scaled_old) +
                    std::numeric_limits<T>::min();
      const T got = c.at({i, j});
      const T expected = want.at({i, j});
      if (!(std::abs(got - expected) <= tol)) {  // also catches NaN
        if (bad++ == 0) {
          first_bad =
              fmt::format("C({}, {}) = {}, reference {}, tolerance {}", i, j, got, expected, tol);
        }
      }
    }
  }
  EXPECT_EQ(bad, 0) << first_bad;
}

template <class T>
class GemmTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GemmTest, Types);

constexpr Op kOps[] = {Op::none, Op::transpose};

TYPED_TEST(GemmTest, RaggedShapesAroundTheRegisterTile) {
  using T = TypeParam;
  const GemmBlocking bs = detail::gemm_blocking<T>();
  std::mt19937 rng(1);
  for (int64_t m : {int64_t{1}, bs.mr - 1, bs.mr, bs.mr + 1, 2 * bs.mr + 3}) {
    for (int64_t n : {int64_t{1}, bs.nr - 1, bs.nr, bs.nr + 1}) {
      for (int64_t k : {int64_t{1}, int64_t{7}, bs.kc + 1}) {
        for (Op op_a : kOps) {
          for (Op op_b : kOps) {
            // gemm runs the smaller of these products without packing; gemm_blocked always packs.
            expect_matches_reference<T>({m, n, k, op_a, op_b}, rng);
            expect_matches_reference<T>({m, n, k, op_a, op_b}, rng, &bs);
          }
        }
      }
    }
  }
}

TYPED_TEST(GemmTest, StridedViewsAreReadAndWrittenInPlace) {
  using T = TypeParam;
  const GemmBlocking bs = detail::gemm_blocking<T>();
  std::mt19937 rng(2);
  const Layout layouts[] = {Layout::contiguous, Layout::transposed, Layout::step_two,
                            Layout::sub_block};
  for (Layout la : layouts) {
    for (Layout lb : layouts) {
      for (Layout lc : layouts) {
        for (Op op_a : kOps) {
          for (Op op_b : kOps) {
            Case<T> cs{bs.mr + 3, bs.nr + 5, 19, op_a, op_b, la, lb, lc, T(0.75), T(-0.5)};
            expect_matches_reference<T>(cs, rng);
          }
        }
      }
    }
  }
}

TYPED_TEST(GemmTest, BroadcastOperandsAreRead) {
  using T = TypeParam;
  std::mt19937 rng(8);
  const GemmBlocking bs = detail::gemm_blocking<T>();
  const int64_t m = bs.mr + 2;
  const int64_t n = bs.nr + 2;
  const int64_t k = 40;
  // Stride-0 views: every row of a is the same, every column of b is the same.
  const Tensor<T> a = random_tensor<T>({1, k}, rng).broadcast_to({m, k});
  const Tensor<T> b = random_tensor<T>({k, 1}, rng).broadcast_to({k, n});
  for (Op op : kOps) {
    const Tensor<T> bt = op == Op::transpose ? b.t() : b;
    Tensor<T> c = Tensor<T>::zeros({m, n});
    gemm(T(1), a, Op::none, bt, op, T(0), c);
    Tensor<T> want = Tensor<T>::zeros({m, n});
    detail::gemm_reference(T(1), ref(a, Op::none), ref(bt, op), T(0), ref(want));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(c.at({i, j}), want.at({i, j}),
                    T(4) * T(k) * std::numeric_limits<T>::epsilon() * T(k));
      }
    }
  }
}

TYPED_TEST(GemmTest, CrossesEveryCacheBlock) {
  using T = TypeParam;
  const GemmBlocking bs = detail::gemm_blocking<T>();
  std::mt19937 rng(3);
  // The tuned blocks: one more than MC rows and KC depth, and one more column than NC.
  expect_matches_reference<T>(
      {bs.mc + 1, bs.nr + 1, bs.kc + 1, Op::none, Op::none, Layout::contiguous, Layout::contiguous,
       Layout::contiguous, T(1), T(0.5)},
      rng);
  expect_matches_reference<T>({bs.mr + 1, bs.nc + 1, 3, Op::transpose, Op::none, Layout::contiguous,
                               Layout::contiguous, Layout::contiguous, T(-2), T(1)},
                              rng);
  // Small blocks, so that several MC, KC and NC steps (and their ragged ends) meet in one
  // product, threaded and not, in every transpose combination.
  const GemmBlocking small{bs.mr, bs.nr, 2 * bs.mr, 5, 2 * bs.nr};
  for (int threads : {1, 2}) {
    ThreadCountGuard guard(threads);
    for (Op op_a : kOps) {
      for (Op op_b : kOps) {
        expect_matches_reference<T>(
            {5 * bs.mr + 1, 5 * bs.nr - 3, 23, op_a, op_b, Layout::sub_block, Layout::step_two,
             Layout::sub_block, T(1.5), T(0.25)},
            rng, &small);
      }
    }
  }
}

TYPED_TEST(GemmTest, AlphaAndBetaValues) {
  using T = TypeParam;
  std::mt19937 rng(4);
  const T values[] = {T(0), T(1), T(-1), T(0.5), T(3)};
  for (T alpha : values) {
    for (T beta : values) {
      expect_matches_reference<T>({33, 41, 29, Op::none, Op::transpose, Layout::contiguous,
                                   Layout::contiguous, Layout::sub_block, alpha, beta},
                                  rng);
    }
  }
}

TYPED_TEST(GemmTest, BetaZeroOverwritesNaN) {
  using T = TypeParam;
  const GemmBlocking bs = detail::gemm_blocking<T>();
  std::mt19937 rng(5);
  for (Layout lc : {Layout::contiguous, Layout::transposed, Layout::step_two}) {
    // Full tiles, ragged tiles, and more than one KC step (beta applies on the first only).
    Case<T> cs{2 * bs.mr + 1,
               2 * bs.nr + 1,
               bs.kc + 3,
               Op::none,
               Op::none,
               Layout::contiguous,
               Layout::contiguous,
               lc,
               T(1),
               T(0),
               true};
    expect_matches_reference<T>(cs, rng);
    cs.alpha = T(0);  // C = 0 * A B + 0 * C: zeros, not NaN
    expect_matches_reference<T>(cs, rng);
  }
}

TYPED_TEST(GemmTest, AlphaZeroDoesNotReadOperands) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const auto a = Tensor<T>::full({4, 3}, nan);
  const auto b = Tensor<T>::full({3, 5}, nan);
  auto c = Tensor<T>::full({4, 5}, T(2));
  gemm(T(0), a, Op::none, b, Op::none, T(-1.5), c);
  EXPECT_EQ(c.to_vector(), std::vector<T>(20, T(-3)));
}

TYPED_TEST(GemmTest, EmptyDimensions) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // k = 0: C = beta * C, and beta = 0 clears NaN.
  auto c = Tensor<T>::full({3, 4}, T(2));
  gemm(T(1), Tensor<T>::zeros({3, 0}), Op::none, Tensor<T>::zeros({0, 4}), Op::none, T(3), c);
  EXPECT_EQ(c.to_vector(), std::vector<T>(12, T(6)));
  c.fill(nan);
  gemm(T(1), Tensor<T>::zeros({0, 3}), Op::transpose, Tensor<T>::zeros({0, 4}), Op::none, T(0), c);
  EXPECT_EQ(c.to_vector(), std::vector<T>(12, T(0)));
  // m or n = 0: nothing to do, nothing read out of bounds.
  auto empty_rows = Tensor<T>::zeros({0, 4});
  gemm(T(1), Tensor<T>::ones({0, 5}), Op::none, Tensor<T>::ones({5, 4}), Op::none, T(1),
       empty_rows);
  auto empty_cols = Tensor<T>::zeros({3, 0});
  gemm(T(1), Tensor<T>::ones({3, 5}), Op::none, Tensor<T>::ones({5, 0}), Op::none, T(1),
       empty_cols);
  EXPECT_EQ(matmul(Tensor<T>::ones({0, 5}), Tensor<T>::ones({5, 4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(matmul(Tensor<T>::ones({2, 3, 0}), Tensor<T>::ones({0, 4})).to_vector(),
            std::vector<T>(24, T(0)));
}

TYPED_TEST(GemmTest, ExactOnSmallIntegers) {
  using T = TypeParam;
  // [2, 3] x [3, 2] -> [2, 2], all products and sums exact.
  const auto a = Tensor<T>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const auto b = Tensor<T>::from_vector({7, 8, 9, 10, 11, 12}, {3, 2});
  EXPECT_EQ(matmul(a, b).to_vector(), (std::vector<T>{58, 64, 139, 154}));
  auto c = Tensor<T>::ones({2, 2});
  gemm(T(2), b, Op::transpose, a, Op::transpose, T(10), c);  // 2 * (a b)^T + 10
  EXPECT_EQ(c.to_vector(), (std::vector<T>{126, 288, 138, 318}));
}

TYPED_TEST(GemmTest, SameBitsWithOneAndTwoThreads) {
  using T = TypeParam;
  const GemmBlocking bs = detail::gemm_blocking<T>();
  std::mt19937 rng(6);
  // Large enough to be threaded; ragged in every dimension; several KC steps.
  const int64_t m = 5 * bs.mr + 5;
  const int64_t k = 2 * bs.kc + 9;
  const int64_t n = (2 * detail::kGemmParallelWork / (m * k) / bs.nr + 1) * bs.nr + 3;
  ASSERT_GE(m * n * k, detail::kGemmParallelWork);
  const auto a = random_matrix<T>(m, k, Layout::contiguous, rng);
  const auto b = random_matrix<T>(n, k, Layout::contiguous, rng);
  const auto c0 = random_matrix<T>(m, n, Layout::contiguous, rng);
  const GemmBlocking small{bs.mr, bs.nr, 2 * bs.mr, 64, 3 * bs.nr};
  for (const GemmBlocking* blocking : {static_cast<const GemmBlocking*>(nullptr), &small}) {
    std::vector<Tensor<T>> results;
    for (int threads : {1, 2}) {
      ThreadCountGuard guard(threads);
      Tensor<T> c = c0.clone();
      if (blocking == nullptr) {
        gemm(T(0.5), a, Op::none, b, Op::transpose, T(2), c);
      } else {
        detail::gemm_blocked(T(0.5), ref(a, Op::none), ref(b, Op::transpose), T(2), ref(c),
                             *blocking);
      }
      results.push_back(c);
    }
    ASSERT_EQ(
        std::memcmp(results[0].data(), results[1].data(), static_cast<size_t>(m * n) * sizeof(T)),
        0);
  }
}

// Every batch of matmul against the reference product of its matrices.
template <class T>
void expect_batched(const Tensor<T>& a, const Tensor<T>& b) {
  SCOPED_TRACE(fmt::format("{} x {}", to_string(a.shape()), to_string(b.shape())));
  const Tensor<T> c = matmul(a, b);
  const int64_t batch = a.ndim() == 3 ? a.size(0) : b.size(0);
  const int64_t m = a.size(-2);
  const int64_t n = b.size(-1);
  const int64_t k = a.size(-1);
  ASSERT_EQ(c.shape(), (Shape{batch, m, n}));
  const T eps = std::numeric_limits<T>::epsilon();
  for (int64_t i = 0; i < batch; ++i) {
    const Tensor<T> ai = a.ndim() == 3 ? a.select(0, i) : a;
    const Tensor<T> bi = b.ndim() == 3 ? b.select(0, i) : b;
    Tensor<T> want = Tensor<T>::zeros({m, n});
    detail::gemm_reference(T(1), ref(ai, Op::none), ref(bi, Op::none), T(0), ref(want));
    const Tensor<T> got = c.select(0, i);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(got.at({r, j}), want.at({r, j}), T(2) * T(k + 2) * eps * T(k))
            << "batch " << i << " element (" << r << ", " << j << ")";
      }
    }
  }
}

TYPED_TEST(GemmTest, BatchedMatmul) {
  using T = TypeParam;
  std::mt19937 rng(7);
  // [b, m, k] x [b, k, n]
  expect_batched(random_tensor<T>({3, 13, 21}, rng), random_tensor<T>({3, 21, 35}, rng));
  // [b, m, k] x [k, n], a contiguous (batches fold into rows) and not (a permuted view)
  expect_batched(random_tensor<T>({4, 9, 17}, rng), random_tensor<T>({17, 20}, rng));
  expect_batched(random_tensor<T>({9, 4, 17}, rng).permute({1, 0, 2}),
                 random_tensor<T>({17, 20}, rng));
  // [m, k] x [b, k, n]
  expect_batched(random_tensor<T>({6, 11}, rng), random_tensor<T>({5, 11, 7}, rng));
  // Many small products share out the threads one matrix each.
  {
    ThreadCountGuard guard(2);
    const int64_t batch = 80;
    const int64_t size = 64;
    ASSERT_LT(size * size * size, detail::kGemmParallelWork);
    ASSERT_GE(batch * size * size * size, detail::kGemmParallelWork);
    expect_batched(random_tensor<T>({batch, size, size}, rng),
                   random_tensor<T>({batch, size, size}, rng).transpose(1, 2));
  }
  // 2-d x 2-d stays 2-d.
  EXPECT_EQ(matmul(random_tensor<T>({3, 4}, rng), random_tensor<T>({4, 5}, rng)).shape(),
            (Shape{3, 5}));
}

// gemm_symmetric against gemm with a^T, over block sizes that divide n, do not, or exceed it,
// on strided views: SymmetricFill::full gives an exactly symmetric matrix (gemm of other shapes
// may sum the products in another order, hence the tolerance against the full product), and
// SymmetricFill::upper writes the upper triangle and leaves the part left of the diagonal blocks
// as it was.
TYPED_TEST(GemmTest, SymmetricProductMatchesGemm) {
  using T = TypeParam;
  const T tolerance = 64 * std::numeric_limits<T>::epsilon();
  std::mt19937 rng(11);
  for (const int64_t n : {1, 7, 64, 130, 300}) {
    for (const int64_t block_rows : {1, 16, 64, 100, 512}) {
      const auto a = random_matrix<T>(n, 37, Layout::step_two, rng);
      Tensor<T> expected = Tensor<T>::zeros({n, n});
      gemm(T(-0.5), a, Op::none, a, Op::transpose, T(0), expected);
      Tensor<T> full = random_matrix<T>(n, n, Layout::sub_block, rng);
      gemm_symmetric(T(-0.5), a, full, SymmetricFill::full, block_rows);

      const Tensor<T> before = Tensor<T>::full({n, n}, T(7));
      Tensor<T> upper = before.clone();
      gemm_symmetric(T(-0.5), a, upper, SymmetricFill::upper, block_rows);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t block_start = i / block_rows * block_rows;
        for (int64_t j = 0; j < n; ++j) {
          const std::string at =
              fmt::format("n {}, block rows {}, entry ({}, {})", n, block_rows, i, j);
          ASSERT_EQ(full.at({i, j}), full.at({j, i})) << at;
          ASSERT_NEAR(full.at({i, j}), expected.at({i, j}), tolerance) << at;
          if (j < block_start) {
            ASSERT_EQ(upper.at({i, j}), T(7)) << at;
          } else if (j >= i) {
            ASSERT_EQ(upper.at({i, j}), full.at({i, j})) << at;
          }
        }
      }
    }
  }
  Tensor<T> c = Tensor<T>::zeros({3, 4});
  EXPECT_EQ(error_of([&] {
              gemm_symmetric(T(1), Tensor<T>::ones({3, 2}), c);
            }),
            "[gemm_symmetric] needs a [n, k] and c [n, n], got shapes (3, 2) and (3, 4)");
  Tensor<T> square = Tensor<T>::zeros({3, 3});
  EXPECT_EQ(error_of([&] {
              gemm_symmetric(T(1), Tensor<T>::ones({3, 2}), square, SymmetricFill::full, 0);
            }),
            "[gemm_symmetric] block_rows must be at least 1, got 0");
}

TYPED_TEST(GemmTest, ErrorsNameTheOpAndShapes) {
  using T = TypeParam;
  const auto a = Tensor<T>::ones({3, 4});
  const auto b = Tensor<T>::ones({5, 6});
  auto c = Tensor<T>::zeros({3, 6});
  EXPECT_EQ(error_of([&] { gemm(T(1), a, Op::none, b, Op::none, T(0), c); }),
            "[gemm] shapes (3, 4) and (5, 6) do not give (3, 6)");
  EXPECT_EQ(error_of([&] { gemm(T(1), a, Op::transpose, b, Op::none, T(0), c); }),
            "[gemm] shapes (3, 4)^T and (5, 6) do not give (3, 6)");
  auto c1 = Tensor<T>::zeros({3});
  EXPECT_EQ(error_of([&] { gemm(T(1), a, Op::none, b, Op::none, T(0), c1); }),
            "[gemm] needs 2-d operands, got shapes (3, 4), (5, 6) and (3,)");
  auto broadcast = Tensor<T>::zeros({1, 6}).broadcast_to({4, 6});
  const auto b46 = Tensor<T>::ones({4, 6});
  EXPECT_NE(error_of([&] {
              gemm(T(1), Tensor<T>::ones({4, 4}), Op::none, b46, Op::none, T(0), broadcast);
            }).find("[gemm] output of shape (4, 6) is a broadcast view"),
            std::string::npos);

  EXPECT_EQ(error_of([&] { matmul(a, b); }),
            "[matmul] shapes (3, 4) and (5, 6) do not match: inner dimensions 4 and 5 differ");
  EXPECT_EQ(error_of([&] {
              matmul(Tensor<T>::ones({2, 3, 4}), Tensor<T>::ones({3, 4, 5}));
            }),
            "[matmul] shapes (2, 3, 4) and (3, 4, 5) have batch sizes 2 and 3");
  EXPECT_EQ(error_of([&] { matmul(Tensor<T>::ones({4}), b); }),
            "[matmul] needs 2-d or 3-d operands, got shapes (4,) and (5, 6)");
  EXPECT_EQ(error_of([&] {
              matmul(a, Tensor<T>::ones({1, 2, 4, 5}));
            }),
            "[matmul] needs 2-d or 3-d operands, got shapes (3, 4) and (1, 2, 4, 5)");

  const GemmBlocking bs = detail::gemm_blocking<T>();
  const GemmBlocking bad{bs.mr, bs.nr, bs.mr + 1, bs.kc, bs.nc};
  Tensor<T> c46 = Tensor<T>::zeros({4, 6});
  EXPECT_NE(error_of([&] {
              detail::gemm_blocked(T(1), ref(Tensor<T>::ones({4, 4}), Op::none), ref(b46, Op::none),
                                   T(0), ref(c46), bad);
            }).find("[gemm] block sizes"),
            std::string::npos);
}

}  // namespace
}  // namespace lamppost
