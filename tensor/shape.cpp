#include "tensor/shape.h"

#include <algorithm>

#include "tensor/error.h"

namespace lamppost {

void Shape::too_many_dimensions(size_t ndim) {
  fail("shape", "a tensor may have at most {} dimensions, not {}", kMaxDims, ndim);
}

std::string to_string(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

int64_t numel(const Shape& shape, std::string_view op) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t extent : shape) {
    LAMPPOST_CHECK(extent >= 0, op, "negative extent in shape {}", to_string(shape));
    overflow |= __builtin_mul_overflow(n, extent, &n);
  }
  // A zero extent makes the count 0 however large the others are.
  LAMPPOST_CHECK(!overflow || std::find(shape.begin(), shape.end(), 0) != shape.end(), op,
                 "shape {} has more elements than int64_t can count", to_string(shape));
  return overflow ? 0 : n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    const int64_t da = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const int64_t db = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    LAMPPOST_CHECK(da == db || da == 1 || db == 1, op,
                   "shapes {} and {} cannot be broadcast together", to_string(a), to_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int normalize_axis(int axis, int ndim, std::string_view op) {
  LAMPPOST_CHECK(axis >= -ndim && axis < ndim, op,
                 "axis {} is out of range for a tensor of {} dimensions", axis, ndim);
  return axis < 0 ? axis + ndim : axis;
}

}  // namespace lamppost
