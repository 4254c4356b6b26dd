#include "tensor/parallel.h"

#include <omp.h>

#include "tensor/error.h"

namespace lamppost {

int max_threads() {
  return omp_get_max_threads();
}

void set_num_threads(int threads) {
  LAMPPOST_CHECK(threads >= 1, "set_num_threads", "thread count must be at least 1, got {}",
                 threads);
  omp_set_num_threads(threads);
}

ThreadCountGuard::ThreadCountGuard(int threads) : previous_(max_threads()) {
  set_num_threads(threads);
}

ThreadCountGuard::~ThreadCountGuard() {
  omp_set_num_threads(previous_);
}

}  // namespace lamppost
