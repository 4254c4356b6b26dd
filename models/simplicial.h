// Simplicial interpolation on the Delaunay triangulation of the data, in any dimension (claim 10
// of ../shared/THEORY.md). The interpolant is linear on each simplex: f(x_i) = y_i at the data,
// and inside a simplex with vertices p_{i_0} .. p_{i_d}, f(x) = sum_k lambda_k y_{i_k} with
// lambda the barycentric coordinates of x.
//
// A query is located without building the triangulation, by the lifting linear program
//     minimise   sum_i lambda_i ||p_i||^2
//     subject to sum_i lambda_i p_i = x,  sum_i lambda_i = 1,  lambda >= 0.
// Lifted to the paraboloid (p, ||p||^2), the optimum is the point of the lower convex hull above
// x, whose facets project to the Delaunay simplices; so for points in general position the
// optimal basic solution is supported on the vertices of the Delaunay simplex that contains x,
// with x's barycentric coordinates as weights. A query outside the convex hull of the data makes
// the program infeasible. Where the Delaunay triangulation is not unique (d + 2 or more points on
// one sphere with no data inside), the program picks one of the valid simplices.
//
// Duplicated data points are allowed; the program uses one of the copies, so a query at that
// point returns one of their labels.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

struct SimplexLocation {
  bool inside = false;              // x lies in the convex hull of the data
  std::vector<int64_t> vertices{};  // the simplex's data rows (d + 1, or fewer when x lies on a
                                    // face: vertices whose weight rounds to 0 are left out),
                                    // ascending
  std::vector<double> weights{};    // x's barycentric coordinates, one per vertex, > 0, summing
                                    // to 1; a query at a data point gets that point with weight
                                    // exactly 1
  int64_t pivots = 0;               // simplex-method pivots the location took (phase 1 + 2)
};

template <Real T>
class SimplicialInterpolator {
 public:
  // x [n, d] with n >= d + 1 points that span R^d affinely (not all on one hyperplane), y [n]
  // or [n, outputs]; all finite. Throws naming the shape or value at fault.
  void fit(const Tensor<T>& x, const Tensor<T>& y);

  bool fitted() const { return points_ > 0; }
  int64_t points() const { return points_; }
  int64_t dimension() const { return dimension_; }
  int64_t outputs() const { return outputs_; }

  // The Delaunay simplex containing query [d] and its barycentric coordinates; inside = false
  // (with no vertices) when the query lies outside the convex hull. Points outside by less than
  // about 1e-9 of the data's radius count as inside.
  SimplexLocation locate(const Tensor<T>& query) const;

  // The interpolant at the rows of queries [q, d]: [q] when y was [n], else [q, outputs].
  // Throws naming the first query outside the hull (its index and coordinates, shortened);
  // callers who expect some outside use locate() first. Threaded over queries with OpenMP;
  // each query is solved alone, so results do not depend on the thread count.
  Tensor<T> predict(const Tensor<T>& queries) const;

 private:
  int64_t points_ = 0;     // n; 0 before fit
  int64_t dimension_ = 0;  // d
  int64_t outputs_ = 0;
  bool vector_labels_ = false;  // y was [n], so predict returns [q]
  // The data is stored centred at its mean and divided by its radius (the largest distance
  // from the mean), so every point lies in the unit ball and the LP's tolerances can be
  // absolute. Coordinate-major ([d, n]): pricing runs along contiguous rows.
  std::vector<double> centre_{};
  double radius_ = 1.0;
  std::vector<double> coordinates_{};
  std::vector<double> squared_norms_{};  // ||p_i||^2 of the normalised points, [n]
  std::vector<double> labels_{};         // [n, outputs]
};

extern template class SimplicialInterpolator<float>;
extern template class SimplicialInterpolator<double>;

}  // namespace lamppost
