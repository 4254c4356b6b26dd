// Autodiff cost on an MLP 784 -> 1024 -> 1024 -> 1024 -> 1 (relu, batch 256) and per-op
// overhead on a tiny MLP 2 -> 16 -> 16 -> 1 (batch 8). The parameters are one flat vector,
// sliced into layers, as models hold them. Floors (issue): gradient <= 3x forward,
// forward-over-reverse hvp <= 3x gradient, tiny forward + gradient under 10 us.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "autodiff/transforms.h"
#include "bench/summary.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace lamppost {
namespace {

template <Real T>
struct Mlp {
  std::vector<int64_t> widths;
  Tensor<T> x, y, w, direction;

  explicit Mlp(std::vector<int64_t> layer_widths, int64_t batch) : widths(std::move(layer_widths)) {
    Rng rng(1);
    int64_t count = 0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) count += (widths[l] + 1) * widths[l + 1];
    x = rng.normal<T>({batch, widths.front()});
    y = rng.normal<T>({batch, widths.back()});
    w = rng.normal<T>({count}, T(0), T(0.03));
    direction = rng.normal<T>({count});
  }

  Var<T> loss(const Var<T>& params) const {
    Var<T> h(x);
    int64_t at = 0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      const int64_t in = widths[l], out = widths[l + 1];
      const Var<T> weight = reshape(slice(params, 0, at, at + in * out), {in, out});
      at += in * out;
      const Var<T> bias = slice(params, 0, at, at + out);
      at += out;
      h = linear(h, weight, bias);  // [batch, in] x [in, out] -> [batch, out]
      if (l + 2 < widths.size()) h = relu(h);
    }
    return mse(h, Var<T>(y));
  }
};

template <Real T>
const Mlp<T>& big_mlp() {
  static const Mlp<T> mlp({784, 1024, 1024, 1024, 1}, 256);
  return mlp;
}

template <Real T>
const Mlp<T>& tiny_mlp() {
  static const Mlp<T> mlp({2, 16, 16, 1}, 8);
  return mlp;
}

enum class Work { forward, gradient, hvp_forward_over_reverse, hvp_reverse_over_reverse };

template <Real T>
void run(benchmark::State& state, const Mlp<T>& mlp, Work work) {
  ThreadCountGuard threads(static_cast<int>(state.range(0)));
  const UnaryFunction<T> loss = [&mlp](const Var<T>& p) { return mlp.loss(p); };
  const Var<T> w(mlp.w), v(mlp.direction);
  for (auto _ : state) {
    switch (work) {
      case Work::forward: {
        NoTrace no_trace;
        benchmark::DoNotOptimize(loss(w).item());
        break;
      }
      case Work::gradient:
        benchmark::DoNotOptimize(grad<T>(loss)(w).value().data());
        break;
      case Work::hvp_forward_over_reverse:
        benchmark::DoNotOptimize(hvp<T>(loss, w, v).value().data());
        break;
      case Work::hvp_reverse_over_reverse:
        benchmark::DoNotOptimize(hvp_reverse<T>(loss, w, v).value().data());
        break;
    }
  }
}

// The tiny network first: its per-op overhead is measured before the large runs have grown the
// heap (after them it reads about 20% slower on the development machine).
#define LAMPPOST_TINY_MLP_BENCH(T, work)              \
  void BM_TinyMlp_##work##_##T(benchmark::State& s) { \
    run<T>(s, tiny_mlp<T>(), Work::work);             \
  }                                                   \
  BENCHMARK(BM_TinyMlp_##work##_##T)->Arg(1)->ArgName("threads")->Unit(benchmark::kMicrosecond);

#define LAMPPOST_MLP_BENCH(T, work)               \
  void BM_Mlp_##work##_##T(benchmark::State& s) { \
    run<T>(s, big_mlp<T>(), Work::work);          \
  }                                               \
  BENCHMARK(BM_Mlp_##work##_##T)                  \
      ->Arg(1)                                    \
      ->Arg(2)                                    \
      ->ArgName("threads")                        \
      ->Unit(benchmark::kMillisecond)             \
      ->UseRealTime();

#define LAMPPOST_AUTODIFF_BENCH(BENCH)    \
  BENCH(float, forward)                   \
  BENCH(float, gradient)                  \
  BENCH(float, hvp_forward_over_reverse)  \
  BENCH(float, hvp_reverse_over_reverse)  \
  BENCH(double, forward)                  \
  BENCH(double, gradient)                 \
  BENCH(double, hvp_forward_over_reverse) \
  BENCH(double, hvp_reverse_over_reverse)

LAMPPOST_AUTODIFF_BENCH(LAMPPOST_TINY_MLP_BENCH)
LAMPPOST_AUTODIFF_BENCH(LAMPPOST_MLP_BENCH)

// After the usual output, the floors checked against this run's medians (or single
// runs): gradient / forward and hvp / gradient of the large MLP, and the tiny MLP's forward +
// gradient in microseconds.
class FloorReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (!summarizes(run)) continue;
      std::string name = run.run_name.str();
      if (const auto at = name.find("/real_time"); at != std::string::npos) name.erase(at);
      seconds_[name.substr(3)] =  // without "BM_"
          run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    bool header = false;
    auto row = [&](const std::string& label, double value, const char* unit, double floor) {
      if (!header) {
        fmt::print("\n{:<44} {:>9} {:>10}  {}\n", "floor", "measured", "required", "verdict");
        header = true;
      }
      fmt::print("{:<44} {:>7.2f}{:<2} {:>7.0f}{:<3}  {}\n", label, value, unit, floor, unit,
                 value <= floor ? "meets" : "MISSES");
    };
    for (const char* type : {"float", "double"}) {
      for (const char* threads : {"1", "2"}) {
        const auto time = [&](const char* work) {
          const auto found =
              seconds_.find(fmt::format("Mlp_{}_{}/threads:{}", work, type, threads));
          return found != seconds_.end() ? found->second : 0.0;
        };
        const double forward = time("forward"), gradient = time("gradient"),
                     hvp = time("hvp_forward_over_reverse");
        const std::string at =
            fmt::format("MLP {} {} thread{}", type, threads, threads[0] == '1' ? "" : "s");
        if (forward > 0 && gradient > 0)
          row(at + ": gradient / forward", gradient / forward, "x", 3);
        if (gradient > 0 && hvp > 0) row(at + ": hvp / gradient", hvp / gradient, "x", 3);
      }
      const auto tiny = seconds_.find(fmt::format("TinyMlp_gradient_{}/threads:1", type));
      if (tiny != seconds_.end()) {
        row(fmt::format("tiny MLP {}: forward + gradient", type), tiny->second * 1e6, "us", 10);
      }
    }
  }

 private:
  std::map<std::string, double> seconds_;
};

}  // namespace
}  // namespace lamppost

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  lamppost::FloorReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
