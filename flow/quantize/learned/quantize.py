"""From a trained float model to the integer design with learned bit widths.

Fold BatchNorm, build a :class:`~flow.quantize.learned.model.LearnedModel`, train it
(:func:`~flow.quantize.learned.train.train_learned`), :func:`~flow.quantize.learned.model.export` it into
the existing :class:`~flow.quantize.qat.QuantModel` and :func:`~flow.quantize.qat.to_graph`. The QAT
model's parameters are the exact grid values, so the reference stage's exact check (QAT model == integer
reference) applies unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from flow.artifacts import LEARNED_BITS
from flow.config.quant import layer_quant
from flow.config.zoo import ModelSpec
from flow.ir.graph import Dense, QuantGraph, ReLU
from flow.quantize.fold_batchnorm import FloatLinear, fold_batchnorm
from flow.quantize.learned.cost import LUT_PER_EBOP, layer_costs, significant_bits
from flow.quantize.learned.model import LearnedModel, export
from flow.quantize.learned.settings import LearnedSettings
from flow.quantize.learned.train import Progress, settings_summary, train_learned
from flow.quantize.qat import QuantModel, to_graph
from flow.train.fit import Arrays


@dataclass(frozen=True, eq=False)
class LearnedQuantized:
    model: QuantModel  # the existing QAT model holding the exact grid values
    learned: LearnedModel
    graph: QuantGraph
    history: tuple[dict, ...]
    selection: dict
    stats: dict


def build_learned_model(float_model: nn.Sequential, spec: ModelSpec, s: LearnedSettings) -> LearnedModel:
    folded = fold_batchnorm(float_model.eval())
    last = [layer for layer in folded if isinstance(layer, FloatLinear)][-1]
    score = layer_quant(spec.quant, last.name, "dense").output
    return LearnedModel(
        folded,
        init_weight_bits=s.init_weight_bits,
        init_act_bits=s.init_act_bits,
        score_spec=score,
        per_feature_input=s.input_granularity == "feature",
        per_neuron_acts=s.activation_granularity == "neuron",
    )


def to_quant_model(learned: LearnedModel) -> QuantModel:
    input_type, feature_types, types, layers = export(learned)
    return QuantModel(input_type, layers, types, feature_types)


def bit_stats(graph: QuantGraph, learned: LearnedModel | None = None) -> dict:
    """Per-layer data for histograms: weight bits (significant bits of each code; 0 = pruned), activation
    widths, pruned fraction, EBOPs."""
    costs = {r["layer"]: r for r in layer_costs(graph)}
    acts = iter(learned.acts[:-1]) if learned is not None else iter(())
    layers = []
    for layer in graph.layers:
        row: dict = {
            "layer": layer.name,
            "kind": layer.kind,
            "in_width": layer.in_type.width,
            "out": layer.out_type.to_dict(),
        }
        if layer.name in costs and "in_widths" in costs[layer.name]:
            row["in_width"] = costs[layer.name]["in_width"]
            row["in_widths"] = costs[layer.name]["in_widths"]
        if isinstance(layer, Dense):
            sb = significant_bits(layer.weight).ravel()
            hist = np.bincount(sb, minlength=1)
            row.update(
                weight_type=layer.weight_type.to_dict(),
                weight_bits_histogram={str(b): int(n) for b, n in enumerate(hist) if n},
                pruned_fraction=float((layer.weight == 0).mean()),
                mean_weight_bits_nonzero=float(sb[sb > 0].mean()) if (sb > 0).any() else 0.0,
                **{k: costs[layer.name][k] for k in ("weights", "nonzero", "ebops", "nsd_bops")},
            )
        elif isinstance(layer, ReLU):
            row["activation_width"] = layer.out_type.width
            q = next(acts, None)
            if q is not None and q.common_width:
                # per-neuron bits: each neuron's integer bits (its own range) + its fractional bits; all
                # saturate at the layer's width, and the design holds round(x * 2**f_o) (model.design_scales)
                bits = q.width().to(torch.int64).numpy()
                row["activation_bits_histogram"] = {str(b): int(n) for b, n in enumerate(np.bincount(bits)) if n}
                row["activation_fracs"] = q.frac().to(torch.int64).tolist()
        layers.append(row)
    total = sum(r["ebops"] for r in costs.values())
    return {
        "input": graph.input_type.to_dict(),
        "input_features": [t.to_dict() for t in graph.input_types],
        "layers": layers,
        "ebops": total,
        "nsd_bops": sum(r["nsd_bops"] for r in costs.values()),
        "lut_estimate": LUT_PER_EBOP * total,
        "lut_per_ebop": LUT_PER_EBOP,
        "weights": sum(r["weights"] for r in costs.values()),
        "nonzero_weights": sum(r["nonzero"] for r in costs.values()),
    }


def quantize_learned(
    float_model: nn.Sequential,
    spec: ModelSpec,
    train: Arrays,
    val: Arrays,
    *,
    mean: np.ndarray,
    std: np.ndarray,
    class_names: tuple[str, ...],
    feature_names: tuple[str, ...],
    on_epoch: Progress | None = None,
) -> LearnedQuantized:
    s = LearnedSettings.from_config(spec.quant)
    learned = build_learned_model(float_model, spec, s)
    history, selection = train_learned(learned, train, val, s, threads=spec.train.threads, on_epoch=on_epoch)
    learned.eval()
    qmodel = to_quant_model(learned)
    graph = to_graph(qmodel, spec.name, mean, std, class_names, feature_names)
    stats = bit_stats(graph, learned)
    stats["settings"] = settings_summary(s)
    stats["selection"] = selection
    return LearnedQuantized(qmodel, learned, graph, tuple(history), selection, stats)


__all__ = ["LEARNED_BITS", "LearnedQuantized", "bit_stats", "build_learned_model", "quantize_learned", "to_quant_model"]
