// Optimizers update one flat parameter vector in place from its gradient (models keep all their
// parameters in one vector, models/parameters.h). Step sizes come from a schedule, a function
// of the step number, so decay and warm-up need no optimizer of their own.
#pragma once

#include <cstdint>
#include <functional>

#include "tensor/tensor.h"

namespace lamppost {

// The step size at step t = 0, 1, 2, ...
using Schedule = std::function<double(int64_t step)>;

Schedule constant_schedule(double rate);
// rate * factor^(t / every), dropping every `every` steps.
Schedule step_schedule(double rate, int64_t every, double factor);
// rate * decay^t.
Schedule exponential_schedule(double rate, double decay);
// From rate down to floor along half a cosine over `steps` steps, then floor.
Schedule cosine_schedule(double rate, int64_t steps, double floor = 0.0);

template <Real T>
class Optimizer {
 public:
  explicit Optimizer(Schedule schedule);
  virtual ~Optimizer() = default;

  // params -= update(gradient); shapes must match and stay the same from step to step.
  void step(Tensor<T>& params, const Tensor<T>& gradient);
  int64_t steps_taken() const { return steps_; }
  double rate() const { return schedule_(steps_); }  // the step size the next step uses
  // Forgets the state (moments, velocity, step count), as for a fresh run.
  void reset();

 protected:
  virtual void update(Tensor<T>& params, const Tensor<T>& gradient, T rate) = 0;
  virtual void clear_state() = 0;
  int64_t steps() const { return steps_; }

 private:
  Schedule schedule_;
  int64_t steps_ = 0;
};

// Gradient descent, with heavy-ball or Nesterov momentum when momentum > 0:
//   v <- momentum v + g;  w <- w - rate v                    (heavy ball)
//   v <- momentum v + g;  w <- w - rate (g + momentum v)     (Nesterov)
// Full-batch GD or mini-batch SGD depending on the batches the training loop feeds it.
template <Real T>
class Sgd final : public Optimizer<T> {
 public:
  explicit Sgd(Schedule schedule, double momentum = 0.0, bool nesterov = false);

 private:
  void update(Tensor<T>& params, const Tensor<T>& gradient, T rate) override;
  void clear_state() override { velocity_ = Tensor<T>(); }

  T momentum_;
  bool nesterov_;
  Tensor<T> velocity_;
};

// Adam (Kingma & Ba 2015) with bias correction:
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   w <- w - rate * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
template <Real T>
class Adam final : public Optimizer<T> {
 public:
  explicit Adam(Schedule schedule, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);

 private:
  void update(Tensor<T>& params, const Tensor<T>& gradient, T rate) override;
  void clear_state() override {
    m_ = Tensor<T>();
    v_ = Tensor<T>();
  }

  double beta1_, beta2_, eps_;
  Tensor<T> m_, v_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;
extern template class Sgd<float>;
extern template class Sgd<double>;
extern template class Adam<float>;
extern template class Adam<double>;

}  // namespace lamppost
