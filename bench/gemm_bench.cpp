// GEMM throughput in GFLOP/s: lamppost beside OpenBLAS (when built with it) in the same run,
// square sizes with 1 and 2 threads, a few non-square and transposed shapes, and the sweep over
// cache block sizes that chose the constants in tensor/simd/gemm_kernel.h.
//
// Compare with OpenBLAS's best kernel for this CPU: unset OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE (env -u ...), which force an older one; the run prints the kernel it got.
// Quote medians: --benchmark_repetitions=5 --benchmark_report_aggregates_only=true.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench/summary.h"
#include "tensor/gemm.h"
#include "tensor/parallel.h"
#include "tensor/simd/gemm_kernel.h"

#ifdef LAMPPOST_HAVE_OPENBLAS
#include <cblas.h>
extern "C" char* openblas_get_corename(void);
extern "C" void openblas_set_num_threads(int num_threads);
#endif

namespace lamppost {
namespace {

template <class T>
const char* type_name() {
  return sizeof(T) == 4 ? "sgemm" : "dgemm";
}

template <class T>
Tensor<T> random_matrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<T> dist(T(-1), T(1));
  std::vector<T> values(static_cast<size_t>(rows * cols));
  for (T& v : values) v = dist(rng);
  return Tensor<T>::from_vector(values, {rows, cols});
}

struct Problem {
  int64_t m, n, k;
  Op op_a = Op::none;
  Op op_b = Op::none;
  int threads = 1;

  std::string label() const {
    const char* ops[] = {"N", "T"};
    return fmt::format("m:{}/n:{}/k:{}/{}{}/threads:{}", m, n, k, ops[op_a == Op::transpose],
                       ops[op_b == Op::transpose], threads);
  }
};

// Operands stored so that op(a) is [m, k] and op(b) is [k, n], both contiguous in memory.
template <class T>
struct Operands {
  Tensor<T> a, b, c;
  explicit Operands(const Problem& p)
      : a(p.op_a == Op::none ? random_matrix<T>(p.m, p.k, 1) : random_matrix<T>(p.k, p.m, 1)),
        b(p.op_b == Op::none ? random_matrix<T>(p.k, p.n, 2) : random_matrix<T>(p.n, p.k, 2)),
        c(Tensor<T>::zeros({p.m, p.n})) {}
};

void set_flops(benchmark::State& state, const Problem& p) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(p.m * p.n * p.k) * static_cast<double>(state.iterations()) * 1e-9,
      benchmark::Counter::kIsRate);
}

template <class T>
void run_lamppost(benchmark::State& state, Problem p) {
  ThreadCountGuard guard(p.threads);
  Operands<T> x(p);
  for (auto _ : state) {
    gemm(T(1), x.a, p.op_a, x.b, p.op_b, T(0), x.c);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, p);
}

template <class T>
void run_blocking(benchmark::State& state, Problem p, detail::GemmBlocking blocking) {
  ThreadCountGuard guard(p.threads);
  Operands<T> x(p);
  const detail::MatrixRef<const T> a{x.a.data(), p.m, p.k, p.k, 1};
  const detail::MatrixRef<const T> b{x.b.data(), p.k, p.n, p.n, 1};
  const detail::MatrixRef<T> c{x.c.data(), p.m, p.n, p.n, 1};
  for (auto _ : state) {
    detail::gemm_blocked(T(1), a, b, T(0), c, blocking);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, p);
}

#ifdef LAMPPOST_HAVE_OPENBLAS
template <class T>
void run_openblas(benchmark::State& state, Problem p) {
  openblas_set_num_threads(p.threads);
  Operands<T> x(p);
  const auto ta = p.op_a == Op::none ? CblasNoTrans : CblasTrans;
  const auto tb = p.op_b == Op::none ? CblasNoTrans : CblasTrans;
  const auto lda = static_cast<int>(x.a.shape()[1]);
  const auto ldb = static_cast<int>(x.b.shape()[1]);
  const auto m = static_cast<int>(p.m);
  const auto n = static_cast<int>(p.n);
  const auto k = static_cast<int>(p.k);
  for (auto _ : state) {
    if constexpr (sizeof(T) == 4) {
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, x.a.data(), lda, x.b.data(), ldb, 0.0f,
                  x.c.data(), n);
    } else {
      cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, x.a.data(), lda, x.b.data(), ldb, 0.0,
                  x.c.data(), n);
    }
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, p);
}
#endif

// One-thread rates are per CPU second of the calling thread, which other processes on a shared
// machine disturb much less than wall time; threaded rates are per wall second.
void set_timing(benchmark::internal::Benchmark* b, const Problem& p) {
  b->MinTime(p.m * p.n * p.k >= (int64_t{1} << 30) ? 0.3 : 0.2);
  if (p.threads > 1) b->UseRealTime();
}

// lamppost and OpenBLAS one after the other for each problem, so the two are measured seconds
// apart under the same machine load.
template <class T>
void register_pair(const std::string& group, const Problem& p) {
  set_timing(benchmark::RegisterBenchmark(
                 fmt::format("{}/{}/lamppost/{}", type_name<T>(), group, p.label()).c_str(),
                 run_lamppost<T>, p),
             p);
#ifdef LAMPPOST_HAVE_OPENBLAS
  set_timing(benchmark::RegisterBenchmark(
                 fmt::format("{}/{}/openblas/{}", type_name<T>(), group, p.label()).c_str(),
                 run_openblas<T>, p),
             p);
#endif
}

template <class T>
void register_type() {
  for (int threads : {1, 2}) {
    for (int64_t n : {64, 128, 256, 512, 1024, 2048}) {
      register_pair<T>("square", {n, n, n, Op::none, Op::none, threads});
    }
    register_pair<T>("shape", {1024, 1024, 1024, Op::transpose, Op::none, threads});
    register_pair<T>("shape", {1024, 1024, 1024, Op::none, Op::transpose, threads});
    register_pair<T>("shape", {4096, 256, 256, Op::none, Op::none, threads});
    register_pair<T>("shape", {64, 2048, 2048, Op::none, Op::none, threads});
    register_pair<T>("shape", {1000, 999, 301, Op::none, Op::none, threads});
  }
}

// The micro-kernel alone on L1-resident panels (kc = 256), for register shapes MR x NV
// vectors: the ceiling each shape allows before the cache blocks come into play.
template <class T, int kMR, int kNV>
void run_kernel(benchmark::State& state) {
  constexpr int64_t kNR = kNV * detail::GemmVector<T, detail::GemmArch>::kLanes;
  constexpr int64_t kKc = 256;
  const Tensor<T> a = random_matrix<T>(kKc, kMR, 3);
  const Tensor<T> b = random_matrix<T>(kKc, kNR, 4);
  Tensor<T> c = Tensor<T>::zeros({kMR, kNR});
  for (auto _ : state) {
    detail::gemm_micro_kernel<T, detail::GemmArch, kMR, kNV>(kKc, a.data(), b.data(), T(1), T(0),
                                                             c.data(), kNR);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kMR * kNR * kKc * static_cast<double>(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate);
}

template <class T, int kMR, int kNV>
void register_kernel() {
  const detail::GemmBlocking tuned = detail::gemm_blocking<T>();
  const int64_t nr = kNV * detail::GemmVector<T, detail::GemmArch>::kLanes;
  benchmark::RegisterBenchmark(fmt::format("{}/kernel/mr:{}/nr:{}{}", type_name<T>(), kMR, nr,
                                           tuned.mr == kMR && tuned.nr == nr ? "/tuned" : "")
                                   .c_str(),
                               run_kernel<T, kMR, kNV>)
      ->MinTime(0.1);
}

template <class T>
void register_kernel_shapes() {
  register_kernel<T, 4, 4>();
  register_kernel<T, 6, 4>();
  register_kernel<T, 8, 3>();
  register_kernel<T, 12, 2>();
  register_kernel<T, 14, 2>();
  register_kernel<T, 6, 2>();
}

// One thread, n = 1536 (past L2 in every dimension): vary one block size at a time around
// the tuned constants, which should come out on top or within noise of it.
template <class T>
void register_blocking_sweep() {
  const detail::GemmBlocking tuned = detail::gemm_blocking<T>();
  const Problem p{1536, 1536, 1536};
  std::vector<detail::GemmBlocking> candidates;
  candidates.push_back(tuned);
  for (int64_t panels : {4, 8, 12, 16, 24}) {
    const int64_t mc = panels * tuned.mr;
    if (mc != tuned.mc) candidates.push_back({tuned.mr, tuned.nr, mc, tuned.kc, tuned.nc});
  }
  for (int64_t kc : {128, 192, 256, 320, 384, 512}) {
    if (kc != tuned.kc) candidates.push_back({tuned.mr, tuned.nr, tuned.mc, kc, tuned.nc});
  }
  for (int64_t nc : {512, 1024, 2048, 4096}) {
    if (nc != tuned.nc) candidates.push_back({tuned.mr, tuned.nr, tuned.mc, tuned.kc, nc});
  }
  for (const auto& b : candidates) {
    const bool is_tuned = b.mc == tuned.mc && b.kc == tuned.kc && b.nc == tuned.nc;
    set_timing(
        benchmark::RegisterBenchmark(fmt::format("{}/blocking/mc:{}/kc:{}/nc:{}{}", type_name<T>(),
                                                 b.mc, b.kc, b.nc, is_tuned ? "/tuned" : "")
                                         .c_str(),
                                     run_blocking<T>, p, b),
        p);
  }
}

// The console output plus, at the end, lamppost's GFLOP/s over OpenBLAS's for every problem run
// for both (the median when repetitions are asked for): the figure the floors are stated in.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const auto rate = run.counters.find("GFLOP/s");
      if (summarizes(run) && rate != run.counters.end()) {
        rates_[run.run_name.str()] = rate->second.value;
      }
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    bool header = false;
    for (const auto& [name, rate] : rates_) {
      const auto at = name.find("/lamppost/");
      if (at == std::string::npos) continue;
      std::string other = name;
      other.replace(at, 10, "/openblas/");
      const auto found = rates_.find(other);
      if (found == rates_.end()) continue;
      if (!header) {
        fmt::print("\n{:<60} {:>10} {:>10} {:>7}\n", "lamppost / OpenBLAS", "lamppost", "OpenBLAS",
                   "ratio");
        header = true;
      }
      std::string label = name;
      label.erase(at, 9);
      fmt::print("{:<60} {:>10.1f} {:>10.1f} {:>7.2f}\n", label, rate, found->second,
                 rate / found->second);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace lamppost

int main(int argc, char** argv) {
  using namespace lamppost;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (const auto& [name, b] : {std::pair{"sgemm", detail::gemm_blocking<float>()},
                                std::pair{"dgemm", detail::gemm_blocking<double>()}}) {
    benchmark::AddCustomContext(
        fmt::format("lamppost_{}_blocks", name),
        fmt::format("mr {} nr {} mc {} kc {} nc {}", b.mr, b.nr, b.mc, b.kc, b.nc));
  }
#ifdef LAMPPOST_HAVE_OPENBLAS
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
  // libgomp's default wait policy spins a thread for milliseconds after each parallel region;
  // on a machine shared with other processes that halves the threaded figures or worse.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  benchmark::AddCustomContext("omp_wait_policy", wait_policy != nullptr ? wait_policy : "(unset)");
  register_type<float>();
  register_type<double>();
  register_kernel_shapes<float>();
  register_kernel_shapes<double>();
  register_blocking_sweep<float>();
  register_blocking_sweep<double>();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
