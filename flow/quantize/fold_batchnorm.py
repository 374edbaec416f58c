"""Fold BatchNorm into the Linear before it; keep the rest as per-feature scale-and-shift.

In eval mode ``BN(z) = gamma * (z - mu) / sqrt(var + eps) + beta = a * z + c`` per feature with
``a = gamma / sqrt(var + eps)`` and ``c = beta - a * mu``.

* ``Linear -> BN``: ``BN(W x + b) = (a[:, None] * W) x + (a * b + c)``, so the pair becomes one
  Linear with ``W' = a[:, None] * W`` and ``b' = a * b + c``: no hardware for the BN at all.
* A BN with no Linear directly before it (jsc-tiny's input BN, which sits before a ReLU, so it cannot
  move into the Linear after the ReLU either) becomes a :class:`FloatScaleShift` ``y = a * x + c``,
  which the hardware implements as a per-feature fixed-point multiply-add.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from flow.errors import ConfigError
from flow.nn_layers import ArgMaxHead
from flow.registry import KindTable


@dataclass(frozen=True, eq=False)
class FloatLinear:
    name: str
    weight: torch.Tensor  # [out, in]
    bias: torch.Tensor  # [out]


@dataclass(frozen=True, eq=False)
class FloatScaleShift:
    name: str
    scale: torch.Tensor  # [n]
    shift: torch.Tensor  # [n]


@dataclass(frozen=True)
class FloatReLU:
    name: str


@dataclass(frozen=True)
class FloatArgMax:
    name: str


FoldedLayer = FloatLinear | FloatScaleShift | FloatReLU | FloatArgMax
FOLDED_CLASSES: tuple[type, ...] = (FloatLinear, FloatScaleShift, FloatReLU, FloatArgMax)
# The constant parameters of each kind, by role name (the field of the folded layer, of the QAT
# module and of its types record, and the quantization role of the configuration).
PARAM_ROLES = KindTable(
    "parameter roles",
    FOLDED_CLASSES,
    {FloatLinear: ("weight", "bias"), FloatScaleShift: ("scale", "shift"), FloatReLU: (), FloatArgMax: ()},
)


def _affine(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    a = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return a, bn.bias.detach().double() - a * bn.running_mean.double()


def _linear(name: str, m: nn.Linear, out: list[FoldedLayer]) -> None:
    out.append(FloatLinear(name, m.weight.detach().double(), m.bias.detach().double()))


def _batchnorm(name: str, m: nn.BatchNorm1d, out: list[FoldedLayer]) -> None:
    a, c = _affine(m)
    prev = out[-1] if out else None
    if isinstance(prev, FloatLinear):
        out[-1] = FloatLinear(prev.name, a[:, None] * prev.weight, a * prev.bias + c)
    else:
        out.append(FloatScaleShift(name, a, c))


# How each float module enters the folded chain (keyed by the torch class; anything else is refused).
_FOLD = {
    nn.Linear: _linear,
    nn.BatchNorm1d: _batchnorm,
    nn.ReLU: lambda name, m, out: out.append(FloatReLU(name)),
    ArgMaxHead: lambda name, m, out: out.append(FloatArgMax(name)),
}


def fold_batchnorm(model: nn.Sequential) -> tuple[FoldedLayer, ...]:
    """A Linear/BatchNorm1d/ReLU(/ArgMaxHead) chain -> Linear/ScaleShift/ReLU(/ArgMax) chain computing
    the same function (in eval mode), in float64."""
    out: list[FoldedLayer] = []
    for name, module in model.named_children():
        fold = _FOLD.get(type(module))
        if fold is None:
            raise ConfigError(
                f"cannot fold layer {name!r} of type {type(module).__name__}; "
                f"supported: {', '.join(c.__name__ for c in _FOLD)}"
            )
        fold(name, module, out)
    return tuple(out)
