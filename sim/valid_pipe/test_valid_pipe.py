"""Testbench of ``flow_valid_pipe`` (rtl_templates/valid_pipe.v.j2): out_valid is in_valid delayed by
exactly DEPTH cycles, and a synchronous reset clears every stage."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent

try:
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def valid_delay(dut):
        """Random valid bits with bursts and gaps, then a reset in the middle of a burst."""
        import random

        from flow.sim.blocktb import config, write_report

        depth = config()["DEPTH"]
        Clock(dut.clk, 10, unit="ns").start()
        dut.rst.value = 1
        dut.in_valid.value = 1
        for _ in range(depth + 2):
            await FallingEdge(dut.clk)
        assert dut.out_valid.value == 0, "reset must clear the pipeline"
        dut.rst.value = 0
        rng = random.Random(depth)
        sent, errors = [], 0
        for k in range(200):
            # Compare with what went in DEPTH cycles ago (0 before the first input).
            want = sent[k - depth] if k >= depth else 0
            errors += int(dut.out_valid.value) != want
            v = 1 if k < 20 else rng.randint(0, 1)
            sent.append(v)
            dut.in_valid.value = v
            await FallingEdge(dut.clk)
        dut.in_valid.value = 1
        dut.rst.value = 1
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        dut.in_valid.value = 0
        flushed = []
        for _ in range(depth + 1):
            flushed.append(int(dut.out_valid.value))
            await FallingEdge(dut.clk)
        write_report({"errors": errors, "after_reset": flushed})
        assert errors == 0, f"{errors} cycles where out_valid differed from in_valid delayed by {depth}"
        assert not any(flushed), f"valid bits survived the reset: {flushed}"


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_valid_pipe(depth, icarus, tmp_path):
    from flow.rtl.generate import library_files
    from flow.sim.blocks import run_block

    report = run_block(
        library_files("test"),
        "flow_valid_pipe",
        "test_valid_pipe",
        HERE,
        tmp_path,
        parameters={"DEPTH": depth},
        config={"DEPTH": depth},
    )
    assert report["errors"] == 0
