// Thread control. lamppost threads with OpenMP; every threaded kernel gives the same result
// whatever the thread count (work is split into a fixed partition, partials combined in order).
#pragma once

#include <cstdint>

namespace lamppost {

// Below this many elements an element-wise or reduction kernel runs on one thread: the fork
// costs more than it saves.
inline constexpr int64_t kParallelThreshold = int64_t{1} << 15;

int max_threads();
void set_num_threads(int threads);

// Sets the thread count for a scope and restores the previous one (tests, benchmarks).
class ThreadCountGuard {
 public:
  explicit ThreadCountGuard(int threads);
  ~ThreadCountGuard();
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int previous_;
};

}  // namespace lamppost
