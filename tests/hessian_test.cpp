#include <gtest/gtest.h>

#include <cmath>

#include "autodiff/ops.h"
#include "models/loss.h"
#include "optim/optimizer.h"
#include "optim/train.h"
#include "tensor/gemm.h"
#include "tensor/linalg.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"
#include "theory/hessian.h"
#include "theory/ntk.h"

namespace lamppost {
namespace {

using testing::error_of;

// A small smooth network whose Hessian is dense and indefinite.
Mlp<double> small_network(int64_t outputs = 1) {
  return Mlp<double>({.inputs = 3,
                      .hidden = {6, 5},
                      .outputs = outputs,
                      .activation = Activation::tanh,
                      .sigma_b = 0.4});
}

double max_abs_eigenvalue(const Tensor<double>& symmetric) {
  const Tensor<double> values = eigvalsh(symmetric);
  return std::max(std::abs(values.data()[0]), std::abs(values.data()[values.numel() - 1]));
}

// f(w) = 1/2 w^T A w + <b, w> has Hessian A everywhere: the dense Hessian, the operator and the
// trace estimators must all see A.
TEST(Hessian, QuadraticClosedForm) {
  Rng rng(3);
  const Tensor<double> g = rng.normal<double>({6, 6});
  const Tensor<double> a = matmul(g, g.t()) - Tensor<double>::eye(6) * 2.0;  // indefinite
  const Tensor<double> b = rng.normal<double>({6});
  const UnaryFunction<double> f = [&](const Var<double>& w) {
    const Var<double> column = reshape(w, {6, 1});
    return sum(column * matmul(Var<double>(a), column)) * 0.5 + sum(w * Var<double>(b));
  };
  const Tensor<double> w = rng.normal<double>({6});
  EXPECT_LT(norm(dense_hessian(f, w) - a), 1e-12 * norm(a));

  const LinearOperator<double> op = hessian_operator(f, w);
  const Tensor<double> v = rng.normal<double>({6});
  Tensor<double> hv = Tensor<double>::empty({6});
  op(v, hv);
  EXPECT_LT(norm(hv - matmul(a, v.reshape({6, 1})).reshape({6})), 1e-12 * norm(a) * norm(v));

  const SpectralNorm spectral = spectral_norm(op, 6);
  EXPECT_TRUE(spectral.converged);
  EXPECT_NEAR(spectral.value, max_abs_eigenvalue(a), 1e-9 * spectral.value);
  const Tensor<double> eigenvalues = eigvalsh(a);
  EXPECT_NEAR(spectral.lambda_min, eigenvalues.data()[0], 1e-9 * spectral.value);
  EXPECT_NEAR(spectral.lambda_max, eigenvalues.data()[5], 1e-9 * spectral.value);
}

// Lanczos on Hessian-vector products finds the dense Hessian's extreme eigenvalues, for the
// model Hessian at one input and for the loss Hessian.
TEST(Hessian, LanczosMatchesTheDenseHessian) {
  const Mlp<double> mlp = small_network();
  const Tensor<double> w = mlp.init(5);
  Rng rng(6);
  const Tensor<double> x = rng.normal<double>({4, 3});
  const Tensor<double> y = rng.normal<double>({4, 1});
  for (const auto& [name, f] : {std::pair{"model", model_output(mlp, x.select(0, 1))},
                                std::pair{"loss", square_loss_of(mlp, x, y)}}) {
    SCOPED_TRACE(name);
    const Tensor<double> dense = dense_hessian(f, w);
    ASSERT_EQ(dense.shape(), (Shape{mlp.parameter_count(), mlp.parameter_count()}));
    const SpectralNorm spectral = spectral_norm(hessian_operator(f, w), mlp.parameter_count());
    EXPECT_TRUE(spectral.converged);
    EXPECT_NEAR(spectral.value, max_abs_eigenvalue(dense), 1e-8 * spectral.value);
    const Tensor<double> values = eigvalsh(dense);
    EXPECT_NEAR(spectral.lambda_min, values.data()[0], 1e-8 * spectral.value);
    EXPECT_NEAR(spectral.lambda_max, values.data()[values.numel() - 1], 1e-8 * spectral.value);
  }
}

// THEORY.md: H_L(w) = DF^T DF + sum_i (f_i - y_i) H_f(w; x_i), with k outputs summed too.
TEST(Hessian, LossHessianIsGaussNewtonPlusResidualTerms) {
  const Mlp<double> mlp = small_network(2);
  const Tensor<double> w = mlp.init(8);
  Rng rng(9);
  const Tensor<double> x = rng.normal<double>({3, 3});
  const Tensor<double> y = rng.normal<double>({3, 2});
  const Tensor<double> jacobian =
      jacobian_reverse<double>([&](const Var<double>& p) { return mlp.forward(p, Var<double>(x)); },
                               Var<double>(w))
          .value()
          .reshape({6, mlp.parameter_count()});
  Tensor<double> expected = matmul(jacobian.t(), jacobian);
  const Tensor<double> residuals = (mlp.predict(w, x) - y).contiguous();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t o = 0; o < 2; ++o)
      expected +=
          dense_hessian(model_output(mlp, x.select(0, i), o), w) * residuals.data()[i * 2 + o];
  const Tensor<double> loss_hessian = dense_hessian(square_loss_of(mlp, x, y), w);
  EXPECT_LT(norm(loss_hessian - expected), 1e-10 * norm(expected));
}

// Hutchinson's estimate is unbiased: on a diagonal operator with a known trace it lands within
// a few standard errors, and on a network's Hessian within a few standard errors of the dense
// trace.
TEST(Hessian, HutchinsonTrace) {
  const Mlp<double> mlp = small_network();
  const Tensor<double> w = mlp.init(2);
  const Tensor<double> x = Rng(4).normal<double>({3});
  const UnaryFunction<double> f = model_output(mlp, x);
  const Tensor<double> dense = dense_hessian(f, w);
  double trace = 0;
  for (int64_t i = 0; i < dense.shape()[0]; ++i) trace += dense.data()[i * (dense.shape()[0] + 1)];
  const TraceEstimate estimate =
      hutchinson_trace(hessian_operator(f, w), mlp.parameter_count(), 400, 11);
  EXPECT_GT(estimate.standard_error, 0);
  EXPECT_NEAR(estimate.value, trace, 4 * estimate.standard_error);

  // Rademacher probes see a diagonal exactly: z^T D z = tr D for every z.
  const Tensor<double> diagonal = Rng(5).normal<double>({50});
  const LinearOperator<double> scale = [&](const Tensor<double>& v, Tensor<double>& out) {
    out = v * diagonal;
  };
  const TraceEstimate exact = hutchinson_trace(scale, 50, 10);
  EXPECT_NEAR(exact.value, sum(diagonal), 1e-12);
  EXPECT_NEAR(exact.standard_error, 0, 1e-12);
}

TEST(Hessian, BadInputIsNamed) {
  const Mlp<double> mlp = small_network();
  EXPECT_NE(error_of([&] { model_output(mlp, Tensor<double>::zeros({4})); }).find("takes 3 values"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              model_output(mlp, Tensor<double>::zeros({3}), 1);
            }).find("output 1 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              square_loss_of(mlp, Tensor<double>::zeros({4, 3}), Tensor<double>::zeros({5, 1}));
            }).find("do not fit"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              hessian_operator<double>([](const Var<double>& p) { return sum(p); },
                                       Tensor<double>::zeros({2, 2}));
            }).find("must be 1-d"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              hutchinson_trace<double>([](const Tensor<double>&, Tensor<double>&) {}, 3, 1);
            }).find("at least 2 samples"),
            std::string::npos);
}

// kernel_extremes reads the ends of the spectrum of a matrix with known eigenvalues.
TEST(KernelTracking, ExtremesOfAKnownSpectrum) {
  const Tensor<double> g = Rng(1).normal<double>({5, 5});
  const Tensor<double> q = eigh(g + g.t()).eigenvectors;  // orthogonal
  const Tensor<double> spectrum = Tensor<double>::from_vector({0.25, 1.0, 2.0, 3.0, 7.5});
  const Tensor<double> kernel = matmul(q * spectrum.reshape({1, 5}), q.t());
  const KernelExtremes extremes = kernel_extremes(kernel);
  EXPECT_NEAR(extremes.lambda_min, 0.25, 1e-12);
  EXPECT_NEAR(extremes.lambda_max, 7.5, 1e-12);
}

// The tracker records the kernel's extremes at every observed step, and they are those of the
// tangent kernel at the parameters of that step.
TEST(KernelTracking, RecordsEveryObservedStep) {
  const Mlp<double> mlp = small_network();
  Tensor<double> w = mlp.init(3);
  const Tensor<double> w0 = w.clone();
  Rng rng(4);
  const Tensor<double> x = rng.normal<double>({4, 3});
  const Tensor<double> y = rng.normal<double>({4, 1});
  std::vector<KernelRecord> records;
  Sgd<double> sgd(constant_schedule(0.05));
  const BatchLoss<double> loss = [&](const Var<double>& p, const std::vector<int64_t>&) {
    return square_loss(mlp.forward(p, Var<double>(x)), y);
  };
  const TrainResult result =
      train(loss, w, sgd, {.samples = 4, .max_steps = 7, .observe_every = 3, .progress_seconds = 0},
            {track_kernel(mlp, x, records)});
  ASSERT_EQ(records.size(), 3u);  // steps 0, 3, 6
  EXPECT_EQ(records[1].step, 3);
  EXPECT_EQ(records[1].loss, result.losses[3]);
  const KernelExtremes initial = kernel_extremes(tangent_kernel(mlp, w0, x));
  EXPECT_EQ(records[0].lambda_min, initial.lambda_min);
  EXPECT_EQ(records[0].lambda_max, initial.lambda_max);
  EXPECT_GT(records[0].lambda_min, 0);
}

// f_lin is exact for a model linear in its parameters, and for a network it differs from f by
// O(||w - w0||^2): halving the displacement quarters the gap.
TEST(KernelTracking, LinearizedModel) {
  const Tensor<double> x = Rng(7).normal<double>({5, 3});
  const Mlp<double> linear({.inputs = 3, .hidden = {}, .outputs = 2});
  const Tensor<double> w0 = linear.init(1);
  const Tensor<double> w = w0 + Rng(2).normal<double>({linear.parameter_count()});
  const UnaryFunction<double> outputs_of_linear = [&](const Var<double>& p) {
    return linear.forward(p, Var<double>(x));
  };
  EXPECT_LT(norm(linearized_outputs(outputs_of_linear, w0, w) - linear.predict(w, x)), 1e-12);

  const Mlp<double> mlp = small_network();
  const Tensor<double> v0 = mlp.init(2);
  const Tensor<double> direction = Rng(3).normal<double>({mlp.parameter_count()}) * 0.1;
  const UnaryFunction<double> outputs = [&](const Var<double>& p) {
    return mlp.forward(p, Var<double>(x));
  };
  const auto gap = [&](double t) {
    const Tensor<double> v = v0 + direction * t;
    return norm(linearized_outputs(outputs, v0, v) - mlp.predict(v, x));
  };
  EXPECT_LT(norm(linearized_outputs(outputs, v0, v0) - mlp.predict(v0, x)), 1e-14);
  EXPECT_NEAR(gap(0.5) / gap(1.0), 0.25, 0.03);
  EXPECT_NEAR(gap(0.25) / gap(0.5), 0.25, 0.02);
}

}  // namespace
}  // namespace lamppost
