// The table-driven test of every primitive (each row its own input domain and tolerances),
// then the transforms: nesting, forward over reverse, deep chains, memory, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <memory>

#include "autodiff/check.h"
#include "autodiff/ops.h"
#include "autodiff/transforms.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

// Where a row's inputs are drawn: uniform on [low, high], and with `signs`, negated at random
// (so |x| >= low keeps kinks like abs and relu out of the finite differences' reach).
struct Domain {
  double low = -2;
  double high = 2;
  bool signs = false;
};

template <Real T>
struct Row {
  Row(std::string row_name, std::vector<Shape> input_shapes,
      std::function<Var<T>(const std::vector<Var<T>>&)> function,
      std::vector<Domain> input_domains = {Domain{}})
      : name(std::move(row_name)),
        shapes(std::move(input_shapes)),
        f(std::move(function)),
        domains(std::move(input_domains)) {}
  std::string name;
  std::vector<Shape> shapes;
  std::function<Var<T>(const std::vector<Var<T>>&)> f;
  std::vector<Domain> domains;  // one per input, or one for all
};

template <Real T>
std::vector<Row<T>> rows() {
  using V = std::vector<Var<T>>;
  const Domain positive{0.3, 2.0};
  const Domain away_from_zero{0.2, 2.0, true};
  const Domain near_zero{-0.1, 0.1};
  const Tensor<T> mask = Tensor<T>::from_vector({1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1}, {3, 4});
  return {
      {"add_broadcast", {{3, 4}, {4}}, [](const V& x) { return add(x[0], x[1]); }},
      {"sub_broadcast", {{3, 1}, {1, 4}}, [](const V& x) { return sub(x[0], x[1]); }},
      {"mul", {{2, 3}, {2, 3}}, [](const V& x) { return mul(x[0], x[1]); }},
      {"mul_scalar_broadcast", {{2, 3}, {}}, [](const V& x) { return mul(x[0], x[1]); }},
      {"div", {{2, 3}, {2, 3}}, [](const V& x) { return div(x[0], x[1]); }, {Domain{}, positive}},
      {"pow", {{2, 3}, {2, 3}}, [](const V& x) { return pow(x[0], x[1]); }, {positive}},
      // |a| >= 0.2 > |b|: each operand wins somewhere, and no difference step reaches a tie.
      {"maximum",
       {{2, 3}, {2, 3}},
       [](const V& x) { return maximum(x[0], x[1]); },
       {away_from_zero, near_zero}},
      {"minimum",
       {{3}, {2, 3}},
       [](const V& x) { return minimum(x[0], x[1]); },
       {away_from_zero, near_zero}},
      {"where", {{3, 4}, {4}}, [mask](const V& x) { return where(mask, x[0], x[1]); }},
      {"neg", {{5}}, [](const V& x) { return neg(x[0]); }},
      {"abs", {{5}}, [](const V& x) { return abs(x[0]); }, {away_from_zero}},
      {"exp", {{2, 3}}, [](const V& x) { return exp(x[0]); }},
      {"log", {{2, 3}}, [](const V& x) { return log(x[0]); }, {positive}},
      {"sqrt", {{2, 3}}, [](const V& x) { return sqrt(x[0]); }, {positive}},
      {"tanh", {{2, 3}}, [](const V& x) { return tanh(x[0]); }},
      {"erf", {{2, 3}}, [](const V& x) { return erf(x[0]); }},
      {"sigmoid", {{2, 3}}, [](const V& x) { return sigmoid(x[0]); }},
      {"relu", {{2, 3}}, [](const V& x) { return relu(x[0]); }, {away_from_zero}},
      {"softplus", {{2, 3}}, [](const V& x) { return softplus(x[0]); }},
      {"gelu", {{2, 3}}, [](const V& x) { return gelu(x[0]); }},
      {"sin", {{2, 3}}, [](const V& x) { return sin(x[0]); }},
      {"cos", {{2, 3}}, [](const V& x) { return cos(x[0]); }},
      {"square", {{2, 3}}, [](const V& x) { return square(x[0]); }},
      {"pow_scalar", {{2, 3}}, [](const V& x) { return pow(x[0], T(2.5)); }, {positive}},
      {"sum_all", {{2, 3, 4}}, [](const V& x) { return sum(x[0]); }},
      {"sum_axes_keepdims",
       {{2, 3, 4}},
       [](const V& x) {
         return sum(x[0], {0, 2}, true);
       }},
      {"mean_axis", {{2, 3, 4}}, [](const V& x) { return mean(x[0], {-1}); }},
      {"max_axis", {{3, 4}}, [](const V& x) { return max(x[0], 1); }},
      {"min_axis_keepdims", {{3, 4}}, [](const V& x) { return min(x[0], 0, true); }},
      {"reshape",
       {{2, 6}},
       [](const V& x) {
         return reshape(x[0], {3, -1});
       }},
      {"permute",
       {{2, 3, 4}},
       [](const V& x) {
         return permute(x[0], {2, 0, 1});
       }},
      {"transpose", {{3, 4}}, [](const V& x) { return transpose(x[0]); }},
      {"broadcast_to",
       {{3, 1}},
       [](const V& x) {
         return broadcast_to(x[0], {2, 3, 4});
       }},
      {"sum_to",
       {{2, 3, 4}},
       [](const V& x) {
         return sum_to(x[0], {3, 1});
       }},
      {"slice_step", {{4, 5}}, [](const V& x) { return slice(x[0], 1, 1, 5, 2); }},
      {"embed_tiling",
       {{3, 2}, {2, 2}},
       [](const V& x) {
         return embed<T>({5, 2}, {{0, 2, 5, 1}, {0, 0, 2, 1}}, {x[0], x[1]});
       }},
      // Slices that cut one vector into consecutive parts: their cotangents are copied into
      // one buffer with no zeros written first.
      {"slices_tiling_one_vector",
       {{9}},
       [](const V& x) {
         return matmul(reshape(slice(x[0], 0, 0, 6), {2, 3}),
                       reshape(slice(x[0], 0, 6, 9), {3, 1}));
       }},
      {"embed_overlapping",
       {{2, 3}, {4, 1}},
       [](const V& x) {
         return embed<T>({4, 3}, {{0, 0, 2, 1}, {1, 1, 2, 1}}, {x[0], x[1]});
       }},
      // Overlapping slices of one vector, as a model slices its layers out of one parameter
      // vector: their cotangents are summed into pieces of one buffer.
      {"slices_of_one_vector",
       {{10}},
       [](const V& x) {
         return concat(V{mul(slice(x[0], 0, 0, 4), slice(x[0], 0, 6, 10)), slice(x[0], 0, 3, 10, 2),
                         slice(x[0], 0, 0, 4)},
                       0);
       }},
      {"concat",
       {{2, 3}, {2, 2}},
       [](const V& x) {
         return concat(V{x[0], x[1]}, 1);
       }},
      {"gather_rows",
       {{4, 3}},
       [](const V& x) {
         return gather_rows(x[0], {3, 0, 3, 1});
       }},
      {"matmul", {{3, 4}, {4, 2}}, [](const V& x) { return matmul(x[0], x[1]); }},
      {"matmul_batched", {{2, 3, 4}, {2, 4, 2}}, [](const V& x) { return matmul(x[0], x[1]); }},
      {"matmul_batched_shared_b",
       {{2, 3, 4}, {4, 2}},
       [](const V& x) { return matmul(x[0], x[1]); }},
      {"matmul_batched_shared_a",
       {{3, 4}, {2, 4, 2}},
       [](const V& x) { return matmul(x[0], x[1]); }},
      {"matmul_transposed_view",
       {{4, 3}, {4, 2}},
       [](const V& x) { return matmul(transpose(x[0]), x[1]); }},
      // Products of x with itself have non-zero Hessians, so the hvp checks reach the rules of
      // the transposed products that matmul's own rules make.
      {"matmul_gram", {{3, 4}}, [](const V& x) { return matmul(x[0], transpose(x[0])); }},
      {"matmul_gram_transposed",
       {{3, 4}},
       [](const V& x) { return matmul(transpose(x[0]), x[0]); }},
      {"matmul_batched_gram",
       {{2, 3, 4}},
       [](const V& x) { return matmul(transpose(x[0], 1, 2), x[0]); }},
      {"matmul_batched_times_shared",
       {{2, 3, 3}},
       [](const V& x) {
         return matmul(x[0], reshape(slice(x[0], 0, 0, 1), {3, 3}));
       }},
      {"logsumexp", {{3, 4}}, [](const V& x) { return logsumexp(x[0], 1); }},
      {"softmax", {{3, 4}}, [](const V& x) { return softmax(x[0], 0); }},
      {"log_softmax", {{3, 4}}, [](const V& x) { return log_softmax(x[0]); }},
      {"cross_entropy",
       {{3, 4}},
       [](const V& x) {
         return cross_entropy(x[0],
                              Tensor<T>::from_vector({0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0}, {3, 4}));
       }},
      {"mse", {{2, 3}, {2, 3}}, [](const V& x) { return mse(x[0], x[1]); }},
      {"linear", {{3, 4}, {4, 2}, {2}}, [](const V& x) { return linear(x[0], x[1], x[2]); }},
      {"linear_of_itself", {{3, 3}, {3}}, [](const V& x) { return linear(x[0], x[0], x[1]); }},
      {"linear_batched",
       {{2, 3, 4}, {4, 2}, {2}},
       [](const V& x) { return linear(x[0], x[1], x[2]); }},
  };
}

template <Real T>
Tensor<T> draw(const Shape& shape, const Domain& domain, Rng& rng) {
  Tensor<T> x = rng.uniform<T>(shape, T(domain.low), T(domain.high));
  if (domain.signs) {
    const Tensor<T> flip = lamppost::less(rng.uniform<T>(shape), T(0.5));
    x = lamppost::where(flip, lamppost::neg(x), x);
  }
  return x;
}

template <Real T>
std::vector<Tensor<T>> draw_inputs(const Row<T>& row, Rng& rng) {
  std::vector<Tensor<T>> inputs;
  for (size_t i = 0; i < row.shapes.size(); ++i) {
    inputs.push_back(draw<T>(row.shapes[i], row.domains[row.domains.size() == 1 ? 0 : i], rng));
  }
  return inputs;
}

// The row's function of input i alone, the others held fixed.
template <Real T>
UnaryFunction<T> of_input(const Row<T>& row, const std::vector<Tensor<T>>& inputs, size_t i) {
  return [&row, inputs, i](const Var<T>& x) {
    std::vector<Var<T>> args(inputs.begin(), inputs.end());
    args[i] = x;
    return row.f(args);
  };
}

template <Real T>
T inner(const Tensor<T>& a, const Tensor<T>& b) {
  return lamppost::dot(a.contiguous(), b.contiguous());
}

// A seed per row, so a row's inputs do not change when rows are added or reordered.
uint64_t seed_of(const std::string& name) {
  return std::hash<std::string>{}(name);
}

template <Real T>
void check_row(const Row<T>& row, const CheckOptions& options, bool with_hessian) {
  Rng rng(seed_of(row.name));
  const auto inputs = draw_inputs(row, rng);
  const Tensor<T> output = row.f(std::vector<Var<T>>(inputs.begin(), inputs.end())).value();
  const Tensor<T> u = rng.normal<T>(output.shape());  // a random cotangent
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(fmt::format("{} input {}", row.name, i));
    const auto f = of_input(row, inputs, i);
    const Tensor<T> v = rng.normal<T>(inputs[i].shape());

    const CheckResult vjp_check = check_vjp<T>(f, inputs[i], u, options);
    EXPECT_TRUE(vjp_check.passed) << vjp_check.message;
    const CheckResult jvp_check = check_jvp<T>(f, inputs[i], v, options);
    EXPECT_TRUE(jvp_check.passed) << jvp_check.message;

    // The adjoint identity <u, J v> = <J^T u, v> ties the two rules together.
    const auto [y, pullback] =
        vjp<T>([&](const std::vector<Var<T>>& a) { return f(a[0]); }, {Var<T>(inputs[i])});
    const T lhs = inner(u, jvp<T>([&](const std::vector<Var<T>>& a) { return f(a[0]); },
                                  {Var<T>(inputs[i])}, {Var<T>(v)})
                               .second.value());
    const T rhs = inner(pullback(Var<T>(u))[0].value(), v);
    EXPECT_NEAR(lhs, rhs, options.rel_tolerance * 10 * (1 + std::abs(lhs))) << "adjoint identity";

    if (!with_hessian) continue;
    // Hessian-vector products of the scalar <u, f(x)>, both ways.
    const UnaryFunction<T> scalar = [f, u](const Var<T>& x) { return sum(mul(f(x), u)); };
    CheckOptions hvp_options = options;
    hvp_options.abs_tolerance *= 100;
    hvp_options.rel_tolerance *= 100;
    for (bool reverse : {false, true}) {
      const CheckResult hvp_check = check_hvp<T>(scalar, inputs[i], v, hvp_options, reverse);
      EXPECT_TRUE(hvp_check.passed) << hvp_check.message;
    }
  }
}

TEST(PrimitiveTable, DoubleAgainstFiniteDifferences) {
  for (const auto& row : rows<double>()) {
    CheckOptions options;
    options.step = 1e-4;  // 4-point differences: truncation error O(h^4)
    options.abs_tolerance = 1e-7;
    options.rel_tolerance = 1e-7;
    check_row(row, options, true);
  }
}

TEST(PrimitiveTable, FloatAgainstFiniteDifferences) {
  for (const auto& row : rows<float>()) {
    CheckOptions options;
    options.step = 1e-2;  // float rounding needs a large step; 4-point keeps truncation small
    options.abs_tolerance = 2e-2;
    options.rel_tolerance = 2e-2;
    check_row(row, options, false);
  }
}

// The full Hessian from second differences of f alone (no gradient code involved), against
// hvp both ways, for a small function mixing several primitives.
TEST(Activations, SoftplusAndGeluValues) {
  const Var<double> x(Tensor<double>::from_vector({0.0, 50.0, -50.0, 1.0, -1.0}));
  const std::vector<double> sp = softplus(x).value().to_vector();
  EXPECT_DOUBLE_EQ(sp[0], std::log(2.0));
  EXPECT_DOUBLE_EQ(sp[1], 50.0);               // no overflow of e^50 on the way
  EXPECT_NEAR(sp[2], std::exp(-50.0), 1e-35);  // not rounded to 0
  EXPECT_DOUBLE_EQ(sp[3], std::log1p(std::exp(1.0)));
  const std::vector<double> g = gelu(x).value().to_vector();
  EXPECT_EQ(g[0], 0.0);
  EXPECT_DOUBLE_EQ(g[1], 50.0);
  EXPECT_NEAR(g[3], 0.8413447460685429, 1e-15);    // Phi(1)
  EXPECT_NEAR(g[4], -0.15865525393145707, 1e-15);  // -Phi(-1)
}

TEST(Hessian, MatchesSecondDifferencesOfTheFunction) {
  const UnaryFunction<double> f = [](const Var<double>& x) {
    const Var<double> w =
        Var<double>(Tensor<double>::from_vector({0.3, -1.2, 0.7, 2.0, -0.4, 0.9}, {3, 2}));
    return sum(tanh(matmul(reshape(x, {1, 3}), w))) + sum(exp(x) * sin(x));
  };
  const Tensor<double> x = Tensor<double>::from_vector({0.2, -0.5, 0.9});
  const double h = 1e-4;
  auto value = [&](double di, int i, double dj, int j) {
    Tensor<double> moved = x.clone();
    moved.data()[i] += di;
    moved.data()[j] += dj;
    NoTrace no_trace;
    return f(Var<double>(moved)).item();
  };
  Tensor<double> hessian({3, 3});
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      hessian.at({i, j}) =
          (value(h, i, h, j) - value(h, i, -h, j) - value(-h, i, h, j) + value(-h, i, -h, j)) /
          (4 * h * h);
    }
  }
  for (int k = 0; k < 3; ++k) {
    Tensor<double> v({3});
    v.data()[k] = 1;
    const auto forward = hvp<double>(f, Var<double>(x), Var<double>(v)).value();
    const auto reverse = hvp_reverse<double>(f, Var<double>(x), Var<double>(v)).value();
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(forward.at({i}), hessian.at({i, k}), 1e-6);
      EXPECT_NEAR(reverse.at({i}), hessian.at({i, k}), 1e-6);
    }
  }
}

TEST(Nesting, ThirdDerivativesMatchClosedForms) {
  const auto x2sin = [](const Var<double>& x) { return sum(square(x) * sin(x)); };
  const auto third = grad<double>(grad<double>(grad<double>(x2sin)));
  for (double x : {-1.3, 0.4, 2.1}) {
    const double expected = -x * x * std::cos(x) - 6 * x * std::sin(x) + 6 * std::cos(x);
    EXPECT_NEAR(third(Var<double>(Tensor<double>::scalar(x))).item(), expected, 1e-12);
  }
  const auto tanh3 =
      grad<double>(grad<double>(grad<double>([](const Var<double>& x) { return tanh(x); })));
  for (double x : {-0.8, 0.3}) {
    const double t = std::tanh(x);
    EXPECT_NEAR(tanh3(Var<double>(Tensor<double>::scalar(x))).item(), (1 - t * t) * (6 * t * t - 2),
                1e-12);
  }
}

TEST(Nesting, ForwardOverForwardAndForwardOverReverse) {
  const auto f = [](const Var<double>& x) { return exp(x * 2.0) * x; };  // f'' = 4e^{2x}(x + 1)
  const Var<double> one(Tensor<double>::scalar(1));
  const auto first = [&](const std::vector<Var<double>>& a) {
    return jvp<double>([&](const std::vector<Var<double>>& b) { return f(b[0]); }, {a[0]}, {one})
        .second;
  };
  const double x = 0.35;
  const auto second = jvp<double>(first, {Var<double>(Tensor<double>::scalar(x))}, {one}).second;
  EXPECT_NEAR(second.item(), 4 * std::exp(2 * x) * (x + 1), 1e-12);
  const auto via_grad =
      jvp<double>([&](const std::vector<Var<double>>& a) { return grad<double>(f)(a[0]); },
                  {Var<double>(Tensor<double>::scalar(x))}, {one});
  EXPECT_NEAR(via_grad.second.item(), 4 * std::exp(2 * x) * (x + 1), 1e-12);
}

// D(x -> x * D(y -> x + y)(1))(1) is 1; an implementation that confuses the two
// perturbations gives 2.
TEST(Nesting, NoPerturbationConfusion) {
  const Var<double> one(Tensor<double>::scalar(1));
  const auto outer = grad<double>([&](const Var<double>& x) {
    const auto inner = grad<double>([&](const Var<double>& y) { return x + y; });
    return x * inner(one);
  });
  EXPECT_DOUBLE_EQ(outer(one).item(), 1.0);
  // The same with the inner derivative taken at x itself.
  const auto outer_at_x = grad<double>([&](const Var<double>& x) {
    const auto inner = grad<double>([&](const Var<double>& y) { return x * y; });
    return inner(x);  // d/dy (x y) = x, whose derivative in x is 1
  });
  EXPECT_DOUBLE_EQ(outer_at_x(Var<double>(Tensor<double>::scalar(3))).item(), 1.0);
}

TEST(Transforms, GradWithRespectToChosenArguments) {
  const Function<double> f = [](const std::vector<Var<double>>& a) {
    return sum(a[0] * a[1] + square(a[2]));
  };
  const std::vector<Var<double>> args = {Var<double>(Tensor<double>::from_vector({1, 2})),
                                         Var<double>(Tensor<double>::from_vector({3, 4})),
                                         Var<double>(Tensor<double>::from_vector({5, 6}))};
  const auto [value, grads] = value_and_grad<double>(f, args, {2, 0});
  EXPECT_DOUBLE_EQ(value.item(), 1 * 3 + 2 * 4 + 25 + 36);
  ASSERT_EQ(grads.size(), 2u);
  EXPECT_EQ(grads[0].value().to_vector(), (std::vector<double>{10, 12}));
  EXPECT_EQ(grads[1].value().to_vector(), (std::vector<double>{3, 4}));
  EXPECT_FALSE(value.traced());
  EXPECT_FALSE(grads[0].traced());
  // An argument the output does not use gets a zero gradient.
  const auto unused =
      grad<double>([](const std::vector<Var<double>>& a) { return sum(a[0]); }, args, {1});
  EXPECT_EQ(unused[0].value().to_vector(), (std::vector<double>{0, 0}));
}

TEST(Transforms, JacobiansAgreeBothWays) {
  const UnaryFunction<double> f = [](const Var<double>& x) {
    return matmul(Var<double>(Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3})), sin(x));
  };
  const Var<double> x(Tensor<double>::from_vector({0.1, 0.2, 0.3}, {3, 1}));
  const auto reverse = jacobian_reverse<double>(f, x).value();
  const auto forward = jacobian_forward<double>(f, x).value();
  EXPECT_EQ(reverse.shape(), (Shape{2, 1, 3, 1}));
  EXPECT_EQ(forward.shape(), reverse.shape());
  const auto r = reverse.to_vector(), fw = forward.to_vector();
  const std::vector<double> xs = {0.1, 0.2, 0.3};
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double expected = (i * 3 + j + 1) * std::cos(xs[j]);
      EXPECT_NEAR(r[i * 3 + j], expected, 1e-15);
      EXPECT_NEAR(fw[i * 3 + j], expected, 1e-15);
    }
  }
}

TEST(Transforms, MaxSharesTheGradientAmongTies) {
  const auto g = grad<double>([](const Var<double>& x) { return sum(max(x, 0)); });
  const auto out = g(Var<double>(Tensor<double>::from_vector({1, 3, 3, 2}))).value().to_vector();
  EXPECT_EQ(out, (std::vector<double>{0, 0.5, 0.5, 0}));
}

TEST(Transforms, ChainOfAHundredThousandOps) {
  const int length = 100000;
  const auto g = grad<double>([&](const Var<double>& x) {
    Var<double> y = x;
    for (int i = 0; i < length; ++i) y = y * 1.0 + 1e-6;
    return sum(y);
  });
  EXPECT_DOUBLE_EQ(g(Var<double>(Tensor<double>::scalar(2))).item(), 1.0);
}

TEST(Transforms, GraphIsReleasedWhenTheTransformReturns) {
  std::weak_ptr<detail::Node<double>> intermediate;
  const auto g = grad<double>([&](const Var<double>& x) {
    const Var<double> y = tanh(x) * x;
    intermediate = y.node();
    return sum(y);
  });
  const Var<double> result = g(Var<double>(Tensor<double>::from_vector({0.5, 1.5})));
  EXPECT_TRUE(intermediate.expired());
  EXPECT_FALSE(result.traced());
  // Untraced code records nothing.
  const Var<double> plain = tanh(Var<double>(Tensor<double>::ones({3}))) * 2.0;
  EXPECT_FALSE(plain.traced());
  EXPECT_EQ(plain.node()->inputs.size(), 0u);
}

long resident_pages() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident;
}

TEST(Transforms, TrainingStepsDoNotGrowMemory) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer's quarantine holds freed memory, so resident size grows by "
                  "design; in this build LeakSanitizer checks for leaks instead";
#endif
  Rng rng(7);
  Tensor<double> w1 = rng.normal<double>({2, 16}), w2 = rng.normal<double>({16, 1});
  const Tensor<double> x = rng.normal<double>({8, 2}), y = rng.normal<double>({8, 1});
  const Function<double> loss = [&](const std::vector<Var<double>>& p) {
    return mse(matmul(tanh(matmul(Var<double>(x), p[0])), p[1]), Var<double>(y));
  };
  auto step = [&] {
    const auto grads = grad<double>(loss, {Var<double>(w1), Var<double>(w2)}, {0, 1});
    w1 -= grads[0].value() * 0.01;
    w2 -= grads[1].value() * 0.01;
  };
  for (int i = 0; i < 1000; ++i) step();  // warm up the allocator
  const long before = resident_pages();
  for (int i = 0; i < 10000; ++i) step();
  EXPECT_LE(resident_pages() - before, 64) << "resident memory grew by more than 64 pages";
}

TEST(Errors, NameTheTransformAndTheShapes) {
  const auto expect_error = [](const std::function<void()>& call, const std::string& fragment) {
    const std::string message = testing::error_of(call);
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "expected \"" << fragment << "\", got \"" << message << "\"";
  };
  const Var<double> x(Tensor<double>::ones({2, 3}));
  expect_error([&] { grad<double>([](const Var<double>& v) { return v * 2.0; })(x); },
               "[grad] the function must return a scalar (one element), got shape (2, 3)");
  expect_error(
      [&] {
        vjp<double>([](const std::vector<Var<double>>& a) { return a[0]; }, {x})
            .second(Var<double>(Tensor<double>::ones({3})));
      },
      "[vjp] cotangent shape (3,) does not match the output shape (2, 3)");
  expect_error(
      [&] {
        jvp<double>([](const std::vector<Var<double>>& a) { return a[0]; }, {x},
                    {Var<double>(Tensor<double>::ones({3, 2}))});
      },
      "[jvp] tangent 0 has shape (3, 2) but argument 0 has shape (2, 3)");
  expect_error(
      [&] { grad<double>([](const std::vector<Var<double>>& a) { return sum(a[0]); }, {x}, {1}); },
      "[grad] argnum 1 is out of range for a function of 1 arguments");
  expect_error([&] { add(x, Var<double>(Tensor<double>::ones({4}))); },
               "[add] shapes (2, 3) and (4,) cannot be broadcast together");
  expect_error([&] { matmul(x, x); }, "[matmul]");
  expect_error(
      [&] {
        embed<double>({4, 3}, {{0, 0, 3, 1}}, {x});
      },
      "[embed] piece 0 has shape (2, 3) but its slice of (4, 3) has shape (3, 3)");
  expect_error(
      [&] {
        embed<double>({4, 3}, {{0, 0, 2, 1}}, {});
      },
      "[embed] 1 slices given for 0 pieces");
}

}  // namespace
}  // namespace lamppost
