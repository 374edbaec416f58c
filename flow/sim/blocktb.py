"""cocotb helpers shared by the block testbenches (imported inside the simulator).

A block has ``clk``, ``rst``, ``in_valid``, ``in_data`` (n_in codes) and ``out_valid``, ``out_data``.
:func:`stream_block` drives a vector per valid cycle following a valid pattern (gaps carry random
data), samples the outputs every cycle and returns them with the cycles of inputs and outputs.
"""

from __future__ import annotations

import json
import os

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from flow.sim.codec import pack_hex, unpack_hex, unsigned_value


def config() -> dict:
    with open(os.environ["FLOW_TB_CONFIG"]) as fh:
        return json.load(fh)


def write_report(report: dict) -> None:
    path = os.environ.get("FLOW_TB_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump(report, fh)


async def stream_block(
    dut,
    codes: np.ndarray,
    in_w: int,
    flags: np.ndarray,
    n_out: int,
    out_w: int,
    out_signed: bool,
    latency: int,
    seed: int = 0,
):
    """Drive ``codes`` through a clocked block; return (outputs, in_cycles, out_cycles)."""
    words = [int(h, 16) for h in pack_hex(codes, in_w)]
    rng = np.random.default_rng(seed)
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.in_valid.value = 0
    dut.in_data.value = 0
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    k_vec, out_cycles, out_words = 0, [], []
    for k in range(len(flags) + latency + 3):
        if k > 0 and dut.out_valid.value == 1:
            out_cycles.append(k)
            out_words.append(format(unsigned_value(dut.out_data.value), "x"))
        if k < len(flags) and flags[k]:
            dut.in_valid.value = 1
            dut.in_data.value = words[k_vec]
            k_vec += 1
        else:
            dut.in_valid.value = 0
            dut.in_data.value = words[int(rng.integers(len(words)))] if words else 0
        await FallingEdge(dut.clk)
    got = unpack_hex(out_words, n_out, out_w, out_signed)
    return got, np.nonzero(flags)[0], np.array(out_cycles, dtype=np.int64)


async def run_stream_check(dut) -> None:
    """The whole block check: vectors from ``config()['vectors']`` (npz with ``codes``, ``expected``,
    ``flags``), timing and values compared exactly; writes the report and fails on any difference."""
    from flow.sim.check import compare

    cfg = config()
    data = np.load(cfg["vectors"])
    got, in_cycles, out_cycles = await stream_block(
        dut,
        data["codes"],
        cfg["in_w"],
        data["flags"],
        cfg["n_out"],
        cfg["out_w"],
        cfg["out_signed"],
        cfg["latency"],
        seed=cfg.get("seed", 0),
    )
    report = compare(got, data["expected"], in_cycles, out_cycles, cfg["latency"])
    write_report(report)
    assert report["ok"], f"mismatch: {report.get('first')} {report['handshake_errors']}"
