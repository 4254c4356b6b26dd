#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "autodiff/ops.h"
#include "optim/optimizer.h"
#include "optim/train.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

// f(w) = 1/2 sum_i lambda_i w_i^2 with lambda spread evenly over [1, kappa]: every step of
// these methods acts on each coordinate separately, so rates have closed forms.
struct Quadratic {
  Tensor<double> lambda;
  Tensor<double> w0;

  explicit Quadratic(double kappa, int64_t n = 16)
      : lambda(Tensor<double>::linspace(1, kappa, n)), w0(Tensor<double>::ones({n})) {}

  BatchLoss<double> loss() const {
    return [this](const Var<double>& w, const std::vector<int64_t>&) {
      return sum(Var<double>(lambda) * square(w)) * 0.5;
    };
  }

  // ||w_t|| / ||w_0|| after `steps` steps of the optimizer.
  double shrink(Optimizer<double>& optimizer, int64_t steps) const {
    Tensor<double> w = w0.clone();
    const TrainResult result = train<double>(
        loss(), w, optimizer, {.samples = 1, .max_steps = steps, .progress_seconds = 0});
    EXPECT_EQ(result.reason, StopReason::step_budget) << result.message;
    return norm(w) / norm(w0);
  }
};

TEST(Optimizers, GradientDescentContractsEachCoordinateExactly) {
  const Quadratic q(10.0);
  const double rate = 0.15;
  Sgd<double> gd(constant_schedule(rate));
  Tensor<double> w = q.w0.clone();
  train<double>(q.loss(), w, gd, {.samples = 1, .max_steps = 30, .progress_seconds = 0});
  for (int64_t i = 0; i < 16; ++i) {
    const double expected = std::pow(1 - rate * q.lambda.at({i}), 30.0);  // w_t = (1 - rate l)^t
    EXPECT_NEAR(w.at({i}), expected, 1e-13 + 1e-12 * std::abs(expected)) << i;
  }
  EXPECT_EQ(gd.steps_taken(), 30);
}

// On a quadratic with condition number kappa: gradient descent with rate 2 / (L + mu) contracts
// like (kappa - 1) / (kappa + 1) per step, the heavy ball with Polyak's tuning like
// (sqrt(kappa) - 1) / (sqrt(kappa) + 1) (up to a factor linear in t), and Nesterov with rate 1/L
// and momentum (sqrt(kappa) - 1) / (sqrt(kappa) + 1) within sqrt(4 kappa) (1 -
// 1/sqrt(kappa))^(t/2).
TEST(Optimizers, MomentumMethodsReachTheirAcceleratedRates) {
  const double kappa = 100, mu = 1, big_l = kappa;
  const Quadratic q(kappa);
  const int64_t t = 100;
  const double root = std::sqrt(kappa);

  Sgd<double> gd(constant_schedule(2 / (big_l + mu)));
  const double gd_shrink = q.shrink(gd, t);
  // The two extreme coordinates decide (the others shrink faster): sqrt(2 / 16) of the norm.
  const double gd_expected = std::sqrt(2.0 / 16) * std::pow((kappa - 1) / (kappa + 1), t);
  EXPECT_NEAR(gd_shrink, gd_expected, 1e-6 * gd_expected);

  const double rho = (root - 1) / (root + 1);
  Sgd<double> heavy_ball(constant_schedule(4 / std::pow(std::sqrt(big_l) + std::sqrt(mu), 2)),
                         rho * rho);
  const double hb_shrink = q.shrink(heavy_ball, t);
  EXPECT_LT(hb_shrink, 2 * (t + 1) * std::pow(rho, t)) << hb_shrink;
  EXPECT_GT(hb_shrink, 0.1 * std::pow(rho, t)) << hb_shrink;  // and not faster than theory
  EXPECT_LT(hb_shrink, 1e-5 * gd_shrink);

  Sgd<double> nesterov(constant_schedule(1 / big_l), rho, /*nesterov=*/true);
  const double nesterov_shrink = q.shrink(nesterov, t);
  EXPECT_LT(nesterov_shrink, std::sqrt(4 * kappa) * std::pow(1 - 1 / root, t / 2.0))
      << nesterov_shrink;
  EXPECT_LT(nesterov_shrink, 1e-2 * gd_shrink);
}

// Adam on f(w) = w^2 / 2 from w = 1, rate 0.1, betas (0.9, 0.999), eps 1e-8. By hand:
// step 1: g = 1, m = 0.1, v = 0.001, m^ = 1, v^ = 1, w = 1 - 0.1 / (1 + 1e-8) = 0.900000001;
// steps 2 and 3 the same way (evaluated in Python with these formulas): 0.8004122297123382,
// 0.701586274504415.
TEST(Optimizers, AdamFirstStepsByHand) {
  Adam<double> adam(constant_schedule(0.1));
  Tensor<double> w = Tensor<double>::ones({1});
  const double expected[] = {0.900000001, 0.8004122297123382, 0.701586274504415};
  for (double e : expected) {
    adam.step(w, w.clone());  // the gradient of w^2 / 2 is w
    EXPECT_NEAR(w.item(), e, 1e-15);
  }
  adam.reset();  // a fresh run repeats the first step exactly
  Tensor<double> again = Tensor<double>::ones({1});
  adam.step(again, again.clone());
  EXPECT_NEAR(again.item(), expected[0], 1e-15);
}

TEST(Optimizers, SchedulesAndBadSettings) {
  EXPECT_DOUBLE_EQ(step_schedule(1.0, 10, 0.5)(25), 0.25);
  EXPECT_DOUBLE_EQ(exponential_schedule(2.0, 0.9)(2), 2.0 * 0.81);
  EXPECT_DOUBLE_EQ(cosine_schedule(1.0, 10, 0.1)(0), 1.0);
  EXPECT_NEAR(cosine_schedule(1.0, 10, 0.1)(5), 0.55, 1e-15);
  EXPECT_DOUBLE_EQ(cosine_schedule(1.0, 10, 0.1)(12), 0.1);
  Sgd<double> sgd(step_schedule(1.0, 2, 0.5));
  Tensor<double> w = Tensor<double>::zeros({2});
  const Tensor<double> g = Tensor<double>::ones({2});
  for (int i = 0; i < 3; ++i) sgd.step(w, g);  // rates 1, 1, 0.5
  EXPECT_EQ(w.to_vector(), (std::vector<double>{-2.5, -2.5}));
  EXPECT_DOUBLE_EQ(sgd.rate(), 0.5);

  EXPECT_EQ(error_of([] { constant_schedule(-0.1); }),
            "[constant_schedule] the step size must be positive and finite, got -0.1");
  EXPECT_EQ(error_of([] { Sgd<double>(constant_schedule(0.1), 1.0); }),
            "[Sgd] momentum must be in [0, 1), got 1");
  EXPECT_EQ(error_of([] { Sgd<double>(constant_schedule(0.1), 0.0, true); }),
            "[Sgd] Nesterov needs a positive momentum");
  EXPECT_EQ(error_of([] { Adam<double>(constant_schedule(0.1), 0.9, 1.0); }),
            "[Adam] beta2 must be in [0, 1), got 1");
  EXPECT_EQ(error_of([&] { sgd.step(w, Tensor<double>::ones({3})); }),
            "[optimizer] parameters (2,) and gradient (3,) differ in shape");
}

TEST(Training, EpochsVisitEveryRowOnceInASeededOrder) {
  const auto batches = epoch_batches(10, 4, 7, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].size(), 2u);
  std::vector<int64_t> seen;
  for (const auto& b : batches) seen.insert(seen.end(), b.begin(), b.end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(epoch_batches(10, 4, 7, 0), batches);  // seeded
  EXPECT_NE(epoch_batches(10, 4, 7, 1), batches);  // a new order each epoch
  EXPECT_EQ(error_of([] { epoch_batches(10, 11, 0, 0); }),
            "[train] batch size 11 is outside [1, 10] (the number of samples)");
  const Quadratic q(2.0);
  Sgd<double> sgd(constant_schedule(0.1));
  Tensor<double> w = q.w0.clone();
  EXPECT_EQ(error_of([&] { train<double>(q.loss(), w, sgd, {.samples = 0}); }),
            "[train] the data set has 0 samples");
}

// Mini-batch SGD on least squares over rows: each step sees its batch's rows only, and the
// observers see step 0 and every third step.
TEST(Training, MiniBatchesObserversAndTheTargetLoss) {
  const Tensor<double> x = Tensor<double>::linspace(-1, 1, 12).reshape({12, 1});
  const Tensor<double> y = x * 3.0;
  std::vector<int64_t> rows_seen(12, 0);
  const BatchLoss<double> loss = [&](const Var<double>& w, const std::vector<int64_t>& rows) {
    for (int64_t r : rows) ++rows_seen[static_cast<size_t>(r)];
    Tensor<double> xb = Tensor<double>::empty({static_cast<int64_t>(rows.size()), 1});
    Tensor<double> yb = xb.clone();
    for (size_t i = 0; i < rows.size(); ++i) {
      xb.at({static_cast<int64_t>(i), 0}) = x.at({rows[i], 0});
      yb.at({static_cast<int64_t>(i), 0}) = y.at({rows[i], 0});
    }
    return sum(square(matmul(Var<double>(xb), w) - Var<double>(yb))) * 0.5;
  };
  Tensor<double> w = Tensor<double>::zeros({1, 1});
  Sgd<double> sgd(constant_schedule(0.3));
  std::vector<int64_t> observed;
  const TrainResult result =
      train<double>(loss, w, sgd,
                    {.samples = 12,
                     .batch_size = 4,
                     .max_steps = 300,
                     .target_loss = 1e-20,
                     .seed = 3,
                     .observe_every = 3,
                     .progress_seconds = 0},
                    {[&](const StepInfo<double>& s) { observed.push_back(s.step); }});
  EXPECT_EQ(result.reason, StopReason::target_loss) << result.message;
  EXPECT_NEAR(w.item(), 3.0, 1e-9);
  EXPECT_LE(result.final_loss, 1e-20);
  EXPECT_EQ(static_cast<int64_t>(result.losses.size()), result.steps + 1);
  // Every row is visited equally often in whole epochs.
  const int64_t epochs = result.steps / 3;
  for (int64_t count : rows_seen) EXPECT_GE(count, epochs);
  ASSERT_GE(observed.size(), 2u);
  EXPECT_EQ(observed[0], 0);
  EXPECT_EQ(observed[1], 3);
}

TEST(Training, DivergenceStopsWithTheStepAndValue) {
  const Quadratic q(10.0);
  // A step size beyond 2 / L makes gradient descent blow up.
  Sgd<double> too_fast(constant_schedule(0.5));
  Tensor<double> w = q.w0.clone();
  int64_t observed = 0;
  const TrainResult result = train<double>(
      q.loss(), w, too_fast,
      {.samples = 1, .max_steps = 1000, .divergence_factor = 1e6, .progress_seconds = 0},
      {[&](const StepInfo<double>&) { ++observed; }});
  EXPECT_EQ(result.reason, StopReason::diverged);
  EXPECT_EQ(result.message.substr(0, 12), "diverged at ");
  EXPECT_NE(result.message.find(fmt::format("step {}:", result.steps)), std::string::npos)
      << result.message;
  EXPECT_GT(result.final_loss, 1e6 * result.losses.front());
  EXPECT_EQ(observed, result.steps);  // what was recorded is kept

  // A NaN loss stops at once.
  int64_t calls = 0;
  const BatchLoss<double> nan_at_3 = [&](const Var<double>& p, const std::vector<int64_t>&) {
    return sum(p) * (calls++ == 3 ? std::numeric_limits<double>::quiet_NaN() : 1.0);
  };
  Tensor<double> p = Tensor<double>::ones({2});
  Sgd<double> sgd(constant_schedule(0.1));
  const TrainResult nan = train<double>(nan_at_3, p, sgd, {.samples = 1, .progress_seconds = 0});
  EXPECT_EQ(nan.reason, StopReason::diverged);
  EXPECT_EQ(nan.steps, 3);
  EXPECT_EQ(nan.losses.size(), 4u);
  EXPECT_EQ(nan.message.substr(0, 27), "diverged at step 3: loss na");
}

}  // namespace
}  // namespace lamppost
