"""Stage 06: the hls4ml project of the quantized graph and its C simulation, bit-exact on the test set.

Writes ``project/`` (hls4ml's firmware, ``build_prj.tcl``, our ``build_opt.tcl`` and ``build.sh``,
``tb_data/`` with the first test vectors). C-sim output codes must equal ``ref_outputs.npy`` on every
vector (``MismatchError`` otherwise). Vendor HLS (``vitis-run``/``vitis_hls``/``vivado_hls``) runs only
when found on PATH; its C-sim outputs are then checked too and its C-synthesis report parsed.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from flow.artifacts import HLS_PROJECT, QUANT_GRAPH, REF_OUTPUTS, TEST_CODES, TEST_LABELS
from flow.compare import first_mismatch, mismatch_error
from flow.errors import MismatchError
from flow.hls.csim import check_csim
from flow.hls.precision import hls_name
from flow.hls.project import build_project, hls_graph, write_testbench
from flow.hls.vendor import find_tool, parse_csynth, parse_vendor_csim, run_build
from flow.ir.graph import QuantGraph
from flow.ir.reference import classify, forward
from flow.results import Hls4mlResult

BACKEND = "Vitis"
TB_VECTORS = 1000  # vectors in tb_data/ for the vendor C simulation (slow there; the full set runs here)


def _vendor(project, ref: np.ndarray, console) -> dict:
    tool = find_tool(project.backend)
    if tool is None:
        return {"vendor": "not found"}
    log = project.project_dir / "vendor_build.log"
    console.print(f"  running {tool} (C-sim + C synthesis), log in {log}")
    run_build(project.project_dir)
    out = {"vendor": tool, "csynth": parse_csynth(project.project_dir, project.project_name)}
    vendor_csim = parse_vendor_csim(project.project_dir, project.graph.output_type)
    if vendor_csim is not None:
        n_bad, bad = first_mismatch(vendor_csim, ref[: len(vendor_csim)])
        if n_bad:
            raise mismatch_error(f"{tool} C simulation", vendor_csim, ref[: len(vendor_csim)], bad)
        out["vendor_csim_vectors"] = len(vendor_csim)
    return out


def run(ctx) -> Hls4mlResult:
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    ref_dir = ctx.dir("reference")
    n = ctx.options.vectors
    codes = np.load(ref_dir / TEST_CODES)[:n]
    ref = np.load(ref_dir / REF_OUTPUTS)[:n]
    labels = np.load(ref_dir / TEST_LABELS)[:n]
    if len(codes) != len(ref):
        raise MismatchError(f"{TEST_CODES} has {len(codes)} rows but {REF_OUTPUTS} {len(ref)}")

    graph, left_out = hls_graph(graph)
    if left_out:  # the project ends at the scores: check it there against the reference
        ref = forward(graph, torch.from_numpy(codes)).numpy()
    with ctx.progress("hls4ml: convert, write, compile C-sim", total=None):
        project = build_project(
            graph, ctx.dir("hls4ml") / HLS_PROJECT, ctx.target, project_name=hls_name(ctx.model.name), backend=BACKEND
        )
    write_testbench(project, codes[:TB_VECTORS], ref[:TB_VECTORS])
    t0 = time.perf_counter()
    with ctx.progress("hls4ml C simulation", total=len(codes)) as advance:
        got = check_csim(project, codes, ref, advance=advance)
    seconds = time.perf_counter() - t0
    accuracy = float(np.mean(classify(got) == labels)) if len(labels) else float("nan")
    return Hls4mlResult(
        vectors=len(codes),
        mismatches=0,
        accuracy=accuracy,
        project_dir=str(project.project_dir),
        project_name=project.project_name,
        backend=project.backend,
        part=ctx.target.part,
        clock_ns=ctx.target.clock_ns,
        precisions=project.precisions,
        compile_seconds=round(project.compile_seconds or 0.0, 2),
        csim_vectors_per_s=round(len(codes) / seconds) if seconds > 0 else None,
        **_vendor(project, ref, ctx.console),
        left_out=tuple(layer.name for layer in left_out),
        headline=f"{len(codes):,} vectors, hls4ml C-sim == reference bit for bit; accuracy {accuracy:.4f}"
        + (
            f" (ends before {', '.join(layer.name for layer in left_out)}: hls4ml has no argmax layer)"
            if left_out
            else ""
        ),
    )
