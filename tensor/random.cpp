#include "tensor/random.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace lamppost {

namespace {

using detail::PhiloxCounter;
using detail::PhiloxKey;

__extension__ using Uint128 = unsigned __int128;

// Draw blocks put the block index in counter words 0-1 and keep words 2-3 zero; fold_in sets
// word 2, so its hash blocks can never coincide with a draw's blocks under the same key.
PhiloxCounter draw_counter(uint64_t block) {
  return {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0, 0};
}

uint64_t join(uint32_t lo, uint32_t hi) {
  return uint64_t{hi} << 32 | lo;
}

// Uniforms from raw bits: the top 24 (float) or 53 (double) bits scaled by 2^-24 or 2^-53,
// in [0, 1) or, adding one ulp, in (0, 1].
float unit_float(uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1p-24f;
}
float unit_float_open0(uint32_t bits) {
  return static_cast<float>((bits >> 8) + 1) * 0x1p-24f;
}
double unit_double(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1p-53;
}
double unit_double_open0(uint64_t bits) {
  return static_cast<double>((bits >> 11) + 1) * 0x1p-53;
}

// Writes the values of whole blocks [begin, end) to out[begin * kPerBlock, ...). A plain loop
// over arguments held by value: the compiler vectorises it across blocks, which it does not do
// inside an OpenMP region where everything is reached through the shared frame.
template <int kPerBlock, class T, class Lanes>
void fill_whole_blocks(T* out, int64_t begin, int64_t end, PhiloxKey key, uint64_t base,
                       Lanes lanes) {
  for (int64_t b = begin; b < end; ++b) {
    std::array<T, kPerBlock> values;
    lanes(detail::philox4x32_10(draw_counter(base + static_cast<uint64_t>(b)), key), values);
    for (int k = 0; k < kPerBlock; ++k) out[b * kPerBlock + k] = values[k];
  }
}

// Fills out[0, n) from blocks base, base + 1, ...: lanes(words, values) turns one block into
// kPerBlock values. Element i depends only on block base + i / kPerBlock, so the OpenMP split
// cannot change any value.
template <int kPerBlock, class T, class Lanes>
void fill_from_blocks(T* out, int64_t n, const PhiloxKey& key, uint64_t base, Lanes lanes) {
  const int64_t whole = n / kPerBlock;
  if (n < kParallelThreshold) {
    fill_whole_blocks<kPerBlock>(out, 0, whole, key, base, lanes);
  } else {
    constexpr int64_t kChunk = 4096;  // blocks per OpenMP work item
    const int64_t chunks = (whole + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      fill_whole_blocks<kPerBlock>(out, c * kChunk, std::min(whole, (c + 1) * kChunk), key, base,
                                   lanes);
    }
  }
  // The partial last block, if any.
  std::array<T, kPerBlock> last;
  lanes(detail::philox4x32_10(draw_counter(base + static_cast<uint64_t>(whole)), key), last);
  for (int64_t i = whole * kPerBlock; i < n; ++i) out[i] = last[i - whole * kPerBlock];
}

template <Real T>
constexpr int kPerBlock = sizeof(T) == 4 ? 4 : 2;

template <Real T>
uint64_t blocks_for(int64_t n) {
  return static_cast<uint64_t>((n + kPerBlock<T> - 1) / kPerBlock<T>);
}

}  // namespace

Rng::Rng(uint64_t seed)
    : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}, position_(0) {}

uint64_t Rng::take(uint64_t count) {
  const uint64_t first = position_;
  position_ += count;
  return first;
}

template <Real T>
Tensor<T> Rng::uniform(Shape shape, T low, T high) {
  LAMPPOST_CHECK(std::isfinite(low) && std::isfinite(high) && low < high, "uniform",
                 "needs finite low < high, got low = {} and high = {}", low, high);
  const T width = high - low;
  LAMPPOST_CHECK(std::isfinite(width), "uniform", "the range high - low = {} - {} overflows", high,
                 low);
  const int64_t n = numel(shape, "uniform");
  Tensor<T> out = Tensor<T>::empty(std::move(shape));
  const uint64_t base = take(blocks_for<T>(n));
  // Rounding can carry low + width * u up to high; the largest value below high replaces it,
  // keeping the interval half-open.
  const T below_high = std::nextafter(high, low);
  auto scale = [=](T u) { return std::min(low + width * u, below_high); };
  if constexpr (std::same_as<T, float>) {
    fill_from_blocks<4>(out.data(), n, key_, base, [&](const PhiloxCounter& w, auto& v) {
      for (int k = 0; k < 4; ++k) v[k] = scale(unit_float(w[k]));
    });
  } else {
    fill_from_blocks<2>(out.data(), n, key_, base, [&](const PhiloxCounter& w, auto& v) {
      for (int k = 0; k < 2; ++k) v[k] = scale(unit_double(join(w[2 * k], w[2 * k + 1])));
    });
  }
  return out;
}

template <Real T>
Tensor<T> Rng::normal(Shape shape, T mean, T stddev) {
  LAMPPOST_CHECK(std::isfinite(mean) && std::isfinite(stddev) && stddev >= T(0), "normal",
                 "needs a finite mean and a finite stddev >= 0, got mean = {} and stddev = {}",
                 mean, stddev);
  const int64_t n = numel(shape, "normal");
  Tensor<T> out = Tensor<T>::empty(std::move(shape));
  const uint64_t base = take(blocks_for<T>(n));
  // Box-Muller: for u1 in (0, 1] and u2 in [0, 1), r cos(theta) and r sin(theta) with
  // r = sqrt(-2 log u1), theta = 2 pi u2 are two independent standard normals.
  auto box_muller = [=](T u1, T u2, T& z0, T& z1) {
    const T r = std::sqrt(T(-2) * std::log(u1));
    const T theta = T(2) * std::numbers::pi_v<T> * u2;
    z0 = mean + stddev * (r * std::cos(theta));
    z1 = mean + stddev * (r * std::sin(theta));
  };
  if constexpr (std::same_as<T, float>) {
    fill_from_blocks<4>(out.data(), n, key_, base, [&](const PhiloxCounter& w, auto& v) {
      box_muller(unit_float_open0(w[0]), unit_float(w[1]), v[0], v[1]);
      box_muller(unit_float_open0(w[2]), unit_float(w[3]), v[2], v[3]);
    });
  } else {
    fill_from_blocks<2>(out.data(), n, key_, base, [&](const PhiloxCounter& w, auto& v) {
      box_muller(unit_double_open0(join(w[0], w[1])), unit_double(join(w[2], w[3])), v[0], v[1]);
    });
  }
  return out;
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  LAMPPOST_CHECK(n >= 0, "permutation", "n must be non-negative, got {}", n);
  std::vector<int64_t> p(static_cast<size_t>(n));
  const uint64_t base = take((static_cast<uint64_t>(n) + 1) / 2);
  // Inside-out Fisher-Yates: step i puts i at a uniform j in [0, i] and moves p[j] to p[i].
  // The j of every step is drawn first, in parallel, into p[i] itself: step i reads it before
  // writing p[i], and only writes p[j] with j <= i, never a later step's draw.
  fill_from_blocks<2>(p.data(), n, key_, base, [](const PhiloxCounter& w, auto& v) {
    v[0] = static_cast<int64_t>(join(w[0], w[1]));
    v[1] = static_cast<int64_t>(join(w[2], w[3]));
  });
  for (int64_t i = 0; i < n; ++i) {
    // floor(r * (i + 1) / 2^64) maps the 64-bit draw r onto [0, i].
    const auto r = static_cast<uint64_t>(p[i]);
    const auto j = static_cast<int64_t>((Uint128{r} * static_cast<uint64_t>(i + 1)) >> 64);
    p[i] = p[j];
    p[j] = i;
  }
  return p;
}

uint64_t Rng::next_u64() {
  const PhiloxCounter w = detail::philox4x32_10(draw_counter(take(1)), key_);
  return join(w[0], w[1]);
}

double Rng::next_double() {
  return unit_double(next_u64());
}

Rng Rng::fold_in(uint64_t data) const {
  const PhiloxCounter w = detail::philox4x32_10(
      {static_cast<uint32_t>(data), static_cast<uint32_t>(data >> 32), 1, 0}, key_);
  return Rng(PhiloxKey{w[0], w[1]}, 0);
}

template Tensor<float> Rng::uniform<float>(Shape, float, float);
template Tensor<double> Rng::uniform<double>(Shape, double, double);
template Tensor<float> Rng::normal<float>(Shape, float, float);
template Tensor<double> Rng::normal<double>(Shape, double, double);

}  // namespace lamppost
