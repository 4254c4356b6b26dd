// Shapes and strides, counted in elements (not bytes).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

namespace lamppost {

// The most dimensions a tensor may have (NumPy allows 32; models here use at most 4).
inline constexpr size_t kMaxDims = 8;

// A list of at most kMaxDims extents (or strides), kept inline: every tensor op makes and copies
// shapes, and a heap allocation per shape dominated the cost of ops on small tensors. The
// interface is the part of std::vector<int64_t> that shapes need.
class Shape {
 public:
  using value_type = int64_t;
  using size_type = size_t;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;
  using reference = int64_t&;
  using const_reference = const int64_t&;

  Shape() = default;
  explicit Shape(size_t ndim, int64_t value = 0) { resize(ndim, value); }
  Shape(std::initializer_list<int64_t> extents) : Shape(extents.begin(), extents.end()) {}
  template <std::input_iterator It>
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return extents_.data(); }
  const int64_t* data() const { return extents_.data(); }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }
  int64_t& operator[](size_t i) { return extents_[i]; }
  int64_t operator[](size_t i) const { return extents_[i]; }
  int64_t& back() { return extents_[size_ - 1]; }
  int64_t back() const { return extents_[size_ - 1]; }

  void push_back(int64_t extent) {
    grow_to(size_ + 1);
    extents_[size_ - 1] = extent;
  }
  void pop_back() { --size_; }
  iterator insert(const_iterator position, int64_t extent) {
    const size_t at = static_cast<size_t>(position - begin());
    grow_to(size_ + 1);
    std::copy_backward(begin() + at, end() - 1, end());
    extents_[at] = extent;
    return begin() + at;
  }
  iterator erase(const_iterator position) {
    const size_t at = static_cast<size_t>(position - begin());
    std::copy(begin() + at + 1, end(), begin() + at);
    --size_;
    return begin() + at;
  }
  void resize(size_t ndim, int64_t value = 0) {
    const size_t old = size_;
    grow_to(ndim);
    std::fill(begin() + std::min(old, ndim), end(), value);
  }
  void clear() { size_ = 0; }

  friend bool operator==(const Shape& a, const Shape& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void grow_to(size_t ndim) {
    if (ndim > kMaxDims) [[unlikely]]
      too_many_dimensions(ndim);
    size_ = ndim;
  }
  [[noreturn]] static void too_many_dimensions(size_t ndim);

  std::array<int64_t, kMaxDims> extents_{};
  size_t size_ = 0;
};

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
