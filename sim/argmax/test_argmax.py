"""Testbench of the ArgMax template (flow/rtl/templates/argmax.v.j2) on randomized layers: the index of
the first maximum, ties to the lower index (narrow inputs make ties frequent; all-min and all-max rows
tie everywhere), gaps and bursts."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
SEEDS = list(range(300, 306))

try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def argmax_stream(dut):
        """Vectors through the layer, every output and its timing checked."""
        from flow.sim.blocktb import run_stream_check

        await run_stream_check(dut)


@pytest.mark.parametrize("seed", SEEDS)
def test_argmax(seed, icarus, tmp_path):
    from flow.rtl.generate import argmax_module, library_files
    from flow.sim.blockcase import random_argmax, write_vectors
    from flow.sim.blocks import run_block

    layer = random_argmax(seed)
    text, latency = argmax_module(layer, "dut_argmax", "test")
    files = {**library_files("test"), "dut_argmax.v": text}
    cfg = write_vectors(tmp_path / "vectors.npz", layer, 200, seed, latency)
    report = run_block(files, "dut_argmax", "test_argmax", HERE, tmp_path / "run", config=cfg)
    assert report["vectors"] == 200
    assert report["mismatches"] == 0
