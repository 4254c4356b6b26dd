#include "models/simplicial.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

// Row i of a [n, d] tensor.
std::vector<double> row(const Tensor<double>& x, int64_t i) {
  return x.select(0, i).to_vector();
}

// Solves a x = b (a is [k, k] row-major) by Gaussian elimination with partial pivoting: the
// oracle for circumcentres, independent of the code under test.
std::vector<double> solve_dense(std::vector<double> a, std::vector<double> b) {
  const size_t k = b.size();
  for (size_t c = 0; c < k; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < k; ++r) {
      if (std::abs(a[r * k + c]) > std::abs(a[p * k + c])) p = r;
    }
    for (size_t j = 0; j < k; ++j) std::swap(a[c * k + j], a[p * k + j]);
    std::swap(b[c], b[p]);
    for (size_t r = c + 1; r < k; ++r) {
      const double f = a[r * k + c] / a[c * k + c];
      for (size_t j = c; j < k; ++j) a[r * k + j] -= f * a[c * k + j];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(k);
  for (size_t c = k; c-- > 0;) {
    double v = b[c];
    for (size_t j = c + 1; j < k; ++j) v -= a[c * k + j] * x[j];
    x[c] = v / a[c * k + c];
  }
  return x;
}

// A random point of the simplex spanned by rows `rows` of x: Dirichlet(1, ..., 1) weights (by
// normalised exponentials) on them.
std::vector<double> random_combination(const Tensor<double>& x, const std::vector<int64_t>& rows,
                                       Rng& rng) {
  const int64_t d = x.shape()[1];
  std::vector<double> weights(rows.size());
  for (double& w : weights) w = -std::log(1.0 - rng.next_double());
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> q(static_cast<size_t>(d), 0.0);
  for (size_t v = 0; v < rows.size(); ++v) {
    const std::vector<double> p = row(x, rows[v]);
    for (int64_t k = 0; k < d; ++k) q[k] += weights[v] / total * p[k];
  }
  return q;
}

// Checks that `location` is a Delaunay simplex containing q: d + 1 vertices with positive weights
// summing to 1 that reproduce q, and no data point strictly inside the vertices' circumsphere
// (brute force over all points).
void expect_delaunay(const Tensor<double>& x, const std::vector<double>& q,
                     const SimplexLocation& location) {
  const int64_t n = x.shape()[0], d = x.shape()[1];
  ASSERT_TRUE(location.inside);
  ASSERT_EQ(location.vertices.size(), static_cast<size_t>(d + 1));
  ASSERT_EQ(location.weights.size(), location.vertices.size());
  EXPECT_TRUE(std::is_sorted(location.vertices.begin(), location.vertices.end()));
  EXPECT_GE(location.pivots, d + 1);  // each of the d + 1 artificial variables had to leave
  std::vector<double> reproduced(static_cast<size_t>(d), 0.0);
  double total = 0;
  for (size_t v = 0; v < location.vertices.size(); ++v) {
    EXPECT_GT(location.weights[v], 0.0);
    total += location.weights[v];
    const std::vector<double> p = row(x, location.vertices[v]);
    for (int64_t k = 0; k < d; ++k) reproduced[k] += location.weights[v] * p[k];
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  for (int64_t k = 0; k < d; ++k) EXPECT_NEAR(reproduced[k], q[k], 1e-10) << "coordinate " << k;

  // The circumcentre o: ||p_v - o||^2 equal for all vertices, i.e.
  // 2 (p_v - p_0) . o = ||p_v||^2 - ||p_0||^2 for v = 1..d.
  const std::vector<double> p0 = row(x, location.vertices[0]);
  std::vector<double> a(static_cast<size_t>(d * d)), b(static_cast<size_t>(d));
  for (int64_t v = 1; v <= d; ++v) {
    const std::vector<double> p = row(x, location.vertices[v]);
    double rhs = 0;
    for (int64_t k = 0; k < d; ++k) {
      a[(v - 1) * d + k] = 2 * (p[k] - p0[k]);
      rhs += p[k] * p[k] - p0[k] * p0[k];
    }
    b[v - 1] = rhs;
  }
  const std::vector<double> centre = solve_dense(a, b);
  auto squared_distance = [&](const std::vector<double>& p) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += (p[k] - centre[k]) * (p[k] - centre[k]);
    return s;
  };
  const double radius2 = squared_distance(p0);
  for (int64_t i = 0; i < n; ++i) {
    if (std::find(location.vertices.begin(), location.vertices.end(), i) !=
        location.vertices.end()) {
      continue;
    }
    EXPECT_GE(squared_distance(row(x, i)), radius2 * (1 - 1e-9))
        << "point " << i << " lies inside the circumsphere of the located simplex";
  }
}

// The seed's corner example: the origin labelled -1, e_1..e_d labelled +1. Inside that simplex
// the interpolant is 2 sum_j x_j - 1 and the weights are (1 - sum x, x_1, ..., x_d).
TEST(Simplicial, CornerExampleInDimensions2To10) {
  Rng rng(7);
  for (int64_t d = 2; d <= 10; ++d) {
    Tensor<double> x = Tensor<double>::zeros({d + 1, d});
    Tensor<double> y = Tensor<double>::ones({d + 1});
    y.at({0}) = -1;
    for (int64_t j = 0; j < d; ++j) x.at({j + 1, j}) = 1;
    SimplicialInterpolator<double> model;
    model.fit(x, y);

    std::vector<int64_t> all(static_cast<size_t>(d + 1));
    std::iota(all.begin(), all.end(), 0);
    const int64_t count = 50;
    Tensor<double> queries({count, d});
    for (int64_t t = 0; t < count; ++t) {
      const std::vector<double> q = random_combination(x, all, rng);
      for (int64_t k = 0; k < d; ++k) queries.at({t, k}) = q[k];
    }
    const Tensor<double> predicted = model.predict(queries);
    ASSERT_EQ(predicted.shape(), (Shape{count}));
    for (int64_t t = 0; t < count; ++t) {
      const std::vector<double> q = row(queries, t);
      const double sum = std::accumulate(q.begin(), q.end(), 0.0);
      EXPECT_NEAR(predicted.at({t}), 2 * sum - 1, 1e-12) << "d = " << d << ", query " << t;

      const SimplexLocation location = model.locate(queries.select(0, t));
      ASSERT_TRUE(location.inside);
      ASSERT_EQ(location.vertices, all) << "d = " << d;
      EXPECT_NEAR(location.weights[0], 1 - sum, 1e-12);
      for (int64_t k = 0; k < d; ++k) EXPECT_NEAR(location.weights[k + 1], q[k], 1e-12);
    }
  }
}

// In one dimension the Delaunay "simplices" are the intervals between sorted neighbours, so the
// interpolant is piecewise-linear interpolation.
TEST(Simplicial, OneDimensionIsPiecewiseLinearInterpolation) {
  Rng rng(11);
  const int64_t n = 25;
  const Tensor<double> x = rng.uniform<double>({n, 1}, -2.0, 3.0);
  const Tensor<double> y = rng.normal<double>({n});
  SimplicialInterpolator<double> model;
  model.fit(x, y);

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return x.at({a, 0}) < x.at({b, 0});
  });
  const double low = x.at({order.front(), 0}), high = x.at({order.back(), 0});
  const int64_t count = 200;
  const Tensor<double> queries = rng.uniform<double>({count, 1}, low, high);
  const Tensor<double> predicted = model.predict(queries);
  for (int64_t t = 0; t < count; ++t) {
    const double q = queries.at({t, 0});
    size_t s = 1;
    while (x.at({order[s], 0}) < q) ++s;
    const int64_t left = order[s - 1], right = order[s];
    const double xl = x.at({left, 0}), xr = x.at({right, 0});
    const double expected = y.at({left}) + (q - xl) / (xr - xl) * (y.at({right}) - y.at({left}));
    EXPECT_NEAR(predicted.at({t}), expected, 1e-12) << "query " << q;

    const SimplexLocation location = model.locate(queries.select(0, t));
    ASSERT_TRUE(location.inside);
    EXPECT_EQ(location.vertices,
              (std::vector<int64_t>{std::min(left, right), std::max(left, right)}));
  }
}

// The square's corners and its centre: the Delaunay triangulation is the four triangles that
// join each side to the centre (the centre lies inside every corner triangle's circumcircle).
TEST(Simplicial, SquareWithCentreHasFourTriangles) {
  const Tensor<double> x = Tensor<double>::from_vector({0, 0, 1, 0, 1, 1, 0, 1, 0.5, 0.5}, {5, 2});
  const Tensor<double> y = Tensor<double>::from_vector({1, 2, 3, 4, 10});
  SimplicialInterpolator<double> model;
  model.fit(x, y);
  struct Case {
    std::vector<double> query{};
    std::vector<int64_t> vertices{};
    std::vector<double> weights{};
  };
  // (0.5, 0.2) = 0.3 (0, 0) + 0.3 (1, 0) + 0.4 (0.5, 0.5), and its rotations about the centre.
  const std::vector<Case> cases = {
      {{0.5, 0.2}, {0, 1, 4}, {0.3, 0.3, 0.4}},
      {{0.8, 0.5}, {1, 2, 4}, {0.3, 0.3, 0.4}},
      {{0.5, 0.8}, {2, 3, 4}, {0.3, 0.3, 0.4}},
      {{0.2, 0.5}, {0, 3, 4}, {0.3, 0.3, 0.4}},
      // Off-centre inside the bottom triangle: 0.6 (0, 0) + 0.2 (1, 0) + 0.2 (0.5, 0.5).
      {{0.3, 0.1}, {0, 1, 4}, {0.6, 0.2, 0.2}},
      // On the edge from (0, 0) to the centre: two vertices.
      {{0.25, 0.25}, {0, 4}, {0.5, 0.5}},
      // On the square's side: two vertices.
      {{1.0, 0.75}, {1, 2}, {0.25, 0.75}},
      // At the centre and at a corner: the point itself, weight exactly 1.
      {{0.5, 0.5}, {4}, {1.0}},
      {{1.0, 1.0}, {2}, {1.0}},
  };
  for (const Case& c : cases) {
    const SimplexLocation location = model.locate(Tensor<double>::from_vector(c.query));
    ASSERT_TRUE(location.inside);
    EXPECT_EQ(location.vertices, c.vertices) << "query " << c.query[0] << ", " << c.query[1];
    ASSERT_EQ(location.weights.size(), c.weights.size());
    double expected = 0;
    for (size_t v = 0; v < c.weights.size(); ++v) {
      EXPECT_NEAR(location.weights[v], c.weights[v], 1e-12);
      expected += c.weights[v] * y.at({c.vertices[v]});
    }
    const Tensor<double> predicted = model.predict(Tensor<double>::from_vector(c.query, {1, 2}));
    EXPECT_NEAR(predicted.at({0}), expected, 1e-12);
  }
  EXPECT_EQ(model.locate(Tensor<double>::from_vector({0.5, 0.5})).weights[0], 1.0);
}

// Random points in d = 2, 3, 5 (and a larger d = 8 set, which takes many pivots): every located
// simplex has an empty circumsphere and its weights reproduce the query.
TEST(Simplicial, LocatedSimplexIsDelaunay) {
  struct Setting {
    int64_t d = 0, n = 0, queries = 0;
  };
  for (const Setting s :
       {Setting{2, 60, 40}, Setting{3, 80, 40}, Setting{5, 120, 30}, Setting{8, 400, 10}}) {
    Rng rng(100 + static_cast<uint64_t>(s.d));
    const Tensor<double> x = rng.normal<double>({s.n, s.d});
    const Tensor<double> y = rng.normal<double>({s.n});
    SimplicialInterpolator<double> model;
    model.fit(x, y);
    for (int64_t t = 0; t < s.queries; ++t) {
      // A random convex combination of d + 1 distinct random data points: inside the hull, and
      // almost surely off every face of the triangulation.
      std::vector<int64_t> rows = rng.permutation(s.n);
      rows.resize(static_cast<size_t>(s.d + 1));
      const std::vector<double> q = random_combination(x, rows, rng);
      SCOPED_TRACE(::testing::Message() << "d = " << s.d << ", query " << t);
      expect_delaunay(x, q, model.locate(Tensor<double>::from_vector(q)));
    }
  }
}

// Grid points are as degenerate as data gets: every unit cube's 2^d corners lie on one sphere,
// so the Delaunay triangulation is not unique and the LP meets ties and degenerate pivots (where
// Bland's rule takes over). Any simplex it returns must still be an empty-sphere simplex holding
// the query, and an affine function must come back exactly, whichever triangulation is used.
TEST(Simplicial, GridDataWithCosphericalPoints) {
  for (const int64_t d : {2, 3, 4}) {
    const int64_t side = d == 4 ? 3 : 5 - (d - 2);
    int64_t n = 1;
    for (int64_t k = 0; k < d; ++k) n *= side;
    Tensor<double> x({n, d});
    Tensor<double> y({n});
    for (int64_t i = 0; i < n; ++i) {
      int64_t rest = i;
      double label = 0.5;
      for (int64_t k = 0; k < d; ++k) {
        x.at({i, k}) = static_cast<double>(rest % side);
        label += static_cast<double>(k + 1) * x.at({i, k});  // y = 0.5 + sum_k (k + 1) x_k
        rest /= side;
      }
      y.at({i}) = label;
    }
    SimplicialInterpolator<double> model;
    model.fit(x, y);
    EXPECT_EQ(model.predict(x).to_vector(), y.to_vector()) << "d = " << d;

    Rng rng(700 + static_cast<uint64_t>(d));
    const int64_t count = 40;
    const Tensor<double> queries =
        rng.uniform<double>({count, d}, 0.0, static_cast<double>(side - 1));
    const Tensor<double> predicted = model.predict(queries);
    for (int64_t t = 0; t < count; ++t) {
      const std::vector<double> q = row(queries, t);
      double expected = 0.5;
      for (int64_t k = 0; k < d; ++k) expected += static_cast<double>(k + 1) * q[k];
      EXPECT_NEAR(predicted.at({t}), expected, 1e-12);
      SCOPED_TRACE(::testing::Message() << "grid d = " << d << ", query " << t);
      expect_delaunay(x, q, model.locate(queries.select(0, t)));
    }
  }
}

// Repeated data points (with different labels) leave the triangulation of the distinct points
// unchanged; the LP uses one copy, so a query there returns one of the copies' labels exactly.
TEST(Simplicial, DuplicatedPoints) {
  Rng rng(800);
  const int64_t distinct = 40, n = 46;
  Tensor<double> x({n, 2});
  x.slice(0, 0, distinct).assign(rng.normal<double>({distinct, 2}));
  for (int64_t i = distinct; i < n; ++i) x.select(0, i).assign(x.select(0, i - distinct));
  const Tensor<double> y = rng.normal<double>({n});
  SimplicialInterpolator<double> model;
  model.fit(x, y);
  for (int64_t i = 0; i < n - distinct; ++i) {
    const double value = model.predict(x.slice(0, i, i + 1)).at({0});
    EXPECT_TRUE(value == y.at({i}) || value == y.at({i + distinct})) << "point " << i;
  }
  for (int64_t t = 0; t < 30; ++t) {
    std::vector<int64_t> rows = rng.permutation(distinct);
    rows.resize(3);
    const std::vector<double> q = random_combination(x, rows, rng);
    SCOPED_TRACE(::testing::Message() << "query " << t);
    expect_delaunay(x, q, model.locate(Tensor<double>::from_vector(q)));
  }
}

// The interpolant passes through every data point exactly, noisy labels included, for scalar
// and vector labels and in float as in double.
TEST(Simplicial, InterpolatesTheDataExactly) {
  for (int64_t d = 2; d <= 6; ++d) {
    Rng rng(200 + static_cast<uint64_t>(d));
    const int64_t n = 20 * d;
    const Tensor<double> x = rng.uniform<double>({n, d}, -1.0, 1.0);
    const Tensor<double> y = rng.normal<double>({n});
    SimplicialInterpolator<double> model;
    model.fit(x, y);
    EXPECT_EQ(model.predict(x).to_vector(), y.to_vector()) << "d = " << d;
    const SimplexLocation location = model.locate(x.select(0, 3));
    EXPECT_EQ(location.vertices, (std::vector<int64_t>{3}));
    EXPECT_EQ(location.weights, (std::vector<double>{1.0}));
  }
  Rng rng(300);
  const Tensor<float> x = rng.uniform<float>({40, 3}, -1.0f, 1.0f);
  const Tensor<float> y = rng.normal<float>({40, 2});
  SimplicialInterpolator<float> model;
  model.fit(x, y);
  const Tensor<float> predicted = model.predict(x);
  EXPECT_EQ(predicted.shape(), (Shape{40, 2}));
  EXPECT_EQ(predicted.to_vector(), y.to_vector());
}

// Vector labels: each output is interpolated with the same weights as a scalar fit on it.
TEST(Simplicial, VectorLabelsMatchScalarFits) {
  Rng rng(400);
  const Tensor<double> x = rng.normal<double>({50, 3});
  const Tensor<double> y = rng.normal<double>({50, 2});
  SimplicialInterpolator<double> joint;
  joint.fit(x, y);
  const Tensor<double> queries = rng.uniform<double>({20, 3}, -0.3, 0.3);
  const Tensor<double> predicted = joint.predict(queries);
  for (int o = 0; o < 2; ++o) {
    SimplicialInterpolator<double> single;
    single.fit(x, y.select(1, o).contiguous());
    const std::vector<double> expected = single.predict(queries).to_vector();
    for (int64_t t = 0; t < 20; ++t) EXPECT_DOUBLE_EQ(predicted.at({t, o}), expected[t]);
  }
}

// Queries outside the convex hull: locate says so, predict names the first of them.
TEST(Simplicial, OutsideTheHull) {
  const Tensor<double> x = Tensor<double>::from_vector({0, 0, 1, 0, 0, 1, 1, 1}, {4, 2});
  const Tensor<double> y = Tensor<double>::from_vector({0, 1, 2, 3});
  SimplicialInterpolator<double> model;
  model.fit(x, y);
  for (const std::vector<double>& q : std::vector<std::vector<double>>{
           {1.5, 0.5}, {-1e-6, 0.5}, {0.5, 1.000001}, {-3, -4}, {2, 2}}) {
    const SimplexLocation location = model.locate(Tensor<double>::from_vector(q));
    EXPECT_FALSE(location.inside) << q[0] << ", " << q[1];
    EXPECT_TRUE(location.vertices.empty());
    EXPECT_TRUE(location.weights.empty());
  }
  // On the boundary is inside.
  EXPECT_TRUE(model.locate(Tensor<double>::from_vector({0.0, 0.5})).inside);

  const Tensor<double> queries =
      Tensor<double>::from_vector({0.5, 0.5, 0.25, 0.75, 1.25, -0.5, 2, 2}, {4, 2});
  const std::string message = error_of([&] { model.predict(queries); });
  EXPECT_NE(message.find("[SimplicialInterpolator::predict] query 2 of 4 at (1.25, -0.5) lies "
                         "outside the convex hull"),
            std::string::npos)
      << message;

  // Long queries are shortened.
  Rng rng(500);
  const Tensor<double> x9 = rng.normal<double>({30, 9});
  SimplicialInterpolator<double> wide;
  wide.fit(x9, rng.normal<double>({30}));
  const std::string long_message = error_of([&] {
    wide.predict(Tensor<double>::full({1, 9}, 100.0));
  });
  EXPECT_NE(long_message.find("query 0 of 1 at (100, 100, 100, 100, 100, 100, ... (9 "
                              "coordinates))"),
            std::string::npos)
      << long_message;
}

// predict splits queries over threads; each is solved alone, so the results are bit-identical.
TEST(Simplicial, SamePredictionsWithOneAndTwoThreads) {
  Rng rng(600);
  const Tensor<double> x = rng.normal<double>({300, 4});
  const Tensor<double> y = rng.normal<double>({300, 3});
  SimplicialInterpolator<double> model;
  model.fit(x, y);
  const Tensor<double> queries = rng.uniform<double>({150, 4}, -0.5, 0.5);
  std::vector<double> one, two;
  {
    ThreadCountGuard guard(1);
    one = model.predict(queries).to_vector();
  }
  {
    ThreadCountGuard guard(2);
    two = model.predict(queries).to_vector();
  }
  EXPECT_EQ(one, two);
}

TEST(Simplicial, ErrorMessages) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor<double> square = Tensor<double>::from_vector({0, 0, 1, 0, 0, 1, 1, 1}, {4, 2});
  const Tensor<double> labels = Tensor<double>::from_vector({0, 1, 2, 3});
  SimplicialInterpolator<double> model;

  EXPECT_EQ(error_of([&] { model.predict(square); }),
            "[SimplicialInterpolator::predict] called before fit");
  EXPECT_EQ(error_of([&] { model.locate(Tensor<double>::zeros({2})); }),
            "[SimplicialInterpolator::locate] called before fit");

  EXPECT_EQ(error_of([&] { model.fit(Tensor<double>::zeros({4}), labels); }),
            "[SimplicialInterpolator::fit] x must be [n, d] with d >= 1, got (4,)");
  EXPECT_EQ(error_of([&] { model.fit(square.slice(0, 0, 2), labels.slice(0, 0, 2)); }),
            "[SimplicialInterpolator::fit] a d-simplex needs d + 1 points: x is (2, 2), fewer "
            "than 3 points for d = 2");
  EXPECT_EQ(error_of([&] { model.fit(square, labels.slice(0, 0, 3)); }),
            "[SimplicialInterpolator::fit] y must be [n] or [n, outputs] with n = 4 rows as x "
            "(4, 2), got (3,)");
  EXPECT_EQ(error_of([&] {
              model.fit(square, Tensor<double>::zeros({4, 1, 1}));
            }),
            "[SimplicialInterpolator::fit] y must be [n] or [n, outputs] with n = 4 rows as x "
            "(4, 2), got (4, 1, 1)");
  Tensor<double> bad = square.clone();
  bad.at({2, 1}) = nan;
  EXPECT_EQ(error_of([&] { model.fit(bad, labels); }),
            "[SimplicialInterpolator::fit] x[2, 1] is nan");
  Tensor<double> bad_labels = labels.clone();
  bad_labels.at({3}) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_of([&] { model.fit(square, bad_labels); }),
            "[SimplicialInterpolator::fit] y[3] is inf");
  EXPECT_EQ(error_of([&] {
              model.fit(Tensor<double>::full({3, 2}, 1.5), labels.slice(0, 0, 3));
            }),
            "[SimplicialInterpolator::fit] all 3 points of x are equal; they span no d-simplex");
  // Collinear points in the plane span a line only.
  const Tensor<double> line = Tensor<double>::from_vector({0, 0, 1, 2, 2, 4, 3, 6}, {4, 2});
  const std::string flat = error_of([&] { model.fit(line, labels); });
  EXPECT_NE(flat.find("[SimplicialInterpolator::fit] the 4 points of x lie within"),
            std::string::npos)
      << flat;
  EXPECT_NE(flat.find("of a 1-dimensional affine subspace, so they span no d-simplex for d = 2"),
            std::string::npos)
      << flat;
  EXPECT_FALSE(model.fitted());  // failed fits leave the model unfitted

  model.fit(square, labels);
  EXPECT_EQ(error_of([&] { model.locate(Tensor<double>::zeros({3})); }),
            "[SimplicialInterpolator::locate] query must be [2] (the data's d), got (3,)");
  EXPECT_EQ(error_of([&] {
              model.locate(Tensor<double>::from_vector({0.5, nan}));
            }),
            "[SimplicialInterpolator::locate] query[1] is nan");
  EXPECT_EQ(error_of([&] { model.predict(Tensor<double>::zeros({2})); }),
            "[SimplicialInterpolator::predict] queries must be [q, 2] (the data's d), got (2,)");
  EXPECT_EQ(error_of([&] {
              model.predict(Tensor<double>::zeros({5, 3}));
            }),
            "[SimplicialInterpolator::predict] queries must be [q, 2] (the data's d), got (5, 3)");
  Tensor<double> bad_queries = Tensor<double>::full({3, 2}, 0.5);
  bad_queries.at({1, 0}) = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_of([&] { model.predict(bad_queries); }),
            "[SimplicialInterpolator::predict] queries[1, 0] is -inf");
}

}  // namespace
}  // namespace lamppost
