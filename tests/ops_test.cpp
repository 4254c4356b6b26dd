#include "tensor/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

template <class T>
class OpsTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OpsTest, Types);

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Sizes that end in the vector body, in the scalar tail, and go past the OpenMP threshold.
const std::vector<int64_t> kSizes = {1, 7, 16, 17, 100, 1000, kParallelThreshold + 123};

template <class T>
Tensor<T> random_tensor(const Shape& shape, double lo, double hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> values(static_cast<size_t>(numel(shape)));
  for (T& v : values) v = static_cast<T>(dist(rng));
  return Tensor<T>::from_vector(values, shape);
}

// Calls fn(index) for every multi-index of shape in C order.
void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& fn) {
  if (numel(shape) == 0) return;
  Shape index(shape.size(), 0);
  while (true) {
    fn(index);
    int d = static_cast<int>(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// Element of t at the NumPy-broadcast position of `index` (an index into a larger shape).
template <class T>
T element(const Tensor<T>& t, const Shape& index) {
  const size_t lead = index.size() - t.shape().size();
  int64_t offset = 0;
  for (size_t d = 0; d < t.shape().size(); ++d) {
    if (t.shape()[d] != 1) offset += index[lead + d] * t.strides()[d];
  }
  return t.data()[offset];
}

// fn applied element by element with broadcasting, in C order over `shape`.
template <class T, class... Tensors>
std::vector<T> reference_map(const Shape& shape, const std::function<T(T, T, T)>& fn,
                             const Tensors&... in) {
  std::vector<T> out;
  for_each_index(shape, [&](const Shape& index) {
    const std::array<T, 3> v{element(in, index)...};
    out.push_back(fn(v[0], v[1], v[2]));
  });
  return out;
}

// Distance in units in the last place; NaN matches NaN, infinities match themselves.
template <class T>
int64_t ulp_distance(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b) return 0;
  if (std::isinf(a) || std::isinf(b)) return INT64_MAX;
  using Int = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  auto ordered = [](T x) {
    Int i;
    std::memcpy(&i, &x, sizeof x);
    return i < 0 ? static_cast<int64_t>(std::numeric_limits<Int>::min()) - i
                 : static_cast<int64_t>(i);
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

template <class T>
void expect_ulps(const std::vector<T>& got, const std::vector<T>& want, int64_t ulps,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(ulp_distance(got[i], want[i]), ulps)
        << what << " at " << i << ": got " << got[i] << ", want " << want[i];
  }
}

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// ---- element-wise: every op against std:: ----

template <class T>
struct UnaryCase {
  const char* name;
  std::function<Tensor<T>(const Tensor<T>&)> op;
  std::function<void(const Tensor<T>&, Tensor<T>&)> op_out;
  std::function<T(T)> reference;
  double lo, hi;
  int64_t ulps;  // tolerance against the std:: reference
};

template <class T>
std::vector<UnaryCase<T>> unary_cases() {
  const bool is_float = std::is_same_v<T, float>;
  using Tn = Tensor<T>;
  return {
      {"neg", [](const Tn& a) { return neg(a); }, [](const Tn& a, Tn& o) { neg(a, o); },
       [](T x) { return -x; }, -10, 10, 0},
      {"abs", [](const Tn& a) { return abs(a); }, [](const Tn& a, Tn& o) { abs(a, o); },
       [](T x) { return std::abs(x); }, -10, 10, 0},
      {"square", [](const Tn& a) { return square(a); }, [](const Tn& a, Tn& o) { square(a, o); },
       [](T x) { return x * x; }, -10, 10, 0},
      {"sqrt", [](const Tn& a) { return sqrt(a); }, [](const Tn& a, Tn& o) { sqrt(a, o); },
       [](T x) { return std::sqrt(x); }, 0, 100, 0},
      {"exp", [](const Tn& a) { return exp(a); }, [](const Tn& a, Tn& o) { exp(a, o); },
       [](T x) { return std::exp(x); }, -30, 30, 4},
      {"expm1", [](const Tn& a) { return expm1(a); }, [](const Tn& a, Tn& o) { expm1(a, o); },
       [](T x) { return std::expm1(x); }, -5, 5, 4},
      {"log", [](const Tn& a) { return log(a); }, [](const Tn& a, Tn& o) { log(a, o); },
       [](T x) { return std::log(x); }, 1e-3, 1e3, 4},
      {"log1p", [](const Tn& a) { return log1p(a); }, [](const Tn& a, Tn& o) { log1p(a, o); },
       [](T x) { return std::log1p(x); }, -0.9, 10, 4},
      {"sin", [](const Tn& a) { return sin(a); }, [](const Tn& a, Tn& o) { sin(a, o); },
       [](T x) { return std::sin(x); }, -20, 20, 4},
      {"cos", [](const Tn& a) { return cos(a); }, [](const Tn& a, Tn& o) { cos(a, o); },
       [](T x) { return std::cos(x); }, -20, 20, 4},
      {"tanh", [](const Tn& a) { return tanh(a); }, [](const Tn& a, Tn& o) { tanh(a, o); },
       [](T x) { return std::tanh(x); }, -5, 5, 4},
      // xsimd's double erf is off by up to ~70 ulps around |x| = 2 (measured); float is tight.
      {"erf", [](const Tn& a) { return erf(a); }, [](const Tn& a, Tn& o) { erf(a, o); },
       [](T x) { return std::erf(x); }, -4, 4, is_float ? 4 : 128},
      {"sigmoid", [](const Tn& a) { return sigmoid(a); }, [](const Tn& a, Tn& o) { sigmoid(a, o); },
       [](T x) { return T(1) / (T(1) + std::exp(-x)); }, -30, 30, 6},
      {"relu", [](const Tn& a) { return relu(a); }, [](const Tn& a, Tn& o) { relu(a, o); },
       [](T x) { return x < 0 ? T(0) : x; }, -10, 10, 0},
      {"sign", [](const Tn& a) { return sign(a); }, [](const Tn& a, Tn& o) { sign(a, o); },
       [](T x) { return x > 0   ? T(1)
                        : x < 0 ? T(-1)
                                : x; }, -10, 10, 0},
  };
}

// Values every unary op must get right: zeros, infinities, NaN, and the op's domain edges.
template <class T>
std::vector<T> special_values() {
  return {T(0), T(-0.0), T(kInf), T(-kInf), T(kNaN), T(1), T(-1), T(1e-30), T(-1e-30), T(100)};
}

TYPED_TEST(OpsTest, UnaryOpsMatchStdOnEverySizeAndOnSpecialValues) {
  using T = TypeParam;
  for (const auto& c : unary_cases<T>()) {
    for (int64_t n : kSizes) {
      Tensor<T> a = random_tensor<T>({n}, c.lo, c.hi, static_cast<unsigned>(n));
      // Special values both at the front (vector body) and at the very end (scalar tail).
      const std::vector<T> specials = special_values<T>();
      for (size_t i = 0; i < specials.size() && i < static_cast<size_t>(n); ++i) {
        a.at({static_cast<int64_t>(i)}) = specials[i];
        a.at({n - 1 - static_cast<int64_t>(i)}) = specials[i];
      }
      std::vector<T> want;
      for (T x : a.to_vector()) want.push_back(c.reference(x));
      const std::string what = std::string(c.name) + " n=" + std::to_string(n);
      expect_ulps(c.op(a).to_vector(), want, c.ulps, what);
      Tensor<T> out = Tensor<T>::full({n}, T(-7));
      c.op_out(a, out);
      expect_ulps(out.to_vector(), want, c.ulps, what + " (out)");
    }
  }
}

TYPED_TEST(OpsTest, UnaryOpsReadAndWriteStridedViews) {
  using T = TypeParam;
  for (const auto& c : unary_cases<T>()) {
    const Tensor<T> base = random_tensor<T>({37, 53}, c.lo, c.hi, 5);
    // A transpose, a step slice, and a broadcast view (stride 0) as inputs.
    for (const Tensor<T>& a : {base.t(), base.slice(1, 2, 53, 3),
                               base.select(0, 4).unsqueeze(0).broadcast_to({9, 53})}) {
      std::vector<T> want;
      for (T x : a.to_vector()) want.push_back(c.reference(x));
      const std::string what = std::string(c.name) + " on " + to_string(a.strides());
      expect_ulps(c.op(a).to_vector(), want, c.ulps, what);
      // The output a transposed view of a fresh buffer, and a column of a wider one.
      Tensor<T> holder = Tensor<T>::zeros({a.shape()[1], a.shape()[0]});
      Tensor<T> out = holder.t();
      c.op_out(a, out);
      expect_ulps(out.to_vector(), want, c.ulps, what + " (transposed out)");
      Tensor<T> wide = Tensor<T>::full({a.shape()[0], a.shape()[1], 2}, T(5));
      Tensor<T> column = wide.select(2, 1);
      c.op_out(a, column);
      expect_ulps(column.to_vector(), want, c.ulps, what + " (strided out)");
      EXPECT_EQ(wide.select(2, 0).to_vector(), std::vector<T>(a.numel(), T(5))) << what;
    }
  }
}

template <class T>
struct BinaryCase {
  const char* name;
  std::function<Tensor<T>(const Tensor<T>&, const Tensor<T>&)> op;
  std::function<void(const Tensor<T>&, const Tensor<T>&, Tensor<T>&)> op_out;
  std::function<T(T, T)> reference;
  double lo, hi;
  int64_t ulps;
};

template <class T>
std::vector<BinaryCase<T>> binary_cases() {
  using Tn = Tensor<T>;
  auto nan_max = [](T a, T b) { return std::isnan(a) || a > b ? a : b; };
  auto nan_min = [](T a, T b) { return std::isnan(a) || a < b ? a : b; };
  return {
      {"add", [](const Tn& a, const Tn& b) { return add(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { add(a, b, o); }, [](T a, T b) { return a + b; }, -10,
       10, 0},
      {"sub", [](const Tn& a, const Tn& b) { return sub(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { sub(a, b, o); }, [](T a, T b) { return a - b; }, -10,
       10, 0},
      {"mul", [](const Tn& a, const Tn& b) { return mul(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { mul(a, b, o); }, [](T a, T b) { return a * b; }, -10,
       10, 0},
      {"div", [](const Tn& a, const Tn& b) { return div(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { div(a, b, o); }, [](T a, T b) { return a / b; }, -10,
       10, 0},
      // xsimd's pow goes through exp(b log a): tens of ulps, more than the other ops.
      {"pow", [](const Tn& a, const Tn& b) { return pow(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { pow(a, b, o); },
       [](T a, T b) { return std::pow(a, b); }, 0.1, 4, 64},
      {"maximum", [](const Tn& a, const Tn& b) { return maximum(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { maximum(a, b, o); }, nan_max, -10, 10, 0},
      {"minimum", [](const Tn& a, const Tn& b) { return minimum(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { minimum(a, b, o); }, nan_min, -10, 10, 0},
      {"equal", [](const Tn& a, const Tn& b) { return equal(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { equal(a, b, o); }, [](T a, T b) { return T(a == b); },
       -2, 2, 0},
      {"not_equal", [](const Tn& a, const Tn& b) { return not_equal(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { not_equal(a, b, o); },
       [](T a, T b) { return T(a != b); }, -2, 2, 0},
      {"less", [](const Tn& a, const Tn& b) { return less(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { less(a, b, o); }, [](T a, T b) { return T(a < b); },
       -2, 2, 0},
      {"less_equal", [](const Tn& a, const Tn& b) { return less_equal(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { less_equal(a, b, o); },
       [](T a, T b) { return T(a <= b); }, -2, 2, 0},
      {"greater", [](const Tn& a, const Tn& b) { return greater(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { greater(a, b, o); }, [](T a, T b) { return T(a > b); },
       -2, 2, 0},
      {"greater_equal", [](const Tn& a, const Tn& b) { return greater_equal(a, b); },
       [](const Tn& a, const Tn& b, Tn& o) { greater_equal(a, b, o); },
       [](T a, T b) { return T(a >= b); }, -2, 2, 0},
  };
}

// Rounds values to a coarse grid so comparisons see ties.
template <class T>
Tensor<T> with_ties(Tensor<T> t) {
  Tensor<T> c = t.clone();
  for (int64_t i = 0; i < c.numel(); ++i) c.data()[i] = std::round(c.data()[i] * 2) / 2;
  return c;
}

template <class T>
void check_binary(const BinaryCase<T>& c, const Tensor<T>& a, const Tensor<T>& b,
                  const std::string& where_from) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  const auto want = reference_map<T>(
      shape, [&](T x, T y, T) { return c.reference(x, y); }, a, b);
  const std::string what = std::string(c.name) + " " + where_from + " " + to_string(a.shape()) +
                           " x " + to_string(b.shape());
  const Tensor<T> got = c.op(a, b);
  EXPECT_EQ(got.shape(), shape) << what;
  EXPECT_TRUE(got.is_contiguous()) << what;
  expect_ulps(got.to_vector(), want, c.ulps, what);
  Tensor<T> out = Tensor<T>::full(shape, T(-3));
  c.op_out(a, b, out);
  expect_ulps(out.to_vector(), want, c.ulps, what + " (out)");
}

TYPED_TEST(OpsTest, BinaryOpsBroadcastLikeNumPy) {
  using T = TypeParam;
  const std::vector<std::pair<Shape, Shape>> pairs = {{{}, {}},
                                                      {{}, {5}},
                                                      {{5}, {}},
                                                      {{3, 1}, {4}},
                                                      {{1, 4}, {3, 1}},
                                                      {{2, 1, 5}, {3, 1}},
                                                      {{0}, {1}},
                                                      {{0, 3}, {3}},
                                                      {{1}, {1}},
                                                      {{7, 40}, {40}},
                                                      {{40, 1}, {40, 37}},
                                                      {{4, 1, 33}, {1, 6, 1}},
                                                      {{300, 200}, {200}},
                                                      {{300, 1}, {1, 200}},
                                                      {{kParallelThreshold + 5}, {}},
                                                      {{100003}, {100003}}};
  for (const auto& c : binary_cases<T>()) {
    unsigned seed = 1;
    for (const auto& [sa, sb] : pairs) {
      Tensor<T> a = random_tensor<T>(sa, c.lo, c.hi, seed++);
      Tensor<T> b = random_tensor<T>(sb, c.lo, c.hi, seed++);
      if (c.ulps == 0) {
        a = with_ties(a);
        b = with_ties(b);
      }
      check_binary(c, a, b, "contiguous");
    }
  }
}

// Every pair of special values, through the vector body, the scalar tail, the strided loop and
// a broadcast scalar.
TYPED_TEST(OpsTest, BinaryOpsOnSpecialValuesMatchStd) {
  using T = TypeParam;
  for (const auto& c : binary_cases<T>()) {
    const bool is_pow = std::string(c.name) == "pow";
    // pow's documented exceptions (negative zero and infinite bases) are left out.
    const std::vector<T> left =
        is_pow ? std::vector<T>{0, 1, T(kNaN), T(kInf), 0.5, 2, 3}
               : std::vector<T>{0, T(-0.0), 1, -1, T(kInf), T(-kInf), T(kNaN), 2.5};
    const std::vector<T> right =
        is_pow ? std::vector<T>{0, 1, -1, T(kNaN), T(kInf), T(-kInf), 0.5, -2, 3} : left;
    std::vector<T> a_values, b_values;
    for (T x : left) {
      for (T y : right) {
        a_values.push_back(x);
        b_values.push_back(y);
      }
    }
    const auto n = static_cast<int64_t>(a_values.size());
    const Tensor<T> a = Tensor<T>::from_vector(a_values);
    const Tensor<T> b = Tensor<T>::from_vector(b_values);
    check_binary(c, a, b, "specials");
    // Every other element of a twice-longer buffer: the strided loop.
    Tensor<T> a2 = Tensor<T>::zeros({n, 2}), b2 = Tensor<T>::zeros({n, 2});
    a2.select(1, 1).assign(a);
    b2.select(1, 0).assign(b);
    check_binary(c, a2.select(1, 1), b2.select(1, 0), "strided specials");
    for (T y : right) check_binary(c, a, Tensor<T>::scalar(y), "specials against a scalar");
  }
}

TYPED_TEST(OpsTest, BinaryOpsOnStridedOperands) {
  using T = TypeParam;
  for (const auto& c : binary_cases<T>()) {
    Tensor<T> base_a = random_tensor<T>({30, 40}, c.lo, c.hi, 11);
    Tensor<T> base_b = random_tensor<T>({40, 60}, c.lo, c.hi, 12);
    if (c.ulps == 0) {
      base_a = with_ties(base_a);
      base_b = with_ties(base_b);
    }
    base_a.at({0, 0}) = T(kNaN);   // vector body
    base_b.at({7, 58}) = T(kNaN);  // another row
    base_a.at({29, 39}) = T(kNaN);
    const Tensor<T> a = base_a.t();                 // (40, 30), transposed
    const Tensor<T> b = base_b.slice(1, 0, 60, 2);  // (40, 30), step 2
    check_binary(c, a, b, "strided");
    check_binary(c, b, a.select(0, 3), "strided row");
    // A strided out: the transpose of a fresh buffer.
    const auto want = reference_map<T>(
        {40, 30}, [&](T x, T y, T) { return c.reference(x, y); }, a, b);
    Tensor<T> holder = Tensor<T>::zeros({30, 40});
    Tensor<T> out = holder.t();
    c.op_out(a, b, out);
    expect_ulps(out.to_vector(), want, c.ulps, std::string(c.name) + " into a transposed out");
  }
}

TYPED_TEST(OpsTest, PowHandlesNegativeBasesAndScalarExponents) {
  using T = TypeParam;
  const Tensor<T> a = Tensor<T>::from_vector(
      {-3, -2, -0.5, 0, 0.5, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, -13, 1.5});
  for (T e : {T(2), T(3), T(-1), T(0.5), T(0)}) {
    std::vector<T> want;
    for (T x : a.to_vector()) want.push_back(std::pow(x, e));
    expect_ulps(pow(a, e).to_vector(), want, 64, "pow exponent " + std::to_string(e));
  }
  EXPECT_EQ(pow(T(2), Tensor<T>::from_vector({0, 1, 10})).to_vector(),
            (std::vector<T>{1, 2, 1024}));
}

TYPED_TEST(OpsTest, ScalarOverloadsAndOperators) {
  using T = TypeParam;
  const Tensor<T> x = Tensor<T>::from_vector({1, 2, 4});
  const Tensor<T> y = Tensor<T>::from_vector({8, 16, 32});
  EXPECT_EQ((x + y).to_vector(), (std::vector<T>{9, 18, 36}));
  EXPECT_EQ((y - x).to_vector(), (std::vector<T>{7, 14, 28}));
  EXPECT_EQ((x * y).to_vector(), (std::vector<T>{8, 32, 128}));
  EXPECT_EQ((y / x).to_vector(), (std::vector<T>{8, 8, 8}));
  EXPECT_EQ((-x).to_vector(), (std::vector<T>{-1, -2, -4}));
  EXPECT_EQ((x + 1).to_vector(), (std::vector<T>{2, 3, 5}));
  EXPECT_EQ((1 - x).to_vector(), (std::vector<T>{0, -1, -3}));
  EXPECT_EQ((x * 0.5).to_vector(), (std::vector<T>{0.5, 1, 2}));
  EXPECT_EQ((8 / x).to_vector(), (std::vector<T>{8, 4, 2}));
  EXPECT_EQ((x / 2).to_vector(), (std::vector<T>{0.5, 1, 2}));
  EXPECT_EQ(maximum(x, 2).to_vector(), (std::vector<T>{2, 2, 4}));
  EXPECT_EQ(minimum(3, x).to_vector(), (std::vector<T>{1, 2, 3}));
  EXPECT_EQ(less(x, 2).to_vector(), (std::vector<T>{1, 0, 0}));
  EXPECT_EQ(greater_equal(2, x).to_vector(), (std::vector<T>{1, 1, 0}));
}

TYPED_TEST(OpsTest, WhereSelectsAndBroadcastsAllThree) {
  using T = TypeParam;
  const Tensor<T> cond = Tensor<T>::from_vector({1, 0, T(kNaN)}, {3, 1});
  const Tensor<T> a = Tensor<T>::arange(0, 4);
  const Tensor<T> b = Tensor<T>::scalar(-1);
  const Tensor<T> got = where(cond, a, b);
  EXPECT_EQ(got.shape(), (Shape{3, 4}));
  // NaN != 0, so a NaN condition selects a, as in NumPy.
  EXPECT_EQ(got.to_vector(), (std::vector<T>{0, 1, 2, 3, -1, -1, -1, -1, 0, 1, 2, 3}));
  EXPECT_EQ(where(cond, a, T(7)).to_vector(), where(cond, a, Tensor<T>::scalar(7)).to_vector());
  EXPECT_EQ(where(cond, T(7), a).select(0, 1).to_vector(), a.to_vector());

  // Large and strided: against a reference.
  const Tensor<T> c = with_ties(random_tensor<T>({200, 300}, -1, 1, 3)).t();
  const Tensor<T> x = random_tensor<T>({300, 200}, -5, 5, 4);
  const Tensor<T> y = random_tensor<T>({200}, -5, 5, 5);
  const auto want = reference_map<T>(
      {300, 200}, [](T k, T p, T q) { return k != 0 ? p : q; }, c, x, y);
  EXPECT_EQ(where(c, x, y).to_vector(), want);
  Tensor<T> out = Tensor<T>::empty({300, 200});
  where(c, x, y, out);
  EXPECT_EQ(out.to_vector(), want);
}

TYPED_TEST(OpsTest, CompoundAssignmentWritesThroughViews) {
  using T = TypeParam;
  Tensor<T> x = Tensor<T>::arange(0, 12).reshape({3, 4});
  x.slice(1, 1, 3) += Tensor<T>::from_vector({100, 200});  // (3, 2) += (2,)
  EXPECT_EQ(x.to_vector(), (std::vector<T>{0, 101, 202, 3, 4, 105, 206, 7, 8, 109, 210, 11}));
  x.select(0, 0) -= 1;
  x.t() *= 2;  // the whole tensor, walked transposed
  EXPECT_EQ(x.to_vector(), (std::vector<T>{-2, 200, 402, 4, 8, 210, 412, 14, 16, 218, 420, 22}));
  Tensor<T> view = x.slice(0, 2, 3);
  view /= 2;
  EXPECT_EQ(x.select(0, 2).to_vector(), (std::vector<T>{8, 109, 210, 11}));
  Tensor<T>& same = (view += view);  // the left operand itself: in place
  EXPECT_EQ(&same, &view);
  EXPECT_EQ(x.select(0, 2).to_vector(), (std::vector<T>{16, 218, 420, 22}));

  // The result must broadcast to the left operand's shape.
  Tensor<T> row = Tensor<T>::zeros({4});
  EXPECT_EQ(error_of([&] {
              row += Tensor<T>::ones({2, 4});
            }),
            "[add] out has shape (4,), but the result has shape (2, 4)");
}

TYPED_TEST(OpsTest, OverlappingOperandsAreReadBeforeTheyAreOverwritten) {
  using T = TypeParam;
  const Tensor<T> init = random_tensor<T>({64, 64}, -1, 1, 21);
  {  // a += a^T: every element reads one that another step writes.
    Tensor<T> a = init.clone();
    const auto want = add(init, init.t()).to_vector();
    a += a.t();
    EXPECT_EQ(a.to_vector(), want);
  }
  {  // Shifted windows of one buffer.
    Tensor<T> a = Tensor<T>::arange(0, 100000);
    const auto want = add(a.slice(0, 0, 99999).clone(), a.slice(0, 1, 100000).clone()).to_vector();
    Tensor<T> dst = a.slice(0, 1, 100000);
    add(a.slice(0, 0, 99999), dst, dst);
    EXPECT_EQ(dst.to_vector(), want);
  }
  {  // A row broadcast over the matrix it belongs to.
    Tensor<T> a = init.clone();
    const auto want = sub(init, init.select(0, 5).clone()).to_vector();
    a -= a.select(0, 5);
    EXPECT_EQ(a.to_vector(), want);
  }
  {  // out is one of the inputs: computed in place.
    Tensor<T> a = init.clone();
    exp(a, a);
    EXPECT_EQ(a.to_vector(), exp(init).to_vector());
  }
}

TYPED_TEST(OpsTest, ElementwiseErrorsNameTheOpAndTheShapes) {
  using T = TypeParam;
  const Tensor<T> a = Tensor<T>::zeros({3, 2});
  const Tensor<T> b = Tensor<T>::zeros({3});
  EXPECT_EQ(error_of([&] { add(a, b); }),
            "[add] shapes (3, 2) and (3,) cannot be broadcast together");
  EXPECT_EQ(error_of([&] { return a / b; }),
            "[div] shapes (3, 2) and (3,) cannot be broadcast together");
  EXPECT_EQ(error_of([&] { where(Tensor<T>::zeros({2}), a, Tensor<T>::zeros({4})); }),
            "[where] shapes (2,), (3, 2) and (4,) cannot be broadcast together");
  Tensor<T> wrong = Tensor<T>::zeros({2, 3});
  EXPECT_EQ(error_of([&] { mul(a, a, wrong); }),
            "[mul] out has shape (2, 3), but the result has shape (3, 2)");
  Tensor<T> broadcast = Tensor<T>::zeros({2}).broadcast_to({3, 2});
  EXPECT_NE(error_of([&] { exp(a, broadcast); }).find("[exp] out is a broadcast view"),
            std::string::npos);
}

// ---- reductions ----

// Reference reduction of x over `axes` (kept as extent 1), in long double.
template <class T>
std::vector<long double> reference_reduce(const Tensor<T>& x, const std::vector<int>& axes,
                                          const std::string& kind,
                                          std::vector<long double>* abs_sum,
                                          std::vector<int64_t>* counts) {
  Shape out_shape = x.shape();
  for (int a : axes) out_shape[a] = 1;
  const int64_t n = numel(out_shape);
  std::vector<long double> acc(n, kind == "max" ? -INFINITY : kind == "min" ? INFINITY : 0.0L);
  abs_sum->assign(n, 0.0L);
  counts->assign(n, 0);
  const Shape out_strides = contiguous_strides(out_shape);
  for_each_index(x.shape(), [&](const Shape& index) {
    int64_t o = 0;
    for (size_t d = 0; d < index.size(); ++d) {
      if (out_shape[d] != 1) o += index[d] * out_strides[d];
    }
    const long double v = element(x, index);
    if (kind == "max") acc[o] = std::isnan(acc[o]) || v > acc[o] || std::isnan(v) ? v : acc[o];
    if (kind == "min") acc[o] = std::isnan(acc[o]) || v < acc[o] || std::isnan(v) ? v : acc[o];
    if (kind == "sum" || kind == "mean") acc[o] += v;
    if (kind == "norm") acc[o] += v * v;
    (*abs_sum)[o] += kind == "norm" ? v * v : std::abs(v);
    ++(*counts)[o];
  });
  for (int64_t i = 0; i < n; ++i) {
    if (kind == "mean") acc[i] /= (*counts)[i];
    if (kind == "norm") acc[i] = std::sqrt(acc[i]);
  }
  return acc;
}

template <class T>
Tensor<T> reduce_by(const std::string& kind, const Tensor<T>& x, const std::vector<int>& axes,
                    bool keepdims) {
  if (kind == "sum") return sum(x, axes, keepdims);
  if (kind == "mean") return mean(x, axes, keepdims);
  if (kind == "max") return max(x, axes, keepdims);
  if (kind == "min") return min(x, axes, keepdims);
  return norm(x, axes, keepdims);
}

template <class T>
void check_reduction(const std::string& kind, const Tensor<T>& x, const std::vector<int>& axes,
                     const std::string& what) {
  std::vector<long double> abs_sum;
  std::vector<int64_t> counts;
  const auto want = reference_reduce(x, axes, kind, &abs_sum, &counts);
  const Tensor<T> kept = reduce_by(kind, x, axes, true);
  const Tensor<T> dropped = reduce_by(kind, x, axes, false);
  Shape kept_shape = x.shape(), dropped_shape;
  for (int a : axes) kept_shape[a] = 1;
  for (int d = 0; d < x.ndim(); ++d) {
    if (std::find(axes.begin(), axes.end(), d) == axes.end()) dropped_shape.push_back(x.shape()[d]);
  }
  ASSERT_EQ(kept.shape(), kept_shape) << what;
  ASSERT_EQ(dropped.shape(), dropped_shape) << what;
  EXPECT_EQ(kept.to_vector(), dropped.to_vector()) << what;
  const auto got = dropped.to_vector();
  const double eps = std::numeric_limits<T>::epsilon();
  for (size_t i = 0; i < got.size(); ++i) {
    if (kind == "max" || kind == "min") {
      EXPECT_EQ(got[i], static_cast<T>(want[i])) << what << " at " << i;
      continue;
    }
    // A sum's rounding error is bounded by a few eps times the sum of magnitudes; a result
    // missing or repeating one element is off by far more.
    long double scale = abs_sum[i];
    if (kind == "mean") scale /= counts[i];
    if (kind == "norm") scale = std::sqrt(scale);
    EXPECT_NEAR(got[i], static_cast<double>(want[i]),
                16 * eps * static_cast<double>(scale) + 1e-300)
        << kind << " " << what << " at " << i;
  }
}

std::vector<std::vector<int>> axis_sets(int ndim) {
  std::vector<std::vector<int>> sets;
  for (int mask = 1; mask < (1 << ndim); ++mask) {
    std::vector<int> axes;
    for (int d = 0; d < ndim; ++d) {
      if (mask & (1 << d)) axes.push_back(d);
    }
    sets.push_back(axes);
  }
  return sets;
}

TYPED_TEST(OpsTest, ReductionsAlongEveryAxisSetOfA3dTensorAndItsViews) {
  using T = TypeParam;
  const Tensor<T> x = random_tensor<T>({6, 7, 37}, -3, 3, 31);
  const std::vector<std::pair<std::string, Tensor<T>>> inputs = {
      {"contiguous", x},
      {"permuted", x.permute({2, 0, 1})},
      {"sliced", x.slice(2, 1, 37, 2)},
      {"broadcast", x.select(0, 1).unsqueeze(0).broadcast_to({4, 7, 37})},
  };
  for (const std::string kind : {"sum", "mean", "max", "min", "norm"}) {
    for (const auto& [name, input] : inputs) {
      for (const auto& axes : axis_sets(3)) {
        check_reduction(kind, input, axes, name + " axes " + ::testing::PrintToString(axes));
      }
    }
  }
}

TYPED_TEST(OpsTest, LargeReductionsTakeEveryLoopOrderAndThreadedPath) {
  using T = TypeParam;
  // Reduced axes inner (each output a long row) and outer (rows folded together), with
  // reduced extents small and large, past kParallelThreshold and past several fold blocks;
  // (3001, 5) and (50000, 2) along axis 0 fold groups of narrow rows, with rows left over.
  const std::vector<Shape> shapes = {{3000, 40}, {40, 3000}, {2, 50000},  {50000, 2},
                                     {3001, 5},  {5, 3001},  {9, 700, 11}};
  for (const Shape& shape : shapes) {
    const Tensor<T> x = random_tensor<T>(shape, -1, 1, 41);
    for (const std::string kind : {"sum", "max", "norm"}) {
      for (const auto& axes : axis_sets(static_cast<int>(shape.size()))) {
        check_reduction(kind, x, axes,
                        to_string(shape) + " axes " + ::testing::PrintToString(axes));
      }
    }
  }
}

TYPED_TEST(OpsTest, FullReductionsDotAndNegativeAxes) {
  using T = TypeParam;
  const Tensor<T> x = Tensor<T>::from_vector({3, -1, 4, 1, -5, 9}, {2, 3});
  EXPECT_EQ(sum(x), T(11));
  EXPECT_EQ(mean(x), T(11) / 6);
  EXPECT_EQ(max(x), T(9));
  EXPECT_EQ(min(x), T(-5));
  EXPECT_NEAR(norm(x), std::sqrt(133.0), 1e-6);
  EXPECT_EQ(sum(x, {-1}).to_vector(), (std::vector<T>{6, 5}));
  EXPECT_EQ(sum(x, {-2, -1}).item(), T(11));
  EXPECT_EQ(sum(x, std::vector<int>{}).to_vector(), x.to_vector());  // nothing reduced
  EXPECT_EQ(sum(Tensor<T>::scalar(4)), T(4));
  EXPECT_EQ(max(x.t(), {0}).to_vector(), (std::vector<T>{4, 9}));

  for (int64_t n : kSizes) {
    const Tensor<T> a = random_tensor<T>({n}, -1, 1, 51);
    const Tensor<T> b = random_tensor<T>({n}, -1, 1, 52);
    long double want = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
      want += static_cast<long double>(a.data()[i]) * b.data()[i];
      scale += std::abs(static_cast<long double>(a.data()[i]) * b.data()[i]);
    }
    EXPECT_NEAR(dot(a, b), static_cast<double>(want),
                16 * std::numeric_limits<T>::epsilon() * static_cast<double>(scale))
        << n;
  }
  const Tensor<T> m = random_tensor<T>({50, 70}, -1, 1, 53);
  const Tensor<T> m2 = random_tensor<T>({70, 50}, -1, 1, 54);
  EXPECT_NEAR(dot(m.t(), m2), sum(mul(m.t(), m2)), 1e-4);
}

TYPED_TEST(OpsTest, SumOfTenMillionFloatsIsAccurate) {
  using T = TypeParam;
  const int64_t n = 10'000'000;
  // Equal addends make every rounding error go the same way: a float loop drifts by 9% here,
  // and even one sequential run of 4096 would be off by ~1e-4. (Measured: about 6e-7.)
  const Tensor<T> x = Tensor<T>::full({n}, T(0.1));
  const double want = static_cast<double>(T(0.1)) * n;
  EXPECT_NEAR(sum(x), want, 1e-5 * want);
  EXPECT_NEAR(mean(x), static_cast<double>(T(0.1)), 1e-5 * 0.1);
}

TYPED_TEST(OpsTest, ResultsAreBitIdenticalWithOneAndTwoThreads) {
  using T = TypeParam;
  const Tensor<T> x = random_tensor<T>({1000, 333}, -1, 1, 61);
  const Tensor<T> y = random_tensor<T>({1000, 333}, -1, 1, 62);
  auto run = [&] {
    std::vector<std::vector<T>> r;
    r.push_back({sum(x), mean(x), norm(x), max(x), dot(x, y), sum(x.t())});
    r.push_back(sum(x, {0}).to_vector());
    r.push_back(sum(x, {1}).to_vector());
    r.push_back(norm(x.t(), {1}).to_vector());
    r.push_back(sum(x.reshape({2, 166500}), {1}).to_vector());
    r.push_back(exp(x).to_vector());
    r.push_back(add(x.t(), y.t()).to_vector());
    r.push_back(tanh(x.slice(1, 0, 333, 2)).to_vector());
    return r;
  };
  std::vector<std::vector<T>> one, two;
  {
    ThreadCountGuard guard(1);
    one = run();
  }
  {
    ThreadCountGuard guard(2);
    two = run();
  }
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(bitwise_equal(one[i], two[i])) << i;
}

TYPED_TEST(OpsTest, MaxAndMinPropagateNaNAndArgExtremaTakeTheFirst) {
  using T = TypeParam;
  for (int64_t position : {0, 5, 63, 4095, 4096, 9999}) {
    Tensor<T> x = random_tensor<T>({10000}, -1, 1, 71);
    x.at({position}) = T(kNaN);
    EXPECT_TRUE(std::isnan(max(x))) << position;
    EXPECT_TRUE(std::isnan(min(x))) << position;
    EXPECT_TRUE(std::isnan(sum(x))) << position;
  }
  const Tensor<T> m = Tensor<T>::from_vector({1, 5, 5, 0, T(kNaN), 2, T(kNaN), -1, -1}, {3, 3});
  EXPECT_EQ(argmax(m, 1), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(argmin(m, 1), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(argmax(m, 0), (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(argmin(m, 0), (std::vector<int64_t>{2, 1, 2}));
  const auto row_max = max(m, {1}).to_vector();
  EXPECT_EQ(row_max[0], T(5));
  EXPECT_TRUE(std::isnan(row_max[1]));
  EXPECT_TRUE(std::isnan(row_max[2]));

  // Against a reference along every axis of a 3-d tensor and its transpose, with ties.
  const Tensor<T> x = with_ties(random_tensor<T>({5, 6, 40}, -3, 3, 72));
  for (const Tensor<T>& v : {x, x.permute({2, 1, 0})}) {
    for (int axis = 0; axis < 3; ++axis) {
      std::vector<int64_t> want_max, want_min;
      Shape rest = v.shape();
      rest[axis] = 1;
      for_each_index(rest, [&](const Shape& index) {
        Shape at = index;
        int64_t best_max = 0, best_min = 0;
        for (int64_t i = 0; i < v.shape()[axis]; ++i) {
          at[axis] = i;
          Shape bm = index, bn = index;
          bm[axis] = best_max;
          bn[axis] = best_min;
          if (element(v, at) > element(v, bm)) best_max = i;
          if (element(v, at) < element(v, bn)) best_min = i;
        }
        want_max.push_back(best_max);
        want_min.push_back(best_min);
      });
      EXPECT_EQ(argmax(v, axis), want_max) << axis;
      EXPECT_EQ(argmin(v, axis), want_min) << axis;
    }
  }
}

TYPED_TEST(OpsTest, SumToUndoesBroadcasting) {
  using T = TypeParam;
  const Tensor<T> g = random_tensor<T>({2, 3, 4}, -1, 1, 81);
  for (const Shape& shape : {Shape{3, 1}, Shape{4}, Shape{1, 1, 4}, Shape{}, Shape{2, 1, 1},
                             Shape{1, 3, 4}, Shape{3, 4}}) {
    const Tensor<T> s = sum_to(g, shape);
    ASSERT_EQ(s.shape(), shape);
    // sum_to is the adjoint of broadcast_to: <sum_to(g), v> = <g, broadcast(v)>.
    const Tensor<T> v = random_tensor<T>(shape, -1, 1, 82);
    EXPECT_NEAR(dot(s, v), dot(g, v.broadcast_to(g.shape()).contiguous()), 1e-5)
        << to_string(shape);
  }
  const Tensor<T> same = sum_to(g, g.shape());
  EXPECT_TRUE(same.shares_storage_with(g));
  EXPECT_EQ(sum_to(Tensor<T>::ones({5, 0}), {1, 0}).shape(), (Shape{1, 0}));
  EXPECT_EQ(sum_to(Tensor<T>::ones({0, 3}), {3}).to_vector(), std::vector<T>(3, T(0)));
  EXPECT_EQ(error_of([&] {
              sum_to(g, {2, 4});
            }),
            "[sum_to] cannot sum shape (2, 3, 4) to (2, 4): (2, 4) does not broadcast to "
            "(2, 3, 4)");
  EXPECT_NE(error_of([&] { sum_to(g, {1, 2, 3, 4}); }).find("[sum_to]"), std::string::npos);
}

TYPED_TEST(OpsTest, EmptyReductionsAndTheirErrors) {
  using T = TypeParam;
  const Tensor<T> empty = Tensor<T>::zeros({0, 3});
  EXPECT_EQ(sum(empty), T(0));
  EXPECT_EQ(sum(empty, {0}).to_vector(), std::vector<T>(3, T(0)));
  EXPECT_EQ(max(empty, {1}).shape(), (Shape{0}));  // nothing to reduce into
  EXPECT_EQ(norm(empty), T(0));
  EXPECT_EQ(error_of([&] { max(empty); }),
            "[max] cannot reduce over zero elements: shape (0, 3) along axes (0, 1)");
  EXPECT_EQ(error_of([&] { min(empty, {0}); }),
            "[min] cannot reduce over zero elements: shape (0, 3) along axes (0)");
  EXPECT_EQ(error_of([&] { mean(Tensor<T>()); }),
            "[mean] cannot reduce over zero elements: shape (0,) along axes (0)");
  EXPECT_EQ(error_of([&] { argmax(empty, 0); }), "[argmax] axis 0 of shape (0, 3) is empty");

  const Tensor<T> x = Tensor<T>::zeros({2, 3});
  EXPECT_EQ(error_of([&] { sum(x, {2}); }),
            "[sum] axis 2 is out of range for a tensor of 2 dimensions");
  EXPECT_EQ(error_of([&] { norm(x, {1, -1}); }), "[norm] axis 1 appears twice in (1, -1)");
  EXPECT_EQ(error_of([&] { dot(x, x.t()); }), "[dot] shapes (2, 3) and (3, 2) differ");
}

}  // namespace
}  // namespace lamppost
