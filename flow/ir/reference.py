"""The PyTorch integer reference: the oracle every other implementation must equal bit for bit.

Integer-only forward pass over a :class:`~flow.ir.graph.QuantGraph` on int64 tensors: multiplies, adds,
explicit shifts, rounding and overflow from :mod:`flow.ir.fixed`; no floating point anywhere except
:func:`encode_inputs`, which maps real features onto the input grid at the data boundary.

int64 is enough: every type is at most 62 bits wide and :func:`flow.ir.graph.exact_accum_type` sizes each
accumulator to its worst-case sum; ``check_int64_headroom`` refuses graphs where that is not so.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from flow.errors import ConfigError
from flow.ir.features import quantize_features
from flow.ir.fixed import apply_overflow, requantize
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift
from flow.registry import KindTable


def encode_inputs(graph: QuantGraph, features: np.ndarray) -> torch.Tensor:
    """Raw features ``[N, F]`` -> input codes: ``quantize((x - mean) / std)`` in float64, each feature in its
    own type when the graph has per-feature types (:func:`flow.ir.features.quantize_features`)."""
    x = (np.asarray(features, dtype=np.float64) - graph.input_mean) / graph.input_std
    return quantize_features(graph, torch.from_numpy(x))


def dense(layer: Dense, x: torch.Tensor) -> torch.Tensor:
    """``acc = x @ w.T + (b << bias_shift)`` wrapped to ``accum_type``, requantized to ``out_type``."""
    w = torch.from_numpy(layer.weight)
    b = torch.from_numpy(layer.bias) << layer.bias_shift
    acc = apply_overflow(x @ w.T + b, layer.accum_type)
    return requantize(acc, layer.product_frac, layer.out_type)


def relu(layer: ReLU, x: torch.Tensor) -> torch.Tensor:
    """``requantize(max(x, 0), frac(x), out_type)``."""
    return requantize(x.clamp_min(0), layer.in_type.frac, layer.out_type)


def scale_shift(layer: ScaleShift, x: torch.Tensor) -> torch.Tensor:
    """``x * s + (t << shift_shift)`` at full precision, requantized to ``out_type``."""
    s = torch.from_numpy(layer.scale)
    t = torch.from_numpy(layer.shift) << layer.shift_shift
    return requantize(x * s + t, layer.product_frac, layer.out_type)


def argmax(layer: ArgMax, x: torch.Tensor) -> torch.Tensor:
    """Index of the first maximum of each row, as a ``[N, 1]`` int64 code (ties go to the lower index)."""
    return torch.argmax(x, dim=1, keepdim=True).to(torch.int64)


KERNELS = KindTable(
    "integer reference", LAYER_CLASSES, {Dense: dense, ReLU: relu, ScaleShift: scale_shift, ArgMax: argmax}
)


def run_layer(layer: Layer, x: torch.Tensor) -> torch.Tensor:
    return KERNELS[layer](layer, x)


def iter_layers(graph: QuantGraph, codes: torch.Tensor) -> Iterator[tuple[Layer, torch.Tensor]]:
    """Yield ``(layer, output codes)`` for every layer in order (for per-layer mismatch reports)."""
    check_int64_headroom(graph)
    x = codes.to(torch.int64)
    for layer in graph.layers:
        x = run_layer(layer, x)
        yield layer, x


def forward(graph: QuantGraph, codes: torch.Tensor) -> torch.Tensor:
    """Input codes ``[N, n_inputs]`` (int64) -> output codes ``[N, n_outputs]`` (int64)."""
    out = codes
    for _, out in iter_layers(graph, codes):  # noqa: B007 - the last layer's output is the result
        pass
    return out


def predict(graph: QuantGraph, features: np.ndarray) -> np.ndarray:
    """Raw features -> output codes as an int64 numpy array."""
    return forward(graph, encode_inputs(graph, features)).numpy()


def classify(codes: np.ndarray) -> np.ndarray:
    """Class index per row: the first maximum of the output codes (ties go to the lower index).

    A row of a single code is already a class index (the output of an :class:`~flow.ir.graph.ArgMax`).
    """
    codes = np.asarray(codes)
    return codes[:, 0].astype(np.int64) if codes.shape[1] == 1 else np.argmax(codes, axis=1)


def check_int64_headroom(graph: QuantGraph) -> None:
    """Refuse a graph whose exact intermediate sums could leave int64."""
    for layer in graph.layers:
        if isinstance(layer, Dense):
            bound = layer.n_in * (1 << (layer.in_type.width + layer.weight_type.width))
            if bound.bit_length() > 62 or layer.accum_type.width > 62:
                raise ConfigError(f"layer {layer.name!r}: products/sums exceed int64; use narrower types")
