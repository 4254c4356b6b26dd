#!/usr/bin/python3
"""lamppost's experiment kernel_constancy (claim 1) in PyTorch, the same steps as its quick setting,
so that the two can be timed against each other.

Claim 1: the tangent kernel of a wide network barely moves while gradient descent fits the data;
its relative change ||K_T - K_0||_F / ||K_0||_F falls with the width m like m^-1/2 or faster.
Contrast: with the activation on the output layer too the kernel keeps moving (slope near 0).

For every seed, depth, width and output kind: the NTK-parameterized erf MLP 16 -> m x depth -> 1
from N(0, 1) parameters, K_0 on the 32 training inputs, full-batch GD on 1/2 sum (f - y)^2 with
step 1 / lambda_max(K_0) until the loss is 1% of its start (the contrast: for ten times the steps
its linear-output twin took, at most the budget), then K_T. Per depth, the least-squares slope of
log(change) on log(width) over every (width, seed) gives the verdict: "holds" when it is at most
-0.5 + 0.15. Prints a table and the total wall time, or with --json one object
    {"seconds": S, "findings": [{"depth": d, "slope": s, "contrast_slope": c,
                                 "verdict": "holds", "contrast_verdict": "does not hold"}, ...]}
"""

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import (  # noqa: E402 (after the path it needs)
    ERF,
    TANH,
    keep_freed_memory,
    ntk_forward,
    ntk_init,
    structured_ntk,
)

# lamppost's quick setting of the width sweeps.
SAMPLES = 32
INPUT_DIMENSION = 16
TEACHER_WIDTH = 64
TARGET_NOISE = 0.1
STEP_BUDGET = 2000
TARGET_FRACTION = 0.01  # stop once the loss is at most this fraction of its start
CONTRAST_STEP_FACTOR = 10
DIVERGENCE_FACTOR = 1e8  # a loss above this times the first one is divergence, as in lamppost
PREDICTED_SLOPE = -0.5
SLOPE_TOLERANCE = 0.15


def make_problem(seed, dtype):
    """n points uniform on the sphere of radius sqrt(d) in d = 16, and a noisy tanh teacher's
    targets [n, 1]."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(SAMPLES, INPUT_DIMENSION, dtype=dtype, generator=generator)
    x *= math.sqrt(INPUT_DIMENSION) / x.norm(dim=1, keepdim=True)
    teacher = ntk_init((INPUT_DIMENSION, TEACHER_WIDTH, 1), dtype, generator)
    noise = TARGET_NOISE * torch.randn(SAMPLES, 1, dtype=dtype, generator=generator)
    return x, ntk_forward(teacher, x, TANH) + noise


def network_seed(seed, depth, width, contrast):
    """A distinct initialisation seed for every (seed, depth, width, contrast)."""
    return ((seed * 1000 + depth) * 1_000_000 + width) * 2 + int(contrast)


def square_loss(params, x, y, nonlinear_output):
    return 0.5 * (ntk_forward(params, x, ERF, nonlinear_output) - y).square().sum()


def train(initial, x, y, nonlinear_output, step_size, budget):
    """Full-batch GD from `initial` until the loss falls to TARGET_FRACTION of its start or after
    `budget` steps. Returns the trained parameters, the steps taken and whether it diverged."""
    params = [p.clone().requires_grad_() for p in initial]
    first_loss = None
    for step in range(budget):
        loss = square_loss(params, x, y, nonlinear_output)
        value = loss.item()
        if first_loss is None:
            first_loss = value
        if not math.isfinite(value) or value > DIVERGENCE_FACTOR * first_loss:
            return params, step, True
        if value <= TARGET_FRACTION * first_loss:
            return params, step, False
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= step_size * p.grad
                p.grad = None
    return params, budget, False


def kernel_change(seed, depth, width, contrast, x, y, dtype, main_steps):
    """Trains one network; returns its relative kernel change, steps taken and whether it
    diverged. main_steps: the steps the linear-output twin took (for the contrast's budget)."""
    generator = torch.Generator().manual_seed(network_seed(seed, depth, width, contrast))
    initial = ntk_init((INPUT_DIMENSION,) + (width,) * depth + (1,), dtype, generator)
    initial_kernel = structured_ntk(initial, x, ERF, contrast)
    step_size = 1 / float(torch.linalg.eigvalsh(initial_kernel)[-1])
    budget = (
        min(STEP_BUDGET, CONTRAST_STEP_FACTOR * max(main_steps, 1)) if contrast else STEP_BUDGET
    )
    trained, steps, diverged = train(initial, x, y, contrast, step_size, budget)
    final_kernel = structured_ntk([p.detach() for p in trained], x, ERF, contrast)
    change = float((final_kernel - initial_kernel).norm() / initial_kernel.norm())
    return change, steps, diverged


def slope(widths, values):
    """Least-squares slope of log(value) against log(width)."""
    xs = [math.log(w) for w in widths]
    ys = [math.log(v) for v in values]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((a - mean_x) * (b - mean_y) for a, b in zip(xs, ys))
    return covariance / sum((a - mean_x) ** 2 for a in xs)


def verdict(fitted_slope):
    return "holds" if fitted_slope <= PREDICTED_SLOPE + SLOPE_TOLERANCE else "does not hold"


def run(seeds, widths, depths, dtype):
    """The findings, one per depth."""
    # changes[contrast][depth] = [(width, change)] over every seed
    changes = {False: {d: [] for d in depths}, True: {d: [] for d in depths}}
    diverged_depths = set()
    for seed in range(seeds):
        x, y = make_problem(seed, dtype)
        for depth in depths:
            for width in widths:
                main_steps = STEP_BUDGET
                for contrast in (False, True):
                    change, steps, diverged = kernel_change(
                        seed, depth, width, contrast, x, y, dtype, main_steps
                    )
                    changes[contrast][depth].append((width, change))
                    if not contrast:
                        main_steps = steps
                        if diverged:
                            diverged_depths.add(depth)
        print(f"seed {seed} done", file=sys.stderr, flush=True)

    findings = []
    for depth in depths:
        main_slope = slope(*zip(*changes[False][depth]))
        contrast_slope = slope(*zip(*changes[True][depth]))
        findings.append(
            {
                "depth": depth,
                "slope": main_slope,
                "contrast_slope": contrast_slope,
                "verdict": "diverged" if depth in diverged_depths else verdict(main_slope),
                "contrast_verdict": verdict(contrast_slope),
            }
        )
    return findings


def positive_integers(text):
    """argparse type: a comma-separated list of positive integers."""
    try:
        values = [int(item) for item in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of positive integers: {text!r}"
        )
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--widths", type=positive_integers, default=[32, 64, 128, 256, 512])
    parser.add_argument("--depths", type=positive_integers, default=[1, 2, 3])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="leave glibc's malloc as it is (default: keep freed memory, as torch_reference.py)",
    )
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if len(set(args.widths)) < 2:
        parser.error(f"--widths needs two different widths to fit a slope, got {args.widths}")

    torch.set_num_threads(args.threads)
    if not args.system_malloc and not keep_freed_memory():
        print("kernel_constancy.py: glibc refused the malloc settings", file=sys.stderr)
    start = time.perf_counter()
    findings = run(args.seeds, args.widths, args.depths, getattr(torch, args.dtype))
    seconds = time.perf_counter() - start

    if args.json:
        print(json.dumps({"seconds": seconds, "findings": findings}))
        return
    print("depth   slope  verdict        contrast slope  contrast verdict")
    for f in findings:
        print(
            f"{f['depth']:5d}  {f['slope']:6.2f}  {f['verdict']:<13s}  "
            f"{f['contrast_slope']:14.2f}  {f['contrast_verdict']}"
        )
    print(
        f"theory: the main networks hold (slope <= {PREDICTED_SLOPE} + {SLOPE_TOLERANCE}), "
        "the contrasts do not (slope near 0)"
    )
    print(f"total wall time {seconds:.1f} s ({args.threads} thread(s), {args.dtype})")


if __name__ == "__main__":
    main()
