"""Testbench of ``flow_relu`` (rtl_templates/relu.v.j2) over randomized HDL parameters:
``max(x, 0)`` then requantize (signed/unsigned in and out, shifts both ways, RND/TRN, SAT/WRAP)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _cases() -> list[dict]:
    cases = [
        dict(N=4, IN_W=10, IN_SIGNED=1, SHIFT=0, OUT_W=9, OUT_SIGNED=0, RND=1, SAT=1),  # the usual hidden ReLU
        dict(N=3, IN_W=10, IN_SIGNED=1, SHIFT=3, OUT_W=4, OUT_SIGNED=0, RND=1, SAT=1),  # narrower: saturates
        dict(N=3, IN_W=10, IN_SIGNED=1, SHIFT=2, OUT_W=5, OUT_SIGNED=1, RND=0, SAT=0),  # wraps into the sign
        dict(N=2, IN_W=6, IN_SIGNED=0, SHIFT=-2, OUT_W=7, OUT_SIGNED=0, RND=0, SAT=1),  # left shift
    ]
    rng = random.Random(7)
    for _ in range(2):
        out_signed = rng.randint(0, 1)
        cases.append(
            dict(
                N=rng.randint(1, 6),
                IN_W=rng.randint(2, 14),
                IN_SIGNED=rng.randint(0, 1),
                SHIFT=rng.randint(-3, 6),
                OUT_W=rng.randint(2, 12),
                OUT_SIGNED=out_signed,
                RND=rng.randint(0, 1),
                SAT=rng.randint(0, 1),
            )
        )
    return cases


CASES = _cases()

try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def relu_stream(dut):
        """Vectors through the ReLU, every output and its timing checked."""
        from flow.sim.blocktb import run_stream_check

        await run_stream_check(dut)


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items()))
def test_relu(params, icarus, tmp_path):
    from flow.rtl.generate import library_files
    from flow.sim.blockcase import relu_layer, write_vectors
    from flow.sim.blocks import run_block

    cfg = write_vectors(tmp_path / "vectors.npz", relu_layer(params), 100, params["N"], 1)
    report = run_block(
        library_files("test"), "flow_relu", "test_relu", HERE, tmp_path / "run", parameters=params, config=cfg
    )
    assert report["mismatches"] == 0 and report["vectors"] == 100
