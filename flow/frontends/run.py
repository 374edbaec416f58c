"""Run an imported QONNX file as it is, in qonnx's executor, and compare it with the integer reference.

This is the exact-to-original check: the original file (not flow's re-export) gets the dequantized test
input codes (its own input ``Quant`` maps them onto themselves), and the tensor holding the scores (the
graph output, or the input of a trailing Softmax that flow dropped) scaled by ``2**frac`` of the
reference's output type must equal the reference's codes, vector by vector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flow.export.qonnx_run import with_batch  # noqa: F401 - re-exported for the frontends

BATCH = 4096


def run_original(path: Path, x: np.ndarray, tensor: str = "", batch: int = BATCH) -> np.ndarray:
    """The original file on ``x`` ([N, n_in]); returns ``tensor`` (default: the graph output)."""
    import onnx
    from onnx import helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    proto = onnx.load(str(path))
    for node in proto.graph.node:  # Brevitas' older exports name the domain onnx.brevitas
        if node.op_type == "Quant" and node.domain in ("", "onnx.brevitas", "finn.custom_op.general"):
            node.domain = "qonnx.custom_op.general"
    inits = {t.name for t in proto.graph.initializer}
    inp = next(i for i in proto.graph.input if i.name not in inits)
    elem = helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type)
    out = tensor or proto.graph.output[0].name
    batch = max(1, min(batch, len(x)))
    wrapper = ModelWrapper(with_batch(proto, batch))
    if not wrapper.check_all_tensor_shapes_specified():  # qonnx's executor wants every shape (metadata only)
        from qonnx.transformation.infer_shapes import InferShapes

        wrapper = wrapper.transform(InferShapes())
    results = []
    for lo in range(0, len(x), batch):
        chunk = np.asarray(x[lo : lo + batch], dtype=elem)
        n = len(chunk)
        if n < batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, axis=0)])
        full = out != proto.graph.output[0].name
        ctx = execute_onnx(wrapper, {inp.name: np.ascontiguousarray(chunk)}, return_full_exec_context=full)
        results.append(np.asarray(ctx[out])[:n])
    return np.concatenate(results).reshape(len(x), -1)


def compare_original(path: Path, graph, codes: np.ndarray, ref: np.ndarray, tensor: str = "") -> dict:
    """Run the original on ``codes`` (input codes of ``graph``) and count the vectors whose scores are
    not exactly ``ref``; returns ``{vectors, mismatches, first}``."""
    from flow.compare import to_values

    y = run_original(path, to_values(codes, graph.input_type), tensor).astype(np.float64)
    scaled = y * 2.0**graph.output_type.frac
    got = np.where(np.isfinite(scaled) & (scaled == np.round(scaled)), scaled, np.nan)
    bad = np.flatnonzero(~(got == ref).all(axis=1))
    first = ""
    if len(bad):
        i = int(bad[0])
        first = f"vector {i}: original {y[i].tolist()} (x 2^{graph.output_type.frac}) vs reference {ref[i].tolist()}"
    return {"vectors": int(len(codes)), "mismatches": int(len(bad)), "first": first}
