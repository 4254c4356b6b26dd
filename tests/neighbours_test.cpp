#include "models/neighbours.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

template <class T>
class NeighboursTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NeighboursTest, Types);

// The oracle: every distance from the differences, then a full sort by (distance, index).
template <Real T>
Neighbours<T> brute_force(const Tensor<T>& references, const Tensor<T>& queries, int64_t k) {
  const int64_t n = references.shape()[0], q = queries.shape()[0], d = references.shape()[1];
  const std::vector<T> r = references.to_vector(), x = queries.to_vector();
  Neighbours<T> result{.k = k, .indices = {}, .distances = Tensor<T>::empty({q, k})};
  std::vector<std::pair<double, int64_t>> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < q; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t l = 0; l < d; ++l) {
        const double difference = double(x[size_t(i * d + l)]) - double(r[size_t(j * d + l)]);
        sum += difference * difference;
      }
      all[size_t(j)] = {sum, j};
    }
    std::sort(all.begin(), all.end());
    for (int64_t s = 0; s < k; ++s) {
      result.indices.push_back(all[size_t(s)].second);
      result.distances.at({i, s}) = T(std::sqrt(all[size_t(s)].first));
    }
  }
  return result;
}

// Same neighbours in the same order, and distances equal up to the rounding of the last cast.
template <Real T>
void expect_same(const Neighbours<T>& got, const Neighbours<T>& want) {
  ASSERT_EQ(got.k, want.k);
  ASSERT_EQ(got.distances.shape(), want.distances.shape());
  EXPECT_EQ(got.indices, want.indices);
  const std::vector<T> a = got.distances.to_vector(), b = want.distances.to_vector();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], b[i], 4 * std::numeric_limits<T>::epsilon() * (1 + b[i])) << "at " << i;
  }
}

// References with planted duplicates (row 7 again as rows 31 and 90) and queries, some of which
// are references (queries 0, 3, 6 and 9 are references 7, 50, 0 and n - 1).
template <Real T>
std::pair<Tensor<T>, Tensor<T>> planted(int64_t n, int64_t q, int64_t d, T offset, uint64_t seed) {
  Rng rng(seed);
  Tensor<T> references = rng.normal<T>({n, d}) + offset;
  references.select(0, 31).assign(references.select(0, 7));
  references.select(0, 90).assign(references.select(0, 7));
  Tensor<T> queries = rng.normal<T>({q, d}) + offset;
  const int64_t copied[] = {7, 50, 0, n - 1};
  for (int64_t i = 0; i < 4; ++i) queries.select(0, 3 * i).assign(references.select(0, copied[i]));
  return {references, queries};
}

TYPED_TEST(NeighboursTest, MatchesBruteForce) {
  using T = TypeParam;
  // The offset makes ||x||^2 large against the distances, so the GEMM expansion alone would rank
  // neighbours wrongly (float keeps about 3 digits of them): only the shortlist saves the ranking.
  for (const T offset : {T(0), T(300)}) {
    const auto [references, queries] = planted<T>(300, 40, 5, offset, 1);
    for (const int64_t k : {1, 2, 7, 300}) {
      SCOPED_TRACE(::testing::Message() << "offset " << offset << ", k " << k);
      const Neighbours<T> got = nearest_neighbours(references, queries, k);
      expect_same(got, brute_force(references, queries, k));
      // A query equal to a reference: that reference first, at distance exactly 0; duplicates
      // follow in index order.
      EXPECT_EQ(got.indices[0], 7);
      EXPECT_EQ(got.distances.at({0, 0}), T(0));
      if (k >= 2) {
        EXPECT_EQ(got.indices[1], 31);
      }
      if (k >= 3) {
        EXPECT_EQ(got.indices[2], 90);
        EXPECT_EQ(got.distances.at({0, 2}), T(0));
      }
      for (int64_t i = 1; i < 4; ++i) {
        EXPECT_EQ(got.distances.at({3 * i, 0}), T(0));
        EXPECT_EQ(got.indices[size_t(3 * i * k)], (std::vector<int64_t>{7, 50, 0, 299})[size_t(i)]);
      }
    }
  }
}

TYPED_TEST(NeighboursTest, ReadsStridedViews) {
  using T = TypeParam;
  Rng rng(2);
  const Tensor<T> references = rng.normal<T>({6, 50}).t();  // [50, 6], column-major
  const Tensor<T> queries = rng.normal<T>({20, 12}).slice(1, 0, 12, 2);
  expect_same(nearest_neighbours(references, queries, 4), brute_force(references, queries, 4));
}

TYPED_TEST(NeighboursTest, SameResultWithOneAndTwoThreads) {
  using T = TypeParam;
  const auto [references, queries] = planted<T>(2000, 400, 16, T(0), 3);
  Neighbours<T> one, two;
  {
    ThreadCountGuard guard(1);
    one = nearest_neighbours(references, queries, 10);
  }
  {
    ThreadCountGuard guard(2);
    two = nearest_neighbours(references, queries, 10);
  }
  EXPECT_EQ(one.indices, two.indices);
  EXPECT_EQ(one.distances.to_vector(), two.distances.to_vector());
}

TYPED_TEST(NeighboursTest, CrossesBlockBoundaries) {
  using T = TypeParam;
  const int64_t n = 40000;
  const int64_t block = kNeighbourBlockBytes / (n * static_cast<int64_t>(sizeof(T)));
  const int64_t q = block + 12;  // a full block and a partial one
  auto [references, queries] = planted<T>(n, q, 2, T(0), 4);
  // Queries equal to references on both sides of the first boundary.
  queries.select(0, block - 1).assign(references.select(0, 123));
  queries.select(0, block).assign(references.select(0, 39999));
  const Neighbours<T> got = nearest_neighbours(references, queries, 5);
  expect_same(got, brute_force(references, queries, 5));
  EXPECT_EQ(got.indices[size_t((block - 1) * 5)], 123);
  EXPECT_EQ(got.indices[size_t(block * 5)], 39999);
}

TYPED_TEST(NeighboursTest, NoQueries) {
  using T = TypeParam;
  const Neighbours<T> got = nearest_neighbours(Tensor<T>::ones({3, 2}), Tensor<T>::ones({0, 2}), 2);
  EXPECT_EQ(got.distances.shape(), (Shape{0, 2}));
  EXPECT_TRUE(got.indices.empty());
}

template <Real T>
Tensor<T> one_hot(const std::vector<int64_t>& labels, int64_t classes) {
  Tensor<T> y = Tensor<T>::zeros({int64_t(labels.size()), classes});
  for (size_t i = 0; i < labels.size(); ++i) y.at({int64_t(i), labels[i]}) = T(1);
  return y;
}

// Points on a line: 0, 1, 1.5 and 5, labelled 2, 1, 1, 0.
Tensor<double> line_x() {
  return Tensor<double>::from_vector({0, 1, 1.5, 5}, {4, 1});
}
const std::vector<int64_t> kLineLabels = {2, 1, 1, 0};

std::vector<int64_t> classify_on_line(int64_t k, double alpha, std::vector<double> queries) {
  NeighbourModel<double> model({.k = k, .alpha = alpha});
  model.fit(line_x(), one_hot<double>(kLineLabels, 3));
  const int64_t q = int64_t(queries.size());
  return classify(model, Tensor<double>::from_vector(std::move(queries), {q, 1}));
}

TEST(NeighbourModel, NearestLabelAndMajorityVote) {
  // 1-NN: the nearest point's label.
  EXPECT_EQ(classify_on_line(1, 0, {0.2, 1.1, 1.4, 4}), (std::vector<int64_t>{2, 1, 1, 0}));
  // From 0.2 the neighbours are 0 (label 2), 1 (label 1), 1.5 (label 1), 5 (label 0): with k = 2
  // labels 2 and 1 tie and the smaller wins; k = 3 and 4 give 1 by majority.
  EXPECT_EQ(classify_on_line(2, 0, {0.2}), (std::vector<int64_t>{1}));
  EXPECT_EQ(classify_on_line(3, 0, {0.2}), (std::vector<int64_t>{1}));
  EXPECT_EQ(classify_on_line(4, 0, {0.2}), (std::vector<int64_t>{1}));
  // From 4: 5 (label 0), 1.5 and 1 (label 1).
  EXPECT_EQ(classify_on_line(3, 0, {4}), (std::vector<int64_t>{1}));
  // wiNN with alpha = 1 from 0.2: label 2 weighs 1, label 1 weighs 0.2/0.8 + 0.2/1.3 = 0.40.
  EXPECT_EQ(classify_on_line(3, 1, {0.2}), (std::vector<int64_t>{2}));
  // +-1 targets read by sign.
  NeighbourModel<double> model({.k = 1});
  model.fit(line_x(), Tensor<double>::from_vector({-1, 1, 1, -1}));
  EXPECT_EQ(classify(model, Tensor<double>::from_vector({0.1, 1.2, 4.0}, {3, 1})),
            (std::vector<int64_t>{0, 1, 0}));
}

TYPED_TEST(NeighboursTest, NearestNeighbourReturnsTheNearestTarget) {
  using T = TypeParam;
  Rng rng(5);
  const Tensor<T> x = rng.normal<T>({200, 3}), y = rng.normal<T>({200});
  const Tensor<T> queries = rng.normal<T>({50, 3});
  NeighbourModel<T> model({.k = 1});
  model.fit(x, y);
  const std::vector<T> predicted = model.predict(queries).to_vector();
  const Neighbours<T> nearest = brute_force(x, queries, 1);
  const std::vector<T> targets = y.to_vector();
  for (size_t i = 0; i < predicted.size(); ++i) {
    EXPECT_EQ(predicted[i], targets[size_t(nearest.indices[i])]);
  }
}

TYPED_TEST(NeighboursTest, WinnInterpolatesNoisyTargets) {
  using T = TypeParam;
  Rng rng(6);
  const int64_t n = 400;
  const Tensor<T> x = rng.normal<T>({n, 3});
  // Regression targets with noise, and one-hot labels of which a third are random.
  const Tensor<T> y = sin(x.select(1, 0) * T(2)) + rng.normal<T>({n}, T(0), T(0.5));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  const std::vector<T> noise = rng.uniform<T>({n}).to_vector(), first = x.select(1, 0).to_vector();
  for (size_t i = 0; i < labels.size(); ++i) {
    labels[i] = noise[i] < T(1) / 3 ? int64_t(noise[i] * 9) : (first[i] > 0 ? 1 : 0);
  }
  const Tensor<T> y_classes = one_hot<T>(labels, 3);
  for (const int64_t k : {1, 5, 20}) {
    SCOPED_TRACE(::testing::Message() << "k " << k);
    NeighbourModel<T> winn({.k = k, .alpha = 1.5});
    winn.fit(x, y);
    EXPECT_EQ(winn.predict(x).to_vector(), y.to_vector());
    winn.fit(x, y_classes);
    EXPECT_EQ(winn.predict(x).to_vector(), y_classes.to_vector());
    EXPECT_EQ(classify(winn, x), labels);
    // The contrast: plain k-NN averages the noise away and does not interpolate.
    if (k > 1) {
      NeighbourModel<T> knn({.k = k});
      knn.fit(x, y);
      EXPECT_NE(knn.predict(x).to_vector(), y.to_vector());
    }
  }
}

TYPED_TEST(NeighboursTest, PredictionIsTheWeightedAverage) {
  using T = TypeParam;
  Rng rng(7);
  const int64_t n = 30, k = 6, outputs = 2;
  const Tensor<T> x = rng.normal<T>({n, 2}), y = rng.normal<T>({n, outputs});
  const Tensor<T> queries = rng.normal<T>({8, 2});
  const Neighbours<T> nearest = brute_force(x, queries, k);
  for (const double alpha : {0.0, 0.5, 2.0, 7.0}) {
    SCOPED_TRACE(::testing::Message() << "alpha " << alpha);
    NeighbourModel<T> model({.k = k, .alpha = alpha});
    model.fit(x, y);
    const Tensor<T> predicted = model.predict(queries);
    ASSERT_EQ(predicted.shape(), (Shape{8, outputs}));
    for (int64_t i = 0; i < 8; ++i) {
      // sum_i ||x - x_i||^-alpha y_i / sum_i ||x - x_i||^-alpha, written out; alpha = 0 is the
      // plain mean of the k targets.
      double total = 0, sums[outputs] = {0, 0};
      for (int64_t r = 0; r < k; ++r) {
        const int64_t j = nearest.indices[size_t(i * k + r)];
        const double weight = std::pow(double(nearest.distances.at({i, r})), -alpha);
        total += weight;
        for (int64_t o = 0; o < outputs; ++o) sums[o] += weight * double(y.at({j, o}));
      }
      for (int64_t o = 0; o < outputs; ++o) {
        EXPECT_NEAR(predicted.at({i, o}), sums[o] / total, 64 * std::numeric_limits<T>::epsilon());
      }
    }
  }
}

TEST(NeighbourModel, MeanOfTargetsAtADuplicatedPoint) {
  NeighbourModel<double> model({.k = 3, .alpha = 2});
  model.fit(Tensor<double>::from_vector({0, 0, 1}, {3, 1}), Tensor<double>::from_vector({1, 4, 9}));
  EXPECT_EQ(model.predict(Tensor<double>::zeros({1, 1})).to_vector(), (std::vector<double>{2.5}));
}

// A two-class Gaussian mixture in d = 2: class +-1 with probability 1/2, x ~ N(c mu e_1, I), and
// the label then flipped with probability p. P(y = 1 | x) = eta(x) = p + (1 - 2p) s(2 mu x_1),
// s the logistic function, so the Bayes rule is sign(x_1).
struct Mixture {
  Tensor<double> x{};
  Tensor<double> y{};  // +-1
  std::vector<double> eta{};
};

Mixture mixture(int64_t n, double mu, double p, uint64_t seed) {
  Rng rng(seed);
  Mixture m{.x = rng.normal<double>({n, 2}), .y = Tensor<double>::empty({n}), .eta = {}};
  const std::vector<double> u = rng.uniform<double>({n, 2}).to_vector();
  for (int64_t i = 0; i < n; ++i) {
    const double c = u[size_t(2 * i)] < 0.5 ? -1 : 1;
    m.x.at({i, 0}) += c * mu;
    m.y.at({i}) = u[size_t(2 * i + 1)] < p ? -c : c;
    m.eta.push_back(p + (1 - 2 * p) / (1 + std::exp(-2 * mu * m.x.at({i, 0}))));
  }
  return m;
}

// The risk of a labelling of test points, averaged over their labels given x: a lower-variance
// estimate than counting mistakes against drawn labels.
double risk(const std::vector<int64_t>& predicted, const std::vector<double>& eta) {
  double sum = 0;
  for (size_t i = 0; i < eta.size(); ++i) sum += predicted[i] == 1 ? 1 - eta[i] : eta[i];
  return sum / double(eta.size());
}

TEST(NeighbourModel, WinnApproachesTheBayesRiskWhereOneNnDoesNot) {
  const double mu = 1, p = 0.1;
  const Mixture train = mixture(20000, mu, p, 11), test = mixture(2000, mu, p, 12);
  std::vector<int64_t> bayes;
  for (int64_t i = 0; i < 2000; ++i) bayes.push_back(test.x.at({i, 0}) > 0 ? 1 : 0);
  const double bayes_risk = risk(bayes, test.eta);

  NeighbourModel<double> one_nn({.k = 1});
  one_nn.fit(train.x, train.y);
  const double one_nn_risk = risk(classify(one_nn, test.x), test.eta);
  // Cover and Hart: 1-NN tends to E[2 eta (1 - eta)], between R* and 2 R* (1 - R*).
  double cover_hart = 0;
  for (const double eta : test.eta) cover_hart += 2 * eta * (1 - eta);
  cover_hart /= double(test.eta.size());

  NeighbourModel<double> winn({.k = 100, .alpha = 0.5});
  winn.fit(train.x, train.y);
  EXPECT_EQ(classify(winn, train.x.slice(0, 0, 200)),
            classify(one_nn, train.x.slice(0, 0, 200)));  // interpolates, as 1-NN does
  const double winn_risk = risk(classify(winn, test.x), test.eta);

  SCOPED_TRACE(::testing::Message() << "Bayes " << bayes_risk << ", 1-NN " << one_nn_risk
                                    << " (Cover-Hart " << cover_hart << "), wiNN " << winn_risk);
  EXPECT_LT(winn_risk - bayes_risk, 0.02);
  EXPECT_GT(one_nn_risk - bayes_risk, 0.05);
  EXPECT_NEAR(one_nn_risk, cover_hart, 0.03);
}

TEST(Neighbours, Errors) {
  const Tensor<double> x = Tensor<double>::zeros({5, 2});
  EXPECT_EQ(error_of([&] {
              nearest_neighbours(x, Tensor<double>::zeros({3, 3}), 1);
            }),
            "[nearest_neighbours] needs references [n, d] and queries [q, d] with the same d, got "
            "(5, 2) and (3, 3)");
  EXPECT_EQ(error_of([&] { nearest_neighbours(Tensor<double>::zeros({5}), x, 1); }),
            "[nearest_neighbours] needs references [n, d] and queries [q, d] with the same d, got "
            "(5,) and (5, 2)");
  EXPECT_EQ(error_of([&] { nearest_neighbours(x, x, 0); }),
            "[nearest_neighbours] k = 0 neighbours asked of n = 5 references; needs 1 <= k <= n");
  EXPECT_EQ(error_of([&] { nearest_neighbours(x, x, 6); }),
            "[nearest_neighbours] k = 6 neighbours asked of n = 5 references; needs 1 <= k <= n");
  Tensor<double> bad = x.clone();
  bad.at({3, 1}) = std::nan("");
  EXPECT_EQ(error_of([&] { nearest_neighbours(bad, x, 1); }),
            "[nearest_neighbours] references row 3 is not finite or too large (squared norm nan)");
  Tensor<float> huge = Tensor<float>::zeros({2, 2});
  huge.at({1, 0}) = 0x1p63f;  // squared, 2^126 > max / 8
  EXPECT_EQ(error_of([&] {
              nearest_neighbours(Tensor<float>::zeros({2, 2}), huge, 1);
            }),
            "[nearest_neighbours] queries row 1 is not finite or too large (squared norm "
            "8.507059173023462e+37)");

  EXPECT_EQ(error_of([] { NeighbourModel<double>({.k = 0}); }),
            "[NeighbourModel] k must be >= 1, got 0");
  EXPECT_EQ(error_of([] { NeighbourModel<double>({.k = 1, .alpha = -1}); }),
            "[NeighbourModel] alpha must be finite and >= 0, got -1");
  EXPECT_EQ(error_of([] {
              NeighbourModel<double>({.k = 1, .alpha = std::numeric_limits<double>::infinity()});
            }),
            "[NeighbourModel] alpha must be finite and >= 0, got inf");
  NeighbourModel<double> model({.k = 6});
  EXPECT_EQ(error_of([&] { model.predict(x); }), "[NeighbourModel] predict called before fit");
  EXPECT_EQ(error_of([&] { model.fit(x, Tensor<double>::zeros({4})); }),
            "[NeighbourModel] fit needs x [n, d] and y [n] or [n, outputs], got (5, 2) and (4,)");
  EXPECT_EQ(error_of([&] {
              model.fit(x, Tensor<double>::zeros({5, 1, 1}));
            }),
            "[NeighbourModel] fit needs x [n, d] and y [n] or [n, outputs], got (5, 2) and "
            "(5, 1, 1)");
  EXPECT_EQ(error_of([&] { model.fit(x, Tensor<double>::zeros({5})); }),
            "[NeighbourModel] k = 6 neighbours asked of n = 5 training rows; needs k <= n");
  NeighbourModel<double> fitted({.k = 2});
  fitted.fit(x, Tensor<double>::zeros({5}));
  EXPECT_EQ(error_of([&] {
              fitted.predict(Tensor<double>::zeros({3, 3}));
            }),
            "[NeighbourModel] predict needs queries [q, 2] like the training x (5, 2), got (3, 3)");
}

}  // namespace
}  // namespace lamppost
