#include "optim/optimizer.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace lamppost {

namespace {

void check_rate(double rate, std::string_view schedule) {
  LAMPPOST_CHECK(std::isfinite(rate) && rate > 0, schedule,
                 "the step size must be positive and finite, got {}", rate);
}

}  // namespace

Schedule constant_schedule(double rate) {
  check_rate(rate, "constant_schedule");
  return [rate](int64_t) { return rate; };
}

Schedule step_schedule(double rate, int64_t every, double factor) {
  check_rate(rate, "step_schedule");
  LAMPPOST_CHECK(every > 0, "step_schedule", "every must be positive, got {}", every);
  LAMPPOST_CHECK(factor > 0 && factor <= 1, "step_schedule", "factor must be in (0, 1], got {}",
                 factor);
  return [=](int64_t t) { return rate * std::pow(factor, static_cast<double>(t / every)); };
}

Schedule exponential_schedule(double rate, double decay) {
  check_rate(rate, "exponential_schedule");
  LAMPPOST_CHECK(decay > 0 && decay <= 1, "exponential_schedule", "decay must be in (0, 1], got {}",
                 decay);
  return [=](int64_t t) { return rate * std::pow(decay, static_cast<double>(t)); };
}

Schedule cosine_schedule(double rate, int64_t steps, double floor) {
  check_rate(rate, "cosine_schedule");
  LAMPPOST_CHECK(steps > 0, "cosine_schedule", "steps must be positive, got {}", steps);
  LAMPPOST_CHECK(floor >= 0 && floor <= rate, "cosine_schedule",
                 "floor must be in [0, rate = {}], got {}", rate, floor);
  return [=](int64_t t) {
    if (t >= steps) return floor;
    const double progress = static_cast<double>(t) / static_cast<double>(steps);
    return floor + (rate - floor) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
  };
}

template <Real T>
Optimizer<T>::Optimizer(Schedule schedule) : schedule_(std::move(schedule)) {
  LAMPPOST_CHECK(static_cast<bool>(schedule_), "optimizer", "no step-size schedule given");
}

template <Real T>
void Optimizer<T>::step(Tensor<T>& params, const Tensor<T>& gradient) {
  LAMPPOST_CHECK(params.shape() == gradient.shape(), "optimizer",
                 "parameters {} and gradient {} differ in shape", to_string(params.shape()),
                 to_string(gradient.shape()));
  const double rate = schedule_(steps_);
  LAMPPOST_CHECK(std::isfinite(rate) && rate >= 0, "optimizer",
                 "the schedule gave step size {} at step {}", rate, steps_);
  ++steps_;
  update(params, gradient, static_cast<T>(rate));
}

template <Real T>
void Optimizer<T>::reset() {
  steps_ = 0;
  clear_state();
}

template <Real T>
Sgd<T>::Sgd(Schedule schedule, double momentum, bool nesterov)
    : Optimizer<T>(std::move(schedule)), momentum_(static_cast<T>(momentum)), nesterov_(nesterov) {
  LAMPPOST_CHECK(momentum >= 0 && momentum < 1, "Sgd", "momentum must be in [0, 1), got {}",
                 momentum);
  LAMPPOST_CHECK(!nesterov || momentum > 0, "Sgd", "Nesterov needs a positive momentum");
}

template <Real T>
void Sgd<T>::update(Tensor<T>& params, const Tensor<T>& gradient, T rate) {
  if (momentum_ == T(0)) {
    params -= gradient * rate;
    return;
  }
  if (velocity_.shape() != params.shape()) velocity_ = Tensor<T>::zeros(params.shape());
  velocity_ *= momentum_;
  velocity_ += gradient;
  if (nesterov_) {
    params -= (gradient + velocity_ * momentum_) * rate;
  } else {
    params -= velocity_ * rate;
  }
}

template <Real T>
Adam<T>::Adam(Schedule schedule, double beta1, double beta2, double eps)
    : Optimizer<T>(std::move(schedule)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  LAMPPOST_CHECK(beta1 >= 0 && beta1 < 1, "Adam", "beta1 must be in [0, 1), got {}", beta1);
  LAMPPOST_CHECK(beta2 >= 0 && beta2 < 1, "Adam", "beta2 must be in [0, 1), got {}", beta2);
  LAMPPOST_CHECK(eps > 0, "Adam", "eps must be positive, got {}", eps);
}

template <Real T>
void Adam<T>::update(Tensor<T>& params, const Tensor<T>& gradient, T rate) {
  if (m_.shape() != params.shape()) {
    m_ = Tensor<T>::zeros(params.shape());
    v_ = Tensor<T>::zeros(params.shape());
  }
  const auto t = static_cast<double>(this->steps());  // this step's number, from 1
  m_ = m_ * static_cast<T>(beta1_) + gradient * static_cast<T>(1 - beta1_);
  v_ = v_ * static_cast<T>(beta2_) + gradient * gradient * static_cast<T>(1 - beta2_);
  const auto m_scale = static_cast<T>(1 / (1 - std::pow(beta1_, t)));
  const auto v_scale = static_cast<T>(1 / (1 - std::pow(beta2_, t)));
  params -= (m_ * m_scale) / (sqrt(v_ * v_scale) + static_cast<T>(eps_)) * rate;
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;

}  // namespace lamppost
