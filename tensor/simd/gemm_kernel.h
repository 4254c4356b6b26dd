// The GEMM micro-kernel, the block sizes around it per (T, Arch), and the one packing step
// that needs vector shuffles. Only this file of the GEMM names xsimd or intrinsics;
// tensor/gemm.cpp drives it through the BLIS loops and the other packers.
//
// The kernel computes one MR x NR tile of C from packed panels: a holds kc columns of MR
// values (a[p * MR + i] = A(i, p)), b holds kc rows of NR values (b[p * NR + j] = B(p, j)),
// both zero-padded by the packers, so the kernel never sees a ragged edge. NR is NV vectors
// wide along the rows of C, which are contiguous in lamppost's row-major layout; each step of
// k loads NV vectors of B, broadcasts MR values of A and issues MR * NV FMAs into registers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "tensor/simd/xsimd.h"

namespace lamppost::detail {

using GemmArch = xsimd::default_arch;

// Vector operations the kernel needs. The primary template wraps xsimd::batch; the
// specialisation for xsimd::unavailable (a target xsimd knows no SIMD for) is one lane of T.
template <class T, class Arch>
struct GemmVector {
  using V = xsimd::batch<T, Arch>;
  static constexpr int kLanes = static_cast<int>(V::size);
  static V broadcast(T x) { return V(x); }
  static V load_aligned(const T* p) { return V::load_aligned(p); }
  static V load(const T* p) { return V::load_unaligned(p); }
  static void store(T* p, V v) { v.store_unaligned(p); }
  static V fma(V x, V y, V z) { return xsimd::fma(x, y, z); }
};

template <class T>
struct GemmVector<T, xsimd::unavailable> {
  using V = T;
  static constexpr int kLanes = 1;
  static V broadcast(T x) { return x; }
  static V load_aligned(const T* p) { return *p; }
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V fma(V x, V y, V z) { return x * y + z; }
};

// Register block (MR rows x NV vectors) and cache blocks (MC, KC, NC) for one (T, Arch).
// MR * NV accumulators plus NV vectors of B and a broadcast must fit the register file, and
// MR * NV must cover the FMA latency times the FMA ports (Zen 5: 4 cycles x 2 ports = 8).
// KC: a kc x NR panel of B stays in L1 while the MR x kc panels of A stream past it;
// MC: the mc x kc block of A stays in L2; NC: the kc x nc block of B in L3.
// Shapes and cache blocks are measured in bench/gemm_bench.cpp (its kernel/ and blocking/ rows).
struct GemmBlockSizes {
  int mr;
  int nv;
  int64_t mc;
  int64_t kc;
  int64_t nc;
};

template <class T, class Arch>
constexpr GemmBlockSizes gemm_block_sizes() {
  if constexpr (std::is_same_v<Arch, xsimd::unavailable>) {
    return {4, 4, 64, 256, 1024};
  } else if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    // 32 zmm registers: 28 accumulators, 2 of B, 1 broadcast. Shapes 6x2 to 14x2 and 8x3 all
    // run near peak on L1-resident panels; 14x2 came out best in the full product (Zen 5).
    if constexpr (std::is_same_v<T, float>) return {14, 2, 196, 384, 4096};  // avx512
    return {14, 2, 98, 384, 2048};                                           // avx512
  } else if constexpr (std::is_base_of_v<xsimd::avx, Arch>) {
    // 16 ymm registers: 12 accumulators, 2 of B, 1 broadcast.
    if constexpr (std::is_same_v<T, float>) return {6, 2, 144, 256, 4080};
    return {6, 2, 72, 256, 4080};
  } else {
    // 128-bit registers (SSE, NEON): the same 6 x 2 shape on narrower vectors.
    if constexpr (std::is_same_v<T, float>) return {6, 2, 144, 256, 4096};
    return {6, 2, 96, 256, 2048};
  }
}

template <class T, class Arch>
constexpr int gemm_nr() {
  const int lanes = GemmVector<T, Arch>::kLanes;
  return lanes * gemm_block_sizes<T, Arch>().nv;
}

template <class T, class Arch = GemmArch>
inline constexpr int kGemmMR = gemm_block_sizes<T, Arch>().mr;
template <class T, class Arch = GemmArch>
inline constexpr int kGemmNR = gemm_nr<T, Arch>();

// C[0:MR, 0:NR] = alpha * (packed a) * (packed b) + beta * C, where C's rows are ldc apart
// and contiguous. With beta == 0 C is only written, never read. b must be aligned to the
// vector width (the packers' buffers are 64-byte aligned and NR vectors wide).
// MR and NV default to the tuned shape; bench/gemm_bench.cpp instantiates others to compare.
template <class T, class Arch = GemmArch, int kMR = gemm_block_sizes<T, Arch>().mr,
          int kNV = gemm_block_sizes<T, Arch>().nv>
void gemm_micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T alpha, T beta,
                       T* __restrict c, int64_t ldc) {
  using Vec = GemmVector<T, Arch>;
  using V = typename Vec::V;
  constexpr int kL = Vec::kLanes;
  constexpr int kNR = kNV * kL;

  // The tile of C is needed only after the k loop; ask for it now so the loads overlap.
  for (int i = 0; i < kMR; ++i) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + kNR - 1, 1, 3);
  }

  V acc[kMR][kNV];
#pragma GCC unroll 32
  for (int i = 0; i < kMR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[i][v] = Vec::broadcast(T(0));
  }

#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    V bv[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) bv[v] = Vec::load_aligned(b + v * kL);
#pragma GCC unroll 32
    for (int i = 0; i < kMR; ++i) {
      const V ai = Vec::broadcast(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[i][v] = Vec::fma(ai, bv[v], acc[i][v]);
    }
    a += kMR;
    b += kNR;
  }

  const V valpha = Vec::broadcast(alpha);
  if (beta == T(0)) {
#pragma GCC unroll 32
    for (int i = 0; i < kMR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) Vec::store(c + i * ldc + v * kL, valpha * acc[i][v]);
    }
  } else {
    const V vbeta = Vec::broadcast(beta);
#pragma GCC unroll 32
    for (int i = 0; i < kMR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) {
        T* out = c + i * ldc + v * kL;
        Vec::store(out, Vec::fma(valpha, acc[i][v], vbeta * Vec::load(out)));
      }
    }
  }
}

// Packing a row-major A (or a column-major B) interleaves W strided runs into one:
// out[p * W + r] = src[r * ld + p] for r < rows and p < kc, zero for rows <= r < W.
// Element by element that is a scalar load and store per value, which made packing A a tenth
// of a 1024^3 sgemm; with AVX-512 it goes through L x L in-register transposes (L = lanes),
// one vector load and one masked store per L values.
#if XSIMD_WITH_AVX512F
namespace gemm_pack {

// In-register transposes built from two-source permutes (vpermt2ps/pd): index i < L picks
// x[i], L + i picks y[i]. (The unpack and shuffle intrinsics would do the same in fewer bytes,
// but GCC 12's wrappers for them trip -Wmaybe-uninitialized.)
inline __m512 permute(__m512 x, __m512 y, const int32_t (&index)[16]) {
  return _mm512_permutex2var_ps(x, _mm512_loadu_si512(index), y);
}
inline __m512d permute(__m512d x, __m512d y, const int64_t (&index)[8]) {
  return _mm512_permutex2var_pd(x, _mm512_loadu_si512(index), y);
}

// Transposes the 16 x 16 block held in r[0..15] (row i in r[i]) in place, in four rounds, each
// pairing rows at a doubling distance. Comments give what vector i holds after the round, by
// 128-bit lane b.
inline void transpose(__m512 r[16]) {
  static constexpr int32_t kLo32[16] = {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29};
  static constexpr int32_t kHi32[16] = {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31};
  static constexpr int32_t kLo64[16] = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  static constexpr int32_t kHi64[16] = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  static constexpr int32_t kLanes01[16] = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  static constexpr int32_t kLanes23[16] = {8,  9,  10, 11, 12, 13, 14, 15,
                                           24, 25, 26, 27, 28, 29, 30, 31};
  static constexpr int32_t kLanes02[16] = {0,  1,  2,  3,  8,  9,  10, 11,
                                           16, 17, 18, 19, 24, 25, 26, 27};
  static constexpr int32_t kLanes13[16] = {4,  5,  6,  7,  12, 13, 14, 15,
                                           20, 21, 22, 23, 28, 29, 30, 31};
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // t[i + j]: rows i, i+1 of columns 4b+2j, 4b+2j+1
    t[i] = permute(r[i], r[i + 1], kLo32);
    t[i + 1] = permute(r[i], r[i + 1], kHi32);
  }
  for (int i = 0; i < 16; i += 4) {  // r[i + j]: rows i..i+3 of column 4b+j
    r[i] = permute(t[i], t[i + 2], kLo64);
    r[i + 1] = permute(t[i], t[i + 2], kHi64);
    r[i + 2] = permute(t[i + 1], t[i + 3], kLo64);
    r[i + 3] = permute(t[i + 1], t[i + 3], kHi64);
  }
  for (int j = 0; j < 4; ++j) {  // lanes 0, 1 (then 2, 3) of rows 0-3 and 4-7, 8-11 and 12-15
    t[j] = permute(r[j], r[4 + j], kLanes01);
    t[4 + j] = permute(r[j], r[4 + j], kLanes23);
    t[8 + j] = permute(r[8 + j], r[12 + j], kLanes01);
    t[12 + j] = permute(r[8 + j], r[12 + j], kLanes23);
  }
  for (int j = 0; j < 4; ++j) {  // column 4b + j: lane b of the four row groups
    r[j] = permute(t[j], t[8 + j], kLanes02);
    r[4 + j] = permute(t[j], t[8 + j], kLanes13);
    r[8 + j] = permute(t[4 + j], t[12 + j], kLanes02);
    r[12 + j] = permute(t[4 + j], t[12 + j], kLanes13);
  }
}

// The same for 8 x 8 doubles, in three rounds.
inline void transpose(__m512d r[8]) {
  static constexpr int64_t kLo[8] = {0, 8, 2, 10, 4, 12, 6, 14};
  static constexpr int64_t kHi[8] = {1, 9, 3, 11, 5, 13, 7, 15};
  static constexpr int64_t kLanes01[8] = {0, 1, 2, 3, 8, 9, 10, 11};
  static constexpr int64_t kLanes23[8] = {4, 5, 6, 7, 12, 13, 14, 15};
  static constexpr int64_t kLanes02[8] = {0, 1, 4, 5, 8, 9, 12, 13};
  static constexpr int64_t kLanes13[8] = {2, 3, 6, 7, 10, 11, 14, 15};
  __m512d t[8];
  for (int i = 0; i < 8; i += 2) {  // t[i + j]: rows i, i+1 of column 2b+j
    t[i] = permute(r[i], r[i + 1], kLo);
    t[i + 1] = permute(r[i], r[i + 1], kHi);
  }
  __m512d u[8];
  for (int j = 0; j < 2; ++j) {  // lanes 0, 1 (then 2, 3) of rows 0-1 and 2-3, 4-5 and 6-7
    u[j] = permute(t[j], t[2 + j], kLanes01);
    u[2 + j] = permute(t[j], t[2 + j], kLanes23);
    u[4 + j] = permute(t[4 + j], t[6 + j], kLanes01);
    u[6 + j] = permute(t[4 + j], t[6 + j], kLanes23);
  }
  for (int j = 0; j < 2; ++j) {  // column 2b + j: lane b of the four row pairs
    r[j] = permute(u[j], u[4 + j], kLanes02);
    r[2 + j] = permute(u[j], u[4 + j], kLanes13);
    r[4 + j] = permute(u[2 + j], u[6 + j], kLanes02);
    r[6 + j] = permute(u[2 + j], u[6 + j], kLanes13);
  }
}

template <class T>
struct Zmm;
template <>
struct Zmm<float> {
  using V = __m512;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V zero() { return _mm512_setzero_ps(); }
  static void store(float* p, __mmask16 mask, V v) { _mm512_mask_storeu_ps(p, mask, v); }
};
template <>
struct Zmm<double> {
  using V = __m512d;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V zero() { return _mm512_setzero_pd(); }
  static void store(double* p, __mmask8 mask, V v) { _mm512_mask_storeu_pd(p, mask, v); }
};

// The vector part of gemm_pack_interleave: columns [0, kc - kc % L). Returns where it stopped.
template <int64_t W, class T>
int64_t interleave(const T* src, int64_t ld, int64_t rows, int64_t kc, T* out) {
  using Z = Zmm<T>;
  constexpr int64_t kL = 64 / sizeof(T);
  int64_t p = 0;
  for (; p + kL <= kc; p += kL) {
    for (int64_t g = 0; g < W; g += kL) {  // runs g .. g + L - 1, zero past rows
      typename Z::V v[kL];
      for (int64_t r = 0; r < kL; ++r) {
        v[r] = g + r < rows ? Z::load(src + (g + r) * ld + p) : Z::zero();
      }
      transpose(v);
      const auto mask = static_cast<unsigned>((uint64_t{1} << std::min(kL, W - g)) - 1);
      for (int64_t j = 0; j < kL; ++j) Z::store(out + (p + j) * W + g, mask, v[j]);
    }
  }
  return p;
}

}  // namespace gemm_pack
#endif

template <int64_t W, class T>
void gemm_pack_interleave(const T* src, int64_t ld, int64_t rows, int64_t kc, T* out) {
  int64_t p = 0;
#if XSIMD_WITH_AVX512F
  p = gemm_pack::interleave<W>(src, ld, rows, kc, out);
#endif
  for (; p < kc; ++p) {
    for (int64_t r = 0; r < rows; ++r) out[p * W + r] = src[r * ld + p];
    for (int64_t r = rows; r < W; ++r) out[p * W + r] = T(0);
  }
}

}  // namespace lamppost::detail
