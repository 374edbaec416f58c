"""Testbench of the ScaleShift template (rtl_templates/scale_shift.v.j2) on randomized layers:
``x * s + (t << k)`` exact, then requantized; corner inputs and constants, gaps and bursts."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
SEEDS = list(range(100, 105))

try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def scale_shift_stream(dut):
        """Vectors through the layer, every output and its timing checked."""
        from flow.sim.blocktb import run_stream_check

        await run_stream_check(dut)


@pytest.mark.parametrize("seed", SEEDS)
def test_scale_shift(seed, icarus, tmp_path):
    from flow.rtl.generate import library_files, scale_shift_module
    from flow.sim.blockcase import random_scale_shift, write_vectors
    from flow.sim.blocks import run_block

    layer = random_scale_shift(seed)
    text, latency = scale_shift_module(layer, "dut_bn", "test")
    files = {**library_files("test"), "dut_bn.v": text}
    cfg = write_vectors(tmp_path / "vectors.npz", layer, 100, seed, latency)
    report = run_block(files, "dut_bn", "test_scale_shift", HERE, tmp_path / "run", config=cfg)
    assert report["mismatches"] == 0 and report["vectors"] == 100
