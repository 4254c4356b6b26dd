#include "models/simplicial.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <string>

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace lamppost {

namespace {

// Tolerances of the lifting LP. fit stores the data centred and divided by its radius, so every
// point lies in the unit ball, every column (p_j, 1) of the constraint matrix has entries in
// [-1, 1], and every lifted cost ||p_j||^2 lies in [0, 1]: each tolerance below is relative to
// the data's scale without further scaling.
//
// The phase-1 optimum is the smallest sum of |residual| components of sum lambda_i p_i - x over
// the hull, at least the distance from x to the hull. Rounding leaves about eps * cond(B) there,
// which stays far below 1e-9 for bases up to cond ~1e6; so a positive optimum above 1e-9 means
// the query is outside, and a query within 1e-9 of the hull (relative to the radius) is inside.
constexpr double kFeasibility = 1e-9;
// The smallest |B^-1 a_j| entry accepted as a pivot. Entries are computed with absolute errors
// of about eps * ||B^-1||; a pivot below 1e-9 could be pure rounding, and dividing by it would
// amplify the error past the other tolerances.
constexpr double kPivot = 1e-9;
// Harris's ratio test lets basic variables go negative by at most this much, so that it may
// choose a larger pivot among nearly tied rows. Far below kFeasibility and the weight snap, so
// the bending never shows in a result; negative values are clamped back to 0.
constexpr double kPrimal = 1e-12;
// A column enters when its reduced cost is below -kDual * (1 + ||pi||_1). In phase 2 the reduced
// cost of p_j is ||p_j - o||^2 - R^2 for the current simplex's circumsphere (centre o, radius
// R), computed as c_j - pi . (p_j, 1) with entries of magnitude <= 1; its rounding error is a
// small multiple of eps * (1 + ||pi||_1). 1e-12 clears that and still tells a point inside a
// circumsphere from one on it to 12 digits; points closer to the sphere than that are
// co-spherical ties, where either choice is a valid Delaunay simplex.
constexpr double kDual = 1e-12;
// Weights below this are rounding (they come out of B^-1 b with errors of eps * cond(B)): they
// are set to 0 and the vertex dropped, and the rest rescaled to sum to 1. This is what makes a
// query at a data point return weight exactly 1 (w / w == 1 in IEEE arithmetic), hence its label
// exactly; the interpolant moves by at most about d * 1e-10 * max |y| for a query that close to a
// face.
constexpr double kWeightSnap = 1e-10;
// A pivot whose step is below this (the weights move by less than about 1e-14, rounding level)
// changes nothing: a run of them may cycle, so after kDegenerateRun of them in a row the entering
// and leaving choices follow Bland's rule, which cannot cycle, until a pivot makes progress
// again. 8 lets Dantzig's rule, much faster in practice, cross the short degenerate stretches of
// ordinary data by itself.
constexpr double kDegenerateStep = 1e-14;
constexpr int kDegenerateRun = 8;
// The product-form update of B^-1 accumulates about eps * cond(B) of error per pivot; rebuilding
// it from the basis columns every 32 pivots keeps that bounded, at O(d^3) each time against the
// O(n d) pricing of every pivot.
constexpr int kRefactorEvery = 32;
// Data thinner than this (relative to its radius) in some direction makes every simplex a sliver
// with cond(B) beyond 1e8, where the tolerances above can no longer tell zero from nonzero.
constexpr double kFlatness = 1e-8;

constexpr const char* kFit = "SimplicialInterpolator::fit";
constexpr const char* kLocate = "SimplicialInterpolator::locate";
constexpr const char* kPredict = "SimplicialInterpolator::predict";

// "(0.5, -1, 2)", at most `shown` coordinates, then ", ..." and the count.
std::string format_point(const double* x, int64_t d, int64_t shown = 6) {
  std::string text = "(";
  for (int64_t k = 0; k < std::min(d, shown); ++k) {
    text += fmt::format("{}{:.6g}", k > 0 ? ", " : "", x[k]);
  }
  if (d > shown) text += fmt::format(", ... ({} coordinates)", d);
  return text + ")";
}

// The values of a tensor as doubles in C order, checked finite; name says what it is in errors.
template <Real T>
std::vector<double> finite_values(const Tensor<T>& t, const char* op, const char* name) {
  const std::vector<T> values = t.to_vector();
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    if (t.ndim() == 2) {
      const int64_t cols = t.shape()[1], at = static_cast<int64_t>(i);
      fail(op, "{}[{}, {}] is {}", name, at / cols, at % cols, values[i]);
    }
    fail(op, "{}[{}] is {}", name, i, values[i]);
  }
  return std::vector<double>(values.begin(), values.end());
}

// The dimension of the affine subspace the (centred) points span, to within kFlatness: greedily
// take the point farthest from the span found so far (modified Gram-Schmidt on the residuals)
// until all are within kFlatness of it. Also returns how far the farthest point stayed.
std::pair<int64_t, double> affine_dimension(std::vector<double> residuals, int64_t n, int64_t d) {
  std::vector<double> direction(static_cast<size_t>(d));
  for (int64_t rank = 0; rank < d; ++rank) {
    int64_t far = 0;
    double far_norm = -1;
    for (int64_t i = 0; i < n; ++i) {
      const double* r = residuals.data() + i * d;
      double norm = 0;
      for (int64_t k = 0; k < d; ++k) norm += r[k] * r[k];
      if (norm > far_norm) far = i, far_norm = norm;
    }
    far_norm = std::sqrt(far_norm);
    if (far_norm <= kFlatness) return {rank, far_norm};
    for (int64_t k = 0; k < d; ++k) direction[k] = residuals[far * d + k] / far_norm;
    for (int64_t i = 0; i < n; ++i) {
      double* r = residuals.data() + i * d;
      double along = 0;
      for (int64_t k = 0; k < d; ++k) along += r[k] * direction[k];
      for (int64_t k = 0; k < d; ++k) r[k] -= along * direction[k];
    }
  }
  return {d, 0.0};
}

// The lifting LP for one query at a time, by the revised simplex method on
//     A = [p_1 .. p_n; 1 .. 1]  ((d + 1) x n),  b = (x, 1),  costs ||p_j||^2,
// with an explicit (d + 1) x (d + 1) basis inverse. Variables 0..n-1 are the lambda_j; n + k is
// the artificial of row k, whose column is sign(b_k) e_k so that it starts feasible. Phase 1
// minimises the sum of the artificials, phase 2 the lifted cost. One object per thread: it owns
// the workspace, so a solve allocates nothing.
class LiftingLp {
 public:
  LiftingLp(const double* coordinates, const double* squared_norms, int64_t n, int64_t d)
      : coordinates_(coordinates),
        squared_norms_(squared_norms),
        n_(n),
        d_(d),
        m_(d + 1),
        basis_(static_cast<size_t>(m_)),
        is_basic_(static_cast<size_t>(n_ + m_)),
        inverse_(static_cast<size_t>(m_ * m_)),
        factor_(static_cast<size_t>(m_ * m_)),
        values_(static_cast<size_t>(m_)),
        rhs_(static_cast<size_t>(m_)),
        signs_(static_cast<size_t>(m_)),
        prices_(static_cast<size_t>(m_)),
        column_(static_cast<size_t>(m_)),
        alpha_(static_cast<size_t>(m_)),
        reduced_(static_cast<size_t>(n_)) {}

  // query: normalised as the data, [d].
  SimplexLocation solve(const double* query) {
    SimplexLocation location;
    for (int64_t k = 0; k < d_; ++k) rhs_[k] = query[k];
    rhs_[d_] = 1;
    std::fill(is_basic_.begin(), is_basic_.end(), char{0});
    for (int64_t k = 0; k < m_; ++k) {
      signs_[k] = rhs_[k] < 0 ? -1.0 : 1.0;
      basis_[k] = n_ + k;
      is_basic_[n_ + k] = 1;
    }
    pivots_ = 0;
    refactor();

    iterate(/*phase=*/1);
    refactor();  // judge feasibility on a fresh B^-1 b, not on the accumulated updates
    double infeasibility = 0;
    for (int64_t i = 0; i < m_; ++i) {
      if (basis_[i] >= n_) infeasibility += values_[i];
    }
    location.pivots = pivots_;
    if (infeasibility > kFeasibility) return location;
    drive_out_artificials();
    iterate(/*phase=*/2);
    refactor();  // the weights from a fresh B^-1, not the accumulated updates

    location.inside = true;
    location.pivots = pivots_;
    std::vector<std::pair<int64_t, double>> support;
    double total = 0;
    for (int64_t i = 0; i < m_; ++i) {
      if (values_[i] < kWeightSnap) continue;
      support.emplace_back(basis_[i], values_[i]);
      total += values_[i];
    }
    std::sort(support.begin(), support.end());
    for (const auto& [vertex, weight] : support) {
      location.vertices.push_back(vertex);
      location.weights.push_back(weight / total);
    }
    return location;
  }

 private:
  // Column j of [A | artificials] into column_.
  void load_column(int64_t j) {
    if (j < n_) {
      for (int64_t k = 0; k < d_; ++k) column_[k] = coordinates_[k * n_ + j];
      column_[d_] = 1;
    } else {
      std::fill(column_.begin(), column_.end(), 0.0);
      column_[j - n_] = signs_[j - n_];
    }
  }

  double cost(int64_t j, int phase) const {
    if (phase == 1) return j >= n_ ? 1.0 : 0.0;
    return squared_norms_[j];
  }

  // B^-1 from the basis columns by Gauss-Jordan elimination with partial pivoting, then the
  // basic values B^-1 b.
  void refactor() {
    const size_t m = static_cast<size_t>(m_);
    for (size_t i = 0; i < m; ++i) {
      load_column(basis_[i]);
      for (size_t k = 0; k < m; ++k) factor_[k * m + i] = column_[k];  // column i of B
    }
    std::fill(inverse_.begin(), inverse_.end(), 0.0);
    for (size_t i = 0; i < m; ++i) inverse_[i * m + i] = 1;
    for (size_t col = 0; col < m; ++col) {
      size_t best = col;
      for (size_t r = col + 1; r < m; ++r) {
        if (std::abs(factor_[r * m + col]) > std::abs(factor_[best * m + col])) best = r;
      }
      // Every pivot passed |alpha| > kPivot, so a basis this singular means the data defeated
      // the tolerances (fit rejects data flat enough to do this).
      LAMPPOST_CHECK(std::abs(factor_[best * m + col]) > 1e-14, kLocate,
                     "the lifting LP's basis became numerically singular");
      if (best != col) {
        for (size_t k = 0; k < m; ++k) {
          std::swap(factor_[best * m + k], factor_[col * m + k]);
          std::swap(inverse_[best * m + k], inverse_[col * m + k]);
        }
      }
      const double scale = 1.0 / factor_[col * m + col];
      for (size_t k = 0; k < m; ++k) {
        factor_[col * m + k] *= scale;
        inverse_[col * m + k] *= scale;
      }
      for (size_t r = 0; r < m; ++r) {
        const double f = factor_[r * m + col];
        if (r == col || f == 0) continue;
        for (size_t k = 0; k < m; ++k) {
          factor_[r * m + k] -= f * factor_[col * m + k];
          inverse_[r * m + k] -= f * inverse_[col * m + k];
        }
      }
    }
    for (size_t i = 0; i < m; ++i) {
      double v = 0;
      for (size_t k = 0; k < m; ++k) v += inverse_[i * m + k] * rhs_[k];
      values_[i] = std::max(v, 0.0);  // Harris's test allows -kPrimal; see there
    }
    since_refactor_ = 0;
  }

  // alpha = B^-1 a_j.
  void solve_column(int64_t j) {
    load_column(j);
    const size_t m = static_cast<size_t>(m_);
    for (size_t i = 0; i < m; ++i) {
      double v = 0;
      for (size_t k = 0; k < m; ++k) v += inverse_[i * m + k] * column_[k];
      alpha_[i] = v;
    }
  }

  // Basic row `row` leaves, variable `entering` (whose B^-1 a is in alpha_) takes its place;
  // the step moves the solution along the edge by `step`.
  void pivot(int64_t row, int64_t entering, double step) {
    const size_t m = static_cast<size_t>(m_), r = static_cast<size_t>(row);
    for (size_t i = 0; i < m; ++i) values_[i] = std::max(values_[i] - step * alpha_[i], 0.0);
    values_[r] = step;
    // B^-1 <- E B^-1 with the eta matrix of the pivot: row r divided by alpha_r, then
    // eliminated from every other row.
    const double inv = 1.0 / alpha_[r];
    for (size_t k = 0; k < m; ++k) inverse_[r * m + k] *= inv;
    for (size_t i = 0; i < m; ++i) {
      if (i == r || alpha_[i] == 0) continue;
      for (size_t k = 0; k < m; ++k) inverse_[i * m + k] -= alpha_[i] * inverse_[r * m + k];
    }
    is_basic_[basis_[r]] = 0;
    is_basic_[entering] = 1;
    basis_[r] = entering;
    ++pivots_;
    if (++since_refactor_ >= kRefactorEvery) refactor();
  }

  // Simplex iterations of one phase until no structural column prices out.
  void iterate(int phase) {
    const size_t m = static_cast<size_t>(m_);
    int degenerate_run = 0;
    // Far beyond what either rule needs; only a numerical breakdown gets here.
    const int64_t limit = 50 * (n_ + m_) + pivots_;
    for (;;) {
      const bool bland = degenerate_run >= kDegenerateRun;
      // pi = c_B^T B^-1, then reduced costs c_j - pi . (p_j, 1) of all n structural columns.
      std::fill(prices_.begin(), prices_.end(), 0.0);
      for (size_t i = 0; i < m; ++i) {
        const double c = cost(basis_[i], phase);
        if (c == 0) continue;
        for (size_t k = 0; k < m; ++k) prices_[k] += c * inverse_[i * m + k];
      }
      double price_norm = 0;
      for (size_t k = 0; k < m; ++k) price_norm += std::abs(prices_[k]);
      double* r = reduced_.data();
      const double base = prices_[d_];
      if (phase == 1) {
        for (int64_t j = 0; j < n_; ++j) r[j] = -base;
      } else {
        for (int64_t j = 0; j < n_; ++j) r[j] = squared_norms_[j] - base;
      }
      for (int64_t k = 0; k < d_; ++k) {
        const double pk = prices_[k];
        const double* row = coordinates_ + k * n_;
        for (int64_t j = 0; j < n_; ++j) r[j] -= pk * row[j];
      }

      // Entering column: the most negative reduced cost (Dantzig), or the first negative one
      // (Bland).
      const double threshold = -kDual * (1 + price_norm);
      int64_t entering = -1;
      double most_negative = threshold;
      for (int64_t j = 0; j < n_; ++j) {
        if (r[j] >= most_negative || is_basic_[j]) continue;
        entering = j;
        if (bland) break;
        most_negative = r[j];
      }
      if (entering < 0) return;
      LAMPPOST_CHECK(pivots_ < limit, kLocate,
                     "the lifting LP made no progress in {} pivots (numerically degenerate data?)",
                     pivots_);

      solve_column(entering);
      const int64_t row = bland ? bland_ratio_test() : harris_ratio_test();
      // Some alpha_i >= 1 / (d + 1) always exists: the last row of B alpha = a_j says the
      // entries over the basic lambdas and the last artificial sum to 1.
      LAMPPOST_CHECK(row >= 0, kLocate, "the lifting LP found no pivot row (numerical breakdown)");
      const double step = values_[row] / alpha_[row];
      degenerate_run = step < kDegenerateStep ? degenerate_run + 1 : 0;
      pivot(row, entering, step);
    }
  }

  // Harris's two-pass ratio test: the largest step that keeps every basic value above -kPrimal,
  // then, among rows whose exact ratio fits in that step, the largest pivot.
  int64_t harris_ratio_test() const {
    double bound = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < m_; ++i) {
      if (alpha_[i] > kPivot) bound = std::min(bound, (values_[i] + kPrimal) / alpha_[i]);
    }
    int64_t row = -1;
    for (int64_t i = 0; i < m_; ++i) {
      if (alpha_[i] > kPivot && values_[i] / alpha_[i] <= bound &&
          (row < 0 || alpha_[i] > alpha_[row])) {
        row = i;
      }
    }
    return row;
  }

  // Bland's leaving rule: the smallest ratio, ties (within rounding) to the smallest variable.
  int64_t bland_ratio_test() const {
    double smallest = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < m_; ++i) {
      if (alpha_[i] > kPivot) smallest = std::min(smallest, values_[i] / alpha_[i]);
    }
    int64_t row = -1;
    for (int64_t i = 0; i < m_; ++i) {
      if (alpha_[i] > kPivot && values_[i] / alpha_[i] <= smallest + kPrimal &&
          (row < 0 || basis_[i] < basis_[row])) {
        row = i;
      }
    }
    return row;
  }

  // After a phase 1 that reached 0, artificials may remain basic at (about) 0. Each is replaced
  // by the structural column with the largest entry in its row of B^-1 A: a pivot that moves
  // nothing. Such a column exists because the data spans R^d affinely (checked in fit), so A
  // has full row rank.
  void drive_out_artificials() {
    for (int64_t row = 0; row < m_; ++row) {
      if (basis_[row] < n_) continue;
      const double* inverse_row = inverse_.data() + row * m_;
      int64_t best = -1;
      double best_size = kPivot;
      for (int64_t j = 0; j < n_; ++j) {
        if (is_basic_[j]) continue;
        double entry = inverse_row[d_];
        for (int64_t k = 0; k < d_; ++k) entry += inverse_row[k] * coordinates_[k * n_ + j];
        if (std::abs(entry) > best_size) best = j, best_size = std::abs(entry);
      }
      LAMPPOST_CHECK(best >= 0, kLocate,
                     "the lifting LP has a redundant row (numerically degenerate data?)");
      solve_column(best);
      values_[row] = 0;
      pivot(row, best, 0.0);
    }
    refactor();
  }

  const double* coordinates_;    // [d, n]
  const double* squared_norms_;  // [n]
  int64_t n_, d_, m_;
  std::vector<int64_t> basis_;            // the variable of each basic row
  std::vector<char> is_basic_;            // per variable, structural then artificial
  std::vector<double> inverse_, factor_;  // [m, m] row-major; factor_ is refactor's scratch
  std::vector<double> values_;            // basic values, [m]
  std::vector<double> rhs_, signs_, prices_, column_, alpha_;  // [m]
  std::vector<double> reduced_;                                // [n]
  int64_t pivots_ = 0;
  int since_refactor_ = 0;
};

}  // namespace

template <Real T>
void SimplicialInterpolator<T>::fit(const Tensor<T>& x, const Tensor<T>& y) {
  LAMPPOST_CHECK(x.ndim() == 2 && x.shape()[1] >= 1, kFit, "x must be [n, d] with d >= 1, got {}",
                 to_string(x.shape()));
  const int64_t n = x.shape()[0], d = x.shape()[1];
  LAMPPOST_CHECK(n >= d + 1, kFit,
                 "a d-simplex needs d + 1 points: x is {}, fewer than {} points for d = {}",
                 to_string(x.shape()), d + 1, d);
  LAMPPOST_CHECK((y.ndim() == 1 || (y.ndim() == 2 && y.shape()[1] >= 1)) && y.shape()[0] == n, kFit,
                 "y must be [n] or [n, outputs] with n = {} rows as x {}, got {}", n,
                 to_string(x.shape()), to_string(y.shape()));
  std::vector<double> points = finite_values(x, kFit, "x");
  std::vector<double> labels = finite_values(y, kFit, "y");

  std::vector<double> centre(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < d; ++k) centre[k] += points[i * d + k];
  }
  for (double& c : centre) c /= static_cast<double>(n);
  double radius = 0;
  for (int64_t i = 0; i < n; ++i) {
    double norm = 0;
    for (int64_t k = 0; k < d; ++k) {
      points[i * d + k] -= centre[k];
      norm += points[i * d + k] * points[i * d + k];
    }
    radius = std::max(radius, std::sqrt(norm));
  }
  LAMPPOST_CHECK(radius > 0, kFit, "all {} points of x are equal; they span no d-simplex", n);
  for (double& v : points) v /= radius;
  const auto [rank, width] = affine_dimension(points, n, d);
  LAMPPOST_CHECK(rank == d, kFit,
                 "the {} points of x lie within {:.2g} (relative to their radius {:.6g}) of a "
                 "{}-dimensional affine subspace, so they span no d-simplex for d = {}",
                 n, width, radius, rank, d);

  points_ = n;
  dimension_ = d;
  outputs_ = y.ndim() == 1 ? 1 : y.shape()[1];
  vector_labels_ = y.ndim() == 1;
  centre_ = std::move(centre);
  radius_ = radius;
  coordinates_.assign(static_cast<size_t>(n * d), 0.0);
  squared_norms_.assign(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < d; ++k) {
      const double v = points[i * d + k];
      coordinates_[k * n + i] = v;
      squared_norms_[i] += v * v;
    }
  }
  labels_ = std::move(labels);
}

template <Real T>
SimplexLocation SimplicialInterpolator<T>::locate(const Tensor<T>& query) const {
  LAMPPOST_CHECK(fitted(), kLocate, "called before fit");
  LAMPPOST_CHECK(query.ndim() == 1 && query.shape()[0] == dimension_, kLocate,
                 "query must be [{}] (the data's d), got {}", dimension_, to_string(query.shape()));
  std::vector<double> q = finite_values(query, kLocate, "query");
  for (int64_t k = 0; k < dimension_; ++k) q[k] = (q[k] - centre_[k]) / radius_;
  LiftingLp lp(coordinates_.data(), squared_norms_.data(), points_, dimension_);
  return lp.solve(q.data());
}

template <Real T>
Tensor<T> SimplicialInterpolator<T>::predict(const Tensor<T>& queries) const {
  LAMPPOST_CHECK(fitted(), kPredict, "called before fit");
  LAMPPOST_CHECK(queries.ndim() == 2 && queries.shape()[1] == dimension_, kPredict,
                 "queries must be [q, {}] (the data's d), got {}", dimension_,
                 to_string(queries.shape()));
  const int64_t count = queries.shape()[0], d = dimension_, outputs = outputs_;
  const std::vector<double> raw = finite_values(queries, kPredict, "queries");
  std::vector<double> result(static_cast<size_t>(count * outputs), 0.0);
  std::vector<char> inside(static_cast<size_t>(count), 0);
  // Exceptions must not leave an OpenMP region: the first (lowest query) one is kept and
  // rethrown after it.
  std::exception_ptr error;
  int64_t error_at = count;

#pragma omp parallel
  {
    try {
      LiftingLp lp(coordinates_.data(), squared_norms_.data(), points_, d);
      std::vector<double> q(static_cast<size_t>(d));
      // Dynamic: the number of pivots varies from query to query. Each query is solved on its
      // own, so the schedule cannot change a result.
#pragma omp for schedule(dynamic, 4)
      for (int64_t i = 0; i < count; ++i) {
        try {
          for (int64_t k = 0; k < d; ++k) q[k] = (raw[i * d + k] - centre_[k]) / radius_;
          const SimplexLocation location = lp.solve(q.data());
          if (!location.inside) continue;
          inside[i] = 1;
          double* out = result.data() + i * outputs;
          for (size_t v = 0; v < location.vertices.size(); ++v) {
            const double* y = labels_.data() + location.vertices[v] * outputs;
            for (int64_t o = 0; o < outputs; ++o) out[o] += location.weights[v] * y[o];
          }
        } catch (...) {
#pragma omp critical(simplicial_predict_error)
          if (i < error_at) error = std::current_exception(), error_at = i;
        }
      }
    } catch (...) {
#pragma omp critical(simplicial_predict_error)
      if (!error) error = std::current_exception(), error_at = -1;
    }
  }
  if (error) std::rethrow_exception(error);
  const auto outside = std::find(inside.begin(), inside.end(), char{0});
  if (outside != inside.end()) {
    const int64_t i = outside - inside.begin();
    fail(kPredict,
         "query {} of {} at {} lies outside the convex hull of the data, where the simplicial "
         "interpolant is not defined (locate() tells which queries are inside)",
         i, count, format_point(raw.data() + i * d, d));
  }

  Shape shape = vector_labels_ ? Shape{count} : Shape{count, outputs};
  std::vector<T> values(result.begin(), result.end());
  return Tensor<T>::from_vector(values, shape);
}

template class SimplicialInterpolator<float>;
template class SimplicialInterpolator<double>;

}  // namespace lamppost
