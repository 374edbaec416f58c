"""Stage 07: Verilog of the whole network from ``flow/rtl/templates/``, linted with Verilator.

Writes every generated file (library modules, one module per Dense/ScaleShift layer, the top named
after the model, ``<top>.f`` with the compile order) and ``design.json`` (top, latency, layer
modules) for the later stages; lint findings, if any, go to ``lint.log``.
"""

from __future__ import annotations

import json

from flow.artifacts import DESIGN, LINT_LOG, QUANT_GRAPH
from flow.errors import ToolError
from flow.ir.graph import QuantGraph
from flow.results import RtlResult
from flow.rtl import build_design, lint_files, write_files


def design_record(design) -> dict:
    return {
        "model": design.model,
        "top": design.top,
        "latency_cycles": design.latency,
        "fanin": design.fanin,
        "sources": list(design.sources),
        "in": {"n": design.n_in, "type": design.in_type.describe()},
        "out": {"n": design.n_out, "type": design.out_type.describe()},
        "layers": [
            {
                "name": lay.name,
                "kind": lay.kind,
                "module": lay.module,
                "instance": f"u_{lay.inst}",
                "latency": lay.latency,
                "n_out": lay.n_out,
                "out_type": lay.out_type.describe(),
            }
            for lay in design.layers
        ],
        "bit_order": "element i of a bus at bits [i*W +: W], element 0 in the least significant bits",
    }


def run(ctx) -> RtlResult:
    out = ctx.dir("rtl")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    design = build_design(graph, top=ctx.model.name)
    for old in out.glob("*.v"):
        if old.name not in design.files:
            old.unlink()
    write_files(design.files, out)
    record = design_record(design)
    (out / DESIGN).write_text(json.dumps(record, indent=2) + "\n")
    try:
        warnings = lint_files(design.files, design.top, sources=list(design.sources))
        lint = "clean" if not warnings else f"{len(warnings)} warnings (see {LINT_LOG})"
        (out / LINT_LOG).write_text("".join(w + "\n" for w in warnings))
    except ToolError as exc:
        lint = f"not run: {exc}"
    lines = sum(text.count("\n") for text in design.files.values())
    return RtlResult(
        top=design.top,
        files=tuple(sorted(design.files)),
        lines=lines,
        lint=lint,
        latency_cycles=design.latency,
        ii=1,
        layers=tuple(record["layers"]),
        headline=f"{len(design.files)} files, {lines:,} lines, top {design.top}; lint {lint}; "
        f"pipeline {design.latency} cycles, II 1",
    )
