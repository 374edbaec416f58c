"""The QONNX file on disk, executed by qonnx on every vector set (the onnx stage and ``flow check``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flow.check.verify import CheckOutcome, VectorSet, compare, label
from flow.errors import MismatchError
from flow.ir.graph import QuantGraph


def check_qonnx_file(
    path: Path, graph: QuantGraph, sets: list[VectorSet], *, advance: Callable[..., None] | None = None
) -> CheckOutcome:
    from flow.export.qonnx_run import check_qonnx

    out = CheckOutcome("QONNX")
    for vs in sets:
        try:
            got = check_qonnx(path, graph, vs.codes, vs.ref, advance=advance)
        except MismatchError as e:
            raise label(vs.name, e) from None
        compare(out, vs, got)
    return out
