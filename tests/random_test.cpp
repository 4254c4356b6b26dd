#include "tensor/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using detail::philox4x32_10;
using detail::PhiloxCounter;

// Random123's known-answer vectors for philox4x32-10 (its tests/kat_vectors): counter, key,
// expected output.
TEST(PhiloxTest, MatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  // Usable at compile time.
  static_assert(philox4x32_10({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5);
}

template <class T>
class RandomTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RandomTest, Types);

template <class T>
std::vector<T> values(const Tensor<T>& t) {
  return t.to_vector();
}

// Kolmogorov-Smirnov statistic sup |F_n(x) - F(x)| of a sample against the CDF F.
template <class T, class Cdf>
double ks_statistic(std::vector<T> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(static_cast<double>(x[i]));
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

struct Moments {
  double mean, variance;
};

template <class T>
Moments moments(const std::vector<T>& x) {
  double sum = 0, sum2 = 0;
  for (T v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  for (T v : x) sum2 += (v - mean) * (v - mean);
  return {mean, sum2 / static_cast<double>(x.size() - 1)};
}

// The 0.1% critical value of the KS statistic for large n is 1.95 / sqrt(n). The seeds are
// fixed, so these checks are deterministic; they would fail for a generator whose values are
// off by a fraction of a percent in distribution.
constexpr int64_t kSamples = 100000;
const double kKsBound = 1.95 / std::sqrt(double(kSamples));

TYPED_TEST(RandomTest, UniformHasTheUniformDistribution) {
  using T = TypeParam;
  Rng rng(20240601);
  const auto x = values(rng.uniform<T>({kSamples}));
  for (T v : x) ASSERT_TRUE(v >= T(0) && v < T(1)) << v;
  const Moments m = moments(x);
  EXPECT_NEAR(m.mean, 0.5, 4 * std::sqrt(1.0 / 12 / kSamples));
  EXPECT_NEAR(m.variance, 1.0 / 12, 0.001);
  EXPECT_LT(ks_statistic(x, [](double v) { return v; }), kKsBound);

  const auto y = values(rng.uniform<T>({kSamples}, T(-3), T(5)));
  for (T v : y) ASSERT_TRUE(v >= T(-3) && v < T(5)) << v;
  EXPECT_LT(ks_statistic(y, [](double v) { return (v + 3) / 8; }), kKsBound);
}

TYPED_TEST(RandomTest, NormalHasTheNormalDistribution) {
  using T = TypeParam;
  Rng rng(7);
  const auto phi = [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); };
  const auto x = values(rng.normal<T>({kSamples}));
  for (T v : x) ASSERT_TRUE(std::isfinite(v));
  const Moments m = moments(x);
  EXPECT_NEAR(m.mean, 0.0, 4 / std::sqrt(double(kSamples)));
  EXPECT_NEAR(m.variance, 1.0, 4 * std::sqrt(2.0 / kSamples));
  EXPECT_LT(ks_statistic(x, phi), kKsBound);

  const auto y = values(rng.normal<T>({kSamples}, T(3), T(2)));
  const Moments my = moments(y);
  EXPECT_NEAR(my.mean, 3.0, 4 * 2 / std::sqrt(double(kSamples)));
  EXPECT_NEAR(my.variance, 4.0, 4 * 4 * std::sqrt(2.0 / kSamples));
  EXPECT_LT(ks_statistic(y, [&](double v) { return phi((v - 3) / 2); }), kKsBound);

  // The two outputs of a Box-Muller pair are independent: adjacent elements are uncorrelated.
  double c = 0;
  for (size_t i = 0; i + 1 < x.size(); i += 2) c += x[i] * x[i + 1];
  EXPECT_NEAR(c / (kSamples / 2), 0.0, 4 / std::sqrt(kSamples / 2.0));

  // stddev 0 gives the mean exactly.
  EXPECT_EQ(values(rng.normal<T>({5}, T(1.5), T(0))), std::vector<T>(5, T(1.5)));
}

TYPED_TEST(RandomTest, UniformStaysBelowHighWhenRoundingWouldReachIt) {
  using T = TypeParam;
  // [1, nextafter(1)) holds one value; low + width * u rounds up to high for u near 1.
  const T low = 1, high = std::nextafter(T(1), T(2));
  Rng rng(3);
  EXPECT_EQ(values(rng.uniform<T>({1000}, low, high)), std::vector<T>(1000, low));
}

TYPED_TEST(RandomTest, SameSeedSameValuesOtherSeedsAndStreamsDiffer) {
  using T = TypeParam;
  const Shape shape{3, 5, 7};
  Rng a(42), b(42), c(43);
  const auto ua = values(a.uniform<T>(shape)), ub = values(b.uniform<T>(shape));
  const auto uc = values(c.uniform<T>(shape));
  EXPECT_EQ(ua, ub);
  EXPECT_NE(ua, uc);
  EXPECT_EQ(a.uniform<T>(shape).shape(), shape);

  // Successive draws use fresh blocks.
  Rng d(42);
  const auto first = values(d.normal<T>({100})), second = values(d.normal<T>({100}));
  EXPECT_NE(first, second);

  // fold_in: deterministic, independent of the position, different per data and from the parent.
  Rng parent(42);
  const auto s1 = values(parent.fold_in(1).uniform<T>(shape));
  parent.uniform<T>({10});
  EXPECT_EQ(values(parent.fold_in(1).uniform<T>(shape)), s1);
  EXPECT_NE(values(parent.fold_in(2).uniform<T>(shape)), s1);
  EXPECT_NE(s1, ua);
  EXPECT_NE(values(Rng(43).fold_in(1).uniform<T>(shape)), s1);
  EXPECT_EQ(parent.fold_in(1).position(), 0u);
}

TYPED_TEST(RandomTest, DrawsAdvanceTheCounterByTheBlocksTheyUse) {
  using T = TypeParam;
  constexpr int64_t per_block = sizeof(T) == 4 ? 4 : 2;
  Rng rng(5);
  rng.uniform<T>({2 * per_block + 1});
  EXPECT_EQ(rng.position(), 3u);
  rng.normal<T>({0});
  EXPECT_EQ(rng.position(), 3u);

  // Element i is a function of (key, position + i / per_block): two draws of 8 elements are
  // one draw of 16.
  Rng split(9), whole(9);
  auto parts = values(split.uniform<T>({8}));
  const auto rest = values(split.uniform<T>({8}));
  parts.insert(parts.end(), rest.begin(), rest.end());
  EXPECT_EQ(values(whole.uniform<T>({16})), parts);
  EXPECT_EQ(split.position(), whole.position());
}

TYPED_TEST(RandomTest, DrawsDoNotDependOnTheThreadCount) {
  using T = TypeParam;
  const int64_t n = 3 * kParallelThreshold + 3;  // odd: the last block is partial
  auto draw = [&](int threads) {
    ThreadCountGuard guard(threads);
    Rng rng(11);
    auto u = values(rng.uniform<T>({n}, T(-1), T(2)));
    auto z = values(rng.normal<T>({n}));
    return std::make_pair(u, z);
  };
  const auto one = draw(1), two = draw(2);
  // Bitwise: EXPECT_EQ on float vectors compares with ==, and no NaN can occur.
  EXPECT_EQ(one.first, two.first);
  EXPECT_EQ(one.second, two.second);

  // A short draw (serial path, partial last block) is a prefix of a long one (parallel path)
  // from the same position.
  const auto short_draw = values(Rng(11).uniform<T>({1001}, T(-1), T(2)));
  EXPECT_EQ(short_draw, std::vector<T>(one.first.begin(), one.first.begin() + 1001));
}

TYPED_TEST(RandomTest, FreeFunctionsForwardToTheGenerator) {
  using T = TypeParam;
  Rng a(1), b(1);
  EXPECT_EQ(values(rand<T>({4, 4}, a)), values(b.uniform<T>({4, 4})));
  EXPECT_EQ(values(randn<T>({4, 4}, a)), values(b.normal<T>({4, 4})));
  EXPECT_EQ(a.position(), b.position());
}

TYPED_TEST(RandomTest, BadArgumentsNameTheFunction) {
  using T = TypeParam;
  Rng rng(0);
  EXPECT_EQ(testing::error_of([&] { rng.uniform<T>({2}, T(1), T(1)); }),
            "[uniform] needs finite low < high, got low = 1 and high = 1");
  EXPECT_EQ(testing::error_of([&] { rng.uniform<T>({2}, T(2), T(1)); }).rfind("[uniform]", 0), 0u);
  EXPECT_EQ(testing::error_of([&] { rng.uniform<T>({2}, T(0), INFINITY); }).rfind("[uniform]", 0),
            0u);
  const T big = std::numeric_limits<T>::max();
  EXPECT_EQ(
      testing::error_of([&] { rng.uniform<T>({2}, -big, big); }).rfind("[uniform] the range", 0),
      0u);
  EXPECT_EQ(testing::error_of([&] { rng.uniform<T>({-2}); }),
            "[uniform] negative extent in shape (-2,)");
  EXPECT_EQ(testing::error_of([&] { rng.normal<T>({2}, T(0), T(-1)); }),
            "[normal] needs a finite mean and a finite stddev >= 0, got mean = 0 and stddev = -1");
  EXPECT_EQ(testing::error_of([&] { rng.normal<T>({2}, NAN, T(1)); }).rfind("[normal]", 0), 0u);
  EXPECT_EQ(testing::error_of([&] { rng.permutation(-3); }),
            "[permutation] n must be non-negative, got -3");
  EXPECT_EQ(rng.position(), 0u);  // a refused draw consumes nothing
}

TEST(PermutationTest, IsAPermutation) {
  Rng rng(123);
  for (int64_t n : {0, 1, 2, 3, 10, 1001}) {
    auto p = rng.permutation(n);
    ASSERT_EQ(static_cast<int64_t>(p.size()), n);
    std::sort(p.begin(), p.end());
    std::vector<int64_t> expected(static_cast<size_t>(n));
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(p, expected) << "n = " << n;
  }
  // Large enough to shuffle: not the identity, and different on the next call.
  const auto a = rng.permutation(50), b = rng.permutation(50);
  EXPECT_NE(a, b);
  std::vector<int64_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(a, identity);
}

TEST(PermutationTest, PositionsAreUniform) {
  // Over many permutations of 6 elements, each value lands in each position 1/6 of the time.
  // Pearson's chi-square over the 36 cells (25 degrees of freedom) stays below 60 (p ~ 1e-4).
  constexpr int n = 6, trials = 60000;
  Rng rng(99);
  std::vector<double> counts(n * n, 0.0);
  for (int t = 0; t < trials; ++t) {
    const auto p = rng.permutation(n);
    for (int pos = 0; pos < n; ++pos) counts[p[pos] * n + pos] += 1;
  }
  const double expected = double(trials) / n;
  double chi2 = 0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 60.0);
  EXPECT_GT(chi2, 5.0);  // a too-perfect fit would mean the draws are not random either
}

TEST(PermutationTest, DoesNotDependOnTheThreadCount) {
  const int64_t n = 2 * kParallelThreshold + 1;
  auto draw = [&](int threads) {
    ThreadCountGuard guard(threads);
    Rng rng(17);
    return rng.permutation(n);
  };
  const auto one = draw(1);
  EXPECT_EQ(one, draw(2));
  auto sorted = one;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted.front(), 0);
  EXPECT_EQ(sorted.back(), n - 1);
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

TEST(ScalarDrawTest, ComeFromTheirOwnBlock) {
  Rng rng(0x0123456789abcdefULL);
  const PhiloxCounter w = philox4x32_10({0, 0, 0, 0}, {0x89abcdef, 0x01234567});
  EXPECT_EQ(rng.next_u64(), uint64_t{w[1]} << 32 | w[0]);
  EXPECT_EQ(rng.position(), 1u);
  EXPECT_NE(rng.next_u64(), rng.next_u64());

  std::vector<double> x(20000);
  for (double& v : x) {
    v = rng.next_double();
    ASSERT_TRUE(v >= 0 && v < 1);
  }
  EXPECT_LT(ks_statistic(x, [](double v) { return v; }), 1.95 / std::sqrt(double(x.size())));
}

}  // namespace
}  // namespace lamppost
