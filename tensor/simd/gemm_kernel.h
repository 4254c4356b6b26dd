// The GEMM micro-kernel and the block sizes around it, per (T, Arch). Only this file of the GEMM
// names xsimd; tensor/gemm.cpp drives it through the BLIS loops and packers.
//
// The kernel computes one MR x NR tile of C from packed panels: a holds kc columns of MR
// values (a[p * MR + i] = A(i, p)), b holds kc rows of NR values (b[p * NR + j] = B(p, j)),
// both zero-padded by the packers, so the kernel never sees a ragged edge. NR is NV vectors
// wide along the rows of C, which are contiguous in lamppost's row-major layout; each step of
// k loads NV vectors of B, broadcasts MR values of A and issues MR * NV FMAs into registers.
#pragma once

#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

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
// The cache blocks are measured in bench/gemm_bench.cpp (BM_gemm_blocking).
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
    // 32 zmm registers: 24 accumulators, 2 of B, broadcasts folded into the FMAs.
    if constexpr (std::is_same_v<T, float>) return {14, 2, 196, 384, 4096};  // avx512
    return {14, 2, 98, 384, 2048};  // avx512
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

template <class T, class Arch = GemmArch>
inline constexpr int kGemmMR = gemm_block_sizes<T, Arch>().mr;
template <class T, class Arch = GemmArch>
inline constexpr int kGemmNR = gemm_block_sizes<T, Arch>().nv* GemmVector<T, Arch>::kLanes;

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

}  // namespace lamppost::detail
