#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>

#include "autodiff/check.h"
#include "autodiff/ops.h"
#include "models/loss.h"
#include "models/mlp.h"
#include "models/parameters.h"
#include "models/save.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

constexpr Activation kActivations[] = {
    Activation::relu,     Activation::tanh,    Activation::erf,     Activation::gelu,
    Activation::softplus, Activation::sigmoid, Activation::identity};

TEST(ParameterLayout, ViewsShareTheFlatVector) {
  ParameterLayout layout;
  layout.add("w", {2, 3});
  layout.add("b", {3});
  EXPECT_EQ(layout.size(), 9);
  EXPECT_EQ(layout.block("b").offset, 6);
  Tensor<double> flat = Tensor<double>::arange(0, 9);
  Tensor<double> w = layout.view(flat, "w");
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.at({1, 0}), 3.0);
  w.fill(-1);  // writes reach the flat vector
  EXPECT_EQ(flat.at({5}), -1.0);
  EXPECT_EQ(flat.at({6}), 6.0);
  // The differentiable view: the gradient lands in the block's place.
  const Var<double> g = grad<double>(
      [&](const Var<double>& p) { return sum(layout.view(p, "b") * 2.0); })(Var<double>(flat));
  EXPECT_EQ(g.value().to_vector(), (std::vector<double>{0, 0, 0, 0, 0, 0, 2, 2, 2}));

  EXPECT_EQ(error_of([&] { layout.add("w", {1}); }),
            "[ParameterLayout] a block named 'w' exists already");
  EXPECT_EQ(error_of([&] { layout.block("v"); }), "[ParameterLayout] no block named 'v'");
  EXPECT_EQ(error_of([&] { layout.view(Tensor<double>::zeros({8}), "w"); }),
            "[ParameterLayout] the parameter vector has shape (8,), but the layout needs (9,)");
}

TEST(Mlp, LayoutFollowsTheWidths) {
  const Mlp<double> mlp({.inputs = 3, .hidden = {5, 4}, .outputs = 2});
  EXPECT_EQ(mlp.parameter_count(), 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2);
  EXPECT_EQ(mlp.layout().block("layer2.weight").shape, (Shape{5, 4}));
  EXPECT_EQ(mlp.layout().block("layer3.bias").offset, mlp.parameter_count() - 2);
  const Mlp<double> no_bias({.inputs = 3, .hidden = {5}, .biases = false});
  EXPECT_EQ(no_bias.parameter_count(), 3 * 5 + 5 * 1);
  const Mlp<double> linear_model({.inputs = 3, .hidden = {}, .outputs = 1});
  EXPECT_EQ(linear_model.parameter_count(), 4);
}

TEST(Mlp, BadSettingsAreNamed) {
  EXPECT_EQ(error_of([] { Mlp<double>({.inputs = 0, .hidden = {}}); }),
            "[Mlp] inputs must be positive, got 0");
  EXPECT_EQ(error_of([] {
              Mlp<double>({.inputs = 2, .hidden = {4, 0}});
            }),
            "[Mlp] hidden layer 2 has width 0; widths must be positive");
  EXPECT_EQ(error_of([] { Mlp<double>({.inputs = 2, .hidden = {}, .outputs = -1}); }),
            "[Mlp] outputs must be positive, got -1");
  EXPECT_EQ(error_of([] { Mlp<double>({.inputs = 2, .hidden = {}, .sigma_w = 0}); }),
            "[Mlp] sigma_w must be positive and finite, got 0");
  EXPECT_EQ(error_of([] { Mlp<double>({.inputs = 2, .hidden = {}, .sigma_b = -1}); }),
            "[Mlp] sigma_b must be non-negative and finite, got -1");
  const Mlp<double> mlp({.inputs = 3, .hidden = {4}});
  EXPECT_EQ(error_of([&] {
              mlp.predict(mlp.init(1), Tensor<double>::zeros({2, 4}));
            }),
            "[Mlp] inputs have shape (2, 4), but the network takes [n, 3]");
  EXPECT_EQ(error_of([] { parse_activation("swish"); }),
            "[activation] unknown value 'swish' (choose one of relu, tanh, erf, gelu, softplus, "
            "sigmoid, identity)");
  for (Activation a : kActivations) EXPECT_EQ(parse_activation(to_string(a)), a);
  EXPECT_EQ(parse_parameterization("standard"), Parameterization::standard);
}

// Gradients in the parameters and in the inputs against central differences, for depths 1 to 4,
// every activation, both parameterizations, with and without a non-linear output.
TEST(Mlp, GradientsMatchFiniteDifferences) {
  Rng rng(3);
  const Tensor<double> x = rng.normal<double>({4, 3});
  for (int depth = 1; depth <= 4; ++depth) {
    for (Activation activation : kActivations) {
      for (Parameterization parameterization :
           {Parameterization::ntk, Parameterization::standard}) {
        MlpConfig config{.inputs = 3,
                         .hidden = std::vector<int64_t>(static_cast<size_t>(depth), 5),
                         .outputs = 2,
                         .activation = activation,
                         .parameterization = parameterization,
                         .sigma_w = 1.3,
                         .sigma_b = 0.4,
                         .nonlinear_output = depth == 2};
        const Mlp<double> mlp(config);
        SCOPED_TRACE(fmt::format("depth {} {} {}", depth, to_string(activation),
                                 to_string(parameterization)));
        const Tensor<double> w = mlp.init(static_cast<uint64_t>(depth));
        const Tensor<double> u = rng.normal<double>({4, 2});
        const auto in_params = [&](const Var<double>& p) {
          return sum(mlp.forward(p, Var<double>(x)) * Var<double>(u));
        };
        const auto in_inputs = [&](const Var<double>& v) {
          return sum(mlp.forward(Var<double>(w), v) * Var<double>(u));
        };
        const CheckResult params = check_grad<double>(in_params, w);
        EXPECT_TRUE(params.passed) << params.message;
        const CheckResult inputs = check_grad<double>(in_inputs, x);
        EXPECT_TRUE(inputs.passed) << inputs.message;
      }
    }
  }
}

TEST(Mlp, BothParameterizationsStartAsOneFunction) {
  MlpConfig config{.inputs = 6,
                   .hidden = {32, 16},
                   .outputs = 3,
                   .activation = Activation::tanh,
                   .sigma_w = 1.5,
                   .sigma_b = 0.3};
  const Mlp<double> ntk(config);
  config.parameterization = Parameterization::standard;
  const Mlp<double> standard(config);
  const Tensor<double> x = Rng(5).normal<double>({7, 6});
  const auto a = ntk.predict(ntk.init(11), x).to_vector();
  const auto b = standard.predict(standard.init(11), x).to_vector();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12 * (1 + std::abs(a[i])));
  // Seeded: the same seed gives the same parameters, another seed others.
  EXPECT_EQ(ntk.init(11).to_vector(), ntk.init(11).to_vector());
  EXPECT_NE(ntk.init(11).to_vector(), ntk.init(12).to_vector());
}

// Sigma^{L+1}(x, x) of THEORY.md: q_1 = sigma_w^2 |x|^2 / d_0 + sigma_b^2,
// q_{l+1} = sigma_w^2 E[phi(u)^2]_{u ~ N(0, q_l)} + sigma_b^2, with the closed forms
// E[relu(u)^2] = q / 2 and E[erf(u)^2] = (2 / pi) asin(2q / (1 + 2q)).
double nngp_variance(Activation activation, int depth, double sigma_w, double sigma_b,
                     double x_norm2, int64_t d0) {
  double q = sigma_w * sigma_w * x_norm2 / static_cast<double>(d0) + sigma_b * sigma_b;
  for (int l = 0; l < depth; ++l) {
    const double second_moment = activation == Activation::relu
                                     ? q / 2
                                     : 2 / std::numbers::pi * std::asin(2 * q / (1 + 2 * q));
    q = sigma_w * sigma_w * second_moment + sigma_b * sigma_b;
  }
  return q;
}

// At width 2048 the output variance over initialisations matches the infinite-width value. The
// 256 outputs of one network are independent given its last hidden layer, whose kernel
// concentrates at this width, so 16 seeds x 256 outputs give 4096 near-independent draws: a
// sampling error of sqrt(2 / 4096) = 2.2%, and the kernel's fluctuation over 16 networks adds
// about as much. 10% is over three standard errors; a wrong scale or recursion misses by more.
TEST(Mlp, OutputVarianceAtInitialisationMatchesTheNngp) {
  const Tensor<double> x = Rng(9).normal<double>({1, 8});
  const double x_norm2 = lamppost::dot(x.reshape({8}), x.reshape({8}));
  for (Activation activation : {Activation::relu, Activation::erf}) {
    for (int depth : {1, 2}) {
      const double sigma_w = activation == Activation::relu ? std::sqrt(2.0) : 1.5;
      const double sigma_b = 0.2;
      const Mlp<double> mlp({.inputs = 8,
                             .hidden = std::vector<int64_t>(static_cast<size_t>(depth), 2048),
                             .outputs = 256,
                             .activation = activation,
                             .sigma_w = sigma_w,
                             .sigma_b = sigma_b});
      double sum2 = 0;
      int64_t count = 0;
      for (uint64_t seed = 0; seed < 16; ++seed) {
        for (double f : mlp.predict(mlp.init(seed), x).to_vector()) {
          sum2 += f * f;
          ++count;
        }
      }
      const double measured = sum2 / static_cast<double>(count);  // the mean is 0
      const double expected = nngp_variance(activation, depth, sigma_w, sigma_b, x_norm2, 8);
      EXPECT_NEAR(measured / expected, 1.0, 0.10)
          << "ratio " << measured / expected << to_string(activation) << " depth " << depth << ": "
          << measured << " vs " << expected;
    }
  }
}

TEST(Losses, ClosedForms) {
  const Tensor<double> y = Tensor<double>::from_vector({1, 2, 3, 4}, {2, 2});
  const Var<double> f(Tensor<double>::from_vector({1.5, 2, 2, 4}, {2, 2}));
  EXPECT_DOUBLE_EQ(square_loss(f, y).item(), 0.5 * (0.25 + 1.0));
  // The gradient of 1/2 ||f - y||^2 is f - y.
  const Var<double> g = grad<double>([&](const Var<double>& p) { return square_loss(p, y); })(f);
  EXPECT_EQ(g.value().to_vector(), (std::vector<double>{0.5, 0, -1, 0}));

  const Var<double> logits(Tensor<double>::from_vector({0, 0, std::log(3.0), 0}, {2, 2}));
  // Row 0: softmax (1/2, 1/2), label 1; row 1: (3/4, 1/4), label 0.
  EXPECT_NEAR(cross_entropy_loss(logits, {1, 0}).item(), (std::log(2.0) - std::log(0.75)) / 2,
              1e-15);

  const Tensor<double> scores = Tensor<double>::from_vector({0.1, 0.9, 0.8, 0.2, 0.5, 0.5}, {3, 2});
  EXPECT_DOUBLE_EQ(zero_one_error(scores, {1, 1, 0}), 1.0 / 3);  // the tie goes to class 0
  const Tensor<double> signs = Tensor<double>::from_vector({0.3, -2, 0, 1}, {4, 1});
  EXPECT_DOUBLE_EQ(zero_one_error(signs, {1, -1, 1, -1}), 0.5);  // 0 counts as wrong

  EXPECT_EQ(error_of([&] { square_loss(f, Tensor<double>::zeros({4})); }),
            "[square_loss] prediction (2, 2) and target (4,) differ");
  EXPECT_EQ(error_of([&] {
              cross_entropy_loss(logits, {0, 2});
            }),
            "[cross_entropy_loss] label 2 of row 1 is outside [0, 2)");
  EXPECT_EQ(error_of([&] {
              zero_one_error(scores, {0, 1});
            }),
            "[zero_one_error] 2 labels for outputs of shape (3, 2)");
  EXPECT_EQ(error_of([&] {
              zero_one_error(signs, {1, 0, 1, 1});
            }),
            "[zero_one_error] label 0 of row 1 is not +-1 (a scalar output is read by its sign)");
}

class SaveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        fmt::format("lamppost_models_test_{}", ::testing::UnitTest::GetInstance()->random_seed());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST_F(SaveTest, RoundTripsBitForBit) {
  const MlpConfig config{.inputs = 3,
                         .hidden = {5, 4},
                         .outputs = 2,
                         .activation = Activation::gelu,
                         .parameterization = Parameterization::standard,
                         .sigma_w = 1.1,
                         .sigma_b = 0.3,
                         .nonlinear_output = true};
  const Mlp<double> mlp(config);
  const Tensor<double> w = mlp.init(4);
  save_model(dir_ / "m.model", mlp, w);
  const SavedModel<double> back = load_model<double>(dir_ / "m.model");
  EXPECT_EQ(back.mlp.config(), config);  // sigma_w 1.1 survives exactly (hexadecimal)
  EXPECT_EQ(back.params.to_vector(), w.to_vector());
  const Tensor<double> x = Rng(2).normal<double>({3, 3});
  EXPECT_EQ(back.mlp.predict(back.params, x).to_vector(), mlp.predict(w, x).to_vector());

  // The other precision: converted on load.
  const SavedModel<float> as_float = load_model<float>(dir_ / "m.model");
  EXPECT_EQ(as_float.params.to_vector(), w.cast<float>().to_vector());
  const Mlp<float> small({.inputs = 2, .hidden = {3}, .biases = false});
  save_model(dir_ / "f.model", small, small.init(1));
  EXPECT_EQ(load_model<double>(dir_ / "f.model").params.to_vector(),
            small.init(1).cast<double>().to_vector());

  EXPECT_EQ(error_of([&] { save_model(dir_ / "m.model", mlp, Tensor<double>::zeros({3})); }),
            fmt::format("[save_model] parameters of shape (3,) for a network of {} parameters",
                        mlp.parameter_count()));
  const auto missing = dir_ / "no" / "m.model";
  EXPECT_EQ(error_of([&] { save_model(missing, mlp, w); }),
            fmt::format("[save_model] '{}': cannot create a temporary file beside it: No such file "
                        "or directory",
                        missing.string()));
}

TEST_F(SaveTest, RefusesCorruptFilesNamingFileAndReason) {
  const Mlp<double> mlp({.inputs = 2, .hidden = {3}, .outputs = 1});
  save_model(dir_ / "good.model", mlp, mlp.init(1));
  const std::string good = read_text(dir_ / "good.model");
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not a lamppost model (the first line is not 'lamppost model 1')"},
      {"lamppost model 2\n" + good.substr(17),
       "not a lamppost model (the first line is not 'lamppost model 1')"},
      {good.substr(0, 60), "the header has no 'data' line (truncated?)"},
      {replaced("kind mlp", "kind cnn"), "unknown kind of model 'cnn'"},
      {replaced("type float64", "type int8"), "unknown type 'int8' (float32 or float64)"},
      {replaced("outputs 1\n", ""), "the header lacks 'outputs'"},
      {replaced("outputs 1\n", "outputs 1\noutputs 1\n"), "key 'outputs' appears twice"},
      {replaced("outputs 1\n", "outputs 1\ncolor red\n"), "unknown key 'color' in the header"},
      {replaced("outputs 1\n", "outputs one\n"), "'outputs' has the value 'one', not a number"},
      {replaced("hidden 3", "hidden 3,4"), "'hidden' has the value '3,4', not numbers"},
      {replaced("sigma_w 0x1p+0", "sigma_w 1.0"),
       "'sigma_w' has the value '1.0', not a hexadecimal real"},
      {replaced("biases 1", "biases 2"), "'biases' is 2, not 0 or 1"},
      {replaced("activation relu", "activation swish"),
       "the network it describes is invalid: [activation] unknown value 'swish'"},
      {replaced("hidden 3", "hidden 0"),
       "the network it describes is invalid: [Mlp] hidden layer 1 has width 0"},
      {replaced("parameters 13", "parameters 12"),
       "it holds 12 parameters, but its network has 13"},
      {good.substr(0, good.size() - 8),
       "the data are truncated: 13 float64 parameters need 104 bytes, the file holds 96"},
      {good + "x",
       "trailing bytes after the data: 13 float64 parameters need 104 bytes, the "
       "file holds 105"},
  };
  int index = 0;
  for (const auto& [text, reason] : cases) {
    const auto path = dir_ / fmt::format("bad_{}.model", index++);
    write_text(path, text);
    const std::string expected = fmt::format("[load_model] '{}': {}", path.string(), reason);
    const std::string message = error_of([&] { load_model<double>(path); });
    EXPECT_EQ(message.substr(0, expected.size()), expected);
  }
  EXPECT_EQ(error_of([&] { load_model<double>(dir_ / "absent.model"); }),
            fmt::format("[load_model] '{}': cannot open it: No such file or directory",
                        (dir_ / "absent.model").string()));
}

}  // namespace
}  // namespace lamppost
