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
from flow.ir.graph import Dense, Layer, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.quantize.fold_batchnorm import FloatLinear, FloatReLU, FloatScaleShift, FoldedLayer


def fake_quantize(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Grid value of ``x`` in type ``t``: ``code * 2**-frac`` with ``code`` as in
    :func:`flow.ir.fixed.quantize_float` (floor or floor(.+1/2), then clamp or wrap).

    With gradients enabled the result carries a straight-through gradient ``d/dx = 1``.
    """
    scaled = x * (2.0**t.frac)
    if t.rounding is Rounding.RND:
        scaled = scaled + 0.5
    q = torch.floor(scaled)
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


LayerTypes = LinearTypes | ScaleShiftTypes | ReLUTypes


class QLinear(nn.Module):
    def __init__(self, name: str, weight: torch.Tensor, bias: torch.Tensor, types: LinearTypes):
        super().__init__()
        self.name, self.types = name, types
        self.weight = nn.Parameter(weight.float().clone())
        self.bias = nn.Parameter(bias.float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = fake_quantize(self.weight.to(x.dtype), self.types.weight)
        b = fake_quantize(self.bias.to(x.dtype), self.types.bias)
        return fake_quantize(x @ w.T + b, self.types.out)


class QScaleShift(nn.Module):
    def __init__(self, name: str, scale: torch.Tensor, shift: torch.Tensor, types: ScaleShiftTypes):
        super().__init__()
        self.name, self.types = name, types
        self.scale = nn.Parameter(scale.float().clone())
        self.shift = nn.Parameter(shift.float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = fake_quantize(self.scale.to(x.dtype), self.types.scale)
        t = fake_quantize(self.shift.to(x.dtype), self.types.shift)
        return fake_quantize(x * s + t, self.types.out)


class QReLU(nn.Module):
    def __init__(self, name: str, types: ReLUTypes):
        super().__init__()
        self.name, self.types = name, types

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fake_quantize(torch.relu(x), self.types.out)


class QuantModel(nn.Module):
    """Input quantizer followed by the quantized layers; input = standardized features."""

    def __init__(self, input_type: FixedType, folded: tuple[FoldedLayer, ...], types: tuple[LayerTypes, ...]):
        super().__init__()
        self.input_type = input_type
        mods: list[nn.Module] = []
        for layer, t in zip(folded, types, strict=True):
            if isinstance(layer, FloatLinear):
                mods.append(QLinear(layer.name, layer.weight, layer.bias, t))
            elif isinstance(layer, FloatScaleShift):
                mods.append(QScaleShift(layer.name, layer.scale, layer.shift, t))
            else:
                mods.append(QReLU(layer.name, t))
        self.layers = nn.ModuleList(mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = fake_quantize(x, self.input_type)
        for layer in self.layers:
            x = layer(x)
        return x

    def folded(self) -> tuple[FoldedLayer, ...]:
        """The current (float, unquantized) parameters as folded layers."""
        out: list[FoldedLayer] = []
        for m in self.layers:
            if isinstance(m, QLinear):
                out.append(FloatLinear(m.name, m.weight.detach().double(), m.bias.detach().double()))
            elif isinstance(m, QScaleShift):
                out.append(FloatScaleShift(m.name, m.scale.detach().double(), m.shift.detach().double()))
            else:
                out.append(FloatReLU(m.name))
        return tuple(out)


def layer_types(graph: QuantGraph) -> tuple[LayerTypes, ...]:
    """The per-layer types of an integer graph, as the QAT model holds them."""
    out: list[LayerTypes] = []
    for layer in graph.layers:
        if isinstance(layer, Dense):
            out.append(LinearTypes(layer.weight_type, layer.bias_type, layer.out_type))
        elif isinstance(layer, ScaleShift):
            out.append(ScaleShiftTypes(layer.scale_type, layer.shift_type, layer.out_type))
        else:
            out.append(ReLUTypes(layer.out_type))
    return tuple(out)


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
    x_t = model.input_type
    for m in model.layers:
        t = m.types
        if isinstance(m, QLinear):
            w, b = _codes(m.weight.double(), t.weight), _codes(m.bias.double(), t.bias)
            acc = exact_accum_type(x_t, w, t.weight, b, t.bias)
            layers.append(Dense(m.name, x_t, t.weight, t.bias, acc, t.out, w, b))
        elif isinstance(m, QScaleShift):
            s, sh = _codes(m.scale.double(), t.scale), _codes(m.shift.double(), t.shift)
            layers.append(ScaleShift(m.name, x_t, t.scale, t.shift, t.out, s, sh))
        else:
            layers.append(ReLU(m.name, x_t, t.out, layers[-1].n_out if layers else len(mean)))
        x_t = t.out
    return QuantGraph(
        name,
        model.input_type,
        tuple(layers),
        tuple(class_names),
        tuple(feature_names),
        np.asarray(mean, dtype=np.float64),
        np.asarray(std, dtype=np.float64),
    )
