"""Execute a saved QONNX model with qonnx's own executor and check it against the integer reference.

``qonnx.core.onnx_exec.execute_onnx`` runs node by node (``Quant`` in numpy, standard ops in
onnxruntime) and needs every tensor shape fixed, so the saved model (batch 1) is re-shaped to a batch
of ``BATCH`` rows and fed in chunks, the last one padded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from flow.compare import first_mismatch, locate, mismatch_error, to_codes, to_values
from flow.export.qonnx_model import INPUT, output_name
from flow.ir.graph import QuantGraph

BATCH = 8192


def _downstream(graph: onnx.GraphProto) -> set[str]:
    """Tensors computed from the graph inputs (nodes are topologically sorted)."""
    live = {vi.name for vi in graph.input} - {t.name for t in graph.initializer}
    for node in graph.node:
        if live.intersection(node.input):
            live.update(node.output)
    return live


def with_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    """A copy of ``model`` with the leading (batch) dimension of every tensor that depends on the
    input set to ``batch`` (parameters and their Quant outputs keep their shapes)."""
    m = copy.deepcopy(model)
    live = _downstream(m.graph)
    for vi in (*m.graph.input, *m.graph.output, *m.graph.value_info):
        dims = vi.type.tensor_type.shape.dim
        if vi.name in live and len(dims):
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch
    return m


def _wrapper(model: onnx.ModelProto | Path | str, batch: int):
    from qonnx.core.modelwrapper import ModelWrapper

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    return ModelWrapper(with_batch(proto, batch))


def execute(
    model: onnx.ModelProto | Path | str,
    x: np.ndarray,
    *,
    batch: int = BATCH,
    advance: Callable[..., None] | None = None,
    full_context: bool = False,
):
    """Run ``x`` ([N, n_in] float64) through the model; returns the graph output [N, n_out] (float32),
    or with ``full_context`` the list of per-chunk execution contexts (every tensor)."""
    from qonnx.core.onnx_exec import execute_onnx

    batch = max(1, min(batch, len(x)))
    wrapper = _wrapper(model, batch)
    out_name = wrapper.graph.output[0].name
    results = []
    for lo in range(0, len(x), batch):
        chunk = np.asarray(x[lo : lo + batch], dtype=np.float64)
        n = len(chunk)
        if n < batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, axis=0)])
        ctx = execute_onnx(wrapper, {INPUT: np.ascontiguousarray(chunk)}, return_full_exec_context=full_context)
        results.append(
            {k: v[:n] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == batch else v for k, v in ctx.items()}
            if full_context
            else ctx[out_name][:n]
        )
        if advance:
            advance(n)
    if full_context:
        return results
    return np.concatenate(results) if results else np.zeros((0, wrapper.get_tensor_shape(out_name)[1]))


def run_qonnx(model, graph: QuantGraph, codes: np.ndarray, **kw) -> np.ndarray:
    """Input codes -> output codes of the QONNX model (dequantized codes in, outputs scaled back)."""
    y = execute(model, to_values(codes, graph.input_type), **kw)
    return to_codes(y, graph.output_type, "QONNX execution")


def qonnx_layers(model, graph: QuantGraph, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-layer output codes (tensors ``<layer>_out``) of the QONNX model on a few vectors."""
    ctx = execute(model, to_values(codes, graph.input_type), full_context=True)[0]
    return {
        layer.name: to_codes(ctx[output_name(layer)], layer.out_type, f"QONNX layer {layer.name!r}")
        for layer in graph.layers
        if output_name(layer) in ctx
    }


def check_qonnx(model, graph: QuantGraph, codes: np.ndarray, ref: np.ndarray, **kw) -> np.ndarray:
    """QONNX output codes, which must equal ``ref`` exactly; else MismatchError with the first bad
    vector and the first layer that differs from :func:`flow.ir.reference.iter_layers`."""
    got = run_qonnx(model, graph, codes, **kw)
    n_bad, bad = first_mismatch(got, ref)
    if n_bad:
        one = codes[bad[:1]]
        where = locate(graph, one, qonnx_layers(model, graph, one).get)
        raise mismatch_error("QONNX execution", got, ref, bad, where)
    return got
