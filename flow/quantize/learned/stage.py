"""The quantize stage for ``mode = "learned"``: the same files as the uniform path (``quant_graph.json``,
``qat_model.pt``, ``history.*``) plus ``learned_bits.json`` (per-layer bit widths, pruning and costs)."""

from __future__ import annotations

import json

from flow.ir.graph import precision_rows
from flow.quantize.learned.quantize import LEARNED_BITS, quantize_learned
from flow.quantize.learned.settings import LearnedSettings
from flow.quantize.runner import run_quantizer
from flow.results import QuantizeResult


def run_learned(ctx, out, float_model, train, val, mean, std) -> QuantizeResult:
    s = LearnedSettings.from_config(ctx.model.quant)
    total = s.epochs + s.finetune_epochs
    q, _ = run_quantizer(
        ctx,
        out,
        quantize_learned,
        f"learned bit widths, beta {s.beta:g}, {total} epochs",
        total,
        float_model,
        train,
        val,
        mean=mean,
        std=std,
    )
    (out / LEARNED_BITS).write_text(json.dumps(q.stats, indent=1, default=float))
    st = q.stats
    widths = {r["layer"]: r["activation_width"] for r in st["layers"] if "activation_width" in r}
    features = [t["width"] for t in st["input_features"]]
    inputs = (
        f"input {min(features)}-{max(features)} bits per feature (mean {sum(features) / len(features):.1f})"
        if features
        else f"input {st['input']['width']} bits"
    )
    return QuantizeResult(
        precisions=tuple(precision_rows(q.graph)),
        qat_epochs=len(q.history),
        best_qat_val_accuracy=float(q.selection["selected"]["val_acc"]),
        params=q.graph.n_params,
        headline=(
            f"learned bits (beta {s.beta:g}): {st['nonzero_weights']:,} of {st['weights']:,} weights kept, "
            f"EBOPs {st['ebops']:,} (~{st['lut_estimate']:,.0f} LUT), {inputs}, "
            f"ReLU widths {widths}"
        ),
    )
