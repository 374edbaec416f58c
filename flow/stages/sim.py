"""Stage 08: cocotb + Verilator simulation of the generated RTL on the real test vectors.

Every output word is compared with the integer reference (``ref_outputs.npy``) exactly; latency
and II are measured and valid-out is checked against valid-in through random gaps and bursts.
A mismatch raises :class:`~flow.errors.MismatchError` naming the vector, the first differing layer
and both values. Writes ``rtl_outputs.npy`` (the RTL's output codes) and ``sim.json``.
"""

from __future__ import annotations

import json

import numpy as np

from flow.artifacts import QUANT_GRAPH, REF_OUTPUTS, RTL_OUTPUTS, SIM_JSON, SIM_RUN, TEST_CODES, TEST_LABELS
from flow.errors import MismatchError
from flow.ir.graph import QuantGraph
from flow.ir.reference import classify
from flow.results import SimResult
from flow.rtl import build_design
from flow.sim.simulate import harness_build, simulate


def run(ctx) -> SimResult:
    out = ctx.dir("sim")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    ref_dir = ctx.dir("reference")
    codes = np.load(ref_dir / TEST_CODES)
    expected = np.load(ref_dir / REF_OUTPUTS)
    labels = np.load(ref_dir / TEST_LABELS)
    if len(codes) != len(expected):
        raise MismatchError(f"{TEST_CODES} has {len(codes)} rows but {REF_OUTPUTS} {len(expected)}")
    n = len(codes) if ctx.options.vectors is None else min(ctx.options.vectors, len(codes))
    design = build_design(graph, top=ctx.model.name)
    rtl_dir = ctx.dir("rtl")
    # Simulate the files the rtl stage wrote (what a reviewer reads), not a fresh rendering.
    files = {rel: (rtl_dir / rel).read_text() for rel in design.sources}
    with ctx.progress("cocotb + Verilator: build, simulate, compare", total=2) as advance:
        build = harness_build(design, files)
        advance()
        work = out / SIM_RUN
        result = simulate(graph, codes[:n], expected=expected[:n], design=design, files=files, work_dir=work)
        advance()
    # Keep the logs and reports; drop the bulky stimulus and capture files of a passing run
    # (a failing run raises above and leaves them for inspection).
    for bulky in ("stimulus.bin", "capture.txt", "expected.npy", "got.npy", "in_cycles.npy"):
        (work / bulky).unlink(missing_ok=True)
    np.save(out / RTL_OUTPUTS, result.outputs)
    pred = classify(result.outputs)
    accuracy = float(np.mean(pred == labels[:n])) if n else 0.0
    record = result.to_dict()
    record.update(
        {
            "build_seconds": round(build.seconds, 2),
            "build_cached": build.cached,
            "accuracy": accuracy,
            "top": design.top,
            "vectors_total": int(len(codes)),
        }
    )
    (out / SIM_JSON).write_text(json.dumps(record, indent=2) + "\n")
    return SimResult(
        **record,
        headline=f"{record['vectors']:,} vectors, RTL == reference bit for bit; latency "
        f"{record['latency_cycles']} cycles, II {record['ii']}; accuracy {accuracy:.4f}",
    )
