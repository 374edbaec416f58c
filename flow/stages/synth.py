"""Stage 09: Yosys ``synth_xilinx`` of the generated RTL: resources, utilization, latency, depth.

Each layer module is synthesized on its own in parallel and the counts are summed (see
:mod:`flow.synth.yosys` for exactly what each figure means). Results are cached per layer by a
hash of the Verilog, the script and the Yosys version (``$FLOW_SYNTH_CACHE``), so unchanged RTL
is not synthesized again. Writes ``synth.json`` and the Yosys logs under ``yosys/``.
"""

from __future__ import annotations

import json

from flow.artifacts import QUANT_GRAPH, SYNTH_JSON, YOSYS_DIR
from flow.ir.graph import QuantGraph
from flow.results import SynthResult
from flow.rtl import build_design
from flow.synth import synthesize
from flow.synth.yosys import job_count


def run(ctx) -> SynthResult:
    out = ctx.dir("synth")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    design = build_design(graph, top=ctx.model.name)
    jobs = job_count(design)
    with ctx.progress(f"Yosys synth_xilinx -family {ctx.target.yosys_family}", total=jobs) as advance:
        result = synthesize(design, ctx.target, rtl_dir=ctx.dir("rtl"), work_dir=out / YOSYS_DIR, progress=advance)
    record = result.to_dict()
    (out / SYNTH_JSON).write_text(json.dumps(record, indent=2) + "\n")
    util = result.utilization
    return SynthResult(
        **record,
        headline=f"{result.tool}: LUT {result.lut:,} ({util.get('lut', 0):.2f} %), "
        f"FF {result.ff:,}, DSP {result.dsp:,} ({util.get('dsp', 0):.2f} %), "
        f"BRAM {result.bram:g}; {result.latency_ns} ns",
    )
