"""Sign regrouping of the adder graph (flow/rtl/shiftadd/regroup.py) and the output stage's dropped-bit
carry as a comparison (flow/rtl/shiftadd/block.py ``low_carry``).

``group_signs`` must keep every output's exact linear form and value on any input, add no adder and no
adder level, and leave fewer subtractions; Yosys must count fewer LUTs for the regrouped block. The
carry/borrow comparison must equal the dropped bits' carry for every constant and node value.
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from flow.ir.graph import Dense
from flow.rtl.shiftadd.block import ge_terms, low_carry
from flow.rtl.shiftadd.outstage import OutStage
from flow.rtl.shiftadd.regroup import group_signs
from flow.rtl.shiftadd.solve import solve


def _sparse_matrix(seed: int, n_out: int = 12, n_in: int = 10) -> np.ndarray:
    """Learned-design-like weights: mostly zero, a few bits, both signs."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-12, 13, (n_out, n_in))
    w[rng.random((n_out, n_in)) < 0.5] = 0
    return w


def _relu_stages(n_out: int, seed: int) -> list[OutStage]:
    rng = np.random.default_rng(seed)
    return [OutStage(4, int(rng.integers(-300, 300)), 0, 0, 31, 5, False) for _ in range(n_out)]


def _subs(g) -> int:
    used = g.used()
    return sum(1 for k, n in enumerate(g.nodes) if used[k] and n.op == "sub")


@pytest.mark.parametrize("seed", range(8))
def test_group_signs_keeps_values_adders_and_levels(seed):
    w = _sparse_matrix(seed)
    lo, hi = [0] * w.shape[1], [127] * w.shape[1]
    if seed % 2:
        lo = [-64] * w.shape[1]  # signed inputs: sign copies in the adders
        hi = [63] * w.shape[1]
    stages = _relu_stages(w.shape[0], seed)
    before = solve(w, lo, hi, stages=stages, regroup=False)
    after = group_signs(before)
    assert after.matrix() == before.matrix()
    assert after.stats()["adders"] <= before.stats()["adders"]
    for o_before, o_after in zip(before.outputs, after.outputs, strict=True):
        if o_before.node is not None:
            assert after.nodes[o_after.node].level <= before.nodes[o_before.node].level
    assert _subs(after) <= _subs(before)
    rng = np.random.default_rng(seed)
    for _ in range(200):
        x = [int(v) for v in rng.integers(lo[0], hi[0] + 1, w.shape[1])]
        assert after.evaluate(x) == before.evaluate(x)
        assert after.accumulators(x) == before.accumulators(x)


def test_group_signs_leaves_fewer_subtractions_on_mixed_signs():
    total_before = total_after = 0
    for seed in range(8):
        w = _sparse_matrix(seed, 16, 16)
        g = solve(w, [0] * 16, [127] * 16, stages=_relu_stages(16, seed), regroup=False)
        total_before += _subs(g)
        total_after += _subs(group_signs(g))
    assert total_after < 0.8 * total_before


def _ge(terms, x: int) -> bool:
    """Evaluate ge_terms' nested form ``x[t0] op0 (x[t1] op1 (...))`` on an integer."""
    v = bool((x >> terms[-1][0]) & 1)
    for j, op in reversed(terms[:-1]):
        b = bool((x >> j) & 1)
        v = (b and v) if op == "&" else (b or v)
    return v


@pytest.mark.parametrize("e", [1, 2, 3, 5, 7])
def test_ge_terms_is_unsigned_greater_or_equal(e):
    for c in range(1, 1 << e):
        terms = ge_terms(c, e)
        assert all(_ge(terms, x) == (x >= c) for x in range(1 << e))


@pytest.mark.parametrize("d", [1, 3, 5])
@pytest.mark.parametrize("neg", [False, True])
def test_low_carry_equals_the_dropped_bits_carry(d, neg):
    """(kc +/- node) >> d == K_h +/- N_h +/- [comparison] for every constant and node value."""
    for kc in range(-70, 70, 3):
        low = low_carry(kc, d, neg)
        k_h = kc >> d
        for node in range(-90, 90):
            n_h, n_l = node >> d, node & ((1 << d) - 1)
            c = _ge(low["bits"], n_l) if low["bits"] else False
            want = (kc - node) >> d if neg else (kc + node) >> d
            got = k_h - n_h - int(c) if neg else k_h + n_h + int(c)
            assert got == want, (kc, node, d, neg)


def _learned_like(layer, seed: int):
    """A Dense with learned-design weights: most pruned, the rest one or two signed power-of-two digits."""
    if not isinstance(layer, Dense):
        return layer
    rng = np.random.default_rng(seed)
    shape = layer.weight.shape
    lim = layer.weight_type.max_code
    w = rng.choice([-1, 1], shape) * (1 << rng.integers(0, 4, shape))
    w = w + np.where(rng.random(shape) < 0.3, rng.choice([-1, 1], shape) * (1 << rng.integers(0, 4, shape)), 0)
    w = np.clip(w, -lim, lim)
    return dataclasses.replace(layer, weight=np.where(rng.random(shape) < 0.6, 0, w).astype(layer.weight.dtype))


@pytest.mark.slow
def test_regrouped_design_costs_fewer_luts_in_yosys(monkeypatch, tmp_path):
    """The same network with and without regrouping, through the synth stage's Yosys command."""
    from flow.config.targets import get_target
    from flow.errors import ToolError
    from flow.ir.synthetic import random_graph
    from flow.rtl.generate import build_design
    from flow.synth import synthesize
    from flow.tools import find_yosys

    try:
        find_yosys()
    except ToolError as exc:
        pytest.skip(str(exc))
    g = random_graph((16, 24, 8), seed=3, name="regroup")
    g = dataclasses.replace(g, layers=tuple(_learned_like(la, k) for k, la in enumerate(g.layers)))
    regrouped = build_design(g)
    solve_module = importlib.import_module("flow.rtl.shiftadd.solve")  # the package exports the function
    monkeypatch.setattr(solve_module, "group_signs", lambda graph: graph)
    plain = build_design(g)
    assert regrouped.files != plain.files
    target = get_target("xcu250")
    lut = {
        k: synthesize(d, target, work_dir=tmp_path / k, cache=False).lut for k, d in [("on", regrouped), ("off", plain)]
    }
    assert lut["on"] < lut["off"], lut
    assert regrouped.latency <= plain.latency
