"""The hls4ml project on disk: read-back, weight headers value by value, C-sim compiled from the headers."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from flow.check.verify import CheckOutcome, VectorSet, compare, label
from flow.errors import MismatchError
from flow.ir.graph import QuantGraph


def check_hls_project(
    project_dir: Path,
    project_name: str,
    graph: QuantGraph,
    sets: list[VectorSet],
    *,
    backend: str = "Vitis",
    library: Path | None = None,
    work_dir: Path | None = None,
    advance: Callable[..., None] | None = None,
) -> CheckOutcome:
    """``graph`` is the part of the design the project implements (:func:`flow.hls.project.hls_graph`)."""
    from flow.hls.csim import check_csim
    from flow.hls.precision import precision_table
    from flow.hls.project import HlsProject, compile_copy
    from flow.hls.verify import check_project, check_weight_headers

    project_dir = Path(project_dir)
    check_project(project_dir, project_name, graph)
    values = check_weight_headers(project_dir, project_name, graph)
    with tempfile.TemporaryDirectory(prefix="flow_hls_check_") as tmp:
        if library is None:
            library = compile_copy(project_dir, project_name, Path(work_dir or tmp) / "project")
        project = HlsProject(graph, None, project_dir, project_name, backend, precision_table(graph), library)
        out = CheckOutcome("hls4ml C-sim", info={"weight header values": f"{values:,} equal to the graph"})
        out.header_values = values
        for vs in sets:
            try:
                got = check_csim(project, vs.codes, vs.ref, advance=advance)
            except MismatchError as e:
                raise label(vs.name, e) from None
            compare(out, vs, got)
    return out
