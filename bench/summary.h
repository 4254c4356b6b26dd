// Which of Google Benchmark's runs stands for a benchmark in the reporters' closing tables: the
// median when repetitions were asked for, else the single run.
#pragma once

#include <benchmark/benchmark.h>

namespace lamppost {

inline bool summarizes(const benchmark::BenchmarkReporter::Run& run) {
  using Run = benchmark::BenchmarkReporter::Run;
  return (run.run_type == Run::RT_Iteration && run.repetitions <= 1) ||
         (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median");
}

}  // namespace lamppost
