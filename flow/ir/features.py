"""Per-feature input types: how the features enter the graph and the RTL's input port.

A graph's input codes are always codes of the container ``input_type`` (frac ``F``). With per-feature
types (``QuantGraph.input_types``, learned widths), feature ``i`` has its own ``t_i`` with ``f_i <= F``:

* **quantizing** a real feature: ``c_i = quantize_float(x_i, t_i)`` (its own rounding, overflow and range),
  then the container code ``c_i << s_i`` with ``s_i = F - f_i`` (exact: ``t_i`` fits the container);
* **the port** of the RTL carries ``c_i`` itself, in ``port_width`` bits (``t_i``'s code range sign- or
  zero-extended); the first block multiplies it by its weight column shifted left by ``s_i``, which is the
  same integer product as container code times weight;
* **valid container codes** for feature ``i`` are the multiples of ``2**s_i`` in
  ``[min_code_i << s_i, max_code_i << s_i]``; stimulus generators :func:`snap` onto them.

Without per-feature types every function here is the identity on ``input_type`` (``s_i = 0``).
"""

from __future__ import annotations

import numpy as np
import torch

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, bits_for_range, quantize_float
from flow.ir.graph import QuantGraph


def feature_types(graph: QuantGraph) -> tuple[FixedType, ...]:
    """The type of each input feature (``input_type`` for all when the graph has no per-feature types)."""
    return graph.input_types or (graph.input_type,) * graph.n_inputs


def shifts(graph: QuantGraph) -> np.ndarray:
    """``s_i = F - f_i``: the left shift from feature ``i``'s codes to container codes (int64 ``[n]``)."""
    return np.asarray([graph.input_type.frac - t.frac for t in feature_types(graph)], dtype=np.int64)


def code_bounds(graph: QuantGraph) -> tuple[np.ndarray, np.ndarray]:
    """Per feature, the smallest and largest container code it can take (int64 ``[n]`` each)."""
    s = shifts(graph)
    types = feature_types(graph)
    lo = np.asarray([t.min_code for t in types], dtype=np.int64) << s
    hi = np.asarray([t.max_code for t in types], dtype=np.int64) << s
    return lo, hi


def quantize_features(graph: QuantGraph, x: torch.Tensor) -> torch.Tensor:
    """Standardized real features ``[N, n]`` -> container codes (int64), each feature in its own type."""
    if not graph.input_types:
        return quantize_float(x, graph.input_type)
    cols = [quantize_float(x[:, i], t) << (graph.input_type.frac - t.frac) for i, t in enumerate(graph.input_types)]
    return torch.stack(cols, dim=1)


def snap(graph: QuantGraph, codes: np.ndarray) -> np.ndarray:
    """Nearest-below valid container codes: clamp each feature to its bounds, clear its low ``s_i`` bits."""
    lo, hi = code_bounds(graph)
    s = shifts(graph)
    c = np.clip(np.asarray(codes, dtype=np.int64), lo, hi)
    return (c >> s) << s


def port_signed(graph: QuantGraph) -> bool:
    return any(t.signed for t in feature_types(graph))


def port_width(graph: QuantGraph) -> int:
    """Bits of each element of the RTL input port: the widest feature code range, in the port's signedness."""
    signed = port_signed(graph)
    return max(bits_for_range(t.min_code, t.max_code, signed) for t in feature_types(graph))


def port_description(graph: QuantGraph) -> str:
    """What the port elements hold, for Verilog comments and reports."""
    if not graph.input_types:
        return graph.input_type.describe()
    return "one type per feature: " + ", ".join(f"[{i}] {t.describe()}" for i, t in enumerate(graph.input_types))


def to_port(graph: QuantGraph, codes: np.ndarray) -> np.ndarray:
    """Container codes ``[N, n]`` -> the codes the RTL port carries (``c_i``); refuses codes off the grid."""
    codes = np.asarray(codes, dtype=np.int64)
    s = shifts(graph)
    if not s.any():
        return codes
    lo, hi = code_bounds(graph)
    bad = ((codes & ((1 << s) - 1)) != 0) | (codes < lo) | (codes > hi)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise ConfigError(
            f"input row {row}, feature {col}: container code {int(codes[row, col])} is not a code of the feature's "
            f"type {feature_types(graph)[col].describe()} (encode inputs with flow.ir.reference.encode_inputs, "
            "or snap generated codes with flow.ir.features.snap)"
        )
    return codes >> s


def from_port(graph: QuantGraph, port: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_port`: feature codes ``c_i`` -> container codes ``c_i << s_i``."""
    return np.asarray(port, dtype=np.int64) << shifts(graph)
