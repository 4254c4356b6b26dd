#include "tensor/tensor.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <mutex>
#include <new>
#include <numeric>
#include <unordered_map>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/strided.h"

namespace lamppost {

namespace detail {

namespace {

void* new_block(size_t bytes) {
  return ::operator new (bytes, std::align_val_t{kStorageAlignment});
}
void delete_block(void* block) {
  ::operator delete (block, std::align_val_t{kStorageAlignment});
}

// Large tensor buffers are kept when freed and handed out again for the same size. A fresh large
// allocation arrives as untouched pages, and the first touch of each costs a page fault (dear
// in a virtual machine): a backward pass, which makes temporaries the size of a layer's
// parameters again and again, spent most of its time there. Autodiff and training loops
// allocate the same sizes step after step, so exact sizes are reused well. "Large" starts where
// the per-thread small cache ends: glibc serves blocks from 128 KiB up by mmap until its dynamic
// threshold has grown, so a middle range left to malloc page-faulted on every use (a layer of
// width 256 on a batch of 256 is 256 KiB in float).
class LargeBlockCache {
 public:
  static constexpr size_t kMinBytes = (size_t{64} << 10) + 1;  // smaller: SmallBlockCache
  static constexpr size_t kCapacity = size_t{1} << 31;         // bytes kept at most

  // Never destroyed: buffers may still be freed while static objects are torn down.
  static LargeBlockCache& instance() {
    static auto* cache = new LargeBlockCache;
    return *cache;
  }

  void* take(size_t bytes) {
    {
      const std::lock_guard lock(mutex_);
      auto found = free_.find(bytes);
      if (found != free_.end() && !found->second.empty()) {
        void* block = found->second.back();
        found->second.pop_back();
        cached_ -= bytes;
        return block;
      }
    }
    try {
      return new_block(bytes);
    } catch (const std::bad_alloc&) {
      release_all();  // what is cached may be what the allocation needs
      return new_block(bytes);
    }
  }

  void give(void* block, size_t bytes) {
    {
      const std::lock_guard lock(mutex_);
      if (cached_ + bytes <= kCapacity) {
        try {
          free_[bytes].push_back(block);
          cached_ += bytes;
          return;
        } catch (const std::bad_alloc&) {  // no room to remember it: free it below
        }
      }
    }
    delete_block(block);
  }

 private:
  void release_all() {
    const std::lock_guard lock(mutex_);
    for (auto& [bytes, blocks] : free_) {
      for (void* block : blocks) delete_block(block);
    }
    free_.clear();
    cached_ = 0;
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

// Small buffers are kept per thread, in one free list per size. Ops on small tensors (the layers
// of a tiny network) each allocate and free a buffer or two, and an aligned malloc of more than
// 1 KiB also consolidates glibc's fast bins every time: allocation cost more than the ops'
// arithmetic. Per thread, so that taking and giving need no lock.
class SmallBlockCache {
 public:
  static constexpr size_t kMaxBytes = size_t{64} << 10;  // largest block kept
  static constexpr size_t kCapacity = size_t{16} << 20;  // bytes kept per thread at most

  ~SmallBlockCache() {
    for (auto& list : free_) {
      for (void* block : list) delete_block(block);
    }
  }

  void* take(size_t bytes) {
    auto& list = free_[bytes / kStorageAlignment];
    if (list.empty()) return new_block(bytes);
    void* block = list.back();
    list.pop_back();
    cached_ -= bytes;
    return block;
  }

  void give(void* block, size_t bytes) {
    if (cached_ + bytes <= kCapacity) {
      try {
        free_[bytes / kStorageAlignment].push_back(block);
        cached_ += bytes;
        return;
      } catch (const std::bad_alloc&) {  // no room to remember it: free it below
      }
    }
    delete_block(block);
  }

 private:
  std::array<std::vector<void*>, kMaxBytes / kStorageAlignment + 1> free_;
  size_t cached_ = 0;
};
// Every size has its cache.
static_assert(SmallBlockCache::kMaxBytes + 1 == LargeBlockCache::kMinBytes);

thread_local bool thread_exiting = false;

// This thread's cache; null while the thread exits, when blocks go straight to the heap.
SmallBlockCache* small_block_cache() {
  // Marks the thread as exiting before the cache goes, for buffers freed after it (by other
  // thread-local or static objects' destructors).
  struct Owner {
    SmallBlockCache cache;
    ~Owner() { thread_exiting = true; }
  };
  if (thread_exiting) return nullptr;
  thread_local Owner owner;
  return &owner.cache;
}

// Bytes rounded up to whole cache lines: the caches keep one free list per line count.
size_t whole_lines(size_t bytes) {
  return (std::max<size_t>(bytes, 1) + kStorageAlignment - 1) / kStorageAlignment *
         kStorageAlignment;
}

// A block of whole_lines bytes.
void* take_block(size_t block_bytes) {
  if (block_bytes >= LargeBlockCache::kMinBytes)
    return LargeBlockCache::instance().take(block_bytes);
  if (SmallBlockCache* cache = small_block_cache(); cache != nullptr)
    return cache->take(block_bytes);
  return new_block(block_bytes);
}

void give_block(void* block, size_t block_bytes) {
  if (block_bytes >= LargeBlockCache::kMinBytes) {
    LargeBlockCache::instance().give(block, block_bytes);
  } else if (SmallBlockCache* cache = small_block_cache(); cache != nullptr) {
    cache->give(block, block_bytes);
  } else {
    delete_block(block);
  }
}

}  // namespace

void* allocate_block(size_t bytes) {
  return take_block(whole_lines(bytes));
}

void free_block(void* block, size_t bytes) {
  give_block(block, whole_lines(bytes));
}

Storage allocate(int64_t count, size_t element_bytes) {
  const size_t data_bytes = whole_lines(static_cast<size_t>(count) * element_bytes);
  // The header's line, then the data.
  void* block = take_block(kStorageAlignment + data_bytes);
  return Storage(new (block) StorageHeader{{1}, data_bytes});
}

void Storage::release(StorageHeader* header) {
  const size_t block_bytes = kStorageAlignment + header->bytes;
  header->~StorageHeader();
  give_block(header, block_bytes);
}

namespace {

// dst[i] = src[i] over two views of the same shape (src may have broadcast strides).
template <Real T, Real U>
void copy_strided(const Tensor<U>& src, Tensor<T>& dst) {
  const auto plan = make_plan<2>(dst.shape(), {&dst.strides(), &src.strides()});
  T* out = dst.data();
  const U* in = src.data();
  auto copy_rows = [&](int64_t begin, int64_t end) {
    for_each_row(plan, begin, end, [&](const auto& offsets, int64_t n, const auto& inner) {
      T* o = out + offsets[0];
      const U* s = in + offsets[1];
      if (inner[0] == 1 && inner[1] == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(s[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) o[i * inner[0]] = static_cast<T>(s[i * inner[1]]);
      }
    });
  };
  const int64_t rows = plan.rows();
  if (dst.numel() < kParallelThreshold || rows < 2) {
    copy_rows(0, rows);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) copy_rows(r, r + 1);
}

}  // namespace
}  // namespace detail

template <Real T>
Tensor<T>::Tensor() : Tensor(Shape{0}) {}

template <Real T>
Tensor<T>::Tensor(Shape shape) : Tensor(empty(std::move(shape))) {
  std::fill_n(base(), numel_, T(0));
}

template <Real T>
Tensor<T>::Tensor(detail::Storage storage, Shape shape, Shape strides, int64_t offset)
    : storage_(std::move(storage)),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      offset_(offset),
      // Factories check shapes and views derive theirs from valid ones: no overflow here.
      numel_(std::accumulate(shape_.begin(), shape_.end(), int64_t{1}, std::multiplies<>())) {}

template <Real T>
Tensor<T> Tensor<T>::with_geometry(Shape shape, Shape strides, int64_t offset) const {
  return Tensor(storage_, std::move(shape), std::move(strides), offset);
}

template <Real T>
Tensor<T> Tensor<T>::empty(Shape shape) {
  const int64_t count = lamppost::numel(shape, "empty");
  Shape strides = contiguous_strides(shape);
  return Tensor(detail::allocate(count, sizeof(T)), std::move(shape), std::move(strides), 0);
}

template <Real T>
Tensor<T> Tensor<T>::zeros(Shape shape) {
  return Tensor(std::move(shape));
}

template <Real T>
Tensor<T> Tensor<T>::ones(Shape shape) {
  return full(std::move(shape), T(1));
}

template <Real T>
Tensor<T> Tensor<T>::full(Shape shape, T value) {
  Tensor out = empty(std::move(shape));
  std::fill_n(out.base(), out.numel_, value);
  return out;
}

template <Real T>
Tensor<T> Tensor<T>::scalar(T value) {
  return full({}, value);
}

template <Real T>
Tensor<T> Tensor<T>::arange(T start, T stop, T step) {
  LAMPPOST_CHECK(step != T(0) && std::isfinite(step), "arange",
                 "step must be finite and non-zero, got {}", step);
  LAMPPOST_CHECK(std::isfinite(start) && std::isfinite(stop), "arange",
                 "start and stop must be finite, got {} and {}", start, stop);
  const auto count = static_cast<int64_t>(std::max(0.0, std::ceil((double(stop) - start) / step)));
  Tensor out = empty({count});
  for (int64_t i = 0; i < count; ++i) out.base()[i] = start + static_cast<T>(i) * step;
  return out;
}

template <Real T>
Tensor<T> Tensor<T>::linspace(T start, T stop, int64_t count) {
  LAMPPOST_CHECK(count >= 0, "linspace", "count must be non-negative, got {}", count);
  Tensor out = empty({count});
  for (int64_t i = 0; i < count; ++i) {
    // Computed from both ends so the last element is exactly stop.
    const double t = count == 1 ? 0.0 : double(i) / double(count - 1);
    out.base()[i] = static_cast<T>((1.0 - t) * start + t * stop);
  }
  return out;
}

template <Real T>
Tensor<T> Tensor<T>::eye(int64_t rows, int64_t cols) {
  if (cols < 0) cols = rows;
  LAMPPOST_CHECK(rows >= 0, "eye", "rows must be non-negative, got {}", rows);
  Tensor out({rows, cols});
  for (int64_t i = 0; i < std::min(rows, cols); ++i) out.base()[i * cols + i] = T(1);
  return out;
}

template <Real T>
Tensor<T> Tensor<T>::from_vector(std::vector<T> values) {
  const auto count = static_cast<int64_t>(values.size());
  return from_vector(values, {count});
}

template <Real T>
Tensor<T> Tensor<T>::from_vector(const std::vector<T>& values, Shape shape) {
  const int64_t count = lamppost::numel(shape, "from_vector");
  LAMPPOST_CHECK(count == static_cast<int64_t>(values.size()), "from_vector",
                 "{} values do not fill shape {} ({} elements)", values.size(), to_string(shape),
                 count);
  Tensor out = empty(std::move(shape));
  std::copy(values.begin(), values.end(), out.base());
  return out;
}

template <Real T>
int64_t Tensor<T>::size(int axis) const {
  return shape_[normalize_axis(axis, ndim(), "size")];
}

template <Real T>
bool Tensor<T>::is_contiguous() const {
  if (numel_ == 0) return true;  // nothing to lay out
  int64_t expected = 1;
  for (size_t d = shape_.size(); d-- > 0;) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

template <Real T>
int64_t Tensor<T>::linear_offset(std::initializer_list<int64_t> index, const char* op) const {
  LAMPPOST_CHECK(static_cast<int>(index.size()) == ndim(), op,
                 "{} indices given for a tensor of shape {}", index.size(), to_string(shape_));
  int64_t offset = offset_;
  int d = 0;
  for (int64_t i : index) {
    LAMPPOST_CHECK(i >= 0 && i < shape_[d], op, "index {} is out of range for axis {} of shape {}",
                   i, d, to_string(shape_));
    offset += i * strides_[d++];
  }
  return offset;
}

template <Real T>
T& Tensor<T>::at(std::initializer_list<int64_t> index) {
  return base()[linear_offset(index, "at")];
}

template <Real T>
T Tensor<T>::at(std::initializer_list<int64_t> index) const {
  return base()[linear_offset(index, "at")];
}

template <Real T>
T Tensor<T>::item() const {
  LAMPPOST_CHECK(numel_ == 1, "item", "needs exactly one element, got shape {}", to_string(shape_));
  return base()[offset_];
}

template <Real T>
std::vector<T> Tensor<T>::to_vector() const {
  const Tensor c = contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}

template <Real T>
Tensor<T> Tensor<T>::reshape(Shape shape) const {
  int64_t known = 1;
  int inferred = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      LAMPPOST_CHECK(inferred < 0, "reshape", "only one extent may be -1, got {}",
                     to_string(shape));
      inferred = static_cast<int>(d);
    } else {
      LAMPPOST_CHECK(shape[d] >= 0, "reshape", "invalid extent in target shape {}",
                     to_string(shape));
      LAMPPOST_CHECK(!__builtin_mul_overflow(known, shape[d], &known), "reshape",
                     "target shape {} has more elements than int64_t can count", to_string(shape));
    }
  }
  if (inferred >= 0) {
    LAMPPOST_CHECK(known != 0 && numel_ % known == 0, "reshape",
                   "cannot infer the -1 extent reshaping {} to {}", to_string(shape_),
                   to_string(shape));
    shape[inferred] = numel_ / known;
    known *= shape[inferred];
  }
  LAMPPOST_CHECK(known == numel_, "reshape", "cannot reshape {} ({} elements) to {} ({} elements)",
                 to_string(shape_), numel_, to_string(shape), known);
  if (is_contiguous()) {
    Shape strides = contiguous_strides(shape);
    return with_geometry(std::move(shape), std::move(strides), offset_);
  }
  return contiguous().reshape(std::move(shape));
}

template <Real T>
Tensor<T> Tensor<T>::permute(const std::vector<int>& axes) const {
  LAMPPOST_CHECK(static_cast<int>(axes.size()) == ndim(), "permute",
                 "{} axes given for a tensor of {} dimensions", axes.size(), ndim());
  Shape shape(axes.size()), strides(axes.size());
  std::array<bool, kMaxDims> seen{};  // a Shape has at most kMaxDims axes
  for (size_t i = 0; i < axes.size(); ++i) {
    const int a = normalize_axis(axes[i], ndim(), "permute");
    LAMPPOST_CHECK(!seen[a], "permute", "axis {} appears twice in ({})", a, fmt::join(axes, ", "));
    seen[a] = true;
    shape[i] = shape_[a];
    strides[i] = strides_[a];
  }
  return with_geometry(std::move(shape), std::move(strides), offset_);
}

template <Real T>
Tensor<T> Tensor<T>::transpose(int axis0, int axis1) const {
  const int a0 = normalize_axis(axis0, ndim(), "transpose");
  const int a1 = normalize_axis(axis1, ndim(), "transpose");
  Shape shape = shape_, strides = strides_;
  std::swap(shape[a0], shape[a1]);
  std::swap(strides[a0], strides[a1]);
  return with_geometry(std::move(shape), std::move(strides), offset_);
}

template <Real T>
Tensor<T> Tensor<T>::t() const {
  LAMPPOST_CHECK(ndim() == 2, "t", "needs a 2-d tensor, got shape {}", to_string(shape_));
  return transpose(0, 1);
}

template <Real T>
Tensor<T> Tensor<T>::slice(int axis, int64_t start, int64_t stop, int64_t step) const {
  const int a = normalize_axis(axis, ndim(), "slice");
  LAMPPOST_CHECK(step > 0, "slice", "step must be positive, got {}", step);
  const int64_t n = shape_[a];
  auto clamp = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
  start = clamp(start);
  stop = std::max(clamp(stop), start);
  Shape shape = shape_, strides = strides_;
  shape[a] = (stop - start + step - 1) / step;
  strides[a] *= step;
  return with_geometry(std::move(shape), std::move(strides), offset_ + start * strides_[a]);
}

template <Real T>
Tensor<T> Tensor<T>::select(int axis, int64_t index) const {
  const int a = normalize_axis(axis, ndim(), "select");
  const int64_t n = shape_[a];
  LAMPPOST_CHECK(index >= -n && index < n, "select",
                 "index {} is out of range for axis {} of shape {}", index, a, to_string(shape_));
  if (index < 0) index += n;
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + a);
  strides.erase(strides.begin() + a);
  return with_geometry(std::move(shape), std::move(strides), offset_ + index * strides_[a]);
}

template <Real T>
Tensor<T> Tensor<T>::unsqueeze(int axis) const {
  const int a = normalize_axis(axis, ndim() + 1, "unsqueeze");
  Shape shape = shape_, strides = strides_;
  const int64_t stride = a < ndim() ? strides_[a] * shape_[a] : 1;
  shape.insert(shape.begin() + a, 1);
  strides.insert(strides.begin() + a, stride);
  return with_geometry(std::move(shape), std::move(strides), offset_);
}

template <Real T>
Tensor<T> Tensor<T>::squeeze(int axis) const {
  const int a = normalize_axis(axis, ndim(), "squeeze");
  LAMPPOST_CHECK(shape_[a] == 1, "squeeze", "axis {} of shape {} has extent {}, not 1", a,
                 to_string(shape_), shape_[a]);
  return select(a, 0);
}

template <Real T>
Tensor<T> Tensor<T>::broadcast_to(const Shape& shape) const {
  if (shape == shape_) return *this;  // the common case (every assign of a like-shaped source)
  LAMPPOST_CHECK(shape.size() >= shape_.size(), "broadcast_to", "cannot broadcast {} to {}",
                 to_string(shape_), to_string(shape));
  const size_t lead = shape.size() - shape_.size();
  Shape strides(shape.size(), 0);
  for (size_t d = 0; d < shape_.size(); ++d) {
    const int64_t from = shape_[d], to = shape[lead + d];
    LAMPPOST_CHECK(from == to || from == 1, "broadcast_to", "cannot broadcast {} to {}",
                   to_string(shape_), to_string(shape));
    strides[lead + d] = from == to ? strides_[d] : 0;
  }
  lamppost::numel(shape, "broadcast_to");
  return with_geometry(shape, std::move(strides), offset_);
}

template <Real T>
Tensor<T> Tensor<T>::contiguous() const {
  return is_contiguous() ? *this : clone();
}

template <Real T>
Tensor<T> Tensor<T>::clone() const {
  Tensor out = empty(shape_);
  detail::copy_strided(*this, out);
  return out;
}

template <Real T>
template <Real U>
Tensor<U> Tensor<T>::cast() const {
  Tensor<U> out = Tensor<U>::empty(shape_);
  detail::copy_strided(*this, out);
  return out;
}

template <Real T>
void Tensor<T>::fill(T value) {
  assign(scalar(value));
}

template <Real T>
void Tensor<T>::assign(const Tensor& source) {
  const Tensor src = source.broadcast_to(shape_);
  // A source overlapping this view (e.g. x.assign(x.t())) is copied out first.
  detail::copy_strided(shares_storage_with(source) ? src.clone() : src, *this);
}

template class Tensor<float>;
template class Tensor<double>;
template Tensor<float> Tensor<float>::cast<float>() const;
template Tensor<double> Tensor<float>::cast<double>() const;
template Tensor<float> Tensor<double>::cast<float>() const;
template Tensor<double> Tensor<double>::cast<double>() const;

}  // namespace lamppost
