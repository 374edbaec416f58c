"""Exact comparison of another implementation's outputs with the integer reference.

Back ends (hls4ml C-sim, QONNX execution) return real values. A value ``v`` of type ``t`` is the code
``v * 2**t.frac``; that product is exact in float64 (a power-of-two scale) and must be an integer,
else the back end produced something that is not of type ``t`` at all. Codes are then compared as
int64 with ``==``, never with a tolerance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from flow.errors import MismatchError
from flow.ir.fixed import FixedType
from flow.ir.graph import QuantGraph
from flow.ir.reference import iter_layers


def to_values(codes: np.ndarray, t: FixedType) -> np.ndarray:
    """int64 codes -> float64 values ``code * 2**-frac`` (exact up to 53-bit codes), C-contiguous."""
    return np.ascontiguousarray(np.asarray(codes, dtype=np.int64).astype(np.float64) * 2.0**-t.frac)


def to_codes(values: np.ndarray, t: FixedType, what: str) -> np.ndarray:
    """Values of type ``t`` -> int64 codes; MismatchError if any is off the ``2**-frac`` grid."""
    scaled = np.asarray(values, dtype=np.float64) * 2.0**t.frac
    off = ~np.isfinite(scaled) | (scaled != np.round(scaled))
    if off.any():
        i = np.argwhere(off)[0]
        raise MismatchError(
            f"{what}: output {values[tuple(i)]!r} at index {i.tolist()} is not a value of "
            f"{t.describe()} (scaled by 2**{t.frac} it is not an integer)"
        )
    return scaled.astype(np.int64)


def first_mismatch(got: np.ndarray, ref: np.ndarray) -> tuple[int, np.ndarray]:
    """(number of mismatching vectors, indices of mismatching vectors)."""
    if got.shape != ref.shape:
        raise MismatchError(f"output shape {got.shape} != reference shape {ref.shape}")
    bad = np.flatnonzero((got != ref).any(axis=1))
    return len(bad), bad


def reference_layers(graph: QuantGraph, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Reference output codes of every layer, by graph layer name."""
    return {layer.name: out.numpy() for layer, out in iter_layers(graph, torch.from_numpy(codes))}


def locate(graph: QuantGraph, codes: np.ndarray, layer_codes: Callable[[str], np.ndarray | None]) -> str:
    """First layer whose output differs from the reference on ``codes`` (one vector, shape [1, n_in]).

    ``layer_codes(name)`` returns the other implementation's output codes of that layer, or None if
    it cannot tell. Returns a sentence for the error message ("" if nothing could be localized).
    """
    ref = reference_layers(graph, codes)
    for layer in graph.layers:
        got = layer_codes(layer.name)
        if got is None:
            continue
        got = np.asarray(got).reshape(ref[layer.name].shape)
        if (got != ref[layer.name]).any():
            return (
                f"first differing layer {layer.name!r} ({layer.kind}): got {got[0].tolist()}, "
                f"reference {ref[layer.name][0].tolist()}"
            )
    return "no intermediate layer differs, only the outputs"


def mismatch_error(what: str, got: np.ndarray, ref: np.ndarray, bad: np.ndarray, where: str = "") -> MismatchError:
    """The error for ``bad`` mismatching vectors: how many, the first one's index and both values."""
    i = int(bad[0])
    msg = (
        f"{what} differs from the integer reference on {len(bad)} of {len(ref)} vectors; "
        f"first: vector {i}, got {got[i].tolist()}, reference {ref[i].tolist()}"
    )
    return MismatchError(msg + (f"; {where}" if where else ""))
