// The training loop: gradient steps on a loss over the rows of a data set, full batch (GD) or
// in mini-batches drawn without replacement within each epoch (SGD), with observers that watch
// training without owning it (the theory code records losses, kernels and eigenvalues through
// them). Training stops at a target loss, at the step budget, or on divergence; divergence is
// reported with the step and the value, and everything recorded so far is kept.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/var.h"
#include "optim/optimizer.h"

namespace lamppost {

// The loss of the parameters on the given rows of the data set (a scalar Var).
template <Real T>
using BatchLoss = std::function<Var<T>(const Var<T>& params, const std::vector<int64_t>& rows)>;

struct TrainOptions {
  int64_t samples = 0;     // rows in the data set (batches index 0 .. samples - 1)
  int64_t batch_size = 0;  // 0: all rows each step (GD)
  int64_t max_steps = 1000;
  double target_loss = 0;  // stop once the step's loss is at or below it (0: never)
  // A loss above divergence_factor times the first step's loss (or NaN, or infinite) stops
  // training as diverged.
  double divergence_factor = 1e8;
  uint64_t seed = 0;          // for the order of the mini-batches
  int64_t observe_every = 1;  // observers see step 0 and every observe_every-th step after
  // Progress lines on standard error at most this often (0: none), so a long run shows it lives.
  double progress_seconds = 10;
};

enum class StopReason { target_loss, step_budget, diverged };

template <Real T>
struct StepInfo {
  int64_t step;   // 0-based: the step about to update the parameters
  int64_t epoch;  // full passes over the data before this step
  double loss;    // the batch loss at the parameters before the update
  const Tensor<T>& params;
  const Tensor<T>& gradient;
};

template <Real T>
using Observer = std::function<void(const StepInfo<T>&)>;

struct TrainResult {
  StopReason reason = StopReason::step_budget;
  int64_t steps = 0;           // updates made
  double final_loss = 0;       // the last loss computed
  std::vector<double> losses;  // the batch loss of every step
  std::string message;         // why it stopped, in words (the step and value on divergence)
};

// Trains params in place. Observers run in order at every observed step, before the update.
template <Real T>
TrainResult train(const BatchLoss<T>& loss, Tensor<T>& params, Optimizer<T>& optimizer,
                  const TrainOptions& options, const std::vector<Observer<T>>& observers = {});

// The batches of one epoch: a seeded permutation of 0 .. samples - 1 cut into batch_size pieces
// (the last one shorter when batch_size does not divide samples). epoch numbers the draws.
std::vector<std::vector<int64_t>> epoch_batches(int64_t samples, int64_t batch_size, uint64_t seed,
                                                int64_t epoch);

}  // namespace lamppost
