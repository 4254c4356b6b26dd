// NumPy's .npy files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
// so tensors move to and from NumPy: np.load reads what save_npy writes and load_npy reads what
// np.save writes for float32 and float64 arrays.
#pragma once

#include <filesystem>

#include "tensor/tensor.h"

namespace lamppost {

// Writes the tensor as NPY 1.0 (2.0 only if the header outgrows 1.0's 64 KiB limit), dtype
// '<f4' or '<f8', fortran_order False: the elements in C order, whatever the view's strides.
// The write is atomic: the file is written to a temporary in the same folder, flushed to disk,
// closed, then renamed over path, so readers see the old file or the whole new one, and a
// failure leaves an existing file untouched and no temporary behind. A symbolic link at path
// is replaced, not followed. Errors throw Error("[save_npy] '<path>': <reason>").
template <Real T>
void save_npy(const std::filesystem::path& path, const Tensor<T>& tensor);

// Reads an NPY file of version 1.0, 2.0 or 3.0 holding a C-order '<f4' or '<f8' array of up to
// kMaxDims dimensions (0-d included). A file of the other float type is converted to T (f8
// to float rounds to nearest). Everything else is refused with Error("[load_npy] '<path>':
// <reason>") before any allocation sized by the file: a missing or unreadable file, a bad
// magic string, an unsupported version, a header that does not parse, another dtype ('<i8',
// big-endian '>f8', structured, ...), fortran_order True, more than kMaxDims dimensions, a
// negative or overflowing dimension, and a data length that does not match the shape
// (truncated or trailing bytes).
template <Real T>
Tensor<T> load_npy(const std::filesystem::path& path);

}  // namespace lamppost
