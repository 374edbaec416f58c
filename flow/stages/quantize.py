"""Stage 03: fold BatchNorm, assign fixed-point types, QAT fine-tune, write the integer graph (or, for an
imported quantized file, keep its graph and check the original file against the reference exactly).

Writes ``quant_graph.json`` (the design every back end reads), ``qat_model.pt`` and ``history.*``; records
degenerate precisions (:mod:`flow.config.degenerate`) as ``warnings``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from flow.artifacts import FLOAT_MODEL, QAT_MODEL, QUANT_GRAPH
from flow.config.degenerate import degenerate_precisions
from flow.data import CLASS_NAMES, FEATURE_NAMES
from flow.errors import MismatchError
from flow.ir.graph import QuantGraph, precision_rows
from flow.quantize.quantize_model import quantize_model
from flow.quantize.runner import run_quantizer
from flow.results import QuantizeResult
from flow.stages.data import load_split
from flow.train.fit import Arrays
from flow.train.history import write_history
from flow.train.model import load_float_model, read_checkpoint


def _imported(ctx, out, origin, float_model, arrays, mean, std) -> QuantizeResult:
    """A quantized file's graph as it is (its types, its codes), no QAT; the QAT model is rebuilt from
    the dequantized weights (the reference stage checks it exactly); the original file, run by qonnx's
    executor, must equal the integer reference on every test vector."""
    from flow.frontends.run import compare_original
    from flow.ir.reference import encode_inputs, forward
    from flow.quantize.fold_batchnorm import fold_batchnorm
    from flow.quantize.qat import QuantModel, layer_types
    from flow.stages.train import SOURCE_MODEL

    g = origin.graph
    graph = QuantGraph(
        g.name,
        g.input_type,
        g.layers,
        tuple(CLASS_NAMES),
        tuple(FEATURE_NAMES),
        np.asarray(mean, dtype=np.float64),
        np.asarray(std, dtype=np.float64),
        g.input_types,
    )
    graph.save(out / QUANT_GRAPH)
    qmodel = QuantModel(graph.input_type, fold_batchnorm(float_model), layer_types(graph), graph.input_types)
    torch.save(qmodel.state_dict(), out / QAT_MODEL)
    write_history(out, [])
    codes = encode_inputs(graph, arrays["X_test"])
    ref = forward(graph, codes).numpy()
    with ctx.progress("original QONNX file (qonnx executor) vs reference", None):
        check = compare_original(ctx.dir("train") / SOURCE_MODEL, graph, codes.numpy(), ref, origin.scores_tensor)
    check = {"runtime": f"qonnx {_version('qonnx')} execute_onnx", "file": origin.ref, **check}
    inexact = any("float bias (not quantized in the file)" in n for n in origin.notes)
    if check["mismatches"] and not inexact:
        raise MismatchError(
            f"original model {origin.ref} (qonnx executor) and the integer reference differ on "
            f"{check['mismatches']} of {check['vectors']} test vectors; first: {check['first']}"
        )
    bits = {layer.name: layer.out_type.width for layer in graph.layers}
    return QuantizeResult(
        precisions=tuple(precision_rows(graph)),
        qat_epochs=0,
        best_qat_val_accuracy=None,
        params=graph.n_params,
        warnings=tuple(origin.notes)
        + (
            (
                f"original model differs from the reference on {check['mismatches']} of {check['vectors']} test "
                "vectors: its float biases are not fixed-point values",
            )
            if check["mismatches"]
            else ()
        ),
        mode="imported",
        original_check=check,
        headline=f"imported {len(graph.layers)} layers from {origin.ref} (types kept, no QAT), input "
        f"{graph.input_type.describe()}, output widths {bits}; original (qonnx) vs reference on "
        f"{check['vectors']:,} test vectors: {check['mismatches']} mismatches",
    )


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def run(ctx) -> QuantizeResult:
    out = ctx.dir("quantize")
    ckpt_path = ctx.dir("train") / FLOAT_MODEL
    ckpt = read_checkpoint(ckpt_path)
    float_model = load_float_model(ckpt_path, ctx.model)
    arrays = load_split(ctx)
    mean, std = ckpt["input_mean"], ckpt["input_std"]
    train = Arrays.of(arrays["X_train"], arrays["y_train"], mean, std)
    val = Arrays.of(arrays["X_val"], arrays["y_val"], mean, std)
    origin = getattr(ctx.model, "origin", None)
    if origin is not None and origin.quantized and not origin.retrain:
        return _imported(ctx, out, origin, float_model, arrays, mean, std)
    if origin is not None and not origin.retrain:  # a float import: flow's types, weights kept (no QAT)
        ctx = replace(ctx, model=replace(ctx.model, train=replace(ctx.model.train, qat_epochs=0)))
    if ctx.model.quant.mode == "learned":  # trained bit widths: flow/quantize/learned, docs/explore.md
        from flow.quantize.learned.stage import run_learned

        return run_learned(ctx, out, float_model, train, val, mean, std)
    epochs = ctx.model.train.qat_epochs
    q, history = run_quantizer(
        ctx,
        out,
        quantize_model,
        f"quantization-aware training, {epochs} epochs",
        epochs,
        float_model,
        train,
        val,
        mean=mean,
        std=std,
    )
    bits = {layer.name: layer.out_type.width for layer in q.graph.layers}
    warnings = degenerate_precisions(q.graph, arrays["X_test"], quant=ctx.model.quant, folded=q.model.folded())
    return QuantizeResult(
        precisions=tuple(precision_rows(q.graph)),
        qat_epochs=len(history),
        best_qat_val_accuracy=max((h["val_acc"] for h in history), default=None),
        params=q.graph.n_params,
        warnings=warnings,
        headline=f"{len(q.graph.layers)} layers, input {q.graph.input_type.describe()}, output widths {bits}",
    )
