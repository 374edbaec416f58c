"""Stage 05: ONNX of the float model and QONNX of the quantized graph, both checked.

Writes ``float_model.onnx`` (checked with onnxruntime against PyTorch on the standardized test
features, within the tolerance of :mod:`flow.export.float_onnx`) and ``quant_model.qonnx.onnx``
(executed by qonnx on every test vector; its output codes must equal ``ref_outputs.npy`` exactly, and
on the first raw test features, standardized in float64, its own input Quant must reproduce them too).
"""

from __future__ import annotations

import time

import numpy as np
import onnx

from flow.artifacts import FLOAT_MODEL, FLOAT_ONNX, QONNX, QUANT_GRAPH, REF_OUTPUTS, TEST_CODES
from flow.compare import first_mismatch, mismatch_error, to_codes
from flow.errors import MismatchError
from flow.export.float_onnx import ATOL, RTOL, check_float, export_float
from flow.export.qonnx_model import build_qonnx, compute_type
from flow.export.qonnx_run import check_qonnx, execute
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
    codes = np.load(ctx.dir("reference") / TEST_CODES)
    ref = np.load(ctx.dir("reference") / REF_OUTPUTS)
    if len(codes) != len(ref):
        raise MismatchError(f"{TEST_CODES} has {len(codes)} rows but {REF_OUTPUTS} {len(ref)}")
    x_test = _standardized(graph, load_split(ctx)["X_test"])

    float_model = load_float_model(ctx.dir("train") / FLOAT_MODEL, ctx.model)
    float_path = export_float(float_model, out / FLOAT_ONNX, graph.n_inputs)
    max_err = check_float(float_path, float_model, x_test)

    qpath = out / QONNX
    onnx.save(build_qonnx(graph), qpath)
    t0 = time.perf_counter()
    with ctx.progress("QONNX execution (qonnx)", total=len(codes)) as advance:
        check_qonnx(qpath, graph, codes, ref, advance=advance)
    seconds = time.perf_counter() - t0
    n_real = _check_real_inputs(qpath, graph, x_test[:REAL_INPUT_VECTORS], ref[:REAL_INPUT_VECTORS])
    return OnnxResult(
        onnx_path=str(float_path),
        onnx_max_abs_err=max_err,
        onnx_tolerance={"atol": ATOL, "rtol": RTOL},
        onnx_vectors=len(x_test),
        qonnx_path=str(qpath),
        qonnx_compute_type=onnx.TensorProto.DataType.Name(compute_type(graph)),
        qonnx_vectors=len(codes),
        qonnx_mismatches=0,
        qonnx_real_input_vectors=n_real,
        qonnx_vectors_per_s=round(len(codes) / seconds) if seconds > 0 else None,
        headline=f"ONNX == PyTorch within {ATOL:g} (max {max_err:.2e}); QONNX == reference on "
        f"{len(codes):,} vectors exactly",
    )
