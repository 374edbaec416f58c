"""A QuantGraph as a float64 ``torch.nn.Module`` for hls4ml's PyTorch frontend.

Only the *values* of weights matter here (hls4ml re-types everything from the precision table):

* ``Dense`` -> ``nn.Linear`` with ``weight = w_code * 2**-frac_w`` and ``bias = b_code * 2**-frac_b``.
* ``ReLU`` -> ``nn.ReLU``.
* ``ScaleShift`` -> ``nn.BatchNorm1d(eps=0)`` with ``running_mean = 0``, ``running_var = 1``,
  ``weight = s_code * 2**-frac_s``, ``bias = t_code * 2**-frac_t``; hls4ml computes
  ``scale = gamma / sqrt(var + eps) = gamma`` and ``bias = beta - mean * scale = beta`` exactly.

Every value is a dyadic rational of at most 53 significant bits, so float64 holds it exactly, and
hls4ml prints it with ``frac`` decimals, which is exact too (``2**-f`` has ``f`` decimal digits).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from flow.hls.precision import NO_ARGMAX, hls_name
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, QuantGraph, ReLU, ScaleShift
from flow.registry import KindTable, Unsupported


class GraphModule(nn.Sequential):
    """``nn.Sequential`` whose ``forward`` argument is named ``x`` (hls4ml names its Input layer after it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self:
            x = module(x)
        return x


def _values(codes: np.ndarray, frac: int) -> torch.Tensor:
    return torch.from_numpy(np.asarray(codes, dtype=np.float64) * 2.0**-frac)


def _linear(layer: Dense) -> nn.Module:
    m = nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
    with torch.no_grad():
        m.weight.copy_(_values(layer.weight, layer.weight_type.frac))
        m.bias.copy_(_values(layer.bias, layer.bias_type.frac))
    return m


def _batchnorm(layer: ScaleShift) -> nn.Module:
    m = nn.BatchNorm1d(layer.n, eps=0.0, dtype=torch.float64)
    with torch.no_grad():
        m.weight.copy_(_values(layer.scale, layer.scale_type.frac))
        m.bias.copy_(_values(layer.shift, layer.shift_type.frac))
        m.running_mean.zero_()
        m.running_var.fill_(1.0)
    return m


# The torch module hls4ml's PyTorch frontend converts into each layer kind's kernel.
TORCH_MODULES = KindTable(
    "hls4ml",
    LAYER_CLASSES,
    {Dense: _linear, ScaleShift: _batchnorm, ReLU: lambda layer: nn.ReLU(), ArgMax: Unsupported(NO_ARGMAX)},
)


def to_torch(graph: QuantGraph) -> GraphModule:
    """The float64 module hls4ml converts; module names are the hls4ml layer names."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for layer in graph.layers:
        modules[hls_name(layer.name)] = TORCH_MODULES[layer](layer)
    return GraphModule(modules).eval()
