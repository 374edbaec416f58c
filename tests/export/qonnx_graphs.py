"""Graphs for the QONNX tests: the default kind and every rounding/overflow/width corner."""

from dataclasses import replace

import numpy as np

from flow.fixed import FixedType
from flow.ir import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.synthetic import random_graph

F = FixedType


def _dense(name, rng, in_t, n_in, n_out, w_t, b_t, out_t, accum_narrower_by=0):
    w = rng.integers(w_t.min_code, w_t.max_code + 1, (n_out, n_in))
    b = rng.integers(b_t.min_code, b_t.max_code + 1, n_out)
    acc = exact_accum_type(in_t, w, w_t, b, b_t)
    return Dense(name, in_t, w_t, b_t, replace(acc, width=acc.width - accum_narrower_by), out_t, w, b)


def corner_graph(seed: int = 0) -> QuantGraph:
    """ScaleShift -> ReLU -> Dense (TRN/WRAP output that wraps) -> identity ScaleShift -> ReLU (TRN/SAT)
    -> Dense (weights with frac > width, accumulator 5 bits too narrow, RND/WRAP) -> ReLU -> Dense
    (negative weight frac, output finer than the accumulator). Same as tests/hls/conftest.py."""
    rng = np.random.default_rng(seed)
    x_t, a0 = F(10, 6, True, "RND", "SAT"), F(10, 5, True, "RND", "SAT")
    bn0 = ScaleShift("bn0", x_t, F(8, 6), F(10, 6), a0, rng.integers(-128, 128, 16),
                     rng.integers(-512, 512, 16))
    r0 = ReLU("relu0", a0, F(9, 5, False, "RND", "SAT"), 16)
    fc1 = _dense("fc1", rng, r0.out_type, 16, 24, F(6, 4), F(12, 8), F(8, 3, True, "TRN", "WRAP"))
    nop = ScaleShift("bn_nop", fc1.out_type, F(4, 2), F(6, 3), F(6, 2, True, "RND", "SAT"),
                     np.full(24, 4), np.zeros(24, dtype=np.int64))
    r1 = ReLU("relu1", nop.out_type, F(7, 2, False, "TRN", "SAT"), 24)
    fc2 = _dense("fc2", rng, r1.out_type, 24, 12, F(5, 6), F(8, 6), F(12, 5, True, "RND", "WRAP"),
                 accum_narrower_by=5)
    r2 = ReLU("relu2", fc2.out_type, F(8, 4, False, "RND", "SAT"), 12)
    fc3 = _dense("fc3", rng, r2.out_type, 12, 5, F(6, -1), F(10, 2), F(16, 6, True, "RND", "SAT"))
    return QuantGraph("corners", x_t, (bn0, r0, fc1, nop, r1, fc2, r2, fc3), tuple(f"c{i}" for i in range(5)),
                      tuple(f"f{i}" for i in range(16)), np.linspace(-1, 1, 16), np.linspace(0.5, 2, 16))


GRAPHS = {
    "default": lambda: random_graph((16, 64, 32, 32, 5), seed=1, scale_shift=True),
    "wide-float64": lambda: random_graph((16, 64, 32, 5), seed=2, weight_bits=8,
                                         act=F(16, 8, True, "RND", "SAT"),
                                         input_type=F(16, 10, True, "RND", "SAT")),
    "trn-wrap": lambda: random_graph((16, 32, 5), seed=3, act=F(8, 4, True, "TRN", "WRAP"),
                                     input_type=F(9, 5, True, "TRN", "WRAP")),
    "rnd-wrap": lambda: random_graph((16, 32, 5), seed=4, act=F(8, 4, True, "RND", "WRAP"),
                                     input_type=F(9, 5, True, "RND", "WRAP")),
    "trn-sat": lambda: random_graph((16, 32, 5), seed=5, scale_shift=True, act=F(8, 4, True, "TRN", "SAT"),
                                    input_type=F(9, 5, True, "TRN", "SAT")),
    "corners": corner_graph,
}
