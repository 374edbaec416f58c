"""Testbench of the Dense template (rtl_templates/dense.v.j2) on randomized layers.

Each case draws a layer (signed or unsigned inputs, 2-8 bit weights at their extremes, zero
weights, accumulators narrower than exact so that sums wrap, every rounding/overflow of the
output), renders it, streams corner and random vectors through it with gaps and bursts, and
compares every output with :func:`flow.ir.reference.dense` and the latency with the generator's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
SEEDS = list(range(8))

try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def dense_stream(dut):
        """Vectors through the layer, every output and its timing checked."""
        from flow.sim.blocktb import run_stream_check

        await run_stream_check(dut)


@pytest.mark.parametrize("seed", SEEDS)
def test_dense(seed, icarus, tmp_path):
    from flow.rtl.generate import dense_module, library_files
    from flow.sim.blockcase import random_dense, write_vectors
    from flow.sim.blocks import run_block

    layer = random_dense(seed)
    fanin = 2 + seed % 4
    text, latency = dense_module(layer, "dut_dense", "test", fanin)
    files = {**library_files("test"), "dut_dense.v": text}
    cfg = write_vectors(tmp_path / "vectors.npz", layer, 120, seed, latency)
    report = run_block(files, "dut_dense", "test_dense", HERE, tmp_path / "run", config=cfg)
    assert report["mismatches"] == 0 and report["vectors"] == 120
