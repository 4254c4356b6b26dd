// The experiments of claims 1 to 10 of THEORY.md, one file each; theory/experiment.cpp lists them.
#pragma once

#include "theory/experiment.h"

namespace lamppost::detail {

ExperimentInfo kernel_constancy_experiment();
ExperimentInfo hessian_scaling_experiment();
ExperimentInfo linearity_experiment();
ExperimentInfo kernel_at_init_experiment();
ExperimentInfo gd_convergence_experiment();
ExperimentInfo sgd_convergence_experiment();
ExperimentInfo double_descent_experiment();
ExperimentInfo label_noise_experiment();
ExperimentInfo nearest_neighbours_experiment();
ExperimentInfo simplices_experiment();

}  // namespace lamppost::detail
