// The theory layer's two heavy measurements on an MLP 784 -> 1024 x 3 -> 1 (relu, NTK
// parameterization, biases; M = 2,904,065 parameters) with random inputs:
// - the empirical tangent kernel on n = 128 .. 1000 inputs, by the structured path (per-layer
//   GEMMs) and by the generic one (the full n x M Jacobian), in time and peak memory;
// - the spectral norm of the square loss's Hessian on 256 inputs, 20 Lanczos iterations (one
//   Hessian-vector product each), at hidden widths 256, 512 and 1024: the cost of an iteration
//   grows linearly with the parameter count.
// bench/compare runs the same workloads in PyTorch beside these.
//
// Peak memory is measured once per benchmark in a fresh process (this binary, run with
// --peak_of=NAME): within one process the tensor layer's block caches keep the buffers of
// earlier runs, which later runs reuse without growing the resident set, so a per-benchmark
// reset of the high-water mark reads 0 for all but the first run of each size. The child makes
// one untimed call, so each benchmark costs one call more than Google Benchmark's runs.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "bench/summary.h"
#include "models/mlp.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "theory/hessian.h"
#include "theory/ntk.h"

namespace lamppost {
namespace {

constexpr int64_t kWidth = 1024;
constexpr int64_t kMaxInputs = 1000;
constexpr int64_t kLanczosInputs = 256;
constexpr int64_t kLanczosIterations = 20;

MlpConfig config(int64_t width) {
  return {.inputs = 784, .hidden = {width, width, width}, .outputs = 1};
}

template <Real T>
struct Network {
  Mlp<T> mlp;
  Tensor<T> params = mlp.init(0);
  Tensor<T> x = Rng(1).normal<T>({kMaxInputs, mlp.config().inputs});
  Tensor<T> y = Rng(2).normal<T>({kMaxInputs, mlp.config().outputs});

  explicit Network(int64_t width) : mlp(config(width)) {}
};

template <Real T>
const Network<T>& network(int64_t width = kWidth) {
  static std::map<int64_t, Network<T>> networks;
  return networks.try_emplace(width, width).first->second;
}

// One call to time. It returns a figure of its result, reported as the counter "check": the
// kernel's trace, or the spectral norm; the same whatever the path and the thread count (not the
// precision: float and double draw different random networks).
using Call = std::function<double()>;

template <Real T>
double trace(const Tensor<T>& kernel) {
  const int64_t n = kernel.shape()[0];
  const Tensor<T> k = kernel.contiguous();
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(k.data()[i * n + i]);
  return sum;
}

template <Real T>
Call structured_call(int64_t n) {
  const Network<T>& net = network<T>();
  return [&net, x = net.x.slice(0, 0, n)] { return trace(tangent_kernel(net.mlp, net.params, x)); };
}

template <Real T>
Call generic_call(int64_t n) {
  const Network<T>& net = network<T>();
  const UnaryFunction<T> outputs = [&net, x = net.x.slice(0, 0, n)](const Var<T>& p) {
    return net.mlp.forward(p, Var<T>(x));
  };
  return [&net, outputs] { return trace(tangent_kernel(outputs, net.params)); };
}

template <Real T>
Call lanczos_call(int64_t width) {
  const Network<T>& net = network<T>(width);
  const LinearOperator<T> hessian = hessian_operator(
      square_loss_of(net.mlp, net.x.slice(0, 0, kLanczosInputs), net.y.slice(0, 0, kLanczosInputs)),
      net.params);
  LanczosOptions<T> options;
  options.max_iterations = kLanczosIterations;
  options.tol = std::numeric_limits<T>::min();  // never met: every run does all 20 iterations
  return [&net, hessian, options] {
    return spectral_norm(hessian, net.mlp.parameter_count(), options).value;
  };
}

struct Case {
  std::string name;
  int threads = 1;
  // Memory the run needs at its peak, checked against what is available when it matters (0:
  // not checked).
  double need_bytes = 0;
  int64_t iterations = 0;  // per run; 0: Google Benchmark's choice
  std::function<Call()> prepare;
};

template <Real T>
constexpr const char* type_name() {
  return std::is_same_v<T, float> ? "float" : "double";
}

template <Real T>
void add_cases(std::vector<Case>& cases) {
  for (const int threads : {1, 2}) {
    for (const int64_t n : {int64_t{128}, int64_t{256}, int64_t{512}, kMaxInputs}) {
      cases.push_back({fmt::format("ntk/structured/{}/n:{}/threads:{}", type_name<T>(), n, threads),
                       threads, 0, 0, [n] { return structured_call<T>(n); }});
    }
    for (const int64_t width : {int64_t{256}, int64_t{512}, kWidth}) {
      cases.push_back({fmt::format("lanczos/{}/n:{}/width:{}/threads:{}", type_name<T>(),
                                   kLanczosInputs, width, threads),
                       threads, 0, 0, [width] { return lanczos_call<T>(width); }});
    }
  }
}

// The generic path in double only (the oracle the structured one is checked against), one
// iteration per run: a run takes seconds and gigabytes. It holds the Jacobian twice at its peak
// (its n rows, then their concatenation): 2 n M values, ~12 GB at n = 256 and ~46 GB at
// n = 1000, so on the 24 GB development machine n = 1000 is always skipped.
void add_generic_cases(std::vector<Case>& cases) {
  const auto parameters = static_cast<double>(Mlp<double>(config(kWidth)).parameter_count());
  for (const int threads : {1, 2}) {
    for (const int64_t n : {int64_t{256}, kMaxInputs}) {
      cases.push_back({fmt::format("ntk/generic/double/n:{}/threads:{}", n, threads), threads,
                       2.0 * static_cast<double>(n) * parameters * sizeof(double), 1,
                       [n] { return generic_call<double>(n); }});
    }
  }
}

// A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1 when it cannot be read.
int64_t status_kib(std::string_view key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(key)) return std::stoll(line.substr(key.size()));
  }
  return -1;
}

// MemAvailable of /proc/meminfo in bytes, or 0 when it cannot be read.
double available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  constexpr std::string_view kKey = "MemAvailable:";
  for (std::string line; std::getline(meminfo, line);) {
    if (line.starts_with(kKey)) return std::stod(line.substr(kKey.size())) * 1024;
  }
  return 0;
}

// The child's side of the peak measurement: sets the case up, resets the process's high-water
// mark of resident memory to the current resident set (writing "5" to /proc/self/clear_refs,
// Linux 4.0+), so that the set-up's own transient peak is not counted, makes one call and
// prints the growth of the mark in MiB.
int print_peak(const std::vector<Case>& cases, std::string_view name) {
  const auto found = std::ranges::find(cases, name, &Case::name);
  if (found == cases.end()) {
    fmt::print(stderr, "theory_bench: no benchmark named '{}'\n", name);
    return 1;
  }
  ThreadCountGuard guard(found->threads);
  const Call call = found->prepare();
  std::ofstream("/proc/self/clear_refs") << "5";
  const int64_t base = status_kib("VmHWM:");
  benchmark::DoNotOptimize(call());
  const int64_t peak = status_kib("VmHWM:");
  if (base < 0 || peak < 0) return 1;
  fmt::print("{}\n", static_cast<double>(peak - base) / 1024);
  return 0;
}

// The parent's side, once per benchmark; -1 when the child failed.
double peak_mib(const std::string& name) {
  static std::map<std::string, double> measured;
  if (const auto found = measured.find(name); found != measured.end()) return found->second;
  const std::string command = fmt::format(
      "'{}' --peak_of='{}'", std::filesystem::read_symlink("/proc/self/exe").string(), name);
  double mib = -1;
  if (FILE* child = popen(command.c_str(), "r")) {
    char line[64] = {};
    if (std::fgets(line, sizeof line, child) != nullptr) mib = std::strtod(line, nullptr);
    if (pclose(child) != 0) mib = -1;
  }
  return measured[name] = mib;
}

void run_case(benchmark::State& state, const Case& c) {
  const double available = available_bytes();
  if (c.need_bytes > 0.9 * available) {  // a tenth left for the graph and everything else
    state.SkipWithError(fmt::format("needs about {:.1f} GiB, {:.1f} GiB available",
                                    c.need_bytes / (1 << 30), available / (1 << 30))
                            .c_str());
    return;
  }
  // Before the timed runs: the child's peak then adds to as little of this process as it can.
  const double peak = peak_mib(c.name);
  ThreadCountGuard guard(c.threads);
  const Call call = c.prepare();
  double check = 0;
  for (auto _ : state) benchmark::DoNotOptimize(check = call());
  state.counters["check"] = check;
  if (peak >= 0) state.counters["peak_MiB"] = peak;
}

// After the usual output, the structured path against the generic one at n = 256 in time and
// peak memory (this run's medians, or single runs).
class PathReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (!summarizes(run) || run.error_occurred) continue;
      const std::string name = run.run_name.function_name;
      seconds_[name] = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
      const auto peak = run.counters.find("peak_MiB");
      if (peak != run.counters.end()) peak_mib_[name] = peak->second.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    bool header = false;
    for (const char* threads : {"1", "2"}) {
      const std::string structured = fmt::format("ntk/structured/double/n:256/threads:{}", threads);
      const std::string generic = fmt::format("ntk/generic/double/n:256/threads:{}", threads);
      if (!seconds_.contains(structured) || !seconds_.contains(generic)) continue;
      if (!header) {
        fmt::print("\n{:<56} {:>10} {:>10} {:>9}\n", "NTK, double, n 256", "structured", "generic",
                   "ratio");
        header = true;
      }
      const auto row = [](const std::string& label, double s, double g, const char* unit) {
        fmt::print("{:<56} {:>7.0f}{:<3} {:>7.0f}{:<3} {:>8.0f}x\n", label, s, unit, g, unit,
                   g / s);
      };
      row("time" + with_threads(threads), seconds_[structured] * 1e3, seconds_[generic] * 1e3,
          "ms");
      if (peak_mib_.contains(structured) && peak_mib_.contains(generic)) {
        row("peak memory" + with_threads(threads), peak_mib_[structured], peak_mib_[generic],
            "MiB");
      }
    }
  }

 private:
  static std::string with_threads(const char* threads) {
    return fmt::format(", {} thread{}", threads, threads[0] == '1' ? "" : "s");
  }

  std::map<std::string, double> seconds_;
  std::map<std::string, double> peak_mib_;
};

}  // namespace
}  // namespace lamppost

int main(int argc, char** argv) {
  using namespace lamppost;
  std::vector<Case> cases;
  add_cases<float>(cases);
  add_cases<double>(cases);
  add_generic_cases(cases);
  constexpr std::string_view kPeakOf = "--peak_of=";
  if (argc == 2 && std::string_view(argv[1]).starts_with(kPeakOf)) {
    return print_peak(cases, std::string_view(argv[1]).substr(kPeakOf.size()));
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // libgomp's default wait policy spins a thread for milliseconds after each parallel region;
  // on a machine shared with other processes that can cost the threaded figures most of their
  // speed (see the README).
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  benchmark::AddCustomContext("omp_wait_policy", wait_policy != nullptr ? wait_policy : "(unset)");
  for (const Case& c : cases) {
    auto* b = benchmark::RegisterBenchmark(c.name.c_str(),
                                           [&c](benchmark::State& state) { run_case(state, c); });
    b->Unit(benchmark::kMillisecond)->UseRealTime();
    if (c.iterations > 0) b->Iterations(c.iterations);
  }
  PathReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
