// Fashion-MNIST (Xiao, Rasul, Vollgraf, 2017): 28x28 grey images of clothing in 10 classes,
// 60000 for training and 10000 for testing, read from the IDX files of the Debian package
// dataset-fashion-mnist.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

// Where dataset-fashion-mnist installs {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
inline constexpr std::string_view kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

enum class Split { train, test };

enum class PixelScaling {
  raw,                    // the bytes as they are, 0..255
  unit,                   // divided by 255, into [0, 1]
  standardize,            // mean 0 and standard deviation 1 over all pixels of the returned set
  standardize_per_pixel,  // each pixel position to mean 0, deviation 1 over the returned set;
                          // positions constant across the set become 0
};

enum class Targets {
  none,            // y stays empty; the integer labels are in Dataset::labels
  one_hot,         // y is [n, k], 1 in the column of the example's class, 0 elsewhere
  plus_minus_one,  // y is [n, 1], a scalar output's shape: -1 for classes[0], +1 for classes[1];
                   // needs exactly two classes
};

struct FashionMnistOptions {
  Split split = Split::train;
  std::filesystem::path directory{kFashionMnistDirectory};
  // The classes kept, by Fashion-MNIST label (0 T-shirt, ..., 9 ankle boot); empty keeps all ten
  // in order. Their order fixes the integer labels, one-hot columns and +-1 signs.
  std::vector<int64_t> classes{};
  // How many examples to return; -1 returns every example of the kept classes.
  int64_t n = -1;
  // Examples are taken in file order, or in the order of a permutation drawn with Rng(seed).
  bool shuffle = false;
  uint64_t seed = 0;
  // Take n / k examples of each of the k kept classes (n must be a multiple of k), the first
  // ones in the order above, instead of the first n regardless of class.
  bool balanced = false;
  PixelScaling scaling = PixelScaling::unit;
  bool flatten = true;  // x is [n, 784]; false gives [n, 28, 28]
  Targets targets = Targets::none;
};

template <Real T>
struct Dataset {
  Tensor<T> x;
  // Each example's class as an index into classes (0..k-1), so with all ten classes kept it is
  // the Fashion-MNIST label itself.
  std::vector<int64_t> labels;
  std::vector<int64_t> classes;  // the kept Fashion-MNIST labels, in order
  Tensor<T> y;  // the labels encoded as options.targets asks; empty for Targets::none
};

// Loads the split's two files, checks them (uint8 images of 28x28, uint8 labels in 0..9, as many
// labels as images), then selects, scales and encodes as the options say. Missing files throw
// Error("[fashion_mnist] '<file>' not found: install the Debian package dataset-fashion-mnist
// (apt-get install dataset-fashion-mnist)"); other problems throw "[fashion_mnist] ..." or
// read_idx's errors.
template <Real T>
Dataset<T> load_fashion_mnist(const FashionMnistOptions& options = {});

}  // namespace lamppost
