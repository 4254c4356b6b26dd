#include "data/fashion_mnist.h"

#include <array>
#include <cmath>
#include <numeric>
#include <string>
#include <system_error>

#include "data/idx.h"
#include "data/synthetic.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace lamppost {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kOp = "fashion_mnist";
constexpr int64_t kClasses = 10;
constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;

void require_installed(const fs::path& path) {
  std::error_code error;
  // Only a file that is surely absent is blamed on the package; other trouble (permissions, say)
  // is left for the reader to report.
  if (!fs::exists(path, error) && !error) {
    fail(kOp,
         "'{}' not found: install the Debian package dataset-fashion-mnist (apt-get install "
         "dataset-fashion-mnist)",
         path.string());
  }
}

// Mean and population standard deviation of values given as exact integer sums; a deviation of
// 0 (constant values, or none) becomes 1 so that standardizing maps them to 0.
struct Moments {
  double mean = 0;
  double deviation = 1;
};

Moments moments(int64_t count, int64_t sum, int64_t sum_of_squares) {
  if (count == 0) return {};
  const double mean = static_cast<double>(sum) / static_cast<double>(count);
  const double variance =
      std::max(0.0, static_cast<double>(sum_of_squares) / static_cast<double>(count) - mean * mean);
  return {mean, variance > 0 ? std::sqrt(variance) : 1.0};
}

}  // namespace

template <Real T>
Dataset<T> load_fashion_mnist(const FashionMnistOptions& options) {
  // The options are checked before the files, which take a while to inflate.
  Dataset<T> out;
  out.classes = options.classes;
  if (out.classes.empty()) {
    out.classes.resize(kClasses);
    std::iota(out.classes.begin(), out.classes.end(), 0);
  }
  const auto k = static_cast<int64_t>(out.classes.size());
  std::array<int64_t, kClasses> index_of;
  index_of.fill(-1);
  for (int64_t c = 0; c < k; ++c) {
    const int64_t label = out.classes[static_cast<size_t>(c)];
    LAMPPOST_CHECK(label >= 0 && label < kClasses, kOp, "class {} is outside 0..9", label);
    LAMPPOST_CHECK(index_of[static_cast<size_t>(label)] < 0, kOp, "class {} is listed twice",
                   label);
    index_of[static_cast<size_t>(label)] = c;
  }
  LAMPPOST_CHECK(options.n >= -1, kOp, "n must be -1 (all) or a count, got {}", options.n);
  LAMPPOST_CHECK(!options.balanced || options.n == -1 || options.n % k == 0, kOp,
                 "a balanced subset of {} examples cannot be split evenly among {} classes",
                 options.n, k);
  LAMPPOST_CHECK(options.targets != Targets::plus_minus_one || k == 2, kOp,
                 "+-1 targets need exactly two classes, got {}", k);

  const std::string_view split = options.split == Split::train ? "train" : "test";
  const std::string_view stem = options.split == Split::train ? "train" : "t10k";
  const fs::path images_path = options.directory / fmt::format("{}-images-idx3-ubyte.gz", stem);
  const fs::path labels_path = options.directory / fmt::format("{}-labels-idx1-ubyte.gz", stem);
  require_installed(images_path);
  require_installed(labels_path);

  const IdxArray images = read_idx_array(images_path);
  if (images.type != IdxType::uint8 || images.shape.size() != 3 || images.shape[1] != kSide ||
      images.shape[2] != kSide) {
    fail(kOp, "'{}' holds {} of shape {}, not uint8 images of shape (n, 28, 28)",
         images_path.string(), to_string(images.type), to_string(images.shape));
  }
  const std::vector<int64_t> all_labels = read_idx_labels(labels_path);
  const int64_t total = images.shape[0];
  if (static_cast<int64_t>(all_labels.size()) != total) {
    fail(kOp, "'{}' holds {} images but '{}' holds {} labels", images_path.string(), total,
         labels_path.string(), all_labels.size());
  }
  for (size_t i = 0; i < all_labels.size(); ++i) {
    if (all_labels[i] < 0 || all_labels[i] >= kClasses) {
      fail(kOp, "'{}': label {} of example {} is outside 0..9", labels_path.string(), all_labels[i],
           i);
    }
  }

  // The selection walks the examples in file or shuffled order and keeps those of the kept
  // classes, up to n in all, or n / k per class when balanced.
  std::vector<int64_t> order(static_cast<size_t>(total));
  if (options.shuffle) {
    order = Rng(options.seed).permutation(total);
  } else {
    std::iota(order.begin(), order.end(), 0);
  }
  const int64_t wanted = options.n;
  const int64_t quota = options.balanced && wanted >= 0 ? wanted / k : total;
  std::vector<int64_t> selected;
  std::vector<int64_t> per_class(static_cast<size_t>(k), 0);
  for (int64_t example : order) {
    if (wanted >= 0 && static_cast<int64_t>(selected.size()) == wanted) break;
    const int64_t c = index_of[static_cast<size_t>(all_labels[static_cast<size_t>(example)])];
    if (c < 0 || per_class[static_cast<size_t>(c)] == quota) continue;
    ++per_class[static_cast<size_t>(c)];
    selected.push_back(example);
    out.labels.push_back(c);
  }
  if (wanted >= 0 && static_cast<int64_t>(selected.size()) < wanted) {
    if (options.balanced) {
      for (int64_t c = 0; c < k; ++c) {
        LAMPPOST_CHECK(per_class[static_cast<size_t>(c)] == quota, kOp,
                       "a balanced subset of {} needs {} examples of class {}, the {} split "
                       "holds {}",
                       wanted, quota, out.classes[static_cast<size_t>(c)], split,
                       per_class[static_cast<size_t>(c)]);
      }
    }
    fail(kOp, "asked for {} examples, the {} split holds {} of the kept classes", wanted, split,
         selected.size());
  }

  const auto m = static_cast<int64_t>(selected.size());
  const auto pixel = [&](int64_t row, int64_t j) -> int64_t {
    return images.bytes[static_cast<size_t>(selected[static_cast<size_t>(row)] * kPixels + j)];
  };
  out.x = Tensor<T>::empty({m, kPixels});
  T* x = out.x.data();
  switch (options.scaling) {
    case PixelScaling::raw:
    case PixelScaling::unit: {
      const T divisor = options.scaling == PixelScaling::unit ? T(255) : T(1);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < kPixels; ++j) x[i * kPixels + j] = T(pixel(i, j)) / divisor;
      }
      break;
    }
    case PixelScaling::standardize:
    case PixelScaling::standardize_per_pixel: {
      // Sums of bytes are exact in int64 (at most 60000 * 784 * 255^2 < 2^42).
      const bool per_pixel = options.scaling == PixelScaling::standardize_per_pixel;
      std::vector<int64_t> sums(per_pixel ? kPixels : 1, 0), squares(sums.size(), 0);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < kPixels; ++j) {
          const int64_t v = pixel(i, j);
          const size_t s = per_pixel ? static_cast<size_t>(j) : 0;
          sums[s] += v;
          squares[s] += v * v;
        }
      }
      const int64_t count = per_pixel ? m : m * kPixels;
      std::vector<Moments> stats(sums.size());
      for (size_t s = 0; s < sums.size(); ++s) stats[s] = moments(count, sums[s], squares[s]);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < kPixels; ++j) {
          const Moments& st = stats[per_pixel ? static_cast<size_t>(j) : 0];
          x[i * kPixels + j] =
              static_cast<T>((static_cast<double>(pixel(i, j)) - st.mean) / st.deviation);
        }
      }
      break;
    }
  }
  if (!options.flatten) out.x = out.x.reshape({m, kSide, kSide});

  switch (options.targets) {
    case Targets::none:
      break;
    case Targets::one_hot:
      out.y = Tensor<T>::zeros({m, k});
      for (int64_t i = 0; i < m; ++i) out.y.data()[i * k + out.labels[static_cast<size_t>(i)]] = 1;
      break;
    case Targets::plus_minus_one:
      out.y = plus_minus_one<T>(out.labels);
      break;
  }
  return out;
}

template Dataset<float> load_fashion_mnist<float>(const FashionMnistOptions&);
template Dataset<double> load_fashion_mnist<double>(const FashionMnistOptions&);

}  // namespace lamppost
