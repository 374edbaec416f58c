"""Testbench of the top template (rtl_templates/top.v.j2): small random whole networks on Icarus,
with and without ScaleShift, corner inputs that saturate, gaps and bursts, against
:func:`flow.ir.reference.forward` (the large networks run on Verilator in ``tests/rtl``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent

try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def top_stream(dut):
        """Vectors through the whole network, every output and its timing checked."""
        from flow.sim.blocktb import run_stream_check

        await run_stream_check(dut)


@pytest.mark.parametrize("arithmetic", ["shiftadd", "dsp"])
@pytest.mark.parametrize(("sizes", "scale_shift", "seed"), [((6, 4, 3), False, 0), ((5, 4, 4, 2), True, 1)])
def test_top(sizes, scale_shift, seed, arithmetic, icarus, tmp_path):
    import torch

    from flow.ir.reference import forward
    from flow.ir.synthetic import random_codes, random_graph
    from flow.rtl.generate import build_design
    from flow.sim.blocks import run_block
    from flow.sim.check import valid_pattern

    g = random_graph(sizes, seed=seed, scale_shift=scale_shift, name="top-tb")
    design = build_design(g, fanin=3, arithmetic=arithmetic)
    codes = random_codes(g, 80, seed=seed)
    expected = forward(g, torch.from_numpy(codes)).numpy()
    np.savez(tmp_path / "vectors.npz", codes=codes, expected=expected, flags=valid_pattern(80, "gaps", seed))
    cfg = {
        "vectors": str(tmp_path / "vectors.npz"),
        "in_w": g.input_type.width,
        "n_out": g.n_outputs,
        "out_w": g.output_type.width,
        "out_signed": g.output_type.signed,
        "latency": design.latency,
    }
    files = {p: t for p, t in design.files.items() if p.endswith(".v")}
    report = run_block(files, design.top, "test_top", HERE, tmp_path / "run", config=cfg)
    assert report["mismatches"] == 0 and report["vectors"] == 80
