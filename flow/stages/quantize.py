"""Stage 03: fold BatchNorm, assign fixed-point types, QAT fine-tune, write the integer graph.

Writes ``quant_graph.json`` (the design every back end reads), ``qat_model.pt`` and ``history.*``; records
degenerate precisions (:mod:`flow.config.degenerate`) as ``warnings``.
"""

from __future__ import annotations

import torch

from flow.artifacts import FLOAT_MODEL, QAT_MODEL, QUANT_GRAPH
from flow.config.degenerate import degenerate_precisions
from flow.data import CLASS_NAMES, FEATURE_NAMES
from flow.ir.graph import precision_rows
from flow.quantize.quantize_model import quantize_model
from flow.results import QuantizeResult
from flow.stages.data import load_split
from flow.train.fit import Arrays
from flow.train.history import write_history
from flow.train.model import load_float_model, read_checkpoint


def run(ctx) -> QuantizeResult:
    out = ctx.dir("quantize")
    ckpt_path = ctx.dir("train") / FLOAT_MODEL
    ckpt = read_checkpoint(ckpt_path)
    float_model = load_float_model(ckpt_path, ctx.model)
    arrays = load_split(ctx)
    mean, std = ckpt["input_mean"], ckpt["input_std"]
    train = Arrays.of(arrays["X_train"], arrays["y_train"], mean, std)
    val = Arrays.of(arrays["X_val"], arrays["y_val"], mean, std)
    if ctx.model.quant.mode == "learned":  # trained bit widths: flow/quantize/learned, docs/explore.md
        from flow.quantize.learned.stage import run_learned

        return run_learned(ctx, out, float_model, train, val, mean, std)
    epochs = ctx.model.train.qat_epochs
    with ctx.progress(f"quantization-aware training, {epochs} epochs", epochs) as advance:
        q = quantize_model(
            float_model,
            ctx.model,
            train,
            val,
            mean=mean,
            std=std,
            class_names=CLASS_NAMES,
            feature_names=FEATURE_NAMES,
            on_epoch=lambda rec: advance(),
        )
    q.graph.save(out / QUANT_GRAPH)
    torch.save(q.model.state_dict(), out / QAT_MODEL)
    history = [r.as_dict() for r in q.history]
    write_history(out, history)
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
