"""Stage 07: Verilog of the whole network from ``flow/rtl/templates/``, linted with Verilator.

Writes every generated file (library modules, one module per block: a Dense or ScaleShift with
the ReLU after it fused in, an ArgMax; the top named after the model, ``<top>.f`` with the compile
order) and ``design.json`` (top, latency, settings, per block: the graph layers it covers, cycles,
adder levels per stage, adders, registers, estimated LUT/FF) for the later stages; lint findings,
if any, go to ``lint.log``. With ``--axis`` it also writes and lints the AXI4-Stream top.
"""

from __future__ import annotations

import json

from flow.artifacts import DESIGN, LINT_LOG, QUANT_GRAPH
from flow.errors import ToolError
from flow.ir.graph import QuantGraph
from flow.results import RtlResult
from flow.rtl.generate import build_design, rtl_settings, write_files
from flow.rtl.lint import lint_files

_TOTALS = ("adders", "register_bits", "est_lut", "est_ff")


def design_record(design) -> dict:
    layers = []
    for lay in design.layers:
        layers.append(
            {
                "name": lay.name,
                "kind": lay.kind,
                "layers": list(lay.layers),
                "module": lay.module,
                "instance": f"u_{lay.inst}",
                "latency": lay.latency,
                "n_out": lay.n_out,
                "out_type": lay.out_type.describe(),
                **lay.info,
            }
        )
    totals = {k: sum(int(b.get(k, 0)) for b in layers) for k in _TOTALS}
    return {
        "model": design.model,
        "top": design.top,
        "latency_cycles": design.latency,
        "fanin": design.fanin,
        "settings": design.settings.to_dict() if design.settings else None,
        "adder_levels": design.adder_levels,
        "totals": totals,
        "sources": list(design.sources),
        "in": {"n": design.n_in, "type": design.in_description},
        "out": {"n": design.n_out, "type": design.out_type.describe()},
        "layers": layers,
        "bit_order": "element i of a bus at bits [i*W +: W], element 0 in the least significant bits",
    }


def _lint(files: dict[str, str], top: str, sources: list[str], log) -> str:
    try:
        warnings = lint_files(files, top, sources=sources)
    except ToolError as exc:
        return f"not run: {exc}"
    log.write_text("".join(w + "\n" for w in warnings))
    return "clean" if not warnings else f"{len(warnings)} warnings (see {log.name})"


def run(ctx) -> RtlResult:
    out = ctx.dir("rtl")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    settings = rtl_settings(ctx.options)
    design = build_design(graph, top=ctx.model.name, settings=settings)
    files = dict(design.files)
    axis_note = None
    if getattr(ctx.options, "axis", False):
        from flow.rtl.axis import axis_files, axis_sources, axis_top_name

        files.update(axis_files(design))
    for old in out.glob("*.v"):
        if old.name not in files:
            old.unlink()
    write_files(files, out)
    record = design_record(design)
    (out / DESIGN).write_text(json.dumps(record, indent=2) + "\n")
    lint = _lint(design.files, design.top, list(design.sources), out / LINT_LOG)
    if getattr(ctx.options, "axis", False):
        name = axis_top_name(design)
        axis_lint = _lint(files, name, list(axis_sources(design)), out / f"{name}.lint.log")
        axis_note = f"{name}.v; lint {axis_lint}"
    lines = sum(text.count("\n") for text in files.values())
    tot = record["totals"]
    shiftadd = settings.arithmetic == "shiftadd"
    arith = (
        f"shift-add, {design.adder_levels} adder levels per stage, {tot['adders']:,} adders, "
        f"~{tot['est_lut']:,} LUT / {tot['est_ff']:,} FF estimated"
        if shiftadd
        else f"{settings.arithmetic} (multipliers, adder fan-in {design.fanin})"
    )
    return RtlResult(
        top=design.top,
        files=tuple(sorted(files)),
        lines=lines,
        lint=lint,
        latency_cycles=design.latency,
        ii=1,
        layers=tuple(record["layers"]),
        arithmetic=settings.arithmetic,
        settings=record["settings"],
        adder_levels=design.adder_levels,
        adders=tot["adders"] if shiftadd else None,
        register_bits=tot["register_bits"] if shiftadd else None,
        est_lut=tot["est_lut"] if shiftadd else None,
        est_ff=tot["est_ff"] if shiftadd else None,
        axis=axis_note,
        headline=f"{len(files)} files, {lines:,} lines, top {design.top}; lint {lint}; "
        f"pipeline {design.latency} cycles, II 1; {arith}" + (f"; AXI4-Stream top {axis_note}" if axis_note else ""),
    )
