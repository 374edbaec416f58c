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


FoldedLayer = FloatLinear | FloatScaleShift | FloatReLU


def _affine(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    a = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return a, bn.bias.detach().double() - a * bn.running_mean.double()


def fold_batchnorm(model: nn.Sequential) -> tuple[FoldedLayer, ...]:
    """A Linear/BatchNorm1d/ReLU chain -> Linear/ScaleShift/ReLU chain computing the same function
    (in eval mode), in float64."""
    out: list[FoldedLayer] = []
    for name, module in model.named_children():
        if isinstance(module, nn.Linear):
            out.append(FloatLinear(name, module.weight.detach().double(), module.bias.detach().double()))
        elif isinstance(module, nn.BatchNorm1d):
            a, c = _affine(module)
            prev = out[-1] if out else None
            if isinstance(prev, FloatLinear):
                out[-1] = FloatLinear(prev.name, a[:, None] * prev.weight, a * prev.bias + c)
            else:
                out.append(FloatScaleShift(name, a, c))
        elif isinstance(module, nn.ReLU):
            out.append(FloatReLU(name))
        else:
            raise TypeError(f"cannot fold layer {name!r} of type {type(module).__name__}")
    return tuple(out)
