"""Quantization-aware model: the folded network with fake quantization at every fixed-point step.

Every value the hardware holds is quantized here exactly as :mod:`flow.ir.fixed` defines it: the input,
each weight and bias (to their own types), each layer output. In training the quantizers pass
gradients straight through (STE); in evaluation they return the exact grid values, so running the
model in float64 gives, scaled by ``2**frac``, exactly the integer reference's codes (float64 holds
every intermediate exactly: products and sums stay far below 2**53).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from flow.ir.fixed import FixedType, Overflow, Rounding, quantize_float
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.quantize.fold_batchnorm import (
    FOLDED_CLASSES,
    FloatArgMax,
    FloatLinear,
    FloatReLU,
    FloatScaleShift,
    FoldedLayer,
)
from flow.registry import KindTable


def fake_quantize(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Grid value of ``x`` in type ``t``: ``code * 2**-frac`` with ``code`` as in
    :func:`flow.ir.fixed.quantize_float` (floor, floor(.+1/2) or half to even, then clamp or wrap).

    With gradients enabled the result carries a straight-through gradient ``d/dx = 1``.
    """
    scaled = x * (2.0**t.frac)
    if t.rounding is Rounding.RND_CONV:
        q = torch.round(scaled)  # half to even
    else:
        q = torch.floor(scaled + 0.5 if t.rounding is Rounding.RND else scaled)
    if t.overflow is Overflow.SAT:
        q = q.clamp(t.min_code, t.max_code)
    else:
        q = torch.remainder(q - t.min_code, 2.0**t.width) + t.min_code
    y = q * (2.0**-t.frac)
    if torch.is_grad_enabled() and x.requires_grad:
        return x + (y - x).detach()
    return y


@dataclass(frozen=True)
class LinearTypes:
    weight: FixedType
    bias: FixedType
    out: FixedType


@dataclass(frozen=True)
class ScaleShiftTypes:
    scale: FixedType
    shift: FixedType
    out: FixedType


@dataclass(frozen=True)
class ReLUTypes:
    out: FixedType


@dataclass(frozen=True)
class ArgMaxTypes:
    out: FixedType  # the class-index type (flow.ir.graph.index_type)


LayerTypes = LinearTypes | ScaleShiftTypes | ReLUTypes | ArgMaxTypes


class QLinear(nn.Module):
    def __init__(self, layer: FloatLinear, types: LinearTypes):
        super().__init__()
        self.name, self.types = layer.name, types
        self.weight = nn.Parameter(layer.weight.float().clone())
        self.bias = nn.Parameter(layer.bias.float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = fake_quantize(self.weight.to(x.dtype), self.types.weight)
        b = fake_quantize(self.bias.to(x.dtype), self.types.bias)
        return fake_quantize(x @ w.T + b, self.types.out)

    def folded(self) -> FloatLinear:
        return FloatLinear(self.name, self.weight.detach().double(), self.bias.detach().double())

    def to_layer(self, x_t: FixedType, n_in: int) -> Dense:
        t = self.types
        w, b = _codes(self.weight.double(), t.weight), _codes(self.bias.double(), t.bias)
        return Dense(self.name, x_t, t.weight, t.bias, exact_accum_type(x_t, w, t.weight, b, t.bias), t.out, w, b)


class QScaleShift(nn.Module):
    def __init__(self, layer: FloatScaleShift, types: ScaleShiftTypes):
        super().__init__()
        self.name, self.types = layer.name, types
        self.scale = nn.Parameter(layer.scale.float().clone())
        self.shift = nn.Parameter(layer.shift.float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = fake_quantize(self.scale.to(x.dtype), self.types.scale)
        t = fake_quantize(self.shift.to(x.dtype), self.types.shift)
        return fake_quantize(x * s + t, self.types.out)

    def folded(self) -> FloatScaleShift:
        return FloatScaleShift(self.name, self.scale.detach().double(), self.shift.detach().double())

    def to_layer(self, x_t: FixedType, n_in: int) -> ScaleShift:
        t = self.types
        s, sh = _codes(self.scale.double(), t.scale), _codes(self.shift.double(), t.shift)
        return ScaleShift(self.name, x_t, t.scale, t.shift, t.out, s, sh)


class QReLU(nn.Module):
    def __init__(self, layer: FloatReLU, types: ReLUTypes):
        super().__init__()
        self.name, self.types = layer.name, types

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fake_quantize(torch.relu(x), self.types.out)

    def folded(self) -> FloatReLU:
        return FloatReLU(self.name)

    def to_layer(self, x_t: FixedType, n_in: int) -> ReLU:
        return ReLU(self.name, x_t, self.types.out, n_in)


class QArgMax(nn.Module):
    """The class decision. Training and evaluation see the logits (``forward`` passes them through,
    and ``argmax`` of them is the prediction); :meth:`decide` gives the index codes the hardware writes."""

    def __init__(self, layer: FloatArgMax, types: ArgMaxTypes):
        super().__init__()
        self.name, self.types = layer.name, types

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @staticmethod
    def decide(x: torch.Tensor) -> torch.Tensor:
        return torch.argmax(x, dim=1, keepdim=True).to(x.dtype)

    def folded(self) -> FloatArgMax:
        return FloatArgMax(self.name)

    def to_layer(self, x_t: FixedType, n_in: int) -> ArgMax:
        return ArgMax(self.name, x_t, self.types.out, n_in)


# The QAT module of each folded layer kind.
QAT_MODULES = KindTable(
    "QAT", FOLDED_CLASSES, {FloatLinear: QLinear, FloatScaleShift: QScaleShift, FloatReLU: QReLU, FloatArgMax: QArgMax}
)
# The QAT types record of each IR layer kind (to rebuild a QAT model for an integer graph).
LAYER_TYPES = KindTable(
    "QAT types",
    LAYER_CLASSES,
    {
        Dense: lambda g: LinearTypes(g.weight_type, g.bias_type, g.out_type),
        ScaleShift: lambda g: ScaleShiftTypes(g.scale_type, g.shift_type, g.out_type),
        ReLU: lambda g: ReLUTypes(g.out_type),
        ArgMax: lambda g: ArgMaxTypes(g.out_type),
    },
)


def fake_quantize_features(x: torch.Tensor, container: FixedType, types: tuple[FixedType, ...]) -> torch.Tensor:
    """:func:`fake_quantize` of ``x[:, i]`` to ``types[i]`` (per-feature input types; ``container`` alone
    when ``types`` is empty). Each grid value is also a value of ``container``, which holds every type."""
    if not types:
        return fake_quantize(x, container)
    return torch.stack([fake_quantize(x[:, i], t) for i, t in enumerate(types)], dim=1)


class QuantModel(nn.Module):
    """Input quantizer followed by the quantized layers; input = standardized features.

    ``input_type`` is the graph's input (container) type; ``feature_types``, if given, one type per feature
    inside it (:attr:`flow.ir.graph.QuantGraph.input_types`)."""

    def __init__(
        self,
        input_type: FixedType,
        folded: tuple[FoldedLayer, ...],
        types: tuple[LayerTypes, ...],
        feature_types: tuple[FixedType, ...] = (),
    ):
        super().__init__()
        self.input_type = input_type
        self.feature_types = tuple(feature_types)
        self.layers = nn.ModuleList(QAT_MODULES[layer](layer, t) for layer, t in zip(folded, types, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = fake_quantize_features(x, self.input_type, self.feature_types)
        for layer in self.layers:
            x = layer(x)
        return x

    def decide(self, x: torch.Tensor) -> torch.Tensor:
        """What the hardware outputs: :meth:`forward`, then the class index if the graph ends in an ArgMax."""
        y = self(x)
        last = self.layers[-1] if len(self.layers) else None
        return last.decide(y) if isinstance(last, QArgMax) else y

    def folded(self) -> tuple[FoldedLayer, ...]:
        """The current (float, unquantized) parameters as folded layers."""
        return tuple(m.folded() for m in self.layers)


def layer_types(graph: QuantGraph) -> tuple[LayerTypes, ...]:
    """The per-layer types of an integer graph, as the QAT model holds them."""
    return tuple(LAYER_TYPES[layer](layer) for layer in graph.layers)


def _codes(x: torch.Tensor, t: FixedType) -> np.ndarray:
    return quantize_float(x.detach(), t).numpy()


def to_graph(
    model: QuantModel,
    name: str,
    mean: np.ndarray,
    std: np.ndarray,
    class_names: tuple[str, ...],
    feature_names: tuple[str, ...],
) -> QuantGraph:
    """Extract the integer graph: every parameter's codes in its type (the same rounding as the
    fake quantizer), accumulators sized by :func:`flow.ir.graph.exact_accum_type`."""
    layers: list[Layer] = []
    x_t, n = model.input_type, len(mean)
    for m in model.layers:
        layer = m.to_layer(x_t, n)
        layers.append(layer)
        x_t, n = layer.out_type, layer.n_out
    return QuantGraph(
        name,
        model.input_type,
        tuple(layers),
        tuple(class_names),
        tuple(feature_names),
        np.asarray(mean, dtype=np.float64),
        np.asarray(std, dtype=np.float64),
        model.feature_types,
    )
