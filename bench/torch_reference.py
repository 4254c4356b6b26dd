#!/usr/bin/python3
"""PyTorch timings of the workloads lamppost's benchmarks measure, for a side-by-side comparison.

Prints one JSON object to stdout:
    {"torch_version": "...", "threads": T, "dtype": "float32", "malloc_keeps_freed_memory": true,
     "results": [{"workload": "gemm", "size": 512, "seconds": 0.00123, "repetitions": 3}, ...]}
where "seconds" is the median over the repetitions of the mean time of one call, the hessian
records also carry "parameters" (the network's M), and "malloc_keeps_freed_memory" says whether
glibc's malloc kept freed memory (see keep_freed_memory; --system-malloc leaves it alone).
--check instead verifies the structured tangent kernel, the Hessian-vector product and the power
iteration against brute force.

The NTK-parameterized network, its structured tangent kernel and the Hessian-vector product are
importable (kernel_constancy.py uses them); the timing runs only under __main__.
"""

import argparse
import ctypes
import ctypes.util
import json
import math
import statistics
import sys
import time
from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

# The NTK parameterization: h^l = SIGMA_W / sqrt(d_{l-1}) * a^{l-1} W^l + SIGMA_B * b^l.
SIGMA_W = 1.0
SIGMA_B = 0.1


class Activation(NamedTuple):
    function: Callable[[torch.Tensor], torch.Tensor]
    derivative: Callable[[torch.Tensor], torch.Tensor]


RELU = Activation(torch.relu, lambda h: (h > 0).to(h.dtype))
ERF = Activation(torch.erf, lambda h: torch.exp(-h * h).mul_(2 / math.sqrt(math.pi)))
TANH = Activation(torch.tanh, lambda h: 1 - torch.tanh(h).square())


def ntk_init(dims, dtype, generator=None):
    """[W^1, b^1, ..., W^{L+1}, b^{L+1}] for layer widths dims = [d_0, ..., d_{L+1}], every entry
    N(0, 1), W^l of shape [d_{l-1}, d_l]."""
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        params.append(torch.randn(fan_in, fan_out, dtype=dtype, generator=generator))
        params.append(torch.randn(fan_out, dtype=dtype, generator=generator))
    return params


def parameter_count(dims):
    """M = sum over layers of (d_in + 1) d_out."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(dims[:-1], dims[1:]))


def input_scale(weight):
    """s_l = sigma_w / sqrt(d_{l-1}) for a weight of shape [d_{l-1}, d_l]."""
    return SIGMA_W / math.sqrt(weight.shape[0])


def ntk_forward(params, x, activation=RELU, nonlinear_output=False):
    """The NTK-parameterized MLP's outputs [n, d_{L+1}] on x [n, d_0]; the activation follows
    every hidden layer, and the output layer too when nonlinear_output."""
    weights, biases = params[0::2], params[1::2]
    h = x
    for layer, (weight, bias) in enumerate(zip(weights, biases)):
        layer_input = h if layer == 0 else activation.function(h)
        h = torch.addmm(bias, layer_input, weight, beta=SIGMA_B, alpha=input_scale(weight))
    return activation.function(h) if nonlinear_output else h


class _KernelTerm(NamedTuple):
    """One layer's share of the tangent kernel, (c^2 D D^T) (.) (s^2 A A^T + sigma_b^2)."""

    inputs: torch.Tensor  # A: the layer's inputs [n, d_in], unscaled
    input_scale: float  # s
    deltas: Optional[torch.Tensor]  # D: d f / d h [n, d_out] without c; None: all ones
    delta_scale: float  # c


def _default_panels(n):
    """How many row panels structured_ntk splits an n x n kernel into (see _sum_of_terms): of
    about 128 rows, where the time was flat from 4 to 8 panels at n = 1000."""
    return max(1, n // 128)


def _sum_of_terms(terms, panels):
    """sum over terms of (c^2 D D^T) (.) (s^2 A A^T + sigma_b^2), computed panel by panel.

    The kernel is symmetric, so only its block upper triangle is computed: rows are cut into
    `panels` panels, and panel p multiplies its own rows against rows p onwards only. With P
    panels that costs (1 + 1/P) / 2 of the Grams' full GEMMs; the lower blocks are mirrored."""
    n = terms[0].inputs.shape[0]
    kernel = terms[0].inputs.new_zeros(n, n)
    bias_variance = terms[0].inputs.new_tensor(SIGMA_B**2)
    edges = [n * p // panels for p in range(panels + 1)]
    for start, stop in zip(edges[:-1], edges[1:]):
        panel = kernel[start:stop, start:]
        for term in terms:
            # s^2 A A^T + sigma_b^2 in one GEMM: the shift broadcasts into its C.
            input_gram = torch.addmm(
                bias_variance,
                term.inputs[start:stop],
                term.inputs[start:].t(),
                alpha=term.input_scale**2,
            )
            if term.deltas is None:
                panel.add_(input_gram)
            else:
                delta_gram = torch.mm(term.deltas[start:stop], term.deltas[start:].t())
                panel.addcmul_(input_gram, delta_gram, value=term.delta_scale**2)
    for start, stop in zip(edges[1:-1], edges[2:]):
        kernel[start:stop, :start] = kernel[:start, start:stop].t()
    return kernel


def structured_ntk(params, x, activation=RELU, nonlinear_output=False, panels=None):
    """The empirical tangent kernel K = J J^T [n, n] of the scalar-output NTK-parameterized MLP
    (ntk_forward) on x [n, d_0], without forming the n x M Jacobian J:
        K = sum_l (delta_l delta_l^T) (.) (s_l^2 a_{l-1} a_{l-1}^T + sigma_b^2)
    where delta_l = d f / d h^l [n, d_l] (per sample: for one output these are plain matrices),
    from one forward and one backward pass, all GEMMs.

    What was tried for speed (1 thread, float32, malloc kept, best of 7 calls):
    - plain (scaled copies of the inputs, Grams apart, the bias term and the scales as separate
      ops): 257 ms at n = 1000;
    - the scales and the bias term folded into the GEMMs (addmm's alpha, and a broadcast shift as
      its C), each delta kept without its factor c_l = the product of the s above it, which
      enters as addcmul_'s value, and the last hidden delta an outer product (scalar output, no
      GEMM): 249 ms, 1-3% at every n, since the GEMMs already run at ~100 GFLOP/s;
    - the Grams on the block upper triangle only (_sum_of_terms), panels of ~128 rows: 200-205 ms
      at n = 1000, 81 against 94 ms at 512, 37 against 39 at 256, equal at 128. Kept.
    Not kept: contiguous copies of transposed operands (OpenBLAS runs A A^T, an NT GEMM, as fast
    as an NN one, and a copy costs), and out= into preallocated buffers (the same as fresh
    tensors once freed memory is kept)."""
    weights, biases = params[0::2], params[1::2]
    if weights[-1].shape[1] != 1:
        raise ValueError(
            f"structured_ntk needs a scalar output, the last layer has {weights[-1].shape[1]}"
        )
    with torch.no_grad():
        # Forward: every layer's input, and phi' at every hidden pre-activation.
        layer_inputs = [x]
        slopes = []
        for weight, bias in zip(weights[:-1], biases[:-1]):
            pre_activation = torch.addmm(
                bias, layer_inputs[-1], weight, beta=SIGMA_B, alpha=input_scale(weight)
            )
            slopes.append(activation.derivative(pre_activation))
            layer_inputs.append(activation.function(pre_activation))
        output_deltas = None  # d f / d h^{L+1}: 1 for a linear output
        if nonlinear_output:
            output_deltas = activation.derivative(
                torch.addmm(
                    biases[-1],
                    layer_inputs[-1],
                    weights[-1],
                    beta=SIGMA_B,
                    alpha=input_scale(weights[-1]),
                )
            )
        terms = [_KernelTerm(layer_inputs[-1], input_scale(weights[-1]), output_deltas, 1.0)]

        # Backward: delta_l = s_{l+1} (delta_{l+1} W^{l+1 T}) (.) phi'(h^l), kept as
        # delta_l / c_l. For the last hidden layer delta_{L+1} W^{L+1 T} is an outer product.
        deltas = slopes[-1] * weights[-1][:, 0]
        if output_deltas is not None:
            deltas.mul_(output_deltas)
        delta_scale = input_scale(weights[-1])
        for layer in reversed(range(len(slopes))):
            if layer < len(slopes) - 1:
                deltas = torch.mm(deltas, weights[layer + 1].t()).mul_(slopes[layer])
                delta_scale *= input_scale(weights[layer + 1])
            terms.append(
                _KernelTerm(layer_inputs[layer], input_scale(weights[layer]), deltas, delta_scale)
            )
        return _sum_of_terms(terms, panels or _default_panels(x.shape[0]))


def square_loss(params, x, y, activation=RELU):
    """L = 1/2 sum_i (f(x_i) - y_i)^2 of the NTK-parameterized MLP."""
    return 0.5 * (ntk_forward(params, x, activation) - y).square().sum()


def hessian_vector_product(loss_of, params, direction):
    """H v by PyTorch's double backward: the gradient with its graph kept, then the gradient of
    <gradient, v>. loss_of(params) gives the scalar loss; params require grad."""
    gradient = torch.autograd.grad(loss_of(params), params, create_graph=True)
    inner = sum((g * v).sum() for g, v in zip(gradient, direction))
    return torch.autograd.grad(inner, params)


def _norm(tensors):
    return math.sqrt(sum(float(t.square().sum()) for t in tensors))


def power_iteration(loss_of, params, iterations, generator=None):
    """The largest |eigenvalue| of the loss Hessian, estimated as ||H v|| after `iterations`
    steps v <- H v / ||H v|| from a random unit v."""
    direction = [torch.randn(p.shape, dtype=p.dtype, generator=generator) for p in params]
    length = _norm(direction)
    direction = [v / length for v in direction]
    for _ in range(iterations):
        product = hessian_vector_product(loss_of, params, direction)
        length = _norm(product)
        direction = [v / length for v in product]
    return length


# The conventional MLP of the autodiff benchmarks: 784 -> 1024 x 3 -> 1, relu, biases, mean
# squared error over its 256 x 1 outputs.
#
# Layout: torch.nn.functional.linear with weights [out, in] against torch.addmm with [in, out]
# (1 thread, batch 256, malloc kept, best of 7 calls in separate processes): float32 a tie
# within 2% (forward 16.4-16.8 vs 16.7-17.2 ms, gradient 47 vs 47-48 ms, hvp 133-136 vs
# 135-136 ms); float64 linear 5-8% faster (forward 33-34 vs 35-36 ms, gradient 89-93 vs 97 ms,
# hvp 253-270 vs 273-281 ms). So linear, the layout nn.Linear uses. With glibc's default malloc
# the gradient ranged 46-108 ms call to call in either layout: page faults, see keep_freed_memory.
MLP_DIMS = (784, 1024, 1024, 1024, 1)
MLP_BATCH = 256


def mlp_init(dims, dtype):
    """Weights [out, in] and biases, all N(0, 0.03^2), requiring grad."""
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        params.append((0.03 * torch.randn(fan_out, fan_in, dtype=dtype)).requires_grad_())
        params.append((0.03 * torch.randn(fan_out, dtype=dtype)).requires_grad_())
    return params


def mlp_loss(params, x, y):
    h = x
    for layer in range(0, len(params), 2):
        if layer > 0:
            h = torch.relu(h)
        h = F.linear(h, params[layer], params[layer + 1])
    return F.mse_loss(h, y)


def keep_freed_memory():
    """Has glibc's malloc keep freed memory for reuse instead of handing it back to the system.

    By default glibc serves large blocks (from 128 KiB, a threshold that grows as such blocks are
    freed) by mmap and unmaps them on free, so the next tensor of that size arrives as untouched
    pages and every first touch is a page fault; in this virtual machine that, not the GEMMs,
    made the MLP's gradient take 46 to 108 ms from call to call (47-50 ms kept) and its hvp
    210-280 ms (133-139 ms kept). lamppost keeps freed buffers in its own cache; this is the
    PyTorch side's equivalent (what jemalloc or tcmalloc, which PyTorch's CPU performance tuning
    guide recommends, do as well). Returns whether glibc accepted both settings."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    return libc.mallopt(m_mmap_max, 0) == 1 and libc.mallopt(m_trim_threshold, 2**31 - 1) == 1


# The workloads. Each builder makes its inputs once and returns the call to time, and any extra
# fields for its record.
NTK_DIMS = (784, 1024, 1024, 1024, 1)
HESSIAN_BATCH = 256
HESSIAN_ITERATIONS = 20


def build_gemm(n, dtype):
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    c = torch.empty(n, n, dtype=dtype)
    return (lambda: torch.mm(a, b, out=c)), {}


def _mlp_problem(dtype):
    x = torch.randn(MLP_BATCH, MLP_DIMS[0], dtype=dtype)
    y = torch.randn(MLP_BATCH, MLP_DIMS[-1], dtype=dtype)
    return mlp_init(MLP_DIMS, dtype), x, y


def build_mlp_forward(_, dtype):
    params, x, y = _mlp_problem(dtype)

    def forward():
        with torch.no_grad():
            return mlp_loss(params, x, y)

    return forward, {}


def build_mlp_gradient(_, dtype):
    params, x, y = _mlp_problem(dtype)
    return (lambda: torch.autograd.grad(mlp_loss(params, x, y), params)), {}


def build_mlp_hvp(_, dtype):
    params, x, y = _mlp_problem(dtype)
    direction = [torch.randn_like(p) for p in params]
    return (
        lambda: hessian_vector_product(lambda p: mlp_loss(p, x, y), params, direction)
    ), {}


def build_ntk(n, dtype):
    params = ntk_init(NTK_DIMS, dtype)
    x = torch.randn(n, NTK_DIMS[0], dtype=dtype)
    return (lambda: structured_ntk(params, x)), {}


def build_hessian(width, dtype):
    dims = (784, width, width, width, 1)
    params = [p.requires_grad_() for p in ntk_init(dims, dtype)]
    x = torch.randn(HESSIAN_BATCH, dims[0], dtype=dtype)
    y = torch.randn(HESSIAN_BATCH, 1, dtype=dtype)
    return (
        lambda: power_iteration(lambda p: square_loss(p, x, y), params, HESSIAN_ITERATIONS)
    ), {"parameters": parameter_count(dims)}


def build_tiny_step(batch, dtype):
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    ).to(dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, 2, dtype=dtype)
    y = torch.randn(batch, 1, dtype=dtype)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()

    return step, {}


# name: (sizes, builder(size, dtype) -> (call, extra record fields))
WORKLOADS = {
    "gemm": ((256, 512, 1024, 2048), build_gemm),
    "mlp_forward": ((MLP_BATCH,), build_mlp_forward),
    "mlp_gradient": ((MLP_BATCH,), build_mlp_gradient),
    "mlp_hvp": ((MLP_BATCH,), build_mlp_hvp),
    "ntk": ((128, 256, 512, 1000), build_ntk),
    "hessian": ((256, 512, 1024), build_hessian),
    "tiny_step": ((8,), build_tiny_step),
}

MIN_SECONDS = 0.2  # of the warm-up, and of each repetition
WARMUP_CALLS = 3


def seconds_per_call(call, repetitions):
    """The median over repetitions of the mean seconds per call; a repetition calls until it
    has lasted MIN_SECONDS (at least once), after a warm-up of WARMUP_CALLS calls and
    MIN_SECONDS, both at least."""
    start, calls = time.perf_counter(), 0
    while calls < WARMUP_CALLS or time.perf_counter() - start < MIN_SECONDS:
        call()
        calls += 1
    means = []
    for _ in range(repetitions):
        start, calls = time.perf_counter(), 0
        while True:
            call()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= MIN_SECONDS:
                break
        means.append(elapsed / calls)
    return statistics.median(means)


def run_timings(names, dtype, repetitions):
    results = []
    for name in names:
        sizes, build = WORKLOADS[name]
        for size in sizes:
            torch.manual_seed(0)
            call, extra = build(size, dtype)
            seconds = seconds_per_call(call, repetitions)
            print(f"{name} {size}: {seconds:.6g} s", file=sys.stderr, flush=True)
            results.append(
                {
                    "workload": name,
                    "size": size,
                    "seconds": seconds,
                    "repetitions": repetitions,
                    **extra,
                }
            )
    return results


# --check: a small network in float64 (784 replaced by 5, width 7, 3 hidden layers, n = 6).
CHECK_DIMS = (5, 7, 7, 7, 1)
CHECK_N = 6


def _flat_function(function, params):
    """function(params) as a function of one flat vector of every parameter, and that vector."""
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def of_flat(flat):
        return function([piece.view(shape) for piece, shape in zip(flat.split(sizes), shapes)])

    return of_flat, _flatten(params).detach()


def _flatten(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def _gradient_difference(loss_of, point, direction, step):
    """(grad L(w + step v) - grad L(w - step v)) / (2 step), flat."""

    def gradient_at(shift):
        shifted = [(p + shift * v).detach().requires_grad_() for p, v in zip(point, direction)]
        return _flatten(torch.autograd.grad(loss_of(shifted), shifted))

    return (gradient_at(step) - gradient_at(-step)) / (2 * step)


def _relative_error(value, reference):
    return float((value - reference).norm() / reference.norm())


def run_checks():
    """Prints each check and its error; returns whether all passed."""
    dtype = torch.float64
    torch.manual_seed(0)  # mlp_init draws from the global generator
    generator = torch.Generator().manual_seed(0)
    params = ntk_init(CHECK_DIMS, dtype, generator)
    x = torch.randn(CHECK_N, CHECK_DIMS[0], dtype=dtype, generator=generator)
    y = torch.randn(CHECK_N, 1, dtype=dtype, generator=generator)
    failures = []

    def report(what, error, tolerance):
        passed = error <= tolerance
        print(f"{'ok  ' if passed else 'FAIL'} {what}: {error:.3g} (tolerance {tolerance:g})")
        if not passed:
            failures.append(what)

    # (a) The structured kernel against J J^T from the brute-force Jacobian, for relu with a
    # linear output (the benchmark) and erf with an erf output (kernel_constancy's contrast),
    # in one panel and in four of uneven heights (the mirrored block triangle).
    for activation_name, activation, nonlinear_output in (
        ("relu", RELU, False),
        ("erf, erf output", ERF, True),
    ):
        outputs, flat = _flat_function(
            lambda p: ntk_forward(p, x, activation, nonlinear_output)[:, 0], params
        )
        jacobian = torch.autograd.functional.jacobian(outputs, flat)
        brute_force = jacobian @ jacobian.t()
        for panels in (1, 4):
            kernel = structured_ntk(params, x, activation, nonlinear_output, panels)
            report(
                f"structured NTK = J J^T, {activation_name}, {panels} panel(s), relative error",
                _relative_error(kernel, brute_force),
                1e-10,
            )

    # (b) The hvp against a central difference of the gradient, on the NTK network's square loss
    # (the hessian workload) and the conventional MLP's mean squared error (mlp_hvp).
    for loss_name, loss_of, point in (
        ("NTK MLP square loss", lambda p: square_loss(p, x, y), params),
        ("MLP mean squared error", lambda p: mlp_loss(p, x, y), mlp_init(CHECK_DIMS, dtype)),
    ):
        point = [p.detach().requires_grad_() for p in point]
        direction = [torch.randn(p.shape, dtype=dtype, generator=generator) for p in point]
        report(
            f"hvp = central difference of the gradient, {loss_name}, relative error",
            _relative_error(
                _flatten(hessian_vector_product(loss_of, point, direction)),
                _gradient_difference(loss_of, point, direction, 1e-5),
            ),
            1e-6,
        )

    # (c) 200 power iterations against the full Hessian's largest |eigenvalue|.
    loss_of_flat, flat = _flat_function(lambda p: square_loss(p, x, y), params)
    eigenvalues = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of_flat, flat))
    largest = float(eigenvalues.abs().max())
    estimate = power_iteration(
        lambda p: square_loss(p, x, y), [p.requires_grad_() for p in params], 200, generator
    )
    print(f"     power iteration: {estimate:.12g}, largest |eigenvalue|: {largest:.12g}")
    report(
        "power iteration (200) against the Hessian's largest |eigenvalue|, relative error",
        abs(estimate - largest) / largest,
        1e-6,
    )

    if failures:
        print(f"{len(failures)} check(s) failed: {'; '.join(failures)}")
    else:
        print("all checks passed")
    return not failures


def fail(message):
    """A usage error: one line to stderr, exit status 2."""
    print(f"torch_reference.py: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (required to time)")
    parser.add_argument("--dtype", choices=("float32", "float64"), help="required to time")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)} (default all)",
    )
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="run the self-checks, no timing")
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="leave glibc's malloc as it is (default: keep freed memory, see keep_freed_memory)",
    )
    args = parser.parse_args()

    if args.threads is not None:
        if args.threads < 1:
            fail(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.check:
        sys.exit(0 if run_checks() else 1)

    if args.threads is None or args.dtype is None:
        fail("--threads and --dtype are required (unless --check)")
    if args.repetitions < 1:
        fail(f"--repetitions must be at least 1, got {args.repetitions}")
    names = [name.strip() for name in args.workloads.split(",")]
    for name in names:
        if name not in WORKLOADS:
            fail(f"unknown workload {name!r} (choose from {', '.join(WORKLOADS)})")

    malloc_kept = not args.system_malloc and keep_freed_memory()
    if not args.system_malloc and not malloc_kept:
        print("torch_reference.py: glibc refused the malloc settings", file=sys.stderr)
    results = run_timings(names, getattr(torch, args.dtype), args.repetitions)
    print(
        json.dumps(
            {
                "torch_version": torch.__version__,
                "threads": args.threads,
                "dtype": args.dtype,
                "malloc_keeps_freed_memory": malloc_kept,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
