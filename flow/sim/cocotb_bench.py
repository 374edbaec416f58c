"""cocotb tests run inside the simulator on the generated harness (see ``harness.v.j2``).

``stream``: the harness clocks itself and replays the stimulus file; this test waits for ``done``,
then parses the capture and compares every output word with the integer reference (numpy equality).
``drive``: the classic cocotb way, one clock cycle at a time from Python (slow; handshake tests and
the benchmark's peer). Both read their configuration from the JSON file named by
``$FLOW_SIM_CONFIG`` and write a report JSON next to it.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, with_timeout

from flow.sim.check import compare, read_capture
from flow.sim.codec import unpack_hex, unsigned_value


def _config() -> dict:
    with open(os.environ["FLOW_SIM_CONFIG"]) as fh:
        return json.load(fh)


def _finish(cfg: dict, got: np.ndarray, in_cycles: np.ndarray, out_cycles: np.ndarray, extra: dict) -> dict:
    t0 = time.perf_counter()
    expected = np.load(cfg["expected"])
    report = compare(got, expected, in_cycles, out_cycles, cfg["latency"])
    report.update(extra)
    report["check_seconds"] = time.perf_counter() - t0
    np.save(cfg["got"], got)
    with open(cfg["report"], "w") as fh:
        json.dump(report, fh)
    return report


@cocotb.test()
async def stream(dut):
    """Harness-driven run over the whole stimulus file, then an exact check of every output."""
    cfg = _config()
    t0, c0 = time.perf_counter(), time.process_time()
    # The harness needs 4 reset cycles plus one cycle per stimulus line plus the tail.
    limit_ns = 10 * (cfg["cycles"] + 2 * cfg["latency"] + 64) + 100
    await with_timeout(RisingEdge(dut.done), limit_ns, "ns")
    sim_seconds, sim_cpu = time.perf_counter() - t0, time.process_time() - c0
    out_cycles, got = read_capture(cfg["out"], cfg["n_out"], cfg["out_w"], cfg["out_signed"])
    in_cycles = np.load(cfg["in_cycles"])
    report = _finish(
        cfg, got, in_cycles, out_cycles, {"sim_seconds": sim_seconds, "sim_cpu_seconds": sim_cpu, "mode": "stream"}
    )
    assert report["ok"], f"RTL differs from the reference: {report.get('first')} {report['handshake_errors']}"


@cocotb.test()
async def drive(dut):
    """cocotb drives clk/rst/in_valid/in_data every cycle and samples out_valid/out_data."""
    cfg = _config()
    recs = np.fromfile(cfg["stim"], dtype=np.uint8).reshape(-1, cfg["rec_bytes"])
    valids = [int(v) for v in recs[:, 0]]
    words = [int.from_bytes(r.tobytes(), "big") for r in recs[:, 1:]]
    t0 = time.perf_counter()
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.in_valid.value = 0
    for _ in range(4):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    out_cycles, out_words = [], []
    n_cycles = len(valids) + cfg["latency"] + 4
    # At falling edge k: sample what the edges before produced, then present stimulus line k,
    # which the DUT samples at rising edge k. An output sampled at falling edge k was produced
    # by rising edge k-1, i.e. it is visible at edge k, as in stream mode.
    for k in range(n_cycles):
        if k > 0 and dut.out_valid.value == 1:
            out_cycles.append(k)
            out_words.append(format(unsigned_value(dut.out_data.value), "x"))
        if k < len(valids):
            dut.in_valid.value = valids[k]
            dut.in_data.value = words[k]
        else:
            dut.in_valid.value = 0
        await FallingEdge(dut.clk)
    sim_seconds = time.perf_counter() - t0
    got = unpack_hex(out_words, cfg["n_out"], cfg["out_w"], cfg["out_signed"])
    in_cycles = np.load(cfg["in_cycles"])
    report = _finish(cfg, got, in_cycles, np.array(out_cycles, np.int64), {"sim_seconds": sim_seconds, "mode": "drive"})
    assert report["ok"], f"RTL differs from the reference: {report.get('first')} {report['handshake_errors']}"
