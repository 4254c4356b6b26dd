// Closed forms for the interpolating rules of claims 9 and 10 (the 1-NN limit of Cover and Hart
// lives with its distribution, GaussianMixture::nearest_neighbour_risk).
#pragma once

#include <cstdint>

namespace lamppost {

// Simplicial interpolation of two-class labels in R^d when every label is wrong with the same
// probability p < 1/2, independently (the Bayes rule is then the majority label everywhere):
// the probability that the interpolant's sign disagrees with the Bayes rule at a point drawn
// uniformly from its simplex. Within a simplex the point's barycentric coordinates are
// Dirichlet(1, ..., 1), so the j wrong vertices carry a Beta(j, d + 1 - j) share of the weight,
// and the interpolant is wrong when that share exceeds 1/2:
//   sum_j C(d + 1, j) p^j (1 - p)^(d + 1 - j) P(Beta(j, d + 1 - j) > 1/2),
// with P(Beta(j, d + 1 - j) > 1/2) = P(Binomial(d, 1/2) < j). It falls exponentially in d: the
// blessing of dimensionality. The excess risk is (1 - 2 p) times this; 1-NN's is (1 - 2 p) p.
double simplicial_disagreement(int64_t d, double p);

// The seed's corner example: the region of the simplex conv(0, e_1, ..., e_d) where the
// interpolant of the labels (-1 at 0, +1 at each e_i) is negative, 1 - sum x_i > 1/2, is a copy
// of the simplex scaled by 1/2: volume vol(simplex) / 2^d = 1 / (d! 2^d).
double corner_region_volume(int64_t d);

}  // namespace lamppost
