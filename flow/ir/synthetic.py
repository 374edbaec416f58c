"""Random quantized graphs for tests and benchmarks of the back ends (no training needed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flow.ir.features import code_bounds, shifts
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type


def random_graph(
    sizes: tuple[int, ...] = (16, 8, 5),
    *,
    seed: int = 0,
    input_type: FixedType | None = None,
    weight_bits: int = 6,
    act: FixedType | None = None,
    scale_shift: bool = False,
    per_feature: bool = False,
    name: str = "random",
) -> QuantGraph:
    """A Dense/ReLU chain with random integer weights, for exercising back ends.

    ``sizes`` are the widths of the layers' inputs and outputs; with ``scale_shift`` the chain starts
    with a per-feature ScaleShift layer. Activations default to ``fixed<10,5> RND/SAT``. With
    ``per_feature`` every input feature gets its own random type inside ``input_type``
    (:func:`random_feature_types`).
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
    return QuantGraph(
        name,
        input_type,
        tuple(layers),
        tuple(f"c{i}" for i in range(sizes[-1])),
        tuple(f"f{i}" for i in range(n_in)),
        np.zeros(n_in),
        np.ones(n_in),
        random_feature_types(input_type, n_in, rng) if per_feature else (),
    )


def random_feature_types(container: FixedType, n: int, rng: np.random.Generator) -> tuple[FixedType, ...]:
    """``n`` random types inside ``container`` (its modes and signedness): each drops 0-4 fractional bits
    and 0-2 integer bits, at least the minimum width."""
    out = []
    least = 2 if container.signed else 1
    for _ in range(n):
        frac = container.frac - int(rng.integers(0, 5))
        integer = container.integer - int(rng.integers(0, 3))
        # at the minimum width the integer bits grow; keep the frac only while that still fits
        width = max(integer + frac, least)
        if width - frac > container.integer:
            frac, width = container.frac, max(least, container.width - (container.integer - integer))
        out.append(FixedType(width, frac, container.signed, container.rounding, container.overflow))
    return tuple(out)


def random_codes(graph: QuantGraph, n: int, *, seed: int = 0) -> np.ndarray:
    """Uniform random input codes over the whole input range of each feature, corners included."""
    rng = np.random.default_rng(seed)
    lo, hi = code_bounds(graph)
    s = shifts(graph)
    codes = rng.integers(lo >> s, (hi >> s) + 1, (n, graph.n_inputs)) << s
    if n >= 2:
        codes[0, :] = lo
        codes[1, :] = hi
    return codes.astype(np.int64)


def _corner_dense(name, rng, in_t, n_in, n_out, w_t, b_t, out_t, accum_narrower_by=0) -> Dense:
    w = rng.integers(w_t.min_code, w_t.max_code + 1, (n_out, n_in))
    b = rng.integers(b_t.min_code, b_t.max_code + 1, n_out)
    acc = exact_accum_type(in_t, w, w_t, b, b_t)
    return Dense(name, in_t, w_t, b_t, replace(acc, width=acc.width - accum_narrower_by), out_t, w, b)


def corner_graph(seed: int = 0) -> QuantGraph:
    """Every rounding/overflow/width corner a back end must get right, in one chain:

    ScaleShift (RND/SAT) -> ReLU -> Dense whose TRN/WRAP output wraps -> identity ScaleShift (scale 1,
    shift 0) that only requantizes (hls4ml would delete it) -> ReLU (TRN/SAT) -> Dense with negative
    integer bits in its weights (frac > width), an accumulator 5 bits too narrow (it wraps) and a
    RND/WRAP output -> ReLU -> Dense with negative weight frac and an output finer than its accumulator.
    """
    rng = np.random.default_rng(seed)
    f = FixedType
    x_t, a0 = f(10, 6, True, "RND", "SAT"), f(10, 5, True, "RND", "SAT")
    bn0 = ScaleShift("bn0", x_t, f(8, 6), f(10, 6), a0, rng.integers(-128, 128, 16), rng.integers(-512, 512, 16))
    r0 = ReLU("relu0", a0, f(9, 5, False, "RND", "SAT"), 16)
    fc1 = _corner_dense("fc1", rng, r0.out_type, 16, 24, f(6, 4), f(12, 8), f(8, 3, True, "TRN", "WRAP"))
    nop = ScaleShift(
        "bn_nop",
        fc1.out_type,
        f(4, 2),
        f(6, 3),
        f(6, 2, True, "RND", "SAT"),
        np.full(24, 4),
        np.zeros(24, dtype=np.int64),
    )
    r1 = ReLU("relu1", nop.out_type, f(7, 2, False, "TRN", "SAT"), 24)
    fc2 = _corner_dense(
        "fc2", rng, r1.out_type, 24, 12, f(5, 6), f(8, 6), f(12, 5, True, "RND", "WRAP"), accum_narrower_by=5
    )
    r2 = ReLU("relu2", fc2.out_type, f(8, 4, False, "RND", "SAT"), 12)
    fc3 = _corner_dense("fc3", rng, r2.out_type, 12, 5, f(6, -1), f(10, 2), f(16, 6, True, "RND", "SAT"))
    return QuantGraph(
        "corners",
        x_t,
        (bn0, r0, fc1, nop, r1, fc2, r2, fc3),
        tuple(f"c{i}" for i in range(5)),
        tuple(f"f{i}" for i in range(16)),
        np.linspace(-1, 1, 16),
        np.linspace(0.5, 2, 16),
    )
