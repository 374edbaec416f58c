"""Verify the generated RTL against the integer reference with cocotb on Verilator.

:func:`simulate` renders (or takes) the RTL, builds a Verilator model of it inside the simulation
harness (cached), writes a stimulus file with a valid pattern of gaps and bursts, runs the cocotb
test (``stream``: the harness clocks itself and the cocotb test checks the capture; ``drive``: cocotb
drives every cycle from Python) and compares every output word with the reference exactly. A value
or handshake mismatch raises :class:`MismatchError` naming the vector, the first layer that differs
(found by re-running the failing vectors with per-layer probes) and both values.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from flow.errors import MismatchError, ToolError
from flow.ir.features import port_width, to_port
from flow.ir.graph import QuantGraph
from flow.ir.reference import forward, iter_layers
from flow.rtl.generate import RtlDesign, build_design
from flow.sim.build import VerilatorBuild, build_verilator, random_init_plusargs
from flow.sim.check import read_capture, valid_pattern
from flow.sim.codec import pack_bytes
from flow.sim.harness import harness_name, record_bytes, render_harness
from flow.tools import find_verilator
from flow.workdir import work_folder

TEST_MODULE = "flow.sim.cocotb_bench"
RANDOM_INIT_ENV = "FLOW_SIM_RANDOM_INIT"  # an integer seed: simulate with random register initialization


def random_init_seed(random_init: int | None = None) -> int | None:
    """The random-initialization seed: ``random_init`` when given, else ``$FLOW_SIM_RANDOM_INIT``
    (unset or empty: off)."""
    if random_init is not None:
        return int(random_init)
    env = os.environ.get(RANDOM_INIT_ENV, "").strip()
    if not env:
        return None
    try:
        return int(env)
    except ValueError:
        raise ToolError(f"${RANDOM_INIT_ENV} must be an integer seed, got {env!r}") from None


@dataclass(frozen=True)
class SimResult:
    """Outcome of one verified simulation run (all timings in seconds)."""

    vectors: int
    mismatches: int
    latency_cycles: int
    ii: int | None
    cycles: int  # clock cycles simulated after reset (vectors plus gaps)
    gaps: int  # idle gaps in the valid-in pattern
    vectors_per_s: float  # vectors / wall time of the verification run (stimulus, simulator, check)
    sim_vectors_per_s: float  # vectors / time spent in the simulator proper (inside the cocotb test)
    build_seconds: float  # Verilator build time (0 when the cached model was reused)
    run_seconds: float
    mode: str
    simulator: str
    build_dir: str
    outputs: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        return {
            "vectors": self.vectors,
            "mismatches": self.mismatches,
            "latency_cycles": self.latency_cycles,
            "ii": self.ii,
            "cycles": self.cycles,
            "gaps": self.gaps,
            "vectors_per_s": round(self.vectors_per_s, 1),
            "sim_vectors_per_s": round(self.sim_vectors_per_s, 1),
            "build_seconds": round(self.build_seconds, 2),
            "run_seconds": round(self.run_seconds, 3),
            "mode": self.mode,
            "simulator": self.simulator,
        }


def harness_build(
    design: RtlDesign,
    files: dict[str, str] | None = None,
    *,
    cache_dir: Path | None = None,
    random_init: bool = False,
) -> VerilatorBuild:
    """Build (or reuse) the Verilator model of ``design`` inside its harness. ``random_init``: a
    build whose registers start random (run it with :func:`flow.sim.build.random_init_plusargs`)
    and whose harness fills the valid pipelines before a one-cycle reset (``render_harness``'s
    ``reset_valid``), so that a missing reset shows."""
    name = harness_name(design)
    hfile, htext = render_harness(design, reset_valid=random_init)
    all_files = dict(files if files is not None else design.files)
    all_files[hfile] = htext
    return build_verilator(all_files, [*design.sources, hfile], name, cache_dir=cache_dir, random_init=random_init)


def _write_stimulus(path: Path, codes: np.ndarray, width: int, flags: np.ndarray, seed: int) -> np.ndarray:
    """One binary record per cycle (valid byte, then the input bus MSB first); idle cycles carry
    random data with valid 0. Returns the cycles of the valid inputs."""
    words = pack_bytes(codes, width)
    in_cycles = np.nonzero(flags)[0].astype(np.int64)
    recs = np.zeros((len(flags), 1 + words.shape[1]), dtype=np.uint8)
    recs[in_cycles, 0] = 1
    recs[in_cycles, 1:] = words
    idle = np.nonzero(~flags)[0]
    if len(idle):
        rng = np.random.default_rng(seed + 1)
        recs[idle, 1:] = words[rng.integers(0, len(words), len(idle))]
    recs.tofile(path)
    return in_cycles


def _run_cocotb(build: VerilatorBuild, work: Path, testcase: str, cfg: dict, plusargs: list[str]) -> dict:
    from cocotb_tools.runner import get_runner

    cfg_path = work / f"{testcase}_config.json"
    cfg_path.write_text(json.dumps(cfg))
    report_path = Path(cfg["report"])
    report_path.unlink(missing_ok=True)
    runner = get_runner("verilator")
    log = work / f"{testcase}.log"
    failure = None
    try:
        runner.test(
            test_module=TEST_MODULE,
            hdl_toplevel=build.toplevel,
            testcase=testcase,
            hdl_toplevel_lang="verilog",
            build_dir=build.build_dir,
            test_dir=work,
            plusargs=plusargs,
            extra_env={"FLOW_SIM_CONFIG": str(cfg_path)},
            results_xml=str(work / f"{testcase}.xml"),
            log_file=str(log),
        )
    except (OSError, RuntimeError, SystemExit) as exc:  # a failed cocotb test or a crashed simulator
        failure = exc
    if not report_path.is_file():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:]) if log.is_file() else ""
        raise ToolError(f"the cocotb test '{testcase}' produced no report ({failure!r}); last lines of {log}:\n{tail}")
    return json.loads(report_path.read_text())


def simulate(
    graph: QuantGraph,
    codes: np.ndarray,
    *,
    expected: np.ndarray | None = None,
    vectors: int | None = None,
    design: RtlDesign | None = None,
    files: dict[str, str] | None = None,
    pattern: str = "gaps",
    seed: int = 0,
    mode: str = "stream",
    work_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    localize: bool = True,
    random_init: int | None = None,
) -> SimResult:
    """Simulate the RTL of ``graph`` on input ``codes`` ``[N, n_in]`` and check it against the reference.

    ``expected`` defaults to :func:`flow.ir.reference.forward`; ``vectors`` limits N (None: all).
    ``design``/``files`` let a caller simulate RTL it already has (``files`` replaces the text of
    the design's files, e.g. a hand-edited netlist). ``mode`` is ``stream`` (fast, the harness
    clocks itself) or ``drive`` (cocotb drives every cycle). Raises :class:`MismatchError` on any
    value or handshake difference, :class:`ToolError` when a tool is missing or fails.
    """
    if mode not in ("stream", "drive"):
        raise ValueError(f"mode must be 'stream' or 'drive', got {mode!r}")
    codes = np.asarray(codes, dtype=np.int64)
    if vectors is not None:
        codes = codes[:vectors]
    if expected is None:
        expected = forward(graph, torch.from_numpy(codes)).numpy()
    expected = np.asarray(expected, dtype=np.int64)[: len(codes)]
    if codes.ndim != 2 or codes.shape[1] != graph.n_inputs:
        raise MismatchError(f"input codes must be [N, {graph.n_inputs}], got {list(codes.shape)}")
    design = design or build_design(graph)
    rseed = random_init_seed(random_init)
    build = harness_build(
        design, files, cache_dir=Path(cache_dir) if cache_dir else None, random_init=rseed is not None
    )
    init_args = [] if rseed is None else random_init_plusargs(rseed)

    with work_folder(work_dir, "flow_sim_") as work:
        t0 = time.perf_counter()
        flags = valid_pattern(len(codes), pattern, seed)
        stim = work / "stimulus.bin"
        in_cycles = _write_stimulus(stim, to_port(graph, codes), port_width(graph), flags, seed)
        np.save(work / "in_cycles.npy", in_cycles)
        np.save(work / "expected.npy", expected)
        out_t = graph.output_type
        cfg = {
            "stim": str(stim),
            "out": str(work / "capture.txt"),
            "expected": str(work / "expected.npy"),
            "in_cycles": str(work / "in_cycles.npy"),
            "got": str(work / "got.npy"),
            "report": str(work / f"{mode}_report.json"),
            "n_out": graph.n_outputs,
            "out_w": out_t.width,
            "out_signed": out_t.signed,
            "latency": design.latency,
            "cycles": int(len(flags)),
            "rec_bytes": record_bytes(design.in_bits),
        }
        plusargs = [f"+flow_stim={stim}", f"+flow_out={cfg['out']}"] if mode == "stream" else []
        plusargs += init_args
        report = _run_cocotb(build, work, mode, cfg, plusargs)
        run_seconds = time.perf_counter() - t0
        got = np.load(cfg["got"])
        if not report["ok"]:
            _raise_mismatch(graph, design, build, codes, expected, report, work, localize, init_args)
        n = len(codes)
        return SimResult(
            vectors=n,
            mismatches=int(report["mismatches"]),
            latency_cycles=design.latency,
            ii=report["ii"],
            cycles=int(len(flags)),
            gaps=report["gaps"],
            vectors_per_s=n / run_seconds if run_seconds else 0.0,
            sim_vectors_per_s=n / report["sim_seconds"] if report["sim_seconds"] else 0.0,
            build_seconds=build.seconds,
            run_seconds=run_seconds,
            mode=mode,
            simulator=f"verilator {find_verilator().version}",
            build_dir=str(build.build_dir),
            outputs=got,
        )


def _raise_mismatch(
    graph: QuantGraph,
    design: RtlDesign,
    build: VerilatorBuild,
    codes: np.ndarray,
    expected: np.ndarray,
    report: dict,
    work: Path,
    localize: bool,
    init_args: list[str] = (),
) -> None:
    n = report["vectors"]
    if report["handshake_errors"]:
        raise MismatchError(
            f"RTL handshake is wrong: {'; '.join(report['handshake_errors'])} "
            f"(latency observed {report['latency_observed']}, expected {report['latency_expected']})"
        )
    first = report["first"]
    where = ""
    if localize:
        try:
            where = _localize(graph, design, build, codes, report["mismatch_rows"], work, init_args)
        except (ToolError, OSError, ValueError) as exc:  # diagnosis is best effort
            where = f" (could not localize the layer: {exc})"
    raise MismatchError(
        f"RTL output differs from the integer reference on {report['mismatches']} of {n} vectors; first at "
        f"vector {first['vector']}, output {first['element']}: expected {first['expected']}, "
        f"got {first['got']}{where}. Expected row {first['expected_row']}, RTL row {first['got_row']}."
    )


def _localize(
    graph: QuantGraph,
    design: RtlDesign,
    build: VerilatorBuild,
    codes: np.ndarray,
    rows: list[int],
    work: Path,
    init_args: list[str] = (),
) -> str:
    """Re-run the failing vectors with per-layer probes; name the first layer whose output differs."""
    sub = codes[rows]
    probe_dir = work / "probe"
    probe_dir.mkdir(exist_ok=True)
    flags = np.ones(len(sub), dtype=bool)
    stim = probe_dir / "stimulus.bin"
    in_cycles = _write_stimulus(stim, to_port(graph, sub), port_width(graph), flags, 0)
    np.save(probe_dir / "in_cycles.npy", in_cycles)
    ref = forward(graph, torch.from_numpy(sub)).numpy()
    np.save(probe_dir / "expected.npy", ref)
    out_t = graph.output_type
    cfg = {
        "stim": str(stim),
        "out": str(probe_dir / "capture.txt"),
        "expected": str(probe_dir / "expected.npy"),
        "in_cycles": str(probe_dir / "in_cycles.npy"),
        "got": str(probe_dir / "got.npy"),
        "report": str(probe_dir / "report.json"),
        "n_out": graph.n_outputs,
        "out_w": out_t.width,
        "out_signed": out_t.signed,
        "latency": design.latency,
        "cycles": len(sub),
        "rec_bytes": record_bytes(design.in_bits),
    }
    prefix = probe_dir / "layer"
    _run_cocotb(
        build,
        probe_dir,
        "stream",
        cfg,
        [f"+flow_stim={stim}", f"+flow_out={cfg['out']}", f"+flow_probe={prefix}", *init_args],
    )
    # One probe per RTL block; a block may cover several graph layers (a Dense with its ReLU fused),
    # and its output is the reference output of the last one.
    ref_by_layer = {layer.name: out for layer, out in iter_layers(graph, torch.from_numpy(sub))}
    for k, info in enumerate(design.layers, start=1):
        ref_out = ref_by_layer[info.layers[-1] if info.layers else info.name]
        _, got = read_capture(f"{prefix}{k}.txt", info.n_out, info.out_w, info.out_type.signed)
        ref_np = ref_out.numpy()
        if got.shape != ref_np.shape:
            return f"; layer '{info.name}' produced {len(got)} outputs for {len(sub)} inputs"
        diff = got != ref_np
        if diff.any():
            r, e = (int(v[0]) for v in np.nonzero(diff))
            return (
                f"; first layer that differs: '{info.name}' ({info.kind}) at vector {rows[r]}, "
                f"element {e}: expected {int(ref_np[r, e])}, got {int(got[r, e])}"
            )
    return "; every layer output matched when re-run alone (timing/handshake dependent?)"
