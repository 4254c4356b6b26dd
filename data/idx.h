// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a
// big-endian magic 00 00 <type> <ndim>, ndim big-endian uint32 extents, then the elements in
// C order, big-endian. Files may be plain or gzip-compressed (as MNIST is distributed); gzip is
// recognised by its magic bytes 1f 8b, whatever the file's name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

// The element types of IDX; the enumerator's value is the type byte of the magic.
enum class IdxType : uint8_t {
  uint8 = 0x08,
  int8 = 0x09,
  int16 = 0x0B,
  int32 = 0x0C,
  float32 = 0x0D,
  float64 = 0x0E,
};

std::string_view to_string(IdxType type);  // "uint8", "int8", ..., "float64"
size_t item_size(IdxType type);            // bytes per element
bool is_integer(IdxType type);

// An IDX array as stored: its element type, shape and the element bytes as in the file.
struct IdxArray {
  IdxType type = IdxType::uint8;
  Shape shape;
  std::vector<unsigned char> bytes;  // numel() * item_size(type) bytes, C order, big-endian

  int64_t numel() const;
  // The values converted to T (int32 and float64 round to nearest when T is float).
  template <Real T>
  Tensor<T> to_tensor() const;
};

// Reads an IDX file, plain or gzip. Everything else is refused with Error("[read_idx] '<path>':
// <reason>") before any allocation larger than the file justifies: a missing or unreadable file,
// a file that is neither IDX nor gzip (bad magic), an unknown type code, 0 or more than kMaxDims
// dimensions, dimensions whose byte count overflows int64, too few data bytes ("truncated") or
// bytes after the data, and corrupt gzip data. A plain file's size is checked against the shape
// before reading; a gzip file's uncompressed size is unknown until it is read, so its buffer
// grows with the data that actually arrive.
IdxArray read_idx_array(const std::filesystem::path& path);

// The values of an IDX file of any type, converted to T, with the file's shape.
template <Real T>
Tensor<T> read_idx(const std::filesystem::path& path);

// The values of a 1-d IDX file of an integer type, such as MNIST's labels, exactly.
std::vector<int64_t> read_idx_labels(const std::filesystem::path& path);

}  // namespace lamppost
