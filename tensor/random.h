// Random numbers from Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as
// easy as 1, 2, 3", SC 2011), a counter-based generator: each 128-bit output block is a pure
// function of (key, counter). So a seed fixes every value whatever the thread count, and a
// draw's element i is computed without touching elements 0..i-1, which lets OpenMP fill a
// tensor in any order.
//
// Layout of a draw: an Rng holds a key and a position counted in blocks. A draw of n elements
// reads blocks position, position + 1, ... and advances the position past them, so successive
// draws never share a block. A block gives 4 floats or 2 doubles (uniform and normal alike),
// 2 permutation steps, or 1 scalar draw; element i of a tensor draw comes from block
// position + i / per_block, lane i % per_block.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace lamppost {

namespace detail {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

// One Philox4x32-10 block, exactly as Random123's philox4x32(ctr, key), so it can be checked
// against their known-answer vectors.
constexpr PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;  // round multipliers
  constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kW0;
      key[1] += kW1;
    }
    const uint64_t p0 = uint64_t{kM0} * ctr[0];
    const uint64_t p1 = uint64_t{kM1} * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
  }
  return ctr;
}

}  // namespace detail

class Rng {
 public:
  // The key is the seed's two 32-bit halves; the position starts at 0.
  explicit Rng(uint64_t seed);

  // Independent uniforms in [low, high). float values carry 24 random bits, double 53.
  // Requires finite low < high with a finite high - low.
  template <Real T>
  Tensor<T> uniform(Shape shape, T low = T(0), T high = T(1));

  // Independent normals by Box-Muller on uniforms u1 in (0, 1] (so log(u1) is finite) and
  // u2 in [0, 1); both outputs of each pair are used. The tails stop at |z| < 5.8 for float
  // and 8.6 for double, the largest values the 24- and 53-bit u1 can give. Requires a finite
  // mean and a finite stddev >= 0.
  template <Real T>
  Tensor<T> normal(Shape shape, T mean = T(0), T stddev = T(1));

  // A uniformly random ordering of 0, ..., n - 1 (Fisher-Yates; each step's index is drawn
  // with a 64-bit multiply-shift, whose bias is below n / 2^64).
  std::vector<int64_t> permutation(int64_t n);

  // Scalar draws; each uses one block of its own.
  uint64_t next_u64();
  double next_double();  // in [0, 1), 53 random bits

  // A generator for an independent stream, keyed by hashing (this key, data) through Philox,
  // as JAX's fold_in does. It depends on the key and data only, not on the position, so
  // Rng(seed).fold_in(layer) names the same stream wherever it is called. Its position is 0.
  Rng fold_in(uint64_t data) const;

  const detail::PhiloxKey& key() const { return key_; }
  uint64_t position() const { return position_; }  // in blocks

 private:
  Rng(detail::PhiloxKey key, uint64_t position) : key_(key), position_(position) {}
  // Reserves count blocks and returns the first one's index.
  uint64_t take(uint64_t count);

  detail::PhiloxKey key_;
  uint64_t position_ = 0;
};

// Shorthands for rng.uniform<T>(shape) and rng.normal<T>(shape).
template <Real T>
Tensor<T> rand(Shape shape, Rng& rng) {
  return rng.uniform<T>(std::move(shape));
}

template <Real T>
Tensor<T> randn(Shape shape, Rng& rng) {
  return rng.normal<T>(std::move(shape));
}

}  // namespace lamppost
