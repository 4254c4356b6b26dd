#include "theory/risk.h"

#include <cmath>

#include "tensor/error.h"

namespace lamppost {

namespace {

// C(n, k) as a double, by the multiplicative formula (exact for the small n used here).
double binomial(int64_t n, int64_t k) {
  double value = 1;
  for (int64_t i = 1; i <= k; ++i)
    value = value * static_cast<double>(n - k + i) / static_cast<double>(i);
  return value;
}

}  // namespace

double simplicial_disagreement(int64_t d, double p) {
  LAMPPOST_CHECK(d >= 1 && d <= 1000, "simplicial_disagreement", "needs 1 <= d <= 1000, got {}", d);
  LAMPPOST_CHECK(p >= 0 && p <= 1, "simplicial_disagreement", "p must lie in [0, 1], got {}", p);
  // below[j] = P(Binomial(d, 1/2) < j), accumulated as j grows.
  double total = 0;
  double below = 0;
  for (int64_t j = 1; j <= d + 1; ++j) {
    below += binomial(d, j - 1) * std::pow(0.5, static_cast<double>(d));
    total += binomial(d + 1, j) * std::pow(p, static_cast<double>(j)) *
             std::pow(1 - p, static_cast<double>(d + 1 - j)) * below;
  }
  return total;
}

double corner_region_volume(int64_t d) {
  LAMPPOST_CHECK(d >= 1 && d <= 100, "corner_region_volume", "needs 1 <= d <= 100, got {}", d);
  return std::pow(0.5, static_cast<double>(d)) / std::tgamma(static_cast<double>(d) + 1);
}

}  // namespace lamppost
