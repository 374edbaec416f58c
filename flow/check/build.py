"""``flow check BUILD_DIR``: every bit-exact check of a build folder on its files as they are on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flow.artifacts import DESIGN, HLS_PROJECT, QONNX, QUANT_GRAPH, stage_manifests
from flow.check.hls import check_hls_project
from flow.check.qonnx import check_qonnx_file
from flow.check.rtl import check_rtl_files
from flow.check.verify import CheckOutcome, build_sets
from flow.errors import FlowError
from flow.ir.graph import QuantGraph


def check_build(
    root: Path,
    *,
    vectors: int | None = None,
    only: tuple[str, ...] = ("onnx", "hls4ml", "rtl"),
    work_dir: Path | None = None,
    echo: Callable[[str], None] = lambda s: None,
) -> list[CheckOutcome]:
    """Every bit-exact check of the build in ``root`` on its files as they are; raises on the first
    mismatch. ``vectors`` limits the test vectors (the corner vectors always run in full)."""
    from flow.hls.project import hls_graph

    root = Path(root)
    found = stage_manifests(root)
    for need in ("quantize", "reference"):
        if need not in found:
            raise FlowError(f"{root} is not a build folder with a {need} stage (no NN_{need}/manifest.json)")
    graph = QuantGraph.load(found["quantize"][0] / QUANT_GRAPH)
    sets = build_sets(found["reference"][0], vectors)
    outcomes = []
    if "onnx" in only and "onnx" in found:
        o = check_qonnx_file(found["onnx"][0] / QONNX, graph, sets)
        echo(o.line())
        outcomes.append(o)
    if "hls4ml" in only and "hls4ml" in found:
        rec = found["hls4ml"][1].get("results", {})
        hgraph, left_out = hls_graph(graph)
        hsets = [vs.at(hgraph) for vs in sets] if left_out else sets
        o = check_hls_project(
            found["hls4ml"][0] / HLS_PROJECT,
            rec.get("project_name", "myproject"),
            hgraph,
            hsets,
            backend=rec.get("backend", "Vitis"),
            work_dir=None if work_dir is None else Path(work_dir) / "hls4ml",
        )
        echo(o.line())
        outcomes.append(o)
    if "rtl" in only and "rtl" in found:
        rtl_dir = found["rtl"][0]
        top = found["rtl"][1].get("results", {}).get("top")
        design = json.loads((rtl_dir / DESIGN).read_text()) if (rtl_dir / DESIGN).is_file() else {}
        o = check_rtl_files(
            rtl_dir,
            graph,
            sets,
            top=design.get("model") or top,
            work_dir=None if work_dir is None else Path(work_dir) / "sim",
        )
        echo(o.line())
        outcomes.append(o)
    if not outcomes:
        raise FlowError(f"{root}: no QONNX file, hls4ml project or RTL folder to check")
    return outcomes
