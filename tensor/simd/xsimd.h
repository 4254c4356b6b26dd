// The one include of xsimd in lamppost; code under tensor/simd/ includes this, not xsimd.
//
// GCC 12's AVX-512 intrinsics initialise their "undefined" registers from themselves, and once
// xsimd's math is inlined GCC reports them as used uninitialized (GCC bug 105593, fixed in
// GCC 13). The warnings point into the intrinsic headers, so they are silenced for exactly the
// lines those headers bring in here.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
