// Shapes and strides: plain vectors of int64_t, counted in elements (not bytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lamppost {

using Shape = std::vector<int64_t>;

// "(3, 4)"; a 0-d shape prints as "()".
std::string to_string(const Shape& shape);

// Product of the extents; 1 for a 0-d shape. Throws if any extent is negative or the product
// overflows int64_t.
int64_t numel(const Shape& shape, std::string_view op = "shape");

// Row-major (C order) strides of a contiguous tensor of this shape.
Shape contiguous_strides(const Shape& shape);

// NumPy broadcasting of two shapes; throws "[op] shapes (..) and (..) cannot be broadcast".
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// Maps axis in [-ndim, ndim) to [0, ndim); throws naming op otherwise.
int normalize_axis(int axis, int ndim, std::string_view op);

}  // namespace lamppost
