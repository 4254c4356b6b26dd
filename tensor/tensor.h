// Tensor<T>: an eager, strided N-d array of float or double. A Tensor is a cheap handle: copies
// share storage, and views (reshape, permute, slice, broadcast_to, ...) share it too. Storage is
// 64-byte aligned. Strides and offsets count elements; strides may be 0 (broadcast) but are
// never negative.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "tensor/shape.h"

namespace lamppost {

template <class T>
concept Real = std::same_as<T, float> || std::same_as<T, double>;

inline constexpr size_t kStorageAlignment = 64;

namespace detail {

// The start of a tensor buffer: one allocation holds this header, then (kStorageAlignment bytes
// in) the elements, so a tensor costs one allocation, not a buffer plus a shared_ptr's control
// block.
struct StorageHeader {
  std::atomic<int64_t> references;
  size_t bytes;  // of the elements, a whole number of cache lines
};
static_assert(sizeof(StorageHeader) <= kStorageAlignment);

// A counted reference to a buffer, as shared_ptr would be.
class Storage {
 public:
  Storage() = default;
  explicit Storage(StorageHeader* header) : header_(header) {}  // adopts the one reference
  Storage(const Storage& other) noexcept : header_(other.header_) {
    if (header_ != nullptr) header_->references.fetch_add(1, std::memory_order_relaxed);
  }
  Storage(Storage&& other) noexcept : header_(std::exchange(other.header_, nullptr)) {}
  Storage& operator=(Storage other) noexcept {
    std::swap(header_, other.header_);
    return *this;
  }
  ~Storage() {
    if (header_ != nullptr && header_->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      release(header_);
    }
  }

  void* data() const { return reinterpret_cast<char*>(header_) + kStorageAlignment; }
  int64_t use_count() const {
    return header_ != nullptr ? header_->references.load(std::memory_order_acquire) : 0;
  }
  bool operator==(const Storage& other) const { return header_ == other.header_; }

 private:
  static void release(StorageHeader* header);

  StorageHeader* header_ = nullptr;
};

// A 64-byte aligned, uninitialised buffer for count elements of element_bytes each, rounded up
// to whole cache lines so SIMD tails may read a full line.
Storage allocate(int64_t count, size_t element_bytes);

// Raw blocks from the same per-thread caches, for other objects made and dropped by the dozen per
// op (autodiff's graph nodes): a block freed is handed out again without a trip through malloc.
// Blocks are kStorageAlignment-aligned; free one with the size it was allocated with.
void* allocate_block(size_t bytes);
void free_block(void* block, size_t bytes);

}  // namespace detail

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
  T* data() { return base() + offset_; }
  const T* data() const { return base() + offset_; }

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
  Tensor(detail::Storage storage, Shape shape, Shape strides, int64_t offset);
  T* base() const { return static_cast<T*>(storage_.data()); }
  Tensor with_geometry(Shape shape, Shape strides, int64_t offset) const;
  int64_t linear_offset(std::initializer_list<int64_t> index, const char* op) const;

  detail::Storage storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
};

extern template class Tensor<float>;
extern template class Tensor<double>;

}  // namespace lamppost
