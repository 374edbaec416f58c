"""From a trained float model to the integer design: fold, assign types, QAT, extract the graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from flow.config.zoo import ModelSpec
from flow.ir.graph import QuantGraph
from flow.quantize.assign_types import assign_types
from flow.quantize.fold_batchnorm import fold_batchnorm
from flow.quantize.qat import QuantModel, to_graph
from flow.train.fit import Arrays, EpochRecord, Progress, fit


@dataclass(frozen=True, eq=False)
class Quantized:
    model: QuantModel
    graph: QuantGraph
    history: tuple[EpochRecord, ...]


def quantize_model(
    float_model: nn.Sequential,
    spec: ModelSpec,
    train: Arrays,
    val: Arrays,
    *,
    mean: np.ndarray,
    std: np.ndarray,
    class_names: tuple[str, ...],
    feature_names: tuple[str, ...],
    qat_epochs: int | None = None,
    on_epoch: Progress | None = None,
) -> Quantized:
    """Fold BatchNorm, assign types on the training data, fine-tune with QAT (``qat_epochs``, default
    from the spec; 0 is post-training quantization), and extract the integer graph."""
    folded = fold_batchnorm(float_model.eval())
    input_type, types = assign_types(folded, spec.quant, train.x)
    qmodel = QuantModel(input_type, folded, types)
    epochs = spec.train.qat_epochs if qat_epochs is None else qat_epochs
    torch.manual_seed(spec.train.seed)
    history = (
        fit(
            qmodel, train, val, phase="qat", epochs=epochs, lr=spec.train.qat_lr, settings=spec.train, on_epoch=on_epoch
        )
        if epochs > 0
        else []
    )
    graph = to_graph(qmodel, spec.name, mean, std, class_names, feature_names)
    return Quantized(qmodel, graph, tuple(history))
