"""Stage 08: cocotb + Verilator simulation of the RTL files of ``07_rtl`` on the corner and test vectors.

The check is :func:`flow.check.rtl.check_rtl_files`, the same code as ``flow check``: the Verilog files
the rtl stage wrote are simulated as they are on disk, every output word is compared with the integer
reference exactly (the corner vectors of ``04_reference`` in full, then the real test vectors, limited by
``--vectors``); latency and II are measured and valid-out is checked against valid-in through random gaps
and bursts. A mismatch raises :class:`~flow.errors.MismatchError` naming the vector set, the vector, the
first differing layer and both values. Coverage of every requantizer's saturation/wrap bounds and
rounding ties on exactly the simulated vectors (:mod:`flow.check.coverage`) is recorded. Writes
``rtl_outputs.npy`` (the RTL's output codes on the test vectors) and ``sim.json``.
"""

from __future__ import annotations

import json

import numpy as np

from flow.artifacts import CORNERS_JSON, QUANT_GRAPH, RTL_OUTPUTS, SIM_JSON, SIM_RUN, TEST_LABELS
from flow.check.corners import load_targets
from flow.check.coverage import coverage, summary
from flow.check.rtl import check_rtl_files
from flow.check.verify import CORNER, TEST, build_sets
from flow.ir.graph import QuantGraph
from flow.ir.reference import classify
from flow.results import SimResult

_BULKY = ("stimulus.bin", "capture.txt", "expected.npy", "got.npy", "in_cycles.npy")


def run(ctx) -> SimResult:
    out = ctx.dir("sim")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    ref_dir = ctx.dir("reference")
    sets = build_sets(ref_dir, ctx.options.vectors)
    labels = np.load(ref_dir / TEST_LABELS)
    total = len(np.load(ref_dir / TEST_LABELS))
    work = out / SIM_RUN
    with ctx.progress("cocotb + Verilator: build, simulate, compare", total=None):
        checked = check_rtl_files(ctx.dir("rtl"), graph, sets, top=ctx.model.name, work_dir=work)
    # Keep the logs and reports; drop the bulky stimulus and capture files of a passing run
    # (a failing run raises above and leaves them for inspection).
    for bulky in _BULKY:
        for p in work.rglob(bulky):
            p.unlink()
    test = checked.sim[TEST]
    n = test.vectors
    np.save(out / RTL_OUTPUTS, test.outputs)
    accuracy = float(np.mean(classify(test.outputs) == labels[:n])) if n else 0.0
    simulated = np.concatenate([vs.codes for vs in sets])
    targets = load_targets(ref_dir / CORNERS_JSON) if (ref_dir / CORNERS_JSON).is_file() else ()
    cov = coverage(graph, simulated, targets)
    build_seconds = max(r.build_seconds for r in checked.sim.values())
    record = test.to_dict()
    record.update(
        {
            "mismatches": checked.mismatches[TEST],
            "build_seconds": round(build_seconds, 2),
            "build_cached": build_seconds == 0,
            "accuracy": accuracy,
            "top": checked.info.get("top", ""),
            "vectors_total": int(total),
            "corner_vectors": checked.vectors.get(CORNER),
            "corner_mismatches": checked.mismatches.get(CORNER),
        }
    )
    (out / SIM_JSON).write_text(json.dumps({**record, "coverage": cov}, indent=2) + "\n")
    return SimResult(
        **record,
        coverage=cov,
        headline=f"{n:,} test + {record['corner_vectors'] or 0:,} corner vectors, RTL == reference bit for bit; "
        f"latency {record['latency_cycles']} cycles, II {record['ii']}; accuracy {accuracy:.4f}; coverage: "
        + summary(cov),
    )
