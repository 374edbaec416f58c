"""Run a quantizer for the quantize stage and write what every later stage reads.

Both quantizers, uniform QAT (:func:`flow.quantize.quantize_model.quantize_model`) and learned bit
widths (:func:`flow.quantize.learned.quantize.quantize_learned`), take the same arguments and return
an object with ``graph``, ``model`` and ``history``; this writes ``quant_graph.json``,
``qat_model.pt`` and ``history.json``/``history.csv`` from it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from flow.artifacts import QAT_MODEL, QUANT_GRAPH
from flow.data import CLASS_NAMES, FEATURE_NAMES
from flow.train.history import write_history


def run_quantizer(
    ctx, out: Path, quantizer: Callable, description: str, epochs: int, float_model, train, val, *, mean, std
):
    """``quantizer(...)`` with a progress bar of ``epochs`` steps, its outputs written into ``out``;
    returns the quantizer's result and the per-epoch history rows (dicts) as written."""
    with ctx.progress(description, epochs) as advance:
        q = quantizer(
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
    history = [h if isinstance(h, dict) else h.as_dict() for h in q.history]
    write_history(out, history)
    return q, history
