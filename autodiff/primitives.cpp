// The primitives: a forward kernel on Tensors and two derivative rules written with
// differentiable ops only, so that the rules themselves can be differentiated. Element-wise
// rules are one table each (unary, binary); the rest are classes of their own. The derivative
// is written beside each rule.
#include <cmath>
#include <functional>
#include <numbers>
#include <numeric>
#include <utility>

#include "autodiff/ops.h"
#include "autodiff/transforms.h"
#include "tensor/error.h"
#include "tensor/gemm.h"
#include "tensor/ops.h"

namespace lamppost {
namespace {

template <Real T>
Var<T> constant(const Tensor<T>& value) {
  return Var<T>(value);
}

template <Real T>
Var<T> scalar(T value) {
  return Var<T>(Tensor<T>::scalar(value));
}

// ---------------------------------------------------------------------------------------------
// Element-wise unary: y = f(x), dy = f'(x) dx. The table gives f (a tensor kernel) and f' as
// a differentiable expression of x and y.
template <Real T>
struct UnaryRule {
  std::string_view name;
  std::function<Tensor<T>(const Tensor<T>&)> kernel;
  std::function<Var<T>(const Var<T>& x, const Var<T>& y)> derivative;
};

template <Real T>
class Unary final : public Primitive<T> {
 public:
  explicit Unary(UnaryRule<T> rule) : rule_(std::move(rule)) {}
  std::string_view name() const override { return rule_.name; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override { return rule_.kernel(in[0]); }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>& y,
                          const Var<T>& cot) const override {
    return {mul(cot, rule_.derivative(x[0], y))};
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>& y,
             const std::vector<Var<T>>& tan) const override {
    return mul(tan[0], rule_.derivative(x[0], y));
  }

 private:
  UnaryRule<T> rule_;
};

template <Real T>
Var<T> unary(const Var<T>& x, UnaryRule<T> rule) {
  return apply<T>(std::make_shared<const Unary<T>>(std::move(rule)), {x});
}

// Negation is linear: its rules need no multiply.
template <Real T>
class Neg final : public Primitive<T> {
 public:
  std::string_view name() const override { return "neg"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return lamppost::neg(in[0]);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {neg(cot)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return neg(tan[0]);
  }
};

// ---------------------------------------------------------------------------------------------
// Element-wise binary on operands of one shape (the Var-level ops broadcast first):
// y = f(a, b), dy = df/da da + df/db db.
template <Real T>
struct BinaryRule {
  std::string_view name;
  std::function<Tensor<T>(const Tensor<T>&, const Tensor<T>&)> kernel;
  // (df/da, df/db) as differentiable expressions of a, b and y.
  std::function<std::pair<Var<T>, Var<T>>(const Var<T>& a, const Var<T>& b, const Var<T>& y)>
      partials;
};

template <Real T>
class Binary final : public Primitive<T> {
 public:
  explicit Binary(BinaryRule<T> rule) : rule_(std::move(rule)) {}
  std::string_view name() const override { return rule_.name; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return rule_.kernel(in[0], in[1]);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>& y,
                          const Var<T>& cot) const override {
    const auto [da, db] = rule_.partials(x[0], x[1], y);
    return {x[0].traced() ? mul(cot, da) : Var<T>(), x[1].traced() ? mul(cot, db) : Var<T>()};
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>& y,
             const std::vector<Var<T>>& tan) const override {
    const auto [da, db] = rule_.partials(x[0], x[1], y);
    if (!tan[1].defined()) return mul(tan[0], da);
    if (!tan[0].defined()) return mul(tan[1], db);
    return add(mul(tan[0], da), mul(tan[1], db));
  }

 private:
  BinaryRule<T> rule_;
};

// Addition and subtraction are linear: their rules pass the cotangent through.
template <Real T>
class AddSub final : public Primitive<T> {
 public:
  explicit AddSub(bool subtract) : subtract_(subtract) {}
  std::string_view name() const override { return subtract_ ? "sub" : "add"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return subtract_ ? lamppost::sub(in[0], in[1]) : lamppost::add(in[0], in[1]);
  }
  // d(a +- b) = da +- db
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>&,
                          const Var<T>& cot) const override {
    return {cot, x[1].traced() ? (subtract_ ? neg(cot) : cot) : Var<T>()};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    if (!tan[1].defined()) return tan[0];
    if (!tan[0].defined()) return subtract_ ? neg(tan[1]) : tan[1];
    return subtract_ ? sub(tan[0], tan[1]) : add(tan[0], tan[1]);
  }

 private:
  bool subtract_;
};

template <Real T>
std::pair<Var<T>, Var<T>> broadcast_pair(const Var<T>& a, const Var<T>& b, std::string_view op) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return {broadcast_to(a, shape), broadcast_to(b, shape)};
}

template <Real T>
Var<T> binary(const Var<T>& a, const Var<T>& b, BinaryRule<T> rule) {
  auto [x, y] = broadcast_pair(a, b, rule.name);
  return apply<T>(std::make_shared<const Binary<T>>(std::move(rule)), {x, y});
}

// ---------------------------------------------------------------------------------------------
// where(cond, a, b): linear in (a, b) with a constant mask.
template <Real T>
class Where final : public Primitive<T> {
 public:
  explicit Where(Tensor<T> cond) : cond_(std::move(cond)) {}
  std::string_view name() const override { return "where"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return lamppost::where(cond_, in[0], in[1]);
  }
  // d where(c, a, b) = where(c, da, db)
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    const Var<T> zero = constant(Tensor<T>::zeros(cot.shape()));
    return {where(cond_, cot, zero), where(cond_, zero, cot)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>& y,
             const std::vector<Var<T>>& tan) const override {
    const Var<T> zero = constant(Tensor<T>::zeros(y.shape()));
    return where(cond_, tan[0].defined() ? tan[0] : zero, tan[1].defined() ? tan[1] : zero);
  }

 private:
  Tensor<T> cond_;
};

// ---------------------------------------------------------------------------------------------
// Reductions.

// The shape a reduction keeps with keepdims: reduced axes become 1.
Shape kept_shape(const Shape& shape, const std::vector<int>& axes) {
  Shape kept = shape;
  for (int a : axes) kept[a] = 1;
  return kept;
}

std::vector<int> normalized_axes(const std::vector<int>& axes, int ndim, std::string_view op) {
  std::vector<int> out;
  if (axes.empty()) {
    out.resize(ndim);
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  std::vector<bool> seen(ndim, false);
  for (int a : axes) {
    const int n = normalize_axis(a, ndim, op);
    LAMPPOST_CHECK(!seen[n], op, "axis {} is given twice", n);
    seen[n] = true;
    out.push_back(n);
  }
  return out;
}

template <Real T>
class Sum final : public Primitive<T> {
 public:
  Sum(std::vector<int> axes, bool keepdims, Shape input_shape)
      : axes_(std::move(axes)), keepdims_(keepdims), input_shape_(std::move(input_shape)) {}
  std::string_view name() const override { return "sum"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return lamppost::sum(in[0], axes_, keepdims_);
  }
  // d sum(x) = sum(dx); the cotangent is spread back over the reduced axes.
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {broadcast_to(reshape(cot, kept_shape(input_shape_, axes_)), input_shape_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return sum(tan[0], axes_, keepdims_);
  }

 private:
  std::vector<int> axes_;
  bool keepdims_;
  Shape input_shape_;
};

// max/min along an axis. The derivative is shared equally by the elements that attain the
// extremum: d y = sum(w * dx) with the constant weights w = [x == y] / count(x == y).
template <Real T>
class Extremum final : public Primitive<T> {
 public:
  Extremum(bool is_max, int axis, bool keepdims, Shape input_shape)
      : is_max_(is_max), axis_(axis), keepdims_(keepdims), input_shape_(std::move(input_shape)) {}
  std::string_view name() const override { return is_max_ ? "max" : "min"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return is_max_ ? lamppost::max(in[0], {axis_}, keepdims_)
                   : lamppost::min(in[0], {axis_}, keepdims_);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>& y,
                          const Var<T>& cot) const override {
    const Shape kept = kept_shape(input_shape_, {axis_});
    return {mul(broadcast_to(reshape(cot, kept), input_shape_), weights(x[0], y))};
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>& y,
             const std::vector<Var<T>>& tan) const override {
    return sum(mul(tan[0], weights(x[0], y)), {axis_}, keepdims_);
  }

 private:
  Var<T> weights(const Var<T>& x, const Var<T>& y) const {
    const Shape kept = kept_shape(input_shape_, {axis_});
    const Tensor<T> hit = lamppost::equal(x.value(), y.value().reshape(kept));
    return constant(lamppost::div(hit, lamppost::sum(hit, {axis_}, true)));
  }
  bool is_max_;
  int axis_;
  bool keepdims_;
  Shape input_shape_;
};

// ---------------------------------------------------------------------------------------------
// Shapes. Each rule is the op's adjoint: reshape <-> reshape back, permute <-> inverse
// permutation, broadcast_to <-> sum_to, slice <-> embed, gather_rows <-> scatter_add_rows.

template <Real T>
class Reshape final : public Primitive<T> {
 public:
  Reshape(Shape from, Shape to) : from_(std::move(from)), to_(std::move(to)) {}
  std::string_view name() const override { return "reshape"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override { return in[0].reshape(to_); }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {reshape(cot, from_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return reshape(tan[0], to_);
  }

 private:
  Shape from_, to_;
};

template <Real T>
class Permute final : public Primitive<T> {
 public:
  explicit Permute(std::vector<int> axes) : axes_(std::move(axes)), inverse_(axes_.size()) {
    for (size_t i = 0; i < axes_.size(); ++i) inverse_[axes_[i]] = static_cast<int>(i);
  }
  std::string_view name() const override { return "permute"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return in[0].permute(axes_);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {permute(cot, inverse_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return permute(tan[0], axes_);
  }

 private:
  std::vector<int> axes_, inverse_;
};

template <Real T>
class BroadcastTo final : public Primitive<T> {
 public:
  BroadcastTo(Shape from, Shape to) : from_(std::move(from)), to_(std::move(to)) {}
  std::string_view name() const override { return "broadcast_to"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return in[0].broadcast_to(to_);
  }
  // The one place where a gradient is summed back to the shape an operand was broadcast from.
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {sum_to(cot, from_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return broadcast_to(tan[0], to_);
  }

 private:
  Shape from_, to_;
};

template <Real T>
class SumTo final : public Primitive<T> {
 public:
  SumTo(Shape from, Shape to) : from_(std::move(from)), to_(std::move(to)) {}
  std::string_view name() const override { return "sum_to"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return lamppost::sum_to(in[0], to_);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {broadcast_to(cot, from_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return sum_to(tan[0], to_);
  }

 private:
  Shape from_, to_;
};

// slice(x) picks elements start, start + step, ... along an axis; embed is its adjoint: it
// places a tensor at those positions of a zero tensor of the full shape.
struct SliceSpec {
  int axis;
  int64_t start;
  int64_t stop;
  int64_t step;
};

template <Real T>
Var<T> embed(const Var<T>& x, const Shape& full, SliceSpec spec);

template <Real T>
class Slice final : public Primitive<T> {
 public:
  Slice(Shape full, SliceSpec spec) : full_(std::move(full)), spec_(spec) {}
  std::string_view name() const override { return "slice"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return in[0].slice(spec_.axis, spec_.start, spec_.stop, spec_.step);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {embed(cot, full_, spec_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return slice(tan[0], spec_.axis, spec_.start, spec_.stop, spec_.step);
  }
  // Slices of one parameter vector (a model's layers) add into its cotangent's pieces instead
  // of each making a full-size embedding and adding that.
  void accumulate_vjp(const std::vector<Var<T>>& x, const Var<T>& y, const Var<T>& cot,
                      const std::vector<Var<T>*>& sums) const override {
    if (sums[0] == nullptr) return;
    if (!sums[0]->defined() || !detail::adds_in_place(*sums[0])) {
      Primitive<T>::accumulate_vjp(x, y, cot, sums);
      return;
    }
    Tensor<T> piece = sums[0]->value().slice(spec_.axis, spec_.start, spec_.stop, spec_.step);
    piece += cot.value();
  }

 private:
  Shape full_;
  SliceSpec spec_;
};

template <Real T>
class Embed final : public Primitive<T> {
 public:
  Embed(Shape full, SliceSpec spec) : full_(std::move(full)), spec_(spec) {}
  std::string_view name() const override { return "embed"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    Tensor<T> out = Tensor<T>::zeros(full_);
    out.slice(spec_.axis, spec_.start, spec_.stop, spec_.step).assign(in[0]);
    return out;
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {slice(cot, spec_.axis, spec_.start, spec_.stop, spec_.step)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return embed(tan[0], full_, spec_);
  }

 private:
  Shape full_;
  SliceSpec spec_;
};

template <Real T>
Var<T> embed(const Var<T>& x, const Shape& full, SliceSpec spec) {
  return apply<T>(std::make_shared<const Embed<T>>(full, spec), {x});
}

template <Real T>
class Concat final : public Primitive<T> {
 public:
  Concat(int axis, std::vector<int64_t> sizes) : axis_(axis), sizes_(std::move(sizes)) {}
  std::string_view name() const override { return "concat"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    Shape shape = in[0].shape();
    shape[axis_] = std::accumulate(sizes_.begin(), sizes_.end(), int64_t{0});
    Tensor<T> out = Tensor<T>::empty(shape);
    int64_t at = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      out.slice(axis_, at, at + sizes_[i]).assign(in[i]);
      at += sizes_[i];
    }
    return out;
  }
  // The cotangent is cut back into the parts' pieces.
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>&,
                          const Var<T>& cot) const override {
    std::vector<Var<T>> parts;
    int64_t at = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      parts.push_back(x[i].traced() ? slice(cot, axis_, at, at + sizes_[i]) : Var<T>());
      at += sizes_[i];
    }
    return parts;
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    std::vector<Var<T>> parts;
    for (size_t i = 0; i < x.size(); ++i) {
      parts.push_back(tan[i].defined() ? tan[i] : constant(Tensor<T>::zeros(x[i].shape())));
    }
    return concat(parts, axis_);
  }

 private:
  int axis_;
  std::vector<int64_t> sizes_;
};

template <Real T>
Var<T> scatter_add_rows(const Var<T>& x, const std::vector<int64_t>& rows, int64_t count);

template <Real T>
class GatherRows final : public Primitive<T> {
 public:
  GatherRows(std::vector<int64_t> rows, int64_t count) : rows_(std::move(rows)), count_(count) {}
  std::string_view name() const override { return "gather_rows"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    Shape shape = in[0].shape();
    shape[0] = static_cast<int64_t>(rows_.size());
    Tensor<T> out = Tensor<T>::empty(shape);
    for (size_t r = 0; r < rows_.size(); ++r) out.select(0, r).assign(in[0].select(0, rows_[r]));
    return out;
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {scatter_add_rows(cot, rows_, count_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return gather_rows(tan[0], rows_);
  }

 private:
  std::vector<int64_t> rows_;
  int64_t count_;
};

// out[rows[r]] += x[r]: the adjoint of gather_rows (a row picked twice gets both cotangents).
template <Real T>
class ScatterAddRows final : public Primitive<T> {
 public:
  ScatterAddRows(std::vector<int64_t> rows, int64_t count)
      : rows_(std::move(rows)), count_(count) {}
  std::string_view name() const override { return "scatter_add_rows"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    Shape shape = in[0].shape();
    shape[0] = count_;
    Tensor<T> out = Tensor<T>::zeros(shape);
    for (size_t r = 0; r < rows_.size(); ++r) {
      Tensor<T> row = out.select(0, rows_[r]);
      row += in[0].select(0, r);
    }
    return out;
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {gather_rows(cot, rows_)};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return scatter_add_rows(tan[0], rows_, count_);
  }

 private:
  std::vector<int64_t> rows_;
  int64_t count_;
};

template <Real T>
Var<T> scatter_add_rows(const Var<T>& x, const std::vector<int64_t>& rows, int64_t count) {
  return apply<T>(std::make_shared<const ScatterAddRows<T>>(rows, count), {x});
}

// ---------------------------------------------------------------------------------------------
// matmul: d(A B) = dA B + A dB; the cotangent gives dA = C' B^T and dB = A^T C', summed over
// the batch for an operand shared by every batch.
template <Real T>
class Matmul final : public Primitive<T> {
 public:
  std::string_view name() const override { return "matmul"; }
  Tensor<T> forward(const std::vector<Tensor<T>>& in) const override {
    return lamppost::matmul(in[0], in[1]);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>&,
                          const Var<T>& cot) const override {
    const Var<T>& a = x[0];
    const Var<T>& b = x[1];
    Var<T> da, db;
    if (a.traced()) {
      da = matmul(cot, transpose(b));  // [.., m, n] x [.., n, k] -> [.., m, k]
      if (a.ndim() == 2 && da.ndim() == 3) da = sum(da, {0});
    }
    if (b.traced()) {
      if (b.ndim() == 2 && a.ndim() == 3) {
        // sum over the batch of A_i^T C'_i, as one GEMM: [k, b*m] x [b*m, n] -> [k, n]
        const int64_t k = a.shape()[2], n = cot.shape()[2];
        db = matmul(transpose(reshape(a, {-1, k})), reshape(cot, {-1, n}));
      } else {
        db = matmul(transpose(a), cot);  // [.., k, m] x [.., m, n] -> [.., k, n]
        if (b.ndim() == 2 && db.ndim() == 3) db = sum(db, {0});
      }
    }
    return {da, db};
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    if (!tan[1].defined()) return matmul(tan[0], x[1]);
    if (!tan[0].defined()) return matmul(x[0], tan[1]);
    return add(matmul(tan[0], x[1]), matmul(x[0], tan[1]));
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The Var-level ops.

template <Real T>
Var<T> add(const Var<T>& a, const VarArg<T>& b) {
  auto [x, y] = broadcast_pair(a, b, "add");
  return apply<T>(std::make_shared<const AddSub<T>>(false), {x, y});
}

template <Real T>
Var<T> sub(const Var<T>& a, const VarArg<T>& b) {
  auto [x, y] = broadcast_pair(a, b, "sub");
  return apply<T>(std::make_shared<const AddSub<T>>(true), {x, y});
}

template <Real T>
Var<T> mul(const Var<T>& a, const VarArg<T>& b) {
  // d(ab) = b da + a db
  return binary<T>(a, b,
                   {"mul", [](const auto& p, const auto& q) { return lamppost::mul(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>&) {
                      return std::pair{q, p};
                    }});
}

template <Real T>
Var<T> div(const Var<T>& a, const VarArg<T>& b) {
  // d(a/b) = da / b - (a/b) db / b
  return binary<T>(a, b,
                   {"div", [](const auto& p, const auto& q) { return lamppost::div(p, q); },
                    [](const Var<T>&, const Var<T>& q, const Var<T>& y) {
                      const Var<T> inv = div(scalar<T>(1), q);
                      return std::pair{inv, neg(mul(y, inv))};
                    }});
}

template <Real T>
Var<T> pow(const Var<T>& a, const VarArg<T>& b) {
  // d(a^b) = b a^(b-1) da + a^b log(a) db
  return binary<T>(a, b,
                   {"pow", [](const auto& p, const auto& q) { return lamppost::pow(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>& y) {
                      return std::pair{mul(q, pow(p, sub(q, scalar<T>(1)))), mul(y, log(p))};
                    }});
}

template <Real T>
Var<T> maximum(const Var<T>& a, const VarArg<T>& b) {
  // The larger operand's derivative; on ties, the first's.
  return binary<T>(a, b,
                   {"maximum", [](const auto& p, const auto& q) { return lamppost::maximum(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>&) {
                      const Tensor<T> first = lamppost::greater_equal(p.value(), q.value());
                      return std::pair{constant(first), constant(lamppost::sub(T(1), first))};
                    }});
}

template <Real T>
Var<T> minimum(const Var<T>& a, const VarArg<T>& b) {
  return binary<T>(a, b,
                   {"minimum", [](const auto& p, const auto& q) { return lamppost::minimum(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>&) {
                      const Tensor<T> first = lamppost::less_equal(p.value(), q.value());
                      return std::pair{constant(first), constant(lamppost::sub(T(1), first))};
                    }});
}

template <Real T>
Var<T> where(const Tensor<T>& cond, const Var<T>& a, const VarArg<T>& b) {
  auto [x, y] = broadcast_pair(a, b, "where");
  const Shape shape = broadcast_shapes(cond.shape(), x.shape(), "where");
  x = broadcast_to(x, shape);
  y = broadcast_to(y, shape);
  return apply<T>(std::make_shared<const Where<T>>(cond.broadcast_to(shape)), {x, y});
}

template <Real T>
Var<T> neg(const Var<T>& x) {
  return apply<T>(std::make_shared<const Neg<T>>(), {x});
}

template <Real T>
Var<T> abs(const Var<T>& x) {
  // d|x| = sign(x) dx
  return unary<T>(
      x, {"abs", [](const auto& t) { return lamppost::abs(t); },
          [](const Var<T>& p, const Var<T>&) { return constant(lamppost::sign(p.value())); }});
}

template <Real T>
Var<T> exp(const Var<T>& x) {
  // d e^x = e^x dx
  return unary<T>(x, {"exp", [](const auto& t) { return lamppost::exp(t); },
                      [](const Var<T>&, const Var<T>& y) { return y; }});
}

template <Real T>
Var<T> log(const Var<T>& x) {
  // d log x = dx / x
  return unary<T>(x, {"log", [](const auto& t) { return lamppost::log(t); },
                      [](const Var<T>& p, const Var<T>&) { return div(scalar<T>(1), p); }});
}

template <Real T>
Var<T> sqrt(const Var<T>& x) {
  // d sqrt(x) = dx / (2 sqrt(x))
  return unary<T>(x, {"sqrt", [](const auto& t) { return lamppost::sqrt(t); },
                      [](const Var<T>&, const Var<T>& y) { return div(scalar<T>(0.5), y); }});
}

template <Real T>
Var<T> tanh(const Var<T>& x) {
  // d tanh x = (1 - tanh^2 x) dx
  return unary<T>(x, {"tanh", [](const auto& t) { return lamppost::tanh(t); },
                      [](const Var<T>&, const Var<T>& y) { return sub(scalar<T>(1), square(y)); }});
}

template <Real T>
Var<T> erf(const Var<T>& x) {
  // d erf x = 2 / sqrt(pi) e^(-x^2) dx
  return unary<T>(x, {"erf", [](const auto& t) { return lamppost::erf(t); },
                      [](const Var<T>& p, const Var<T>&) {
                        return mul(exp(neg(square(p))),
                                   scalar<T>(std::numbers::inv_sqrtpi_v<T> * 2));
                      }});
}

template <Real T>
Var<T> sigmoid(const Var<T>& x) {
  // d s(x) = s(x) (1 - s(x)) dx
  return unary<T>(x, {"sigmoid", [](const auto& t) { return lamppost::sigmoid(t); },
                      [](const Var<T>&, const Var<T>& y) { return mul(y, sub(scalar<T>(1), y)); }});
}

template <Real T>
Var<T> relu(const Var<T>& x) {
  // d relu(x) = [x > 0] dx
  return unary<T>(x, {"relu", [](const auto& t) { return lamppost::relu(t); },
                      [](const Var<T>& p, const Var<T>&) {
                        return constant(lamppost::greater(p.value(), T(0)));
                      }});
}

template <Real T>
Var<T> sin(const Var<T>& x) {
  // d sin x = cos x dx
  return unary<T>(x, {"sin", [](const auto& t) { return lamppost::sin(t); },
                      [](const Var<T>& p, const Var<T>&) { return cos(p); }});
}

template <Real T>
Var<T> cos(const Var<T>& x) {
  // d cos x = -sin x dx
  return unary<T>(x, {"cos", [](const auto& t) { return lamppost::cos(t); },
                      [](const Var<T>& p, const Var<T>&) { return neg(sin(p)); }});
}

template <Real T>
Var<T> square(const Var<T>& x) {
  return mul(x, x);
}

template <Real T>
Var<T> pow(const Var<T>& x, T exponent) {
  // d x^p = p x^(p-1) dx
  return unary<T>(x, {"pow", [exponent](const auto& t) { return lamppost::pow(t, exponent); },
                      [exponent](const Var<T>& p, const Var<T>&) {
                        return mul(pow(p, exponent - 1), scalar<T>(exponent));
                      }});
}

template <Real T>
Var<T> sum(const Var<T>& x) {
  return sum(x, {}, false);
}

template <Real T>
Var<T> sum(const Var<T>& x, const std::vector<int>& axes, bool keepdims) {
  auto normalized = normalized_axes(axes, x.ndim(), "sum");
  return apply<T>(std::make_shared<const Sum<T>>(std::move(normalized), keepdims, x.shape()), {x});
}

template <Real T>
Var<T> mean(const Var<T>& x) {
  return mean(x, {}, false);
}

template <Real T>
Var<T> mean(const Var<T>& x, const std::vector<int>& axes, bool keepdims) {
  int64_t count = 1;
  for (int a : normalized_axes(axes, x.ndim(), "mean")) count *= x.shape()[a];
  LAMPPOST_CHECK(count > 0, "mean", "mean of an empty selection of shape {}", to_string(x.shape()));
  return mul(sum(x, axes, keepdims), scalar<T>(T(1) / static_cast<T>(count)));
}

template <Real T>
Var<T> max(const Var<T>& x, int axis, bool keepdims) {
  const int a = normalize_axis(axis, x.ndim(), "max");
  return apply<T>(std::make_shared<const Extremum<T>>(true, a, keepdims, x.shape()), {x});
}

template <Real T>
Var<T> min(const Var<T>& x, int axis, bool keepdims) {
  const int a = normalize_axis(axis, x.ndim(), "min");
  return apply<T>(std::make_shared<const Extremum<T>>(false, a, keepdims, x.shape()), {x});
}

template <Real T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
  const Shape to = x.value().reshape(shape).shape();  // resolves -1 and checks the size
  if (to == x.shape()) return x;
  return apply<T>(std::make_shared<const Reshape<T>>(x.shape(), to), {x});
}

template <Real T>
Var<T> permute(const Var<T>& x, const std::vector<int>& axes) {
  std::vector<int> normalized = normalized_axes(axes, x.ndim(), "permute");
  LAMPPOST_CHECK(normalized.size() == static_cast<size_t>(x.ndim()), "permute",
                 "{} axes given for a tensor of shape {}", axes.size(), to_string(x.shape()));
  return apply<T>(std::make_shared<const Permute<T>>(std::move(normalized)), {x});
}

template <Real T>
Var<T> transpose(const Var<T>& x, int axis0, int axis1) {
  std::vector<int> axes(x.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[normalize_axis(axis0, x.ndim(), "transpose")],
            axes[normalize_axis(axis1, x.ndim(), "transpose")]);
  return permute(x, axes);
}

template <Real T>
Var<T> broadcast_to(const Var<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  x.value().broadcast_to(shape);  // validates, naming broadcast_to
  return apply<T>(std::make_shared<const BroadcastTo<T>>(x.shape(), shape), {x});
}

template <Real T>
Var<T> sum_to(const Var<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return apply<T>(std::make_shared<const SumTo<T>>(x.shape(), shape), {x});
}

template <Real T>
Var<T> slice(const Var<T>& x, int axis, int64_t start, int64_t stop, int64_t step) {
  const int a = normalize_axis(axis, x.ndim(), "slice");
  x.value().slice(a, start, stop, step);  // validates, naming slice
  return apply<T>(std::make_shared<const Slice<T>>(x.shape(), SliceSpec{a, start, stop, step}),
                  {x});
}

template <Real T>
Var<T> concat(const std::vector<Var<T>>& parts, int axis) {
  LAMPPOST_CHECK(!parts.empty(), "concat", "needs at least one tensor");
  const int a = normalize_axis(axis, parts[0].ndim(), "concat");
  std::vector<int64_t> sizes;
  for (const Var<T>& p : parts) {
    Shape expected = parts[0].shape(), got = p.shape();
    LAMPPOST_CHECK(got.size() == expected.size(), "concat", "shapes {} and {} differ in rank",
                   to_string(expected), to_string(got));
    expected[a] = got[a];
    LAMPPOST_CHECK(got == expected, "concat", "shapes {} and {} differ off axis {}",
                   to_string(parts[0].shape()), to_string(got), a);
    sizes.push_back(got[a]);
  }
  if (parts.size() == 1) return parts[0];
  return apply<T>(std::make_shared<const Concat<T>>(a, std::move(sizes)), parts);
}

template <Real T>
Var<T> gather_rows(const Var<T>& x, const std::vector<int64_t>& rows) {
  LAMPPOST_CHECK(x.ndim() >= 1, "gather_rows", "needs at least one dimension, got a scalar");
  const int64_t count = x.shape()[0];
  for (int64_t r : rows) {
    LAMPPOST_CHECK(r >= 0 && r < count, "gather_rows", "row {} is out of range for shape {}", r,
                   to_string(x.shape()));
  }
  return apply<T>(std::make_shared<const GatherRows<T>>(rows, count), {x});
}

template <Real T>
Var<T> matmul(const Var<T>& a, const VarArg<T>& b) {
  return apply<T>(std::make_shared<const Matmul<T>>(), {a, b});
}

template <Real T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims) {
  // log sum e^x = m + log sum e^(x - m) for any constant m; the max keeps e^ from overflowing.
  const Var<T> m = stop_gradient(max(x, axis, true));
  const Var<T> out = add(log(sum(exp(sub(x, m)), {axis}, true)), m);
  return keepdims ? out : reshape(out, lamppost::sum(x.value(), {axis}, false).shape());
}

template <Real T>
Var<T> log_softmax(const Var<T>& x, int axis) {
  return sub(x, logsumexp(x, axis, true));
}

template <Real T>
Var<T> softmax(const Var<T>& x, int axis) {
  return exp(log_softmax(x, axis));
}

template <Real T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<T>& targets) {
  LAMPPOST_CHECK(logits.ndim() == 2 && targets.shape() == logits.shape(), "cross_entropy",
                 "needs logits [n, k] and targets of the same shape, got {} and {}",
                 to_string(logits.shape()), to_string(targets.shape()));
  return neg(mean(sum(mul(log_softmax(logits, 1), Var<T>(targets)), {1})));
}

template <Real T>
Var<T> mse(const Var<T>& prediction, const VarArg<T>& target) {
  LAMPPOST_CHECK(prediction.shape() == target.shape(), "mse", "prediction {} and target {} differ",
                 to_string(prediction.shape()), to_string(target.shape()));
  return mean(square(sub(prediction, target)));
}

template <Real T>
Var<T> linear(const Var<T>& x, const VarArg<T>& weight, const VarArg<T>& bias) {
  return add(matmul(x, weight), bias);  // [n, in] x [in, out] -> [n, out], + [out]
}

#define LAMPPOST_INSTANTIATE(T)                                             \
  template Var<T> add(const Var<T>&, const VarArg<T>&);                     \
  template Var<T> sub(const Var<T>&, const VarArg<T>&);                     \
  template Var<T> mul(const Var<T>&, const VarArg<T>&);                     \
  template Var<T> div(const Var<T>&, const VarArg<T>&);                     \
  template Var<T> pow(const Var<T>&, const VarArg<T>&);                     \
  template Var<T> maximum(const Var<T>&, const VarArg<T>&);                 \
  template Var<T> minimum(const Var<T>&, const VarArg<T>&);                 \
  template Var<T> where(const Tensor<T>&, const Var<T>&, const VarArg<T>&); \
  template Var<T> neg(const Var<T>&);                                       \
  template Var<T> abs(const Var<T>&);                                       \
  template Var<T> exp(const Var<T>&);                                       \
  template Var<T> log(const Var<T>&);                                       \
  template Var<T> sqrt(const Var<T>&);                                      \
  template Var<T> tanh(const Var<T>&);                                      \
  template Var<T> erf(const Var<T>&);                                       \
  template Var<T> sigmoid(const Var<T>&);                                   \
  template Var<T> relu(const Var<T>&);                                      \
  template Var<T> sin(const Var<T>&);                                       \
  template Var<T> cos(const Var<T>&);                                       \
  template Var<T> square(const Var<T>&);                                    \
  template Var<T> pow(const Var<T>&, T);                                    \
  template Var<T> sum(const Var<T>&);                                       \
  template Var<T> sum(const Var<T>&, const std::vector<int>&, bool);        \
  template Var<T> mean(const Var<T>&);                                      \
  template Var<T> mean(const Var<T>&, const std::vector<int>&, bool);       \
  template Var<T> max(const Var<T>&, int, bool);                            \
  template Var<T> min(const Var<T>&, int, bool);                            \
  template Var<T> reshape(const Var<T>&, const Shape&);                     \
  template Var<T> permute(const Var<T>&, const std::vector<int>&);          \
  template Var<T> transpose(const Var<T>&, int, int);                       \
  template Var<T> broadcast_to(const Var<T>&, const Shape&);                \
  template Var<T> sum_to(const Var<T>&, const Shape&);                      \
  template Var<T> slice(const Var<T>&, int, int64_t, int64_t, int64_t);     \
  template Var<T> concat(const std::vector<Var<T>>&, int);                  \
  template Var<T> gather_rows(const Var<T>&, const std::vector<int64_t>&);  \
  template Var<T> matmul(const Var<T>&, const VarArg<T>&);                  \
  template Var<T> logsumexp(const Var<T>&, int, bool);                      \
  template Var<T> softmax(const Var<T>&, int);                              \
  template Var<T> log_softmax(const Var<T>&, int);                          \
  template Var<T> cross_entropy(const Var<T>&, const Tensor<T>&);           \
  template Var<T> mse(const Var<T>&, const VarArg<T>&);                     \
  template Var<T> linear(const Var<T>&, const VarArg<T>&, const VarArg<T>&);
LAMPPOST_INSTANTIATE(float)
LAMPPOST_INSTANTIATE(double)
#undef LAMPPOST_INSTANTIATE

}  // namespace lamppost
