"""Stage 09: Yosys ``synth_xilinx`` of the generated RTL: resources, utilization, latency, depth.

Each block module is synthesized on its own in parallel and the counts are summed (see
:mod:`flow.synth.yosys` for exactly what each figure means); each block's row carries the rtl
stage's cost-model estimate next to Yosys's figure. Results are cached per block by a hash of the
Verilog, the script and the Yosys version (``$FLOW_SYNTH_CACHE``), so unchanged RTL is not
synthesized again. Writes ``synth.json`` and the Yosys logs under ``yosys/``; always writes the
Vivado out-of-context project under ``vivado/`` (script and sources) and runs it only when
``vivado`` is on ``PATH`` (``$FLOW_VIVADO``), putting its post-route LUTs and Fmax into the result.
"""

from __future__ import annotations

import json

from flow.artifacts import QUANT_GRAPH, SYNTH_JSON, YOSYS_DIR
from flow.ir.graph import QuantGraph
from flow.results import SynthResult
from flow.rtl.generate import load_design, write_files
from flow.synth import synthesize
from flow.synth.vivado import REPORT_DIR, RTL_DIR, SCRIPT, find_vivado, run_vivado, vivado_script
from flow.synth.yosys import job_count

VIVADO_DIR = "vivado"


def _vivado(ctx, design, out) -> dict:
    """Write the out-of-context Vivado project; run it when Vivado is here."""
    work = out / VIVADO_DIR
    axis = bool(getattr(ctx.options, "axis", False))
    files = dict(design.files)
    top, sources = design.top, list(design.sources)
    if axis:
        from flow.rtl.axis import axis_files, axis_sources, axis_top_name

        files.update(axis_files(design))
        top, sources = axis_top_name(design), list(axis_sources(design))
    write_files({rel: files[rel] for rel in sources}, work / RTL_DIR)
    (work / SCRIPT).write_text(
        vivado_script(design, ctx.target.part, ctx.target.clock_mhz, top=top, sources=sources, report_dir=REPORT_DIR)
    )
    record: dict = {"script": f"{VIVADO_DIR}/{SCRIPT}", "top": top, "status": "not-found"}
    if find_vivado() is None:
        record["message"] = "vivado not on PATH (or $FLOW_VIVADO): script written, not run"
        return record
    with ctx.progress("Vivado out-of-context implementation", total=None):
        r = run_vivado(design, ctx.target.part, ctx.target.clock_mhz, work, axis=axis)
    record.update(r.to_dict())
    util, timing = r.utilization, r.timing
    record["lut"] = util.get("lut")
    record["fmax_mhz"] = timing.get("fmax_mhz")
    return record


def run(ctx) -> SynthResult:
    out = ctx.dir("synth")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    design = load_design(ctx.dir("rtl"), graph, top=ctx.model.name)
    jobs = job_count(design)
    with ctx.progress(f"Yosys synth_xilinx -family {ctx.target.yosys_family}", total=jobs) as advance:
        result = synthesize(design, ctx.target, rtl_dir=ctx.dir("rtl"), work_dir=out / YOSYS_DIR, progress=advance)
    record = result.to_dict()
    est = {lay.name: lay.info for lay in design.layers}
    for row in record["layers"]:
        info = est.get(row["layer"], {})
        if "est_lut" in info:
            row["est_lut"], row["est_ff"] = info["est_lut"], info["est_ff"]
            row["est_error"] = round((info["est_lut"] - row["lut"]) / row["lut"], 4) if row["lut"] else None
    est_lut = sum(int(b.info.get("est_lut", 0)) for b in design.layers)
    est_ff = sum(int(b.info.get("est_ff", 0)) for b in design.layers)
    vivado = _vivado(ctx, design, out)
    record["vivado"] = vivado
    (out / SYNTH_JSON).write_text(json.dumps(record, indent=2) + "\n")
    util = result.utilization
    fields = {k: v for k, v in record.items() if k != "vivado"}
    post = ""
    if vivado.get("status") == "ok":
        post = f"; Vivado post-route LUT {vivado.get('lut')}, Fmax {vivado.get('fmax_mhz')} MHz"
    return SynthResult(
        **fields,
        est_lut=est_lut or None,
        est_ff=est_ff or None,
        vivado=vivado,
        headline=f"{result.tool}: LUT {result.lut:,} ({util.get('lut', 0):.2f} %)"
        + (f" (estimate {est_lut:,})" if est_lut else "")
        + f", FF {result.ff:,}, DSP {result.dsp:,} ({util.get('dsp', 0):.2f} %), "
        f"BRAM {result.bram:g}; {result.latency_cycles} cycles = {result.latency_ns} ns" + post,
    )
