"""Testbench of the shift-add block (flow/rtl/templates/shiftadd.v.j2) on randomized layers.

Each case draws a Dense or ScaleShift layer from :mod:`flow.sim.blockcase` (signed or unsigned
inputs, weights at both ends of their range and zero, accumulators narrower than exact so that sums
wrap, every rounding/overflow of the output), half of them with a random ReLU fused into the output
stage, solves it into an adder graph, pipelines it at 1 to 6 adder levels per stage, streams corner
and random vectors through it with gaps and bursts, and compares every output with
:mod:`flow.ir.reference` (the Dense, then the ReLU) and the latency with the generator's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
SEEDS = list(range(16))
N_ROWS = 150

try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def shiftadd_stream(dut):
        """Vectors through the block, every output and its timing checked."""
        from flow.sim.blocktb import run_stream_check

        await run_stream_check(dut)


def _case(seed: int):
    """(layers of the block, adder levels per stage) for a seed. A ReLU after an output that WRAPs
    on overflow does not fuse (no single output stage computes both); such a case keeps the layer
    alone, as the generator does."""
    from flow.ir.graph import ReLU
    from flow.rtl.shiftadd.layers import layer_problem
    from flow.rtl.shiftadd.outstage import NotComposable
    from flow.sim.blockcase import _fixed, random_dense, random_scale_shift

    rng = np.random.default_rng(1000 + seed)
    head = random_dense(seed) if seed % 4 != 3 else random_scale_shift(seed)
    layers = (head,)
    if seed % 2:
        out_t = _fixed(rng, 1, 12, signed=bool(rng.integers(2)))
        relu = ReLU(f"relu{seed}", head.out_type, out_t, head.n_out)
        try:
            layer_problem(head, relu)
            layers = (head, relu)
        except NotComposable:
            pass
    return layers, 1 + seed % 6


@pytest.mark.parametrize("seed", SEEDS)
def test_shiftadd(seed, icarus, tmp_path):
    import torch

    from flow.ir.reference import run_layer
    from flow.rtl.generate import RTL_BLOCKS, RtlSettings, library_files
    from flow.sim.blockcase import corner_codes
    from flow.sim.blocks import run_block
    from flow.sim.check import valid_pattern

    layers, levels = _case(seed)
    settings = RtlSettings(adder_levels=levels)
    plan = RTL_BLOCKS[layers[0]].plan(layers, None, settings)
    block = plan.block(levels, "dut_shiftadd", "test")
    assert len(plan.layers) == len(layers) and dict(block.stats)["arithmetic"] == "shiftadd"
    code = [ln for ln in block.text.splitlines() if not ln.lstrip().startswith("//")]
    assert not any(" * " in ln for ln in code)  # no multipliers
    rng = np.random.default_rng(seed)
    head, last = layers[0], layers[-1]
    codes = corner_codes(head.in_type, N_ROWS, head.n_in, rng)
    x = torch.from_numpy(codes)
    for layer in layers:
        x = run_layer(layer, x)
    expected = x.numpy()
    # The Python model of the adder graph agrees with the reference on every row first.
    got = np.array([plan.graph.evaluate(row) for row in codes.tolist()])
    assert np.array_equal(got, expected)
    np.savez(tmp_path / "vectors.npz", codes=codes, expected=expected, flags=valid_pattern(N_ROWS, "gaps", seed))
    cfg = {
        "vectors": str(tmp_path / "vectors.npz"),
        "in_w": head.in_type.width,
        "n_out": last.n_out,
        "out_w": last.out_type.width,
        "out_signed": last.out_type.signed,
        "latency": block.latency,
        "seed": seed,
    }
    files = {**library_files("test"), "dut_shiftadd.v": block.text}
    report = run_block(files, "dut_shiftadd", "test_shiftadd", HERE, tmp_path / "run", config=cfg)
    assert report["mismatches"] == 0 and report["vectors"] == N_ROWS


def test_cases_cover_the_corners():
    """The seeds above include wrapping accumulators, fused ReLUs, ScaleShift, SAT and WRAP outputs."""
    from flow.ir.fixed import Overflow, Rounding
    from flow.ir.graph import Dense, ScaleShift
    from flow.rtl.generate import RTL_BLOCKS, RtlSettings

    wraps = fused = scaleshift = sat = wrap_out = rnd = 0
    for seed in SEEDS:
        layers, levels = _case(seed)
        plan = RTL_BLOCKS[layers[0]].plan(layers, None, RtlSettings(adder_levels=levels))
        wraps += isinstance(layers[0], Dense) and any(o.wrap for o in plan.graph.outputs)
        fused += len(layers) == 2
        scaleshift += isinstance(layers[0], ScaleShift)
        t = layers[-1].out_type
        sat += t.overflow is Overflow.SAT
        wrap_out += t.overflow is Overflow.WRAP
        rnd += t.rounding is Rounding.RND
    assert wraps >= 2 and fused >= 4 and scaleshift >= 2 and sat >= 2 and wrap_out >= 2 and 0 < rnd < len(SEEDS)
