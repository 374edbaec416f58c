"""One compiled hls4ml project shared by the module (compiling takes ~5 s)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from flow.fixed import FixedType
from flow.ir import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.reference import forward
from flow.synthetic import random_codes
from flow.targets import get_target


def _dense(name, rng, in_t, n_in, n_out, w_t, b_t, out_t, accum_narrower_by=0):
    w = rng.integers(w_t.min_code, w_t.max_code + 1, (n_out, n_in))
    b = rng.integers(b_t.min_code, b_t.max_code + 1, n_out)
    acc = exact_accum_type(in_t, w, w_t, b, b_t)
    acc = replace(acc, width=acc.width - accum_narrower_by)
    return Dense(name, in_t, w_t, b_t, acc, out_t, w, b)


def mixed_graph(seed: int = 0) -> QuantGraph:
    """Every corner the back ends must get right, in one chain:

    ScaleShift (RND/SAT) -> ReLU -> Dense whose TRN/WRAP output wraps -> identity ScaleShift (scale 1,
    shift 0) that only requantizes (hls4ml would delete it) -> ReLU (TRN/SAT) -> Dense with negative
    integer bits in its weights (frac > width) and an accumulator 5 bits too narrow (it wraps) and a
    RND/WRAP output -> ReLU -> Dense with negative weight frac and an output finer than its accumulator.
    """
    rng = np.random.default_rng(seed)
    f = FixedType
    x_t = f(10, 6, True, "RND", "SAT")
    a0 = f(10, 5, True, "RND", "SAT")
    bn0 = ScaleShift("bn0", x_t, f(8, 6), f(10, 6), a0, rng.integers(-128, 128, 16),
                     rng.integers(-512, 512, 16))
    r0 = ReLU("relu0", a0, f(9, 5, False, "RND", "SAT"), 16)
    fc1 = _dense("fc1", rng, r0.out_type, 16, 24, f(6, 4), f(12, 8), f(8, 3, True, "TRN", "WRAP"))
    nop = ScaleShift("bn_nop", fc1.out_type, f(4, 2), f(6, 3), f(6, 2, True, "RND", "SAT"),
                     np.full(24, 4), np.zeros(24, dtype=np.int64))
    r1 = ReLU("relu1", nop.out_type, f(7, 2, False, "TRN", "SAT"), 24)
    fc2 = _dense("fc2", rng, r1.out_type, 24, 12, f(5, 6), f(8, 6), f(12, 5, True, "RND", "WRAP"),
                 accum_narrower_by=5)
    r2 = ReLU("relu2", fc2.out_type, f(8, 4, False, "RND", "SAT"), 12)
    fc3 = _dense("fc3", rng, r2.out_type, 12, 5, f(6, -1), f(10, 2), f(16, 6, True, "RND", "SAT"))
    layers = (bn0, r0, fc1, nop, r1, fc2, r2, fc3)
    return QuantGraph("mixed", x_t, layers, tuple(f"c{i}" for i in range(5)),
                      tuple(f"f{i}" for i in range(16)), np.zeros(16), np.ones(16))


@pytest.fixture(scope="session")
def graph() -> QuantGraph:
    return mixed_graph()


@pytest.fixture(scope="session")
def codes(graph) -> np.ndarray:
    return random_codes(graph, 20_000, seed=1)


@pytest.fixture(scope="session")
def ref(graph, codes) -> np.ndarray:
    return forward(graph, torch.from_numpy(codes)).numpy()


@pytest.fixture(scope="session")
def project(graph, tmp_path_factory):
    from flow.hls.project import build_project

    return build_project(graph, tmp_path_factory.mktemp("hls") / "prj", get_target("xcu250"))
