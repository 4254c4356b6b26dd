// The primitives: a forward kernel on Tensors and two derivative rules written with
// differentiable ops only, so that the rules themselves can be differentiated. Element-wise
// rules are one table each (unary, binary); the rest are classes of their own. The derivative
// is written beside each rule.
#include <algorithm>
#include <array>
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

// Runs a primitive made for this one call (it holds the call's shapes, axes or slices). It goes
// on the heap only when a node will hold it: untraced work, such as an outermost transform's
// sweeps, then allocates no primitive per op.
template <template <Real> class P, Real T, class... Args>
Var<T> apply_new(std::span<const Var<T>> inputs, Args&&... args) {
  P<T> primitive(std::forward<Args>(args)...);
  const uint64_t tag = detail::record_tag(primitive.name(), inputs);
  if (tag == 0) return Var<T>(primitive.forward(inputs));
  return detail::apply_recorded<T>(std::make_shared<const P<T>>(std::move(primitive)), inputs, tag);
}
template <template <Real> class P, Real T, class... Args>
Var<T> apply_new(std::initializer_list<Var<T>> inputs, Args&&... args) {
  return apply_new<P, T>(std::span<const Var<T>>(inputs.begin(), inputs.size()),
                         std::forward<Args>(args)...);
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return rule_.kernel(in[0].value());
  }
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

// Negation is linear: its rules need no multiply.
template <Real T>
class Neg final : public Primitive<T> {
 public:
  std::string_view name() const override { return "neg"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return lamppost::neg(in[0].value());
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return rule_.kernel(in[0].value(), in[1].value());
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return subtract_ ? lamppost::sub(in[0].value(), in[1].value())
                     : lamppost::add(in[0].value(), in[1].value());
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

// Element-wise ops share one primitive object per rule, made on first use.
template <Real T>
Var<T> binary(const Var<T>& a, const Var<T>& b, const std::shared_ptr<const Binary<T>>& primitive) {
  auto [x, y] = broadcast_pair(a, b, primitive->name());
  return apply<T>(primitive, {x, y});
}

// ---------------------------------------------------------------------------------------------
// where(cond, a, b): linear in (a, b) with a constant mask.
template <Real T>
class Where final : public Primitive<T> {
 public:
  explicit Where(Tensor<T> cond) : cond_(std::move(cond)) {}
  std::string_view name() const override { return "where"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return lamppost::where(cond_, in[0].value(), in[1].value());
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
  std::array<bool, kMaxDims> seen{};  // a Shape has at most kMaxDims axes
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return lamppost::sum(in[0].value(), axes_, keepdims_);
  }
  // d sum(x) = sum(dx); the cotangent is spread back over the reduced axes (a 0-d one, of a
  // full sum, broadcasts as it is).
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    const Var<T> kept = cot.ndim() == 0 ? cot : reshape(cot, kept_shape(input_shape_, axes_));
    return {broadcast_to(kept, input_shape_)};
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return is_max_ ? lamppost::max(in[0].value(), {axis_}, keepdims_)
                   : lamppost::min(in[0].value(), {axis_}, keepdims_);
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return in[0].value().reshape(to_);
  }
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return in[0].value().permute(axes_);
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return in[0].value().broadcast_to(to_);
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return lamppost::sum_to(in[0].value(), to_);
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
// adds pieces into those positions of a zero tensor of the full shape.

template <Real T>
class Slice final : public Primitive<T> {
 public:
  Slice(Shape full, SliceSpec spec) : full_(std::move(full)), spec_(spec) {}
  std::string_view name() const override { return "slice"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return in[0].value().slice(spec_.axis, spec_.start, spec_.stop, spec_.step);
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    return {embed<T>(full_, {spec_}, {cot})};
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    return slice(tan[0], spec_.axis, spec_.start, spec_.stop, spec_.step);
  }
  std::optional<SliceSpec> slice_of_input() const override { return spec_; }

 private:
  Shape full_;
  SliceSpec spec_;
};

template <Real T>
class Embed final : public Primitive<T> {
 public:
  Embed(Shape full, std::vector<SliceSpec> specs)
      : full_(std::move(full)), specs_(std::move(specs)), tiles_(tiles(full_, specs_)) {}
  std::string_view name() const override { return "embed"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    Tensor<T> out = tiles_ ? Tensor<T>::empty(full_) : Tensor<T>::zeros(full_);
    for (size_t i = 0; i < specs_.size(); ++i) {
      Tensor<T> place = out.slice(specs_[i].axis, specs_[i].start, specs_[i].stop, specs_[i].step);
      if (tiles_) {
        place.assign(in[i].value());
      } else {
        place += in[i].value();
      }
    }
    return out;
  }
  std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const Var<T>&,
                          const Var<T>& cot) const override {
    std::vector<Var<T>> pieces;
    for (const SliceSpec& spec : specs_) {
      pieces.push_back(slice(cot, spec.axis, spec.start, spec.stop, spec.step));
    }
    return pieces;
  }
  Var<T> jvp(const std::vector<Var<T>>&, const Var<T>& y,
             const std::vector<Var<T>>& tan) const override {
    std::vector<SliceSpec> specs;
    std::vector<Var<T>> pieces;
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (!tan[i].defined()) continue;
      specs.push_back(specs_[i]);
      pieces.push_back(tan[i]);
    }
    return embed<T>(y.shape(), std::move(specs), pieces);
  }

 private:
  // Whether the slices cover the full shape once each (a parameter vector cut into all its
  // layers): then the pieces are copied in and no zeros need writing first.
  static bool tiles(const Shape& full, std::vector<SliceSpec> specs) {
    if (specs.empty()) return false;
    const int axis = specs[0].axis;
    const int64_t n = full[axis];
    auto clamp = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
    for (SliceSpec& spec : specs) {
      if (spec.axis != axis || spec.step != 1) return false;
      spec.start = clamp(spec.start);
      spec.stop = std::max(clamp(spec.stop), spec.start);
    }
    std::sort(specs.begin(), specs.end(),
              [](const SliceSpec& a, const SliceSpec& b) { return a.start < b.start; });
    int64_t covered = 0;
    for (const SliceSpec& spec : specs) {
      if (spec.start != covered) return false;
      covered = spec.stop;
    }
    return covered == n;
  }

  Shape full_;
  std::vector<SliceSpec> specs_;
  bool tiles_;
};

template <Real T>
class Concat final : public Primitive<T> {
 public:
  Concat(int axis, std::vector<int64_t> sizes) : axis_(axis), sizes_(std::move(sizes)) {}
  std::string_view name() const override { return "concat"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    Shape shape = in[0].value().shape();
    shape[axis_] = std::accumulate(sizes_.begin(), sizes_.end(), int64_t{0});
    Tensor<T> out = Tensor<T>::empty(shape);
    int64_t at = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      out.slice(axis_, at, at + sizes_[i]).assign(in[i].value());
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    Shape shape = in[0].value().shape();
    shape[0] = static_cast<int64_t>(rows_.size());
    Tensor<T> out = Tensor<T>::empty(shape);
    for (size_t r = 0; r < rows_.size(); ++r)
      out.select(0, r).assign(in[0].value().select(0, rows_[r]));
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
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    Shape shape = in[0].value().shape();
    shape[0] = count_;
    Tensor<T> out = Tensor<T>::zeros(shape);
    for (size_t r = 0; r < rows_.size(); ++r) {
      Tensor<T> row = out.select(0, rows_[r]);
      row += in[0].value().select(0, r);
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
  return apply_new<ScatterAddRows>({x}, rows, count);
}

// ---------------------------------------------------------------------------------------------
// matmul: d(A B) = dA B + A dB; the cotangent gives dA = C' B^T and dB = A^T C', summed over
// the batch for an operand shared by every batch.
template <Real T>
Var<T> matmul_op(const Var<T>& a, const Var<T>& b, bool transpose_a, bool transpose_b);

// op(A) op(B), op transposing the last two axes or not. The transposes are strided views that
// GEMM reads directly, so the rules, which need A^T and B^T, make no transpose nodes.
template <Real T>
class Matmul final : public Primitive<T> {
 public:
  Matmul(bool transpose_a, bool transpose_b) : ta_(transpose_a), tb_(transpose_b) {}
  std::string_view name() const override { return "matmul"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    return lamppost::matmul(ta_ ? in[0].value().transpose(-2, -1) : in[0].value(),
                            tb_ ? in[1].value().transpose(-2, -1) : in[1].value());
  }
  // With C = op(A) op(B): dA = dC op(B)^T, or its transpose op(B) dC^T when op(A) = A^T;
  // dB = op(A)^T dC, or dC^T op(A) when op(B) = B^T.
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>&,
                          const Var<T>& cot) const override {
    const Var<T>& a = x[0];
    const Var<T>& b = x[1];
    Var<T> da, db;
    if (a.traced()) {
      da = ta_ ? matmul_op(b, cot, tb_, true) : matmul_op(cot, b, false, !tb_);
      if (a.ndim() == 2 && da.ndim() == 3) da = sum(da, {0});
    }
    if (b.traced()) {
      if (b.ndim() == 2 && a.ndim() == 3 && !ta_) {
        // summed over the batch of A_i^T C'_i, as one GEMM: [k, b*m] x [b*m, n] -> [k, n]
        const Var<T> a_rows = reshape(a, {-1, a.shape()[2]});
        const Var<T> cot_rows = reshape(cot, {-1, cot.shape()[2]});
        db = tb_ ? matmul_op(cot_rows, a_rows, true, false)
                 : matmul_op(a_rows, cot_rows, true, false);
      } else {
        db = tb_ ? matmul_op(cot, a, true, ta_) : matmul_op(a, cot, !ta_, false);
        if (b.ndim() == 2 && db.ndim() == 3) db = sum(db, {0});
      }
    }
    return {da, db};
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>&,
             const std::vector<Var<T>>& tan) const override {
    if (!tan[1].defined()) return matmul_op(tan[0], x[1], ta_, tb_);
    if (!tan[0].defined()) return matmul_op(x[0], tan[1], ta_, tb_);
    return add(matmul_op(tan[0], x[1], ta_, tb_), matmul_op(x[0], tan[1], ta_, tb_));
  }

 private:
  bool ta_;
  bool tb_;
};

template <Real T>
Var<T> matmul_op(const Var<T>& a, const Var<T>& b, bool transpose_a, bool transpose_b) {
  static const std::array<std::shared_ptr<const Matmul<T>>, 4> primitives = {
      std::make_shared<const Matmul<T>>(false, false),
      std::make_shared<const Matmul<T>>(false, true),
      std::make_shared<const Matmul<T>>(true, false),
      std::make_shared<const Matmul<T>>(true, true)};
  return apply<T>(primitives[2 * transpose_a + transpose_b], {a, b});
}

// x W + b for a batch of rows x [n, in], W [in, out] and b [out]: one GEMM onto rows of b, and
// one node where matmul, broadcast and add would make three (per-op cost rules small networks).
template <Real T>
class Linear final : public Primitive<T> {
 public:
  std::string_view name() const override { return "linear"; }
  Tensor<T> forward(std::span<const Var<T>> in) const override {
    const Tensor<T>& x = in[0].value();
    const Tensor<T>& weight = in[1].value();
    Tensor<T> out = Tensor<T>::empty({x.shape()[0], weight.shape()[1]});
    out.assign(in[2].value());
    gemm(T(1), x, Op::none, weight, Op::none, T(1), out);
    return out;
  }
  // d(x W + b) = dx W + x dW + db
  std::vector<Var<T>> vjp(const std::vector<Var<T>>& x, const Var<T>&,
                          const Var<T>& cot) const override {
    return {x[0].traced() ? matmul_op(cot, x[1], false, true) : Var<T>(),
            x[1].traced() ? matmul_op(x[0], cot, true, false) : Var<T>(),
            x[2].traced() ? sum(cot, {0}) : Var<T>()};
  }
  Var<T> jvp(const std::vector<Var<T>>& x, const Var<T>& y,
             const std::vector<Var<T>>& tan) const override {
    Var<T> out;
    if (tan[0].defined()) out = matmul(tan[0], x[1]);
    if (tan[1].defined())
      out = out.defined() ? add(out, matmul(x[0], tan[1])) : matmul(x[0], tan[1]);
    if (tan[2].defined()) out = out.defined() ? add(out, tan[2]) : broadcast_to(tan[2], y.shape());
    return out;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The Var-level ops.

template <Real T>
Var<T> add(const Var<T>& a, const VarArg<T>& b) {
  static const auto primitive = std::make_shared<const AddSub<T>>(false);
  auto [x, y] = broadcast_pair(a, b, "add");
  return apply<T>(primitive, {x, y});
}

template <Real T>
Var<T> sub(const Var<T>& a, const VarArg<T>& b) {
  static const auto primitive = std::make_shared<const AddSub<T>>(true);
  auto [x, y] = broadcast_pair(a, b, "sub");
  return apply<T>(primitive, {x, y});
}

template <Real T>
Var<T> mul(const Var<T>& a, const VarArg<T>& b) {
  // d(ab) = b da + a db
  static const auto primitive = std::make_shared<const Binary<T>>(
      BinaryRule<T>{"mul", [](const auto& p, const auto& q) { return lamppost::mul(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>&) {
                      return std::pair{q, p};
                    }});
  return binary<T>(a, b, primitive);
}

template <Real T>
Var<T> div(const Var<T>& a, const VarArg<T>& b) {
  // d(a/b) = da / b - (a/b) db / b
  static const auto primitive = std::make_shared<const Binary<T>>(
      BinaryRule<T>{"div", [](const auto& p, const auto& q) { return lamppost::div(p, q); },
                    [](const Var<T>&, const Var<T>& q, const Var<T>& y) {
                      const Var<T> inv = div(scalar<T>(1), q);
                      return std::pair{inv, neg(mul(y, inv))};
                    }});
  return binary<T>(a, b, primitive);
}

template <Real T>
Var<T> pow(const Var<T>& a, const VarArg<T>& b) {
  // d(a^b) = b a^(b-1) da + a^b log(a) db
  static const auto primitive = std::make_shared<const Binary<T>>(
      BinaryRule<T>{"pow", [](const auto& p, const auto& q) { return lamppost::pow(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>& y) {
                      return std::pair{mul(q, pow(p, sub(q, scalar<T>(1)))), mul(y, log(p))};
                    }});
  return binary<T>(a, b, primitive);
}

template <Real T>
Var<T> maximum(const Var<T>& a, const VarArg<T>& b) {
  // The larger operand's derivative; on ties, the first's.
  static const auto primitive = std::make_shared<const Binary<T>>(
      BinaryRule<T>{"maximum", [](const auto& p, const auto& q) { return lamppost::maximum(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>&) {
                      const Tensor<T> first = lamppost::greater_equal(p.value(), q.value());
                      return std::pair{constant(first), constant(lamppost::sub(T(1), first))};
                    }});
  return binary<T>(a, b, primitive);
}

template <Real T>
Var<T> minimum(const Var<T>& a, const VarArg<T>& b) {
  static const auto primitive = std::make_shared<const Binary<T>>(
      BinaryRule<T>{"minimum", [](const auto& p, const auto& q) { return lamppost::minimum(p, q); },
                    [](const Var<T>& p, const Var<T>& q, const Var<T>&) {
                      const Tensor<T> first = lamppost::less_equal(p.value(), q.value());
                      return std::pair{constant(first), constant(lamppost::sub(T(1), first))};
                    }});
  return binary<T>(a, b, primitive);
}

template <Real T>
Var<T> where(const Tensor<T>& cond, const Var<T>& a, const VarArg<T>& b) {
  auto [x, y] = broadcast_pair(a, b, "where");
  const Shape shape = broadcast_shapes(cond.shape(), x.shape(), "where");
  x = broadcast_to(x, shape);
  y = broadcast_to(y, shape);
  return apply_new<Where>({x, y}, cond.broadcast_to(shape));
}

template <Real T>
Var<T> neg(const Var<T>& x) {
  static const auto primitive = std::make_shared<const Neg<T>>();
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> abs(const Var<T>& x) {
  // d|x| = sign(x) dx
  static const auto primitive = std::make_shared<const Unary<T>>(UnaryRule<T>{
      "abs", [](const auto& t) { return lamppost::abs(t); },
      [](const Var<T>& p, const Var<T>&) { return constant(lamppost::sign(p.value())); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> exp(const Var<T>& x) {
  // d e^x = e^x dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"exp", [](const auto& t) { return lamppost::exp(t); },
                   [](const Var<T>&, const Var<T>& y) { return y; }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> log(const Var<T>& x) {
  // d log x = dx / x
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"log", [](const auto& t) { return lamppost::log(t); },
                   [](const Var<T>& p, const Var<T>&) { return div(scalar<T>(1), p); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> sqrt(const Var<T>& x) {
  // d sqrt(x) = dx / (2 sqrt(x))
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"sqrt", [](const auto& t) { return lamppost::sqrt(t); },
                   [](const Var<T>&, const Var<T>& y) { return div(scalar<T>(0.5), y); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> tanh(const Var<T>& x) {
  // d tanh x = (1 - tanh^2 x) dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"tanh", [](const auto& t) { return lamppost::tanh(t); },
                   [](const Var<T>&, const Var<T>& y) { return sub(scalar<T>(1), square(y)); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> erf(const Var<T>& x) {
  // d erf x = 2 / sqrt(pi) e^(-x^2) dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"erf", [](const auto& t) { return lamppost::erf(t); },
                   [](const Var<T>& p, const Var<T>&) {
                     return mul(exp(neg(square(p))), scalar<T>(std::numbers::inv_sqrtpi_v<T> * 2));
                   }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> sigmoid(const Var<T>& x) {
  // d s(x) = s(x) (1 - s(x)) dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"sigmoid", [](const auto& t) { return lamppost::sigmoid(t); },
                   [](const Var<T>&, const Var<T>& y) { return mul(y, sub(scalar<T>(1), y)); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> softplus(const Var<T>& x) {
  // softplus(x) = max(x, 0) + log1p(e^-|x|): e^ never overflows, and log1p keeps the far tail
  // (log(1 + e) rounds to 0 once e < 1e-16). log1p(e) = e log(u) / (u - 1) with u = 1 + e (or e
  // where u rounds to 1) is exact to rounding. d softplus(x) = sigmoid(x) dx.
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"softplus",
                   [](const Tensor<T>& t) {
                     const Tensor<T> e = lamppost::exp(lamppost::neg(lamppost::abs(t)));
                     const Tensor<T> u = lamppost::add(T(1), e);
                     const Tensor<T> log1p_e = lamppost::where(
                         lamppost::equal(u, T(1)), e,
                         lamppost::div(lamppost::mul(e, lamppost::log(u)), lamppost::sub(u, T(1))));
                     return lamppost::add(lamppost::relu(t), log1p_e);
                   },
                   [](const Var<T>& p, const Var<T>&) { return sigmoid(p); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> gelu(const Var<T>& x) {
  // gelu(x) = x Phi(x) with Phi the standard normal CDF, (1 + erf(x / sqrt 2)) / 2;
  // d gelu(x) = (Phi(x) + x phi(x)) dx, phi(x) = e^(-x^2 / 2) / sqrt(2 pi)
  constexpr T kInvSqrt2 = std::numbers::sqrt2_v<T> / 2;
  constexpr T kInvSqrt2Pi = std::numbers::inv_sqrtpi_v<T> * kInvSqrt2;
  static const auto primitive = std::make_shared<const Unary<T>>(UnaryRule<T>{
      "gelu",
      [](const auto& t) {
        const auto cdf =
            lamppost::mul(lamppost::add(lamppost::erf(lamppost::mul(t, kInvSqrt2)), T(1)), T(0.5));
        return lamppost::mul(t, cdf);
      },
      [](const Var<T>& p, const Var<T>&) {
        const Var<T> cdf =
            mul(add(erf(mul(p, scalar<T>(kInvSqrt2))), scalar<T>(1)), scalar<T>(0.5));
        const Var<T> pdf = mul(exp(mul(square(p), scalar<T>(-0.5))), scalar<T>(kInvSqrt2Pi));
        return add(cdf, mul(p, pdf));
      }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> relu(const Var<T>& x) {
  // d relu(x) = [x > 0] dx
  static const auto primitive = std::make_shared<const Unary<T>>(UnaryRule<T>{
      "relu", [](const auto& t) { return lamppost::relu(t); },
      [](const Var<T>& p, const Var<T>&) { return constant(lamppost::greater(p.value(), T(0))); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> sin(const Var<T>& x) {
  // d sin x = cos x dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"sin", [](const auto& t) { return lamppost::sin(t); },
                   [](const Var<T>& p, const Var<T>&) { return cos(p); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> cos(const Var<T>& x) {
  // d cos x = -sin x dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"cos", [](const auto& t) { return lamppost::cos(t); },
                   [](const Var<T>& p, const Var<T>&) { return neg(sin(p)); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> square(const Var<T>& x) {
  // d x^2 = 2 x dx
  static const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"square", [](const auto& t) { return lamppost::mul(t, t); },
                   [](const Var<T>& p, const Var<T>&) { return mul(p, scalar<T>(2)); }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> pow(const Var<T>& x, T exponent) {
  // d x^p = p x^(p-1) dx
  // The rule holds the exponent, so each call makes its own primitive.
  const auto primitive = std::make_shared<const Unary<T>>(
      UnaryRule<T>{"pow", [exponent](const auto& t) { return lamppost::pow(t, exponent); },
                   [exponent](const Var<T>& p, const Var<T>&) {
                     return mul(pow(p, exponent - 1), scalar<T>(exponent));
                   }});
  return apply<T>(primitive, {x});
}

template <Real T>
Var<T> sum(const Var<T>& x) {
  return sum(x, {}, false);
}

template <Real T>
Var<T> sum(const Var<T>& x, const std::vector<int>& axes, bool keepdims) {
  auto normalized = normalized_axes(axes, x.ndim(), "sum");
  return apply_new<Sum>({x}, std::move(normalized), keepdims, x.shape());
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
  return apply_new<Extremum>({x}, true, a, keepdims, x.shape());
}

template <Real T>
Var<T> min(const Var<T>& x, int axis, bool keepdims) {
  const int a = normalize_axis(axis, x.ndim(), "min");
  return apply_new<Extremum>({x}, false, a, keepdims, x.shape());
}

template <Real T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
  const Shape to = x.value().reshape(shape).shape();  // resolves -1 and checks the size
  if (to == x.shape()) return x;
  return apply_new<Reshape>({x}, x.shape(), to);
}

template <Real T>
Var<T> permute(const Var<T>& x, const std::vector<int>& axes) {
  std::vector<int> normalized = normalized_axes(axes, x.ndim(), "permute");
  LAMPPOST_CHECK(normalized.size() == static_cast<size_t>(x.ndim()), "permute",
                 "{} axes given for a tensor of shape {}", axes.size(), to_string(x.shape()));
  return apply_new<Permute>({x}, std::move(normalized));
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
  return apply_new<BroadcastTo>({x}, x.shape(), shape);
}

template <Real T>
Var<T> sum_to(const Var<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return apply_new<SumTo>({x}, x.shape(), shape);
}

template <Real T>
Var<T> slice(const Var<T>& x, int axis, int64_t start, int64_t stop, int64_t step) {
  const int a = normalize_axis(axis, x.ndim(), "slice");
  x.value().slice(a, start, stop, step);  // validates, naming slice
  return apply_new<Slice>({x}, x.shape(), SliceSpec{a, start, stop, step});
}

template <Real T>
Var<T> embed(const Shape& full, std::vector<SliceSpec> specs, const std::vector<Var<T>>& pieces) {
  LAMPPOST_CHECK(specs.size() == pieces.size(), "embed", "{} slices given for {} pieces",
                 specs.size(), pieces.size());
  const Tensor<T> outline = Tensor<T>::scalar(0).broadcast_to(full);  // shapes, no buffer
  for (size_t i = 0; i < specs.size(); ++i) {
    SliceSpec& spec = specs[i];
    spec.axis = normalize_axis(spec.axis, static_cast<int>(full.size()), "embed");
    const Shape place = outline.slice(spec.axis, spec.start, spec.stop, spec.step).shape();
    LAMPPOST_CHECK(pieces[i].defined() && pieces[i].shape() == place, "embed",
                   "piece {} has shape {} but its slice of {} has shape {}", i,
                   pieces[i].defined() ? to_string(pieces[i].shape()) : "(undefined)",
                   to_string(full), to_string(place));
  }
  if (pieces.empty()) return constant(Tensor<T>::zeros(full));
  return apply_new<Embed>(std::span<const Var<T>>(pieces), full, std::move(specs));
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
  return apply_new<Concat>(std::span<const Var<T>>(parts), a, std::move(sizes));
}

template <Real T>
Var<T> gather_rows(const Var<T>& x, const std::vector<int64_t>& rows) {
  LAMPPOST_CHECK(x.ndim() >= 1, "gather_rows", "needs at least one dimension, got a scalar");
  const int64_t count = x.shape()[0];
  for (int64_t r : rows) {
    LAMPPOST_CHECK(r >= 0 && r < count, "gather_rows", "row {} is out of range for shape {}", r,
                   to_string(x.shape()));
  }
  return apply_new<GatherRows>({x}, rows, count);
}

template <Real T>
Var<T> matmul(const Var<T>& a, const VarArg<T>& b) {
  return matmul_op<T>(a, b, false, false);
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
  if (x.ndim() == 2 && weight.ndim() == 2 && bias.ndim() == 1 &&
      x.shape()[1] == weight.shape()[0] && bias.shape()[0] == weight.shape()[1]) {
    static const auto primitive = std::make_shared<const Linear<T>>();
    return apply<T>(primitive, {x, weight, bias});
  }
  return add(matmul(x, weight), bias);  // batched, or shapes for matmul and add to check and name
}

#define LAMPPOST_INSTANTIATE(T)                                                            \
  template Var<T> add(const Var<T>&, const VarArg<T>&);                                    \
  template Var<T> sub(const Var<T>&, const VarArg<T>&);                                    \
  template Var<T> mul(const Var<T>&, const VarArg<T>&);                                    \
  template Var<T> div(const Var<T>&, const VarArg<T>&);                                    \
  template Var<T> pow(const Var<T>&, const VarArg<T>&);                                    \
  template Var<T> maximum(const Var<T>&, const VarArg<T>&);                                \
  template Var<T> minimum(const Var<T>&, const VarArg<T>&);                                \
  template Var<T> where(const Tensor<T>&, const Var<T>&, const VarArg<T>&);                \
  template Var<T> neg(const Var<T>&);                                                      \
  template Var<T> abs(const Var<T>&);                                                      \
  template Var<T> exp(const Var<T>&);                                                      \
  template Var<T> log(const Var<T>&);                                                      \
  template Var<T> sqrt(const Var<T>&);                                                     \
  template Var<T> tanh(const Var<T>&);                                                     \
  template Var<T> erf(const Var<T>&);                                                      \
  template Var<T> sigmoid(const Var<T>&);                                                  \
  template Var<T> relu(const Var<T>&);                                                     \
  template Var<T> softplus(const Var<T>&);                                                 \
  template Var<T> gelu(const Var<T>&);                                                     \
  template Var<T> sin(const Var<T>&);                                                      \
  template Var<T> cos(const Var<T>&);                                                      \
  template Var<T> square(const Var<T>&);                                                   \
  template Var<T> pow(const Var<T>&, T);                                                   \
  template Var<T> sum(const Var<T>&);                                                      \
  template Var<T> sum(const Var<T>&, const std::vector<int>&, bool);                       \
  template Var<T> mean(const Var<T>&);                                                     \
  template Var<T> mean(const Var<T>&, const std::vector<int>&, bool);                      \
  template Var<T> max(const Var<T>&, int, bool);                                           \
  template Var<T> min(const Var<T>&, int, bool);                                           \
  template Var<T> reshape(const Var<T>&, const Shape&);                                    \
  template Var<T> permute(const Var<T>&, const std::vector<int>&);                         \
  template Var<T> transpose(const Var<T>&, int, int);                                      \
  template Var<T> broadcast_to(const Var<T>&, const Shape&);                               \
  template Var<T> sum_to(const Var<T>&, const Shape&);                                     \
  template Var<T> slice(const Var<T>&, int, int64_t, int64_t, int64_t);                    \
  template Var<T> embed(const Shape&, std::vector<SliceSpec>, const std::vector<Var<T>>&); \
  template Var<T> concat(const std::vector<Var<T>>&, int);                                 \
  template Var<T> gather_rows(const Var<T>&, const std::vector<int64_t>&);                 \
  template Var<T> matmul(const Var<T>&, const VarArg<T>&);                                 \
  template Var<T> logsumexp(const Var<T>&, int, bool);                                     \
  template Var<T> softmax(const Var<T>&, int);                                             \
  template Var<T> log_softmax(const Var<T>&, int);                                         \
  template Var<T> cross_entropy(const Var<T>&, const Tensor<T>&);                          \
  template Var<T> mse(const Var<T>&, const VarArg<T>&);                                    \
  template Var<T> linear(const Var<T>&, const VarArg<T>&, const VarArg<T>&);
LAMPPOST_INSTANTIATE(float)
LAMPPOST_INSTANTIATE(double)
#undef LAMPPOST_INSTANTIATE

}  // namespace lamppost
