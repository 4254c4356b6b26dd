// The closed forms of theory/risk.h against exact special cases and Monte Carlo.
#include "theory/risk.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

// In one dimension simplicial interpolation is linear interpolation between the two neighbours,
// whose weights are uniform: the sign is wrong when both labels are (p^2) or when the wrong one
// carries more than half the weight (2 p (1 - p) / 2): p in all.
TEST(Risk, SimplicialDisagreementInOneDimensionIsP) {
  for (double p : {0.0, 0.1, 0.3, 0.5, 1.0}) EXPECT_NEAR(simplicial_disagreement(1, p), p, 1e-15);
  EXPECT_EQ(simplicial_disagreement(7, 0.0), 0.0);
  EXPECT_NEAR(simplicial_disagreement(7, 1.0), 1.0, 1e-15);
}

// Dirichlet(1, ..., 1) weights are normalised exponentials; each vertex is wrong with
// probability p; the interpolant is wrong when the wrong vertices' weight exceeds 1/2.
TEST(Risk, SimplicialDisagreementMatchesMonteCarloAndFallsWithDimension) {
  const double p = 0.2;
  const int64_t samples = 200000;
  double previous = 1;
  for (int64_t d : {2, 3, 5, 8, 12}) {
    Rng rng(static_cast<uint64_t>(d));
    const Tensor<double> u = rng.uniform<double>({samples, d + 1});
    const Tensor<double> wrong = rng.uniform<double>({samples, d + 1});
    int64_t disagree = 0;
    for (int64_t s = 0; s < samples; ++s) {
      double total = 0, bad = 0;
      for (int64_t i = 0; i <= d; ++i) {
        const double e = -std::log1p(-u.at({s, i}));
        total += e;
        if (wrong.at({s, i}) < p) bad += e;
      }
      disagree += bad > total / 2;
    }
    const double exact = simplicial_disagreement(d, p);
    const double estimate = static_cast<double>(disagree) / samples;
    EXPECT_NEAR(estimate, exact, 4 * std::sqrt(exact * (1 - exact) / samples) + 1e-6) << d;
    EXPECT_LT(exact, previous) << d;
    previous = exact;
  }
  EXPECT_LT(simplicial_disagreement(60, p), 1e-3);
}

TEST(Risk, CornerRegionVolumeIsAHalfScaledSimplex) {
  EXPECT_DOUBLE_EQ(corner_region_volume(1), 0.5);
  EXPECT_DOUBLE_EQ(corner_region_volume(2), 1.0 / 8);
  EXPECT_DOUBLE_EQ(corner_region_volume(3), 1.0 / 48);
  // Monte Carlo in the unit cube: the region is {x >= 0 : sum x < 1/2}.
  const int64_t samples = 400000;
  for (int64_t d : {2, 4}) {
    const Tensor<double> x = Rng(40 + static_cast<uint64_t>(d)).uniform<double>({samples, d});
    int64_t inside = 0;
    for (int64_t s = 0; s < samples; ++s) {
      double sum = 0;
      for (int64_t i = 0; i < d; ++i) sum += x.at({s, i});
      inside += sum < 0.5;
    }
    const double v = corner_region_volume(d);
    EXPECT_NEAR(static_cast<double>(inside) / samples, v, 4 * std::sqrt(v * (1 - v) / samples));
  }
}

TEST(Risk, BadArgumentsAreNamed) {
  EXPECT_EQ(error_of([] { simplicial_disagreement(0, 0.1); }),
            "[simplicial_disagreement] needs 1 <= d <= 1000, got 0");
  EXPECT_EQ(error_of([] { simplicial_disagreement(3, 1.5); }),
            "[simplicial_disagreement] p must lie in [0, 1], got 1.5");
  EXPECT_EQ(error_of([] { corner_region_volume(0); }),
            "[corner_region_volume] needs 1 <= d <= 100, got 0");
}

}  // namespace
}  // namespace lamppost
