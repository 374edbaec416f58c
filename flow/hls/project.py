"""Build the hls4ml project of a QuantGraph: convert, write, verify, compile the C simulation.

Frontend: hls4ml's PyTorch frontend on :func:`flow.hls.torch_model.to_torch` (dequantized weights),
with *every* precision set by layer name (``granularity='name'``), ``io_parallel``, ``Latency``
strategy, reuse factor 1. The arithmetic hls4ml then generates (checked in :mod:`flow.hls.verify`):

* Dense (``nnet::dense_latency``): ``mult = (accum_t)(x * w)`` -- ``ap_fixed`` products are full
  precision and ``frac(accum) = frac(x) + frac(w)``, so the cast drops no bits; ``acc = (accum_t)b +
  sum(mult)`` wraps modulo ``2**W_accum`` like the reference; ``res = (result_t)acc`` rounds, then
  overflows (``AP_RND``/``AP_TRN``, ``AP_SAT``/``AP_WRAP``) == :func:`flow.ir.fixed.requantize`.
* ReLU (``nnet::relu``): ``res = x > 0 ? x : 0`` assigned to ``result_t`` == requantize(max(x, 0)).
* ScaleShift as BatchNormalization (``nnet::normalize``): ``res = x * s + b`` at full precision,
  assigned to ``result_t`` == requantize(x * s + (t << shift)).

hls4ml's ``remove_nop_batch_normalization`` pass deletes a BatchNorm whose scale is 1 and bias 0, which
would drop a ScaleShift's requantization; it is switched off while converting (and restored after).
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from flow.compare import to_values
from flow.config.targets import Target
from flow.errors import ConfigError, ToolError
from flow.hls.precision import INPUT_NAME, ap_type, precision_table
from flow.hls.torch_model import TORCH_MODULES, to_torch
from flow.hls.verify import check_project
from flow.ir.graph import ArgMax, Layer, QuantGraph

BACKENDS = ("Vitis", "Vivado")
_NOP_BN_PASS = "remove_nop_batch_normalization"
# What the vendor tool runs by default: C simulation of tb_data/ and C synthesis (reports), no co-sim.
BUILD_OPTIONS = {
    "reset": 1,
    "csim": 1,
    "synth": 1,
    "cosim": 0,
    "validation": 0,
    "export": 0,
    "vsynth": 0,
    "fifo_opt": 0,
}


@dataclass
class HlsProject:
    """A written (and usually compiled) hls4ml project of ``graph``."""

    graph: QuantGraph
    hls_model: object = field(repr=False)  # hls4ml.model.ModelGraph
    project_dir: Path
    project_name: str
    backend: str
    precisions: dict[str, dict[str, str]]
    library: Path | None = None
    compile_seconds: float | None = None


@contextlib.contextmanager
def _hls4ml_output(log: Path, what: str) -> Iterator[None]:
    """Capture hls4ml's prints into ``log``; turn its bare Exceptions into ToolError with the output."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    except Exception as e:
        tail = "\n".join(buf.getvalue().strip().splitlines()[-15:])
        raise ToolError(f"hls4ml failed to {what}: {e}\n{tail}".rstrip()) from e
    finally:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            f.write(buf.getvalue())


@contextlib.contextmanager
def _keep_nop_batchnorms() -> Iterator[None]:
    from hls4ml.model.flow import get_flow, update_flow

    removed = _NOP_BN_PASS in get_flow("optimize").optimizers
    if removed:
        update_flow("optimize", remove_optimizers=[_NOP_BN_PASS])
    try:
        yield
    finally:
        if removed:
            update_flow("optimize", add_optimizers=[_NOP_BN_PASS])


def hls_config(graph: QuantGraph, module, backend: str) -> dict:
    """hls4ml config: name granularity, Latency, reuse 1, our precision on every role of every layer."""
    import hls4ml

    cfg = hls4ml.utils.config_from_pytorch_model(
        module,
        (graph.n_inputs,),
        granularity="name",
        backend=backend,
        default_precision="ap_fixed<16,6>",
        default_reuse_factor=1,
    )
    cfg["Model"].update({"Strategy": "Latency", "ReuseFactor": 1})
    for name, roles in precision_table(graph).items():
        layer_cfg = cfg["LayerName"].setdefault(name, {})
        if name != INPUT_NAME:
            layer_cfg.update({"ReuseFactor": 1, "Strategy": "Latency"})
        layer_cfg["Trace"] = True  # C-sim only (#ifndef __SYNTHESIS__); see flow.hls.csim.trace_layers
        layer_cfg.setdefault("Precision", {}).update(roles)
    return cfg


def write_build_scripts(project_dir: Path, backend: str) -> None:
    """``build_opt.tcl`` (what ``build_prj.tcl`` runs) and ``build.sh`` (finds the vendor tool)."""
    opts = "".join(f"    {k:<10} {v}\n" for k, v in BUILD_OPTIONS.items())
    (project_dir / "build_opt.tcl").write_text(f"array set opt {{\n{opts}}}\n")
    args = " ".join(f"{k}={v}" for k, v in BUILD_OPTIONS.items())
    if backend == "Vitis":
        run = (
            "if command -v vitis-run >/dev/null 2>&1; then exec vitis-run --mode hls --tcl build_prj.tcl\n"
            "elif command -v vitis_hls >/dev/null 2>&1; then exec vitis_hls -f build_prj.tcl\n"
        )
    else:
        run = f'if command -v vivado_hls >/dev/null 2>&1; then exec vivado_hls -f build_prj.tcl "{args}"\n'
    script = (
        "#!/bin/sh\n"
        f"# C simulation + C synthesis of this hls4ml project ({backend} backend).\n"
        "# What runs: build_opt.tcl (read by build_prj.tcl).\n"
        "# Reports: <project>_prj/solution1/syn/report/, C-sim outputs: tb_data/csim_results.log\n"
        'cd "$(dirname "$0")" || exit 1\n'
        f"{run}"
        'else echo "no AMD HLS tool on PATH (vitis-run, vitis_hls or vivado_hls)" >&2; exit 127\nfi\n'
    )
    path = project_dir / "build.sh"
    path.write_text(script)
    path.chmod(0o755)


INPUT_NOTE = "PER_FEATURE_INPUTS.md"


def input_note(graph: QuantGraph) -> str | None:
    """What a user of the project must do with per-feature input types (None without them): hls4ml's input
    is the container type, so each feature must be quantized to its own type first (flow does so before
    the C simulation, as it applies a trailing ArgMax after it)."""
    if not graph.input_types:
        return None
    rows = "".join(
        f"| {i} | {name} | `{t.describe()}` | `{ap_type(t)}` |\n"
        for i, (name, t) in enumerate(zip(graph.feature_names, graph.input_types, strict=True))
    )
    return (
        "# Per-feature input types\n\n"
        f"This design quantizes each input feature to its own type. The project's input type `input_t` is the\n"
        f"container `{ap_type(graph.input_type)}`, which holds every feature's values exactly, but rounding and\n"
        "saturation to each feature's own type happen *before* the kernel. Cast feature `i` to its type below,\n"
        "then pass it as `input_t` (a widening, exact): that is what flow's integer reference, its C simulation\n"
        "(`tb_data/tb_input_features.dat` holds the quantized values) and the RTL (whose port carries each\n"
        "feature's own code) do. Feeding raw floats straight into `input_t` gives other results.\n\n"
        "| feature | name | type | cast before `input_t` |\n|--:|---|---|---|\n" + rows
    )


def write_testbench(project: HlsProject, codes: np.ndarray, ref_codes: np.ndarray) -> None:
    """``tb_data/`` for the vendor C simulation: dequantized inputs and expected outputs, ``repr`` exact;
    and, with per-feature input types, :data:`INPUT_NOTE` on quantizing the features before the kernel."""
    tb = project.project_dir / "tb_data"
    tb.mkdir(exist_ok=True)
    g = project.graph
    note = input_note(g)
    if note is not None:
        (project.project_dir / INPUT_NOTE).write_text(note)
    for name, arr in (
        ("tb_input_features.dat", to_values(codes, g.input_type)),
        ("tb_output_predictions.dat", to_values(ref_codes, g.output_type)),
    ):
        (tb / name).write_text("".join(" ".join(repr(float(v)) for v in row) + " \n" for row in arr))


def hls_graph(graph: QuantGraph) -> tuple[QuantGraph, tuple[Layer, ...]]:
    """The part of ``graph`` hls4ml can build, and the trailing class-decision layers it leaves out.

    A trailing :class:`~flow.ir.graph.ArgMax` (hls4ml has no such layer) is left out: the project ends
    at the scores and is checked there, the decision itself by the RTL and QONNX checks. Any other
    layer hls4ml cannot build raises :class:`~flow.registry.UnsupportedLayerError`.
    """
    layers = list(graph.layers)
    while len(layers) > 1 and isinstance(layers[-1], ArgMax):
        layers.pop()
    for layer in layers:
        TORCH_MODULES[layer]  # raises, naming the back end and the kind, for anything else
    kept = tuple(layers)
    return replace(graph, layers=kept), graph.layers[len(kept) :]


def convert(
    graph: QuantGraph, project_dir: Path, target: Target, *, project_name: str = "myproject", backend: str = "Vitis"
) -> HlsProject:
    """hls4ml ``ModelGraph`` of ``graph`` for ``target`` (part, clock), not yet written. A type hls4ml
    cannot simulate raises :class:`~flow.errors.UnsupportedTypeError` first, before hls4ml is imported."""
    if backend not in BACKENDS:
        raise ConfigError(f"hls4ml backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    precisions = precision_table(graph)
    import hls4ml

    project_dir = Path(project_dir).resolve()
    module = to_torch(graph)
    cfg = hls_config(graph, module, backend)
    with _hls4ml_output(project_dir / "hls4ml.log", "convert the model"), _keep_nop_batchnorms():
        hm = hls4ml.converters.convert_from_pytorch_model(
            module,
            output_dir=str(project_dir),
            project_name=project_name,
            backend=backend,
            hls_config=cfg,
            part=target.part,
            clock_period=round(target.clock_ns, 6),
            io_type="io_parallel",
            # The C simulation loads firmware/weights/*.txt at run time (compiling the headers' constants
            # into the C-sim took g++ -O3 over ten minutes on jsc-large); the headers, which synthesis
            # reads, are compared with the graph value by value (flow.hls.verify.check_weight_headers).
            write_weights_txt=True,
        )
    return HlsProject(graph, hm, project_dir, project_name, backend, precisions)


def compile_copy(project_dir: Path, project_name: str, dest: Path) -> Path:
    """Compile the C simulation of the project *as it is on disk* in a copy at ``dest`` (hls4ml's own
    ``build_lib.sh``, g++); nothing in ``project_dir`` is written. Returns the shared library."""
    import shutil
    import subprocess

    src = Path(project_dir)
    script = src / "build_lib.sh"
    if not script.is_file():
        raise ToolError(f"{src} is not an hls4ml project: no build_lib.sh")
    m = re.search(r"^LIB_STAMP=(\S+)", script.read_text(), re.MULTILINE)
    if m is None:
        raise ToolError(f"{script}: no LIB_STAMP line")
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.so", "tb_data", "*_prj"))
    proc = subprocess.run(["bash", "build_lib.sh"], cwd=dest, capture_output=True, text=True)
    lib = dest / "firmware" / f"{project_name}-{m.group(1)}.so"
    if proc.returncode != 0 or not lib.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ToolError(f"compiling the hls4ml C simulation of {src} failed:\n{tail}")
    return lib


def build_project(
    graph: QuantGraph,
    project_dir: Path,
    target: Target,
    *,
    project_name: str = "myproject",
    backend: str = "Vitis",
    compile: bool = True,
) -> HlsProject:
    """Convert, write, check the written C++ against the graph, add build scripts, compile the C-sim."""
    project = convert(graph, project_dir, target, project_name=project_name, backend=backend)
    hm, log = project.hls_model, project.project_dir / "hls4ml.log"
    hm.config.trace_output = True  # C-sim trace hooks (as ModelGraph.trace sets it); off at run time
    with _hls4ml_output(log, "write the project"):
        hm.write()
    check_project(project.project_dir, project_name, graph)
    if compile:
        t0 = time.perf_counter()
        with _hls4ml_output(log, "compile the C simulation"):
            hm.compile()  # writes the same files again, then runs build_lib.sh (g++)
        project.compile_seconds = time.perf_counter() - t0
        stamp = hm.config.get_config_value("Stamp")
        project.library = project.project_dir / "firmware" / f"{project_name}-{stamp}.so"
    write_build_scripts(project.project_dir, backend)
    return project
