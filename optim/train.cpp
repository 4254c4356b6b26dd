#include "optim/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "autodiff/transforms.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace lamppost {

std::vector<std::vector<int64_t>> epoch_batches(int64_t samples, int64_t batch_size, uint64_t seed,
                                                int64_t epoch) {
  LAMPPOST_CHECK(samples > 0, "train", "the data set has {} samples", samples);
  LAMPPOST_CHECK(batch_size > 0 && batch_size <= samples, "train",
                 "batch size {} is outside [1, {}] (the number of samples)", batch_size, samples);
  const std::vector<int64_t> order =
      Rng(seed).fold_in(static_cast<uint64_t>(epoch)).permutation(samples);
  std::vector<std::vector<int64_t>> batches;
  for (int64_t start = 0; start < samples; start += batch_size) {
    const int64_t stop = std::min(samples, start + batch_size);
    batches.emplace_back(order.begin() + start, order.begin() + stop);
  }
  return batches;
}

template <Real T>
TrainResult train(const BatchLoss<T>& loss, Tensor<T>& params, Optimizer<T>& optimizer,
                  const TrainOptions& options, const std::vector<Observer<T>>& observers) {
  LAMPPOST_CHECK(options.max_steps >= 0, "train", "max_steps must be non-negative, got {}",
                 options.max_steps);
  LAMPPOST_CHECK(options.observe_every > 0, "train", "observe_every must be positive, got {}",
                 options.observe_every);
  LAMPPOST_CHECK(options.divergence_factor > 1, "train", "divergence_factor must exceed 1, got {}",
                 options.divergence_factor);
  const bool full_batch = options.batch_size == 0;
  std::vector<std::vector<int64_t>> batches;
  if (full_batch) {  // every row, in order, at every step
    LAMPPOST_CHECK(options.samples > 0, "train", "the data set has {} samples", options.samples);
    batches.emplace_back(static_cast<size_t>(options.samples));
    std::iota(batches[0].begin(), batches[0].end(), int64_t{0});
  } else {
    batches = epoch_batches(options.samples, options.batch_size, options.seed, 0);
  }

  TrainResult result;
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  size_t next_batch = 0;
  int64_t epoch = 0;
  for (int64_t step = 0;; ++step) {
    if (step == options.max_steps) {
      result.reason = StopReason::step_budget;
      result.message = fmt::format("stopped after the step budget of {} steps", step);
      break;
    }
    if (next_batch == batches.size()) {  // a new epoch: new order (the full batch stays one)
      ++epoch;
      next_batch = 0;
      if (!full_batch) {
        batches = epoch_batches(options.samples, options.batch_size, options.seed, epoch);
      }
    }
    const std::vector<int64_t>& rows = batches[next_batch++];
    const auto [value, gradients] = value_and_grad<T>(
        [&](const std::vector<Var<T>>& p) { return loss(p[0], rows); }, {Var<T>(params)});
    const double current = static_cast<double>(value.item());
    result.losses.push_back(current);
    result.final_loss = current;
    const double first = result.losses.front();
    if (!std::isfinite(current) || (first > 0 && current > options.divergence_factor * first)) {
      result.reason = StopReason::diverged;
      result.message =
          fmt::format("diverged at step {}: loss {} (first loss {})", step, current, first);
      result.steps = step;
      return result;
    }
    if (current <= options.target_loss) {
      result.reason = StopReason::target_loss;
      result.message = fmt::format("reached the target loss {} at step {}: loss {}",
                                   options.target_loss, step, current);
      break;
    }
    const Tensor<T>& gradient = gradients[0].value();
    if (step % options.observe_every == 0) {
      const StepInfo<T> info{step, epoch, current, params, gradient};
      for (const Observer<T>& observe : observers) observe(info);
    }
    optimizer.step(params, gradient);
    result.steps = step + 1;
    if (options.progress_seconds > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_progress).count() >= options.progress_seconds) {
        last_progress = now;
        fmt::print(stderr, "train: step {} of {}, epoch {}, loss {:.6g}, {:.1f} s\n", step + 1,
                   options.max_steps, epoch, current,
                   std::chrono::duration<double>(now - started).count());
      }
    }
  }
  return result;
}

template TrainResult train(const BatchLoss<float>&, Tensor<float>&, Optimizer<float>&,
                           const TrainOptions&, const std::vector<Observer<float>>&);
template TrainResult train(const BatchLoss<double>&, Tensor<double>&, Optimizer<double>&,
                           const TrainOptions&, const std::vector<Observer<double>>&);

}  // namespace lamppost
