"""Random quantized graphs for tests and benchmarks of the back ends (no training needed)."""

from __future__ import annotations

import numpy as np

from flow.fixed import FixedType
from flow.ir import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type


def random_graph(sizes: tuple[int, ...] = (16, 8, 5), *, seed: int = 0, input_type: FixedType | None = None,
                 weight_bits: int = 6, act: FixedType | None = None, scale_shift: bool = False,
                 name: str = "random") -> QuantGraph:
    """A Dense/ReLU chain with random integer weights, for exercising back ends.

    ``sizes`` are the widths of the layers' inputs and outputs; with ``scale_shift`` the chain starts
    with a per-feature ScaleShift layer. Activations default to ``fixed<10,5> RND/SAT``.
    """
    rng = np.random.default_rng(seed)
    input_type = input_type or FixedType(10, 6, True, "RND", "SAT")
    act = act or FixedType(10, 5, True, "RND", "SAT")
    relu_t = FixedType(act.width - 1, act.frac, False, act.rounding, act.overflow)
    w_t = FixedType(weight_bits, weight_bits - 2, True)
    b_t = FixedType(12, 8, True)
    layers: list = []
    x_t = input_type
    if scale_shift:
        s_t, t_t = FixedType(8, 6, True), FixedType(10, 6, True)
        n = sizes[0]
        layers.append(ScaleShift("bn0", x_t, s_t, t_t, act, rng.integers(-128, 128, n), rng.integers(-512, 512, n)))
        layers.append(ReLU("relu0", act, relu_t, n))
        x_t = relu_t
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        w = rng.integers(w_t.min_code, w_t.max_code + 1, (n_out, n_in))
        b = rng.integers(b_t.min_code // 4, b_t.max_code // 4, n_out)
        acc_t = exact_accum_type(x_t, w, w_t, b, b_t)
        layers.append(Dense(f"fc{i}", x_t, w_t, b_t, acc_t, act, w, b))
        if i < len(sizes) - 1:
            layers.append(ReLU(f"relu{i}", act, relu_t, n_out))
            x_t = relu_t
    n_in = sizes[0]
    return QuantGraph(name, input_type, tuple(layers), tuple(f"c{i}" for i in range(sizes[-1])),
                      tuple(f"f{i}" for i in range(n_in)), np.zeros(n_in), np.ones(n_in))


def random_codes(graph: QuantGraph, n: int, *, seed: int = 0) -> np.ndarray:
    """Uniform random input codes over the whole input range, corners included."""
    rng = np.random.default_rng(seed)
    t = graph.input_type
    codes = rng.integers(t.min_code, t.max_code + 1, (n, graph.n_inputs))
    if n >= 2:
        codes[0, :] = t.min_code
        codes[1, :] = t.max_code
    return codes.astype(np.int64)
