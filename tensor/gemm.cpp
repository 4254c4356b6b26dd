// The packed GEMM, BLIS style: five loops around the register-blocked micro-kernel of
// tensor/simd/gemm_kernel.h.
//
//   jc over n by NC      B block kc x nc, packed into NR-wide panels (shared by the threads)
//    pc over k by KC     beta applies on the first pc step only; later steps accumulate
//     ic over m by MC    the threaded loop: chunks of up to MC rows, each thread packs its A
//      jr over nc by NR
//       ir over mc by MR   micro-kernel: MR x NR tile of C, loops over kc only
//
// Chunks start at multiples of MR and every element of C sums its products in k order, block
// by block, whoever computes it, so the result is bit-identical across thread counts.
#include "tensor/gemm.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <memory>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/simd/gemm_kernel.h"

namespace lamppost {
namespace detail {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// A 64-byte aligned buffer that grows on demand and is kept for the next call, so a thread
// allocates only when a gemm needs more room than any before it.
template <Real T>
class PackBuffer {
 public:
  T* reserve(int64_t count) {
    if (count > capacity_) {
      storage_ = allocate(count, sizeof(T));
      capacity_ = count;
    }
    return static_cast<T*>(storage_.data());
  }

 private:
  Storage storage_;
  int64_t capacity_ = 0;
};

// One buffer for packed A per thread; the B buffer belongs to the calling thread and its team
// shares it for the duration of the call.
template <Real T>
PackBuffer<T>& a_pack_buffer() {
  thread_local PackBuffer<T> buffer;
  return buffer;
}

template <Real T>
PackBuffer<T>& b_pack_buffer() {
  thread_local PackBuffer<T> buffer;
  return buffer;
}

// out[p * W + r] = src[p * ld + r] for r < cols, p < kc, zero for cols <= r < W: rows of a
// strip copied into place.
template <int64_t W, class T>
void copy_rows(const T* src, int64_t ld, int64_t cols, int64_t kc, T* out) {
  if (cols == W) {
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < W; ++r) out[p * W + r] = src[p * ld + r];
    }
    return;
  }
  for (int64_t p = 0; p < kc; ++p) {
    for (int64_t r = 0; r < cols; ++r) out[p * W + r] = src[p * ld + r];
    for (int64_t r = cols; r < W; ++r) out[p * W + r] = T(0);
  }
}

// out[p * W + r] = m(r, p) for any strides, zero for rows <= r < W.
template <int64_t W, class T>
void gather(MatrixRef<const T> m, int64_t rows, int64_t kc, T* out) {
  for (int64_t p = 0; p < kc; ++p) {
    for (int64_t r = 0; r < rows; ++r) out[p * W + r] = m.data[r * m.row_stride + p * m.col_stride];
    for (int64_t r = rows; r < W; ++r) out[p * W + r] = T(0);
  }
}

// Rows [0, mc) x columns [0, kc) of a into MR-tall panels: panel q holds
// out[q * MR * kc + p * MR + r] = a(q * MR + r, p), with rows past mc zero.
template <Real T>
void pack_a(MatrixRef<const T> a, int64_t mc, int64_t kc, T* out) {
  constexpr int64_t kMR = kGemmMR<T>;
  for (int64_t i0 = 0; i0 < mc; i0 += kMR, out += kMR * kc) {
    const int64_t rows = std::min(kMR, mc - i0);
    const T* src = a.data + i0 * a.row_stride;
    if (a.col_stride == 1) {
      gemm_pack_interleave<kMR>(src, a.row_stride, rows, kc, out);
    } else if (a.row_stride == 1) {  // a transposed view: each panel row is a run
      copy_rows<kMR>(src, a.col_stride, rows, kc, out);
    } else {
      gather<kMR>(MatrixRef<const T>{src, rows, kc, a.row_stride, a.col_stride}, rows, kc, out);
    }
  }
}

// Panels [q_begin, q_end) of the kc x nc block b, NR wide, panel q at b_pack + q * kc * NR:
// b_pack[(q * kc + p) * NR + j] = b(p, q * NR + j), with columns past nc zero.
template <Real T>
void pack_b(MatrixRef<const T> b, int64_t kc, int64_t nc, int64_t q_begin, int64_t q_end,
            T* b_pack) {
  constexpr int64_t kNR = kGemmNR<T>;
  if (b.col_stride == 1) {
    // Row by row across all the full panels: B is read in long runs rather than in NR-wide
    // strips a row apart, which the prefetchers follow poorly.
    const int64_t q_full = std::max(q_begin, std::min(q_end, nc / kNR));
    for (int64_t p = 0; p < kc; ++p) {
      const T* row = b.data + p * b.row_stride;
      for (int64_t q = q_begin; q < q_full; ++q) {
        T* dst = b_pack + (q * kc + p) * kNR;
        for (int64_t j = 0; j < kNR; ++j) dst[j] = row[q * kNR + j];
      }
    }
    for (int64_t q = q_full; q < q_end; ++q) {
      copy_rows<kNR>(b.data + q * kNR, b.row_stride, std::min(kNR, nc - q * kNR), kc,
                     b_pack + q * kc * kNR);
    }
    return;
  }
  for (int64_t q = q_begin; q < q_end; ++q) {
    const T* src = b.data + q * kNR * b.col_stride;
    const int64_t cols = std::min(kNR, nc - q * kNR);
    T* dst = b_pack + q * kc * kNR;
    if (b.row_stride == 1) {  // a transposed view: each column of the panel is a run
      gemm_pack_interleave<kNR>(src, b.col_stride, cols, kc, dst);
    } else {
      gather<kNR>(MatrixRef<const T>{src, cols, kc, b.col_stride, b.row_stride}, cols, kc, dst);
    }
  }
}

// C = beta * C, the whole product when alpha == 0 or k == 0. beta == 0 overwrites.
template <Real T>
void scale(MatrixRef<T> c, T beta) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < c.rows; ++i) {
    T* row = c.data + i * c.row_stride;
    for (int64_t j = 0; j < c.cols; ++j) {
      T& x = row[j * c.col_stride];
      x = beta == T(0) ? T(0) : beta * x;
    }
  }
}

template <Real T>
MatrixRef<const T> sub(MatrixRef<const T> m, int64_t row, int64_t col, int64_t rows, int64_t cols) {
  return {m.data + row * m.row_stride + col * m.col_stride, rows, cols, m.row_stride, m.col_stride};
}

// Work sharing inside one gemm call. The machine may be shared, so a thread can be descheduled
// for milliseconds: work is claimed dynamically (a thread that shows up late finds it done, and
// the others do its share), and a thread with nothing left to do sleeps on the counter it waits
// for (futex-backed std::atomic::wait) rather than spinning, so its core can run the thread it
// waits for. The counters run on across the (jc, pc) steps, so a late thread skips the steps it
// missed by itself.
struct alignas(64) Counter {
  std::atomic<int64_t> value{0};
};

struct GemmTeam {
  int threads = 1;
  Counter pack_next;  // B panels claimed / packed
  Counter pack_done;
  Counter rows_next;  // MR-row panels of C claimed / finished
  Counter rows_done;
};

// Claims [first, first + count) of the items before end; count 0 when none are left. The
// chunk is a share of what remains (guided scheduling): large chunks first, then smaller ones
// so the threads finish together; never more than max_chunk.
int64_t claim(std::atomic<int64_t>& next, int64_t end, int64_t max_chunk, int threads,
              int64_t& first) {
  int64_t current = next.load(std::memory_order_relaxed);
  while (current < end) {
    const int64_t share = threads == 1 ? end - current : (end - current) / (2 * threads);
    const int64_t count = std::clamp(share, int64_t{1}, max_chunk);
    if (next.compare_exchange_weak(current, current + count, std::memory_order_relaxed)) {
      first = current;
      return count;
    }
  }
  return 0;
}

void wait_for(const std::atomic<int64_t>& done, int64_t target) {
  for (int64_t seen; (seen = done.load(std::memory_order_acquire)) < target;) {
    done.wait(seen, std::memory_order_acquire);
  }
}

// C rows [row0, row0 + mc) of the current (jc, pc) step: pack that block of A, then sweep the
// packed B block with the micro-kernel.
template <Real T>
void compute_rows(T alpha, MatrixRef<const T> a, T beta, MatrixRef<T> c, const T* b_pack,
                  int64_t row0, int64_t mc, int64_t jc, int64_t nc, int64_t kc, T* a_pack,
                  T* tile) {
  constexpr int64_t kMR = kGemmMR<T>;
  constexpr int64_t kNR = kGemmNR<T>;
  pack_a(sub(a, row0, 0, mc, kc), mc, kc, a_pack);
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const T* b_panel = b_pack + jr * kc;
    const int64_t cols = std::min(kNR, nc - jr);
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      const T* a_panel = a_pack + ir * kc;
      const int64_t rows = std::min(kMR, mc - ir);
      T* c_tile = c.data + (row0 + ir) * c.row_stride + (jc + jr) * c.col_stride;
      if (rows == kMR && cols == kNR && c.col_stride == 1) {
        gemm_micro_kernel<T>(kc, a_panel, b_panel, alpha, beta, c_tile, c.row_stride);
        continue;
      }
      // A ragged tile, or a C with non-unit column stride: through the aligned tile buffer,
      // with the same arithmetic as a full tile.
      if (beta != T(0)) {
        for (int64_t i = 0; i < rows; ++i) {
          for (int64_t j = 0; j < cols; ++j) {
            tile[i * kNR + j] = c_tile[i * c.row_stride + j * c.col_stride];
          }
        }
      }
      gemm_micro_kernel<T>(kc, a_panel, b_panel, alpha, beta, tile, kNR);
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
          c_tile[i * c.row_stride + j * c.col_stride] = tile[i * kNR + j];
        }
      }
    }
  }
}

// The depth and width of the (jc, pc) steps: KC and NC shrunk to split k and n evenly (nc
// stays a multiple of NR), so there is no thin last step that pays the C update and the
// packing for little work.
struct Steps {
  int64_t kc;
  int64_t nc;
};

inline Steps balanced_steps(const GemmBlocking& bs, int64_t k, int64_t n) {
  const int64_t kc = ceil_div(k, ceil_div(k, bs.kc));
  const int64_t nc = ceil_div(ceil_div(n, ceil_div(n, bs.nc)), bs.nr) * bs.nr;
  return {kc, nc};
}

// The loop nest, run by every thread of the team (or alone). Each (jc, pc) step packs the
// shared B block (chunks of panels claimed by whoever is there), waits until it is complete,
// computes claimed chunks of rows, and waits until all rows are done before the next step
// repacks B.
template <Real T>
void gemm_thread(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c,
                 const GemmBlocking& bs, T* b_pack, GemmTeam& team) {
  constexpr int64_t kMR = kGemmMR<T>;
  constexpr int64_t kNR = kGemmNR<T>;
  const int64_t m = c.rows;
  const int64_t n = c.cols;
  const int64_t k = a.cols;
  const int64_t row_panels = ceil_div(m, kMR);

  const auto [kc_step, nc_step] = balanced_steps(bs, k, n);
  T* a_pack = a_pack_buffer<T>().reserve(bs.mc * kc_step);
  // Kept initialised so the kernel never reads indeterminate values past a ragged tile.
  alignas(64) T tile[kMR * kNR] = {};

  int64_t pack_end = 0;
  int64_t rows_end = 0;
  for (int64_t jc = 0; jc < n; jc += nc_step) {
    const int64_t nc = std::min(nc_step, n - jc);
    const int64_t b_panels = ceil_div(nc, kNR);
    for (int64_t pc = 0; pc < k; pc += kc_step) {
      const int64_t kc = std::min(kc_step, k - pc);
      const auto b_block = sub(b, pc, jc, kc, nc);
      const int64_t pack_begin = pack_end;
      pack_end += b_panels;
      int64_t first = 0;
      for (int64_t count;
           (count = claim(team.pack_next.value, pack_end, b_panels, team.threads, first)) > 0;) {
        pack_b(b_block, kc, nc, first - pack_begin, first - pack_begin + count, b_pack);
        team.pack_done.value.fetch_add(count, std::memory_order_release);
        team.pack_done.value.notify_all();
      }
      wait_for(team.pack_done.value, pack_end);

      const int64_t rows_begin = rows_end;
      rows_end += row_panels;
      const T beta_now = pc == 0 ? beta : T(1);  // beta once; later steps accumulate
      for (int64_t count;
           (count = claim(team.rows_next.value, rows_end, bs.mc / kMR, team.threads, first)) > 0;) {
        const int64_t row0 = (first - rows_begin) * kMR;
        compute_rows(alpha, sub(a, 0, pc, m, kc), beta_now, c, b_pack, row0,
                     std::min(count * kMR, m - row0), jc, nc, kc, a_pack, tile);
        team.rows_done.value.fetch_add(count, std::memory_order_release);
        team.rows_done.value.notify_all();
      }
      wait_for(team.rows_done.value, rows_end);  // nobody reads this B block any more
    }
  }
}

template <Real T>
void gemm_packed(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c,
                 const GemmBlocking& bs, int max_team) {
  const int64_t m = c.rows;
  const int64_t n = c.cols;
  const int64_t k = a.cols;
  assert(a.rows == m && b.rows == k && b.cols == n);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == T(0)) {
    scale(c, beta);
    return;
  }
  const int64_t panels = ceil_div(m, bs.mr);
  const int threads =
      m * n * k < kGemmParallelWork ? 1 : static_cast<int>(std::min<int64_t>(max_team, panels));
  const auto [kc_step, nc_step] = balanced_steps(bs, k, n);
  T* b_pack = b_pack_buffer<T>().reserve(kc_step * nc_step);
  GemmTeam team;
  team.threads = threads;
  if (threads == 1) {  // even an inactive parallel region costs microseconds at small sizes
    gemm_thread(alpha, a, b, beta, c, bs, b_pack, team);
    return;
  }
#pragma omp parallel num_threads(threads)
  gemm_thread(alpha, a, b, beta, c, bs, b_pack, team);
}

// Block sizes beyond this are surely a mistake, and would overflow the buffer size products.
constexpr int64_t kMaxBlock = int64_t{1} << 20;

template <Real T>
MatrixRef<const T> as_matrix(const Tensor<T>& t, Op op) {
  MatrixRef<const T> m{t.data(), t.shape()[0], t.shape()[1], t.strides()[0], t.strides()[1]};
  if (op == Op::transpose) {
    std::swap(m.rows, m.cols);
    std::swap(m.row_stride, m.col_stride);
  }
  return m;
}

}  // namespace

template <Real T>
GemmBlocking gemm_blocking() {
  constexpr GemmBlockSizes s = gemm_block_sizes<T, GemmArch>();
  return {kGemmMR<T>, kGemmNR<T>, s.mc, s.kc, s.nc};
}

template <Real T>
void gemm_blocked(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c,
                  const GemmBlocking& blocking) {
  const GemmBlocking tuned = gemm_blocking<T>();
  LAMPPOST_CHECK(blocking.mr == tuned.mr && blocking.nr == tuned.nr && blocking.mc > 0 &&
                     blocking.mc % blocking.mr == 0 && blocking.kc > 0 && blocking.nc > 0 &&
                     blocking.nc % blocking.nr == 0 && blocking.mc <= kMaxBlock &&
                     blocking.kc <= kMaxBlock && blocking.nc <= kMaxBlock,
                 "gemm", "block sizes mr {} nr {} mc {} kc {} nc {} do not fit the {} x {} kernel",
                 blocking.mr, blocking.nr, blocking.mc, blocking.kc, blocking.nc, tuned.mr,
                 tuned.nr);
  gemm_packed(alpha, a, b, beta, c, blocking, max_threads());
}

namespace {

// Products this small (a tiny network's layers) cost less than packing them would: they run as
// plain loops over rows of C, accumulating in the order k = 0..K-1.
constexpr int64_t kSmallGemmWork = int64_t{1} << 14;

template <Real T>
void gemm_small(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c) {
  const int64_t n = c.cols;
  // Rows of B contiguous, so that the inner loop runs in SIMD: a transposed B is copied first.
  thread_local std::vector<T> b_rows;
  const T* b_data = b.data;
  int64_t b_row_stride = b.row_stride;
  if (b.col_stride != 1 && n > 1) {
    b_rows.resize(static_cast<size_t>(b.rows * n));
    for (int64_t p = 0; p < b.rows; ++p) {
      for (int64_t j = 0; j < n; ++j)
        b_rows[p * n + j] = b.data[p * b.row_stride + j * b.col_stride];
    }
    b_data = b_rows.data();
    b_row_stride = n;
  }
  auto store = [&](T* out, T sum) {
    *out = beta == T(0) ? alpha * sum : alpha * sum + beta * *out;
  };
  if (n == 1) {  // a matrix-vector product: one running sum per row, kept in a register
    for (int64_t i = 0; i < c.rows; ++i) {
      T sum = 0;
      for (int64_t p = 0; p < a.cols; ++p) {
        sum += a.data[i * a.row_stride + p * a.col_stride] * b.data[p * b.row_stride];
      }
      store(c.data + i * c.row_stride, sum);
    }
    return;
  }
  // Rows of C in groups of kRows, one vector of columns at a time: kRows independent sums in
  // registers hide the latency of the multiply-adds. Leftover rows go one at a time, and
  // leftover columns (fewer than a vector) element by element.
  using Vec = GemmVector<T, GemmArch>;
  constexpr int64_t kLanes = Vec::kLanes;
  constexpr int64_t kRows = 4;
  const int64_t full_columns = n / kLanes * kLanes;
  auto rows_block = [&](int64_t i0, auto rows) {
    for (int64_t j0 = 0; j0 < full_columns; j0 += kLanes) {
      typename Vec::V sums[rows];
      const typename Vec::V b_0 = Vec::load(b_data + j0);
      for (int64_t r = 0; r < rows; ++r)
        sums[r] = Vec::broadcast(a.data[(i0 + r) * a.row_stride]) * b_0;
      for (int64_t p = 1; p < a.cols; ++p) {
        const typename Vec::V b_p = Vec::load(b_data + p * b_row_stride + j0);
        for (int64_t r = 0; r < rows; ++r) {
          sums[r] = Vec::fma(Vec::broadcast(a.data[(i0 + r) * a.row_stride + p * a.col_stride]),
                             b_p, sums[r]);
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        T lanes[kLanes];
        Vec::store(lanes, sums[r]);
        for (int64_t l = 0; l < kLanes; ++l)
          store(c.data + (i0 + r) * c.row_stride + (j0 + l) * c.col_stride, lanes[l]);
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      const T* a_i = a.data + (i0 + r) * a.row_stride;
      for (int64_t j = full_columns; j < n; ++j) {
        T sum = a_i[0] * b_data[j];
        for (int64_t p = 1; p < a.cols; ++p)
          sum += a_i[p * a.col_stride] * b_data[p * b_row_stride + j];
        store(c.data + (i0 + r) * c.row_stride + j * c.col_stride, sum);
      }
    }
  };
  int64_t i = 0;
  for (; i + kRows <= c.rows; i += kRows) rows_block(i, std::integral_constant<int64_t, kRows>());
  for (; i < c.rows; ++i) rows_block(i, std::integral_constant<int64_t, 1>());
}

// gemm_strided on a team of at most max_team threads.
template <Real T>
void gemm_on_team(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c,
                  int max_team) {
  // (alpha = 0 and k = 0 go to gemm_packed, which scales C without reading A and B, as BLAS does.)
  const double work = static_cast<double>(c.rows) * static_cast<double>(c.cols) * a.cols;
  if (work <= kSmallGemmWork && a.cols > 0 && alpha != T(0)) {
    gemm_small(alpha, a, b, beta, c);
    return;
  }
  gemm_packed(alpha, a, b, beta, c, gemm_blocking<T>(), max_team);
}

}  // namespace

template <Real T>
void gemm_strided(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c) {
  gemm_on_team(alpha, a, b, beta, c, max_threads());
}

template <Real T>
void gemm_reference(T alpha, MatrixRef<const T> a, MatrixRef<const T> b, T beta, MatrixRef<T> c) {
  for (int64_t i = 0; i < c.rows; ++i) {
    for (int64_t j = 0; j < c.cols; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < a.cols; ++p) {
        acc += a.data[i * a.row_stride + p * a.col_stride] *
               b.data[p * b.row_stride + j * b.col_stride];
      }
      T& out = c.data[i * c.row_stride + j * c.col_stride];
      out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
    }
  }
}

}  // namespace detail

template <Real T>
void gemm(T alpha, const Tensor<T>& a, Op op_a, const Tensor<T>& b, Op op_b, T beta, Tensor<T>& c) {
  // The checks build their messages only on failure: gemm is called in tight loops.
  if (a.ndim() != 2 || b.ndim() != 2 || c.ndim() != 2) {
    fail("gemm", "needs 2-d operands, got shapes {}, {} and {}", to_string(a.shape()),
         to_string(b.shape()), to_string(c.shape()));
  }
  const auto ma = detail::as_matrix(a, op_a);
  const auto mb = detail::as_matrix(b, op_b);
  if (ma.cols != mb.rows || c.shape()[0] != ma.rows || c.shape()[1] != mb.cols) {
    fail("gemm", "shapes {}{} and {}{} do not give {}", to_string(a.shape()),
         op_a == Op::transpose ? "^T" : "", to_string(b.shape()), op_b == Op::transpose ? "^T" : "",
         to_string(c.shape()));
  }
  // A broadcast output would have several elements written through one address.
  if ((c.shape()[0] > 1 && c.strides()[0] == 0) || (c.shape()[1] > 1 && c.strides()[1] == 0)) {
    fail("gemm", "output of shape {} is a broadcast view (strides {})", to_string(c.shape()),
         to_string(c.strides()));
  }
  detail::gemm_strided(
      alpha, ma, mb, beta,
      detail::MatrixRef<T>{c.data(), c.shape()[0], c.shape()[1], c.strides()[0], c.strides()[1]});
}

template <Real T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.ndim() < 2 || a.ndim() > 3 || b.ndim() < 2 || b.ndim() > 3) {
    fail("matmul", "needs 2-d or 3-d operands, got shapes {} and {}", to_string(a.shape()),
         to_string(b.shape()));
  }
  const int64_t m = a.size(-2);
  const int64_t k = a.size(-1);
  const int64_t n = b.size(-1);
  if (b.size(-2) != k) {
    fail("matmul", "shapes {} and {} do not match: inner dimensions {} and {} differ",
         to_string(a.shape()), to_string(b.shape()), k, b.size(-2));
  }
  if (a.ndim() == 2 && b.ndim() == 2) {  // [m, k] x [k, n] -> [m, n]
    Tensor<T> c = Tensor<T>::empty({m, n});
    gemm(T(1), a, Op::none, b, Op::none, T(0), c);
    return c;
  }
  const int64_t batch = a.ndim() == 3 ? a.size(0) : b.size(0);
  if (a.ndim() == 3 && b.ndim() == 3 && a.size(0) != b.size(0)) {
    fail("matmul", "shapes {} and {} have batch sizes {} and {}", to_string(a.shape()),
         to_string(b.shape()), a.size(0), b.size(0));
  }
  Tensor<T> c = Tensor<T>::empty({batch, m, n});

  // A 2-d operand has batch stride 0: every batch reads the same matrix.
  const auto matrix = [](const Tensor<T>& t, int64_t i) {
    const int r = t.ndim() - 2;
    const int64_t batch_stride = t.ndim() == 3 ? t.strides()[0] : 0;
    return detail::MatrixRef<const T>{t.data() + i * batch_stride, t.shape()[r], t.shape()[r + 1],
                                      t.strides()[r], t.strides()[r + 1]};
  };
  const auto out = [&](int64_t i) {
    return detail::MatrixRef<T>{c.data() + i * m * n, m, n, n, 1};
  };

  // [batch, m, k] x [k, n] with the batches of a evenly spaced rows: one [batch * m, k] x [k, n]
  // product, which packs b once and gives the threads more rows to share.
  if (b.ndim() == 2 && (batch == 1 || a.strides()[0] == m * a.strides()[1])) {
    auto rows = matrix(a, 0);
    rows.rows = batch * m;
    detail::gemm_strided(T(1), rows, matrix(b, 0), T(0),
                         detail::MatrixRef<T>{c.data(), batch * m, n, n, 1});
    return c;
  }

  const int64_t work = m * n * k;
  if (batch > 1 && work < detail::kGemmParallelWork && batch * work >= detail::kGemmParallelWork) {
    // Small matrices: one thread per matrix instead of a team per matrix.
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < batch; ++i) {
      detail::gemm_packed(T(1), matrix(a, i), matrix(b, i), T(0), out(i),
                          detail::gemm_blocking<T>(), 1);
    }
    return c;
  }
  for (int64_t i = 0; i < batch; ++i) {
    detail::gemm_strided(T(1), matrix(a, i), matrix(b, i), T(0), out(i));
  }
  return c;
}

template <Real T>
void gemm_symmetric(T alpha, const Tensor<T>& a, Tensor<T>& c, SymmetricFill fill,
                    int64_t block_rows) {
  if (a.ndim() != 2 || c.ndim() != 2 || c.shape()[0] != a.shape()[0] ||
      c.shape()[1] != a.shape()[0]) {
    fail("gemm_symmetric", "needs a [n, k] and c [n, n], got shapes {} and {}",
         to_string(a.shape()), to_string(c.shape()));
  }
  if (block_rows < 1) fail("gemm_symmetric", "block_rows must be at least 1, got {}", block_rows);
  const int64_t n = a.shape()[0];
  const int64_t k = a.shape()[1];
  // Rows [i0, i1) times the rows from i0 on: [i1 - i0, k] x [k, n - i0] -> [i1 - i0, n - i0].
  auto block = [&](int64_t i0, int max_team) {
    const int64_t i1 = std::min(n, i0 + block_rows);
    Tensor<T> out = c.slice(0, i0, i1).slice(1, i0, n);
    detail::gemm_on_team(
        alpha, detail::as_matrix(a.slice(0, i0, i1), Op::none),
        detail::as_matrix(a.slice(0, i0, n), Op::transpose), T(0),
        detail::MatrixRef<T>{out.data(), i1 - i0, n - i0, out.strides()[0], out.strides()[1]},
        max_team);
  };
  const int64_t blocks = (n + block_rows - 1) / block_rows;
  // Blocks a few panels tall split poorly between the threads of one GEMM; whole blocks on
  // threads of their own (the largest first) keep both busy. Each block's result is the same
  // either way.
  if (blocks > 1 && max_threads() > 1 && n * n * k / 2 >= detail::kGemmParallelWork) {
#pragma omp parallel for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) block(b * block_rows, 1);
  } else {
    for (int64_t b = 0; b < blocks; ++b) block(b * block_rows, max_threads());
  }
  if (fill == SymmetricFill::upper) return;
  // Below the diagonal: c(i, j) = c(j, i), in square tiles so that both the rows read and the
  // rows written stay in cache.
  constexpr int64_t kTile = 64;
  T* data = c.data();
  const int64_t rs = c.strides()[0], cs = c.strides()[1];
  const int64_t tiles = (n + kTile - 1) / kTile;
#pragma omp parallel for schedule(dynamic) if (n * n >= kParallelThreshold)
  for (int64_t ti = 0; ti < tiles; ++ti) {
    const int64_t r0 = ti * kTile, r1 = std::min(n, r0 + kTile);
    for (int64_t c0 = 0; c0 < r1; c0 += kTile) {
      for (int64_t i = r0; i < r1; ++i) {
        const int64_t end = std::min(c0 + kTile, i);
        for (int64_t j = c0; j < end; ++j) data[i * rs + j * cs] = data[j * rs + i * cs];
      }
    }
  }
}

#define LAMPPOST_INSTANTIATE_GEMM(T)                                                        \
  template void gemm(T, const Tensor<T>&, Op, const Tensor<T>&, Op, T, Tensor<T>&);         \
  template void gemm_symmetric(T, const Tensor<T>&, Tensor<T>&, SymmetricFill, int64_t);    \
  template Tensor<T> matmul(const Tensor<T>&, const Tensor<T>&);                            \
  namespace detail {                                                                        \
  template GemmBlocking gemm_blocking<T>();                                                 \
  template void gemm_blocked(T, MatrixRef<const T>, MatrixRef<const T>, T, MatrixRef<T>,    \
                             const GemmBlocking&);                                          \
  template void gemm_strided(T, MatrixRef<const T>, MatrixRef<const T>, T, MatrixRef<T>);   \
  template void gemm_reference(T, MatrixRef<const T>, MatrixRef<const T>, T, MatrixRef<T>); \
  }

LAMPPOST_INSTANTIATE_GEMM(float)
LAMPPOST_INSTANTIATE_GEMM(double)

}  // namespace lamppost
