#include "data/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

TEST(Synthetic, SpherePointsHaveUnitLengthAndNoDirection) {
  const Tensor<double> x = sphere_points<double>(20000, 5, 1);
  const Tensor<double> lengths = norm(x, {1});
  for (double l : lengths.to_vector()) ASSERT_NEAR(l, 1.0, 1e-14);
  // Uniform on the sphere: mean 0, and each coordinate has second moment 1/d.
  for (double m : mean(x, {0}).to_vector()) EXPECT_NEAR(m, 0.0, 0.02);
  for (double s : mean(x * x, {0}).to_vector()) EXPECT_NEAR(s, 0.2, 0.01);
  EXPECT_EQ(sphere_points<double>(3, 2, 1).to_vector(), sphere_points<double>(3, 2, 1).to_vector());
}

TEST(Synthetic, TeacherTargetsAddNoiseOfTheGivenSize) {
  const Mlp<double> teacher({.inputs = 4, .hidden = {16}, .outputs = 1});
  const Tensor<double> w = teacher.init(2);
  const Tensor<double> x = sphere_points<double>(5000, 4, 3);
  const Tensor<double> clean = teacher_targets(teacher, w, x, 0.0, 0);
  EXPECT_EQ(clean.to_vector(), teacher.predict(w, x).to_vector());
  const Tensor<double> noisy = teacher_targets(teacher, w, x, 0.5, 4);
  const Tensor<double> noise = noisy - clean;
  EXPECT_NEAR(std::sqrt(mean(noise * noise)), 0.5, 0.02);
  EXPECT_EQ(error_of([&] { teacher_targets(teacher, w, x, -1.0, 0); }),
            "[teacher_targets] noise_std must be non-negative and finite, got -1");
}

// The Bayes error of the mixture has a closed form; the Bayes rule's error on a large sample
// agrees with it within three standard errors.
TEST(Synthetic, GaussianMixtureBayesErrorIsTheClosedForm) {
  const GaussianMixture mixture{.dimension = 3, .separation = 2.0, .sigma = 1.0};
  EXPECT_NEAR(mixture.bayes_error(), 0.15865525393145707, 1e-15);  // Phi(-1)
  const int64_t n = 200000;
  const Labelled<double> data = mixture.sample<double>(n, 5);
  int64_t wrong = 0, ones = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = data.labels[static_cast<size_t>(i)];
    ones += label;
    wrong += (data.x.at({i, 0}) > 0 ? 1 : 0) != label;
  }
  const double p = mixture.bayes_error();
  EXPECT_NEAR(static_cast<double>(wrong) / n, p, 3 * std::sqrt(p * (1 - p) / n));
  EXPECT_NEAR(static_cast<double>(ones) / n, 0.5, 3 * std::sqrt(0.25 / n));
  EXPECT_EQ(error_of([] {
              GaussianMixture{.dimension = 2, .separation = 1, .sigma = 0}.sample<double>(4, 0);
            }),
            "[GaussianMixture] needs separation >= 0 and sigma > 0, got 1 and 0");
}

// The posterior is the fraction of class 1 among sampled points near x_1, and the 1-NN limit risk
// E[2 eta (1 - eta)] matches its closed forms at the extremes, Cover and Hart's bounds between,
// and a Monte-Carlo average of 2 eta (1 - eta) over sampled points.
TEST(Synthetic, GaussianMixturePosteriorAndNearestNeighbourRisk) {
  const GaussianMixture mixture{.dimension = 2, .separation = 2.0, .sigma = 1.0};
  const int64_t n = 400000;
  const Labelled<double> data = mixture.sample<double>(n, 11);
  const std::vector<double> eta = mixture.posterior(data.x);
  // Points with x_1 in [0.4, 0.6]: the class-1 fraction against the mean posterior there.
  double ones = 0, count = 0, mean_eta = 0, monte_carlo = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = eta[static_cast<size_t>(i)];
    monte_carlo += 2 * e * (1 - e) / n;
    const double x1 = data.x.at({i, 0});
    if (x1 < 0.4 || x1 > 0.6) continue;
    ones += static_cast<double>(data.labels[static_cast<size_t>(i)]);
    mean_eta += e;
    count += 1;
  }
  mean_eta /= count;
  EXPECT_NEAR(ones / count, mean_eta, 4 * std::sqrt(0.25 / count));
  EXPECT_NEAR(mean_eta, 1 / (1 + std::exp(-1.0)), 0.01);  // eta(0.5) = 1 / (1 + e^-1)

  const double bayes = mixture.bayes_error();
  const double limit = mixture.nearest_neighbour_risk();
  EXPECT_GT(limit, bayes);
  EXPECT_LT(limit, 2 * bayes * (1 - bayes));
  EXPECT_NEAR(limit, monte_carlo, 0.002);
  const GaussianMixture overlapping{.dimension = 1, .separation = 0};
  const GaussianMixture apart{.dimension = 1, .separation = 20};
  EXPECT_NEAR(overlapping.nearest_neighbour_risk(), 0.5, 1e-9);
  EXPECT_LT(apart.nearest_neighbour_risk(), 1e-15);
  EXPECT_EQ(error_of([&] {
              mixture.posterior(Tensor<double>({3, 5}));
            }),
            "[GaussianMixture] posterior needs points [n, 2], got (3, 5)");
}

// P_q changes a label with probability q (k - 1) / k.
TEST(Synthetic, LabelNoiseChangesLabelsAtTheStatedRate) {
  const int64_t n = 100000;
  for (int64_t classes : {2, 10}) {
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % classes;
    for (double q : {0.0, 0.2, 1.0}) {
      const std::vector<int64_t> noisy = add_label_noise(labels, classes, q, 7);
      int64_t changed = 0;
      for (int64_t i = 0; i < n; ++i)
        changed += noisy[static_cast<size_t>(i)] != labels[static_cast<size_t>(i)];
      const double rate = q * static_cast<double>(classes - 1) / static_cast<double>(classes);
      EXPECT_NEAR(static_cast<double>(changed) / n, rate,
                  3 * std::sqrt(rate * (1 - rate) / n) + 1e-12)
          << classes << " classes, q " << q;
    }
  }
  EXPECT_EQ(add_label_noise({0, 1, 1}, 2, 0.3, 1), add_label_noise({0, 1, 1}, 2, 0.3, 1));
  EXPECT_EQ(error_of([] {
              add_label_noise({0, 1}, 2, 1.5, 0);
            }),
            "[add_label_noise] the noise rate q must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of([] {
              add_label_noise({0, 2}, 2, 0.1, 0);
            }),
            "[add_label_noise] label 2 at 1 is outside [0, 2)");
}

TEST(Synthetic, CornersAndSigns) {
  const Labelled<double> corners = simplex_corners<double>(3);
  EXPECT_EQ(corners.x.to_vector(), (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(corners.labels, (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(plus_minus_one<double>({0, 1, 1}).to_vector(), (std::vector<double>{-1, 1, 1}));
  EXPECT_EQ(error_of([] {
              plus_minus_one<double>({0, 3});
            }),
            "[plus_minus_one] label 3 at 1 is not 0 or 1");
}

}  // namespace
}  // namespace lamppost
