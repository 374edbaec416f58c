"""Stage 09: Yosys ``synth_xilinx`` of the generated RTL: resources, utilization, latency, depth.

Each layer module is synthesized on its own in parallel and the counts are summed (see
:mod:`flow.synth.yosys` for exactly what each figure means). Results are cached per layer by a
hash of the Verilog, the script and the Yosys version (``$FLOW_SYNTH_CACHE``), so unchanged RTL
is not synthesized again. Writes ``synth.json`` and the Yosys logs under ``yosys/``.
"""

from __future__ import annotations

import json

from flow.ir.graph import QuantGraph
from flow.rtl import build_design
from flow.synth import synthesize
from flow.synth.yosys import job_count


def run(ctx) -> dict:
    out = ctx.dir("synth")
    graph = QuantGraph.load(ctx.dir("quantize") / "quant_graph.json")
    design = build_design(graph, top=ctx.model.name)
    jobs = job_count(design)
    with ctx.progress(f"Yosys synth_xilinx -family {ctx.target.yosys_family}", total=jobs) as advance:
        result = synthesize(design, ctx.target, rtl_dir=ctx.dir("rtl"), work_dir=out / "yosys", progress=advance)
    record = result.to_dict()
    (out / "synth.json").write_text(json.dumps(record, indent=2) + "\n")
    util = record.get("utilization", {})
    record["headline"] = (
        f"{record.get('tool')}: LUT {record.get('lut', 0):,} ({util.get('lut', 0):.2f} %), "
        f"FF {record.get('ff', 0):,}, DSP {record.get('dsp', 0):,} ({util.get('dsp', 0):.2f} %), "
        f"BRAM {record.get('bram', 0):g}; {record.get('latency_ns')} ns"
    )
    return record
