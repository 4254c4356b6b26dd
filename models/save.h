// Saving and loading a network: its description and its parameters in one file, written
// atomically, read back bit for bit. The file is a short text header (one "key value" per line,
// reals in hexadecimal so they round-trip exactly) followed by the raw little-endian parameters:
//     lamppost model 1
//     kind mlp
//     type float64
//     inputs 784
//     hidden 1024 1024
//     ... (outputs, activation, parameterization, sigma_w, sigma_b, biases, nonlinear_output)
//     parameters 1863690
//     data
//     <parameters * 8 bytes>
#pragma once

#include <filesystem>

#include "models/mlp.h"

namespace lamppost {

template <Real T>
void save_model(const std::filesystem::path& path, const Mlp<T>& mlp, const Tensor<T>& params);

template <Real T>
struct SavedModel {
  Mlp<T> mlp;
  Tensor<T> params;
};

// Parameters saved in the other precision are converted (float64 to float rounds to nearest).
// A file that is not a saved model, is truncated, has trailing bytes, an unknown, missing or
// repeated key, a value out of range, or a parameter count that does not match its network is
// refused with Error("[load_model] '<path>': <reason>") before anything sized by the file is
// allocated beyond the file's own size.
template <Real T>
SavedModel<T> load_model(const std::filesystem::path& path);

}  // namespace lamppost
