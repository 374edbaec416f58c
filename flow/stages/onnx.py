"""Stage 05: ONNX of the float model and QONNX of the quantized graph, both checked.

Writes ``float_model.onnx`` (checked with onnxruntime against PyTorch on the standardized test
features, within the tolerance of :mod:`flow.export.float_onnx`) and ``quant_model.qonnx.onnx``
(executed by qonnx on every test vector and every corner vector, through :func:`flow.check.verify.check_qonnx_file`,
the same code as ``flow check``; its output codes must equal the reference's exactly, and on the first raw
test features, standardized in float64, its own input Quant must reproduce them too).
"""

from __future__ import annotations

import time

import numpy as np
import onnx

from flow.artifacts import FLOAT_MODEL, FLOAT_ONNX, QONNX, QUANT_GRAPH
from flow.check.qonnx import check_qonnx_file
from flow.check.verify import CORNER, TEST, build_sets
from flow.compare import first_mismatch, mismatch_error, to_codes
from flow.export.float_onnx import ATOL, RTOL, check_float, export_float
from flow.export.qonnx_model import build_qonnx, compute_type
from flow.export.qonnx_run import execute
from flow.ir.graph import QuantGraph
from flow.results import OnnxResult
from flow.stages.data import load_split
from flow.train.model import load_float_model

REAL_INPUT_VECTORS = 10_000


def _standardized(graph: QuantGraph, features: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` in float64, exactly as :func:`flow.ir.reference.encode_inputs` computes it."""
    return (np.asarray(features, dtype=np.float64) - graph.input_mean) / graph.input_std


def _check_real_inputs(path, graph: QuantGraph, x: np.ndarray, ref: np.ndarray) -> int:
    got = to_codes(execute(path, x), graph.output_type, "QONNX execution")
    n_bad, bad = first_mismatch(got, ref)
    if n_bad:
        raise mismatch_error("QONNX on standardized float64 features", got, ref, bad)
    return len(x)


def run(ctx) -> OnnxResult:
    out = ctx.dir("onnx")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    sets = build_sets(ctx.dir("reference"))
    n_all = sum(len(vs.codes) for vs in sets)
    ref = next(vs.ref for vs in sets if vs.name == TEST)
    x_test = _standardized(graph, load_split(ctx)["X_test"])

    float_model = load_float_model(ctx.dir("train") / FLOAT_MODEL, ctx.model)
    float_path = export_float(float_model, out / FLOAT_ONNX, graph.n_inputs)
    max_err = check_float(float_path, float_model, x_test)

    qpath = out / QONNX
    onnx.save(build_qonnx(graph), qpath)
    t0 = time.perf_counter()
    with ctx.progress("QONNX execution (qonnx)", total=n_all) as advance:
        checked = check_qonnx_file(qpath, graph, sets, advance=advance)
    seconds = time.perf_counter() - t0
    n_real = _check_real_inputs(qpath, graph, x_test[:REAL_INPUT_VECTORS], ref[:REAL_INPUT_VECTORS])
    return OnnxResult(
        onnx_path=str(float_path),
        onnx_max_abs_err=max_err,
        onnx_tolerance={"atol": ATOL, "rtol": RTOL},
        onnx_vectors=len(x_test),
        qonnx_path=str(qpath),
        qonnx_compute_type=onnx.TensorProto.DataType.Name(compute_type(graph)),
        qonnx_vectors=checked.vectors[TEST],
        qonnx_mismatches=checked.mismatches[TEST],
        qonnx_real_input_vectors=n_real,
        qonnx_vectors_per_s=round(n_all / seconds) if seconds > 0 else None,
        qonnx_corner_vectors=checked.vectors.get(CORNER),
        qonnx_corner_mismatches=checked.mismatches.get(CORNER),
        headline=f"ONNX == PyTorch within {ATOL:g} (max {max_err:.2e}); QONNX == reference on "
        f"{checked.vectors[TEST]:,} test and {checked.vectors.get(CORNER, 0):,} corner vectors exactly",
    )
