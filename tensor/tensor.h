// Tensor<T>: an eager, strided N-d array of float or double. A Tensor is a cheap handle: copies
// share storage, and views (reshape, permute, slice, broadcast_to, ...) share it too. Storage is
// 64-byte aligned. Strides and offsets count elements; strides may be 0 (broadcast) but are
// never negative.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "tensor/shape.h"

namespace lamppost {

template <class T>
concept Real = std::same_as<T, float> || std::same_as<T, double>;

inline constexpr size_t kStorageAlignment = 64;

template <Real T>
class Tensor {
 public:
  using value_type = T;

  // An empty 1-d tensor (shape (0,)).
  Tensor();
  // A zero-filled tensor of this shape.
  explicit Tensor(Shape shape);

  // Factories.
  static Tensor empty(Shape shape);  // uninitialised; for outputs about to be overwritten
  static Tensor zeros(Shape shape);
  static Tensor ones(Shape shape);
  static Tensor full(Shape shape, T value);
  static Tensor scalar(T value);  // 0-d
  static Tensor arange(T start, T stop, T step = T(1));
  static Tensor linspace(T start, T stop, int64_t count);
  static Tensor eye(int64_t rows, int64_t cols = -1);
  static Tensor from_vector(std::vector<T> values);  // 1-d
  static Tensor from_vector(const std::vector<T>& values, Shape shape);

  // Geometry.
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  int64_t size(int axis) const;
  bool is_contiguous() const;
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }
  // No other tensor handle shares this one's storage, so a write through it is seen nowhere else.
  bool owns_storage_alone() const { return storage_.use_count() == 1; }

  // Pointer to element (0, ..., 0). Mind the strides.
  T* data() { return storage_.get() + offset_; }
  const T* data() const { return storage_.get() + offset_; }

  // Element access with bounds checks (for tests and small code, not for kernels).
  T& at(std::initializer_list<int64_t> index);
  T at(std::initializer_list<int64_t> index) const;
  T item() const;                    // the single element of a one-element tensor
  std::vector<T> to_vector() const;  // elements in C order

  // Views sharing storage.
  Tensor reshape(Shape shape) const;  // a view when the layout allows, else a copy; one -1 allowed
  Tensor flatten() const { return reshape({-1}); }
  Tensor permute(const std::vector<int>& axes) const;
  Tensor transpose(int axis0, int axis1) const;
  Tensor t() const;  // matrix transpose of a 2-d tensor
  // Elements start, start + step, ... < stop along axis; negative start/stop count from the
  // end and both are clamped to [0, size], as in Python; step must be positive.
  Tensor slice(int axis, int64_t start, int64_t stop, int64_t step = 1) const;
  Tensor select(int axis, int64_t index) const;  // drops the axis
  Tensor unsqueeze(int axis) const;
  Tensor squeeze(int axis) const;
  Tensor broadcast_to(const Shape& shape) const;

  // Copies.
  Tensor contiguous() const;  // *this when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  template <Real U>
  Tensor<U> cast() const;

  // Writes through the view.
  void fill(T value);
  void assign(const Tensor& source);  // source broadcast to this shape, then copied in

 private:
  Tensor(std::shared_ptr<T[]> storage, Shape shape, Shape strides, int64_t offset);
  Tensor with_geometry(Shape shape, Shape strides, int64_t offset) const;
  int64_t linear_offset(std::initializer_list<int64_t> index, const char* op) const;

  std::shared_ptr<T[]> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
};

extern template class Tensor<float>;
extern template class Tensor<double>;

namespace detail {
// 64-byte aligned, uninitialised storage for count elements.
template <Real T>
std::shared_ptr<T[]> allocate(int64_t count);
}  // namespace detail

}  // namespace lamppost
