"""Stage 06: the hls4ml project of the quantized graph and its C simulation, bit-exact on the test set.

Writes ``project/`` (hls4ml's firmware, ``build_prj.tcl``, our ``build_opt.tcl`` and ``build.sh``,
``tb_data/`` with the first test vectors). Its C simulation reads the ``.txt`` weight copies (compiling
the headers' constants took g++ -O3 over ten minutes on jsc-large); the check
(:func:`flow.check.hls.check_hls_project`, the same code as ``flow check``) compares every value of
``firmware/weights/*.h``, the files synthesis reads, with the graph, and requires the C-sim output codes
to equal the reference's on every corner vector and every test vector (``MismatchError`` otherwise). Vendor HLS
(``vitis-run``/``vitis_hls``/``vivado_hls``) runs only when found on PATH; its C-sim outputs are then
checked too and its C-synthesis report parsed.
"""

from __future__ import annotations

import time

import numpy as np

from flow.artifacts import HLS_PROJECT, QUANT_GRAPH, TEST_LABELS
from flow.check.hls import check_hls_project
from flow.check.verify import CORNER, TEST, build_sets
from flow.compare import first_mismatch, mismatch_error
from flow.hls.precision import hls_name
from flow.hls.project import build_project, hls_graph, write_testbench
from flow.hls.vendor import find_tool, parse_csynth, parse_vendor_csim, run_build
from flow.ir.graph import QuantGraph
from flow.ir.reference import classify
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
    sets = build_sets(ref_dir, n)
    labels = np.load(ref_dir / TEST_LABELS)[:n]

    graph, left_out = hls_graph(graph)
    if left_out:  # the project ends at the scores: check it there against the reference
        sets = [vs.at(graph) for vs in sets]
    test = next(vs for vs in sets if vs.name == TEST)
    codes, ref = test.codes, test.ref
    with ctx.progress("hls4ml: convert, write, compile C-sim", total=None):
        project = build_project(
            graph, ctx.dir("hls4ml") / HLS_PROJECT, ctx.target, project_name=hls_name(ctx.model.name), backend=BACKEND
        )
    write_testbench(project, codes[:TB_VECTORS], ref[:TB_VECTORS])
    t0 = time.perf_counter()
    with ctx.progress("hls4ml C simulation", total=sum(len(vs.codes) for vs in sets)) as advance:
        checked = check_hls_project(
            project.project_dir,
            project.project_name,
            graph,
            sets,
            backend=project.backend,
            library=project.library,
            advance=advance,
        )
    got = checked.outputs[TEST]
    seconds = time.perf_counter() - t0
    accuracy = float(np.mean(classify(got) == labels)) if len(labels) else float("nan")
    return Hls4mlResult(
        vectors=checked.vectors[TEST],
        mismatches=checked.mismatches[TEST],
        corner_vectors=checked.vectors.get(CORNER),
        corner_mismatches=checked.mismatches.get(CORNER),
        header_values=checked.header_values,
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
        headline=f"{len(codes):,} test + {checked.vectors.get(CORNER, 0):,} corner vectors, hls4ml C-sim "
        f"(compiled from the weight headers, {checked.header_values:,} values equal to the graph) == reference "
        f"bit for bit; accuracy {accuracy:.4f}"
        + (
            f" (ends before {', '.join(layer.name for layer in left_out)}: hls4ml has no argmax layer)"
            if left_out
            else ""
        ),
    )
