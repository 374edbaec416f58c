"""What each layer's requantizer sees: the value it rounds, and its saturation, wrap and tie events.

Every layer with an output requantizer (Dense, ReLU, ScaleShift; not ArgMax) computes a value ``pre``
with ``frac`` fractional bits and writes ``requantize(pre, frac, out_type)`` (:mod:`flow.ir.fixed`):
round (``shifted = shift_round(pre, frac - out.frac)``), then overflow. On given input codes this module
recomputes ``pre`` from each layer's input as :func:`flow.ir.reference.iter_layers` gives it, checks that
requantizing it reproduces the reference's output exactly (so these events are the reference's own), and
derives per vector and neuron:

* ``hi`` / ``lo``: ``shifted`` above ``out_type.max_code`` / below ``min_code`` -- the requantizer clamps
  (SAT) or wraps (WRAP) there. A SAT-to-WRAP change or a bound off by one changes the output exactly on
  such vectors;
* ``tie+`` / ``tie-``: RND with bits dropped and the dropped bits exactly one half (``pre`` positive /
  negative), output not overflowing -- where RND (ties toward +inf) differs from every other rounding;
* ``accum_wrap``: a Dense accumulator whose exact sum left its range (it wraps by design).

:func:`possible` bounds each ``pre`` by interval arithmetic from the input type's range (and a
divisibility argument for ties) and so proves events unreachable; it never claims an event reachable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from flow.ir.features import code_bounds
from flow.ir.fixed import FixedType, Overflow, Rounding, apply_overflow, requantize, shift_round
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift
from flow.ir.reference import iter_layers
from flow.registry import KindTable

EVENTS = ("hi", "lo", "tie+", "tie-")  # per neuron; "hi"/"lo" are saturation (SAT) or wrap (WRAP)


@dataclass(frozen=True)
class Pre:
    """One layer's requantizer input on a batch: ``pre`` (what is requantized), ``raw`` (the same value
    before the accumulator wraps or the ReLU clamps: what a search pushes up or down) and the wrap flags
    of the accumulator (Dense only)."""

    pre: torch.Tensor
    raw: torch.Tensor
    frac: int
    accum_wrap: torch.Tensor | None = None


def _dense(layer: Dense, x: torch.Tensor) -> Pre:
    w = torch.from_numpy(layer.weight)
    b = torch.from_numpy(layer.bias) << layer.bias_shift
    exact = x @ w.T + b
    pre = apply_overflow(exact, layer.accum_type)
    return Pre(pre, exact, layer.product_frac, pre != exact)


def _relu(layer: ReLU, x: torch.Tensor) -> Pre:
    return Pre(x.clamp_min(0), x, layer.in_type.frac)


def _scale_shift(layer: ScaleShift, x: torch.Tensor) -> Pre:
    y = x * torch.from_numpy(layer.scale) + (torch.from_numpy(layer.shift) << layer.shift_shift)
    return Pre(y, y, layer.product_frac)


def _no_requantizer(layer: ArgMax, x: torch.Tensor) -> None:
    """An argmax writes an index: nothing is rounded or saturated."""
    return None


# The requantizer input of each layer kind (``_no_requantizer``: the kind has none).
PRE: KindTable[Callable[[Layer, torch.Tensor], Pre | None]] = KindTable(
    "requantizer events",
    LAYER_CLASSES,
    {Dense: _dense, ReLU: _relu, ScaleShift: _scale_shift, ArgMax: _no_requantizer},
)


def has_requantizer(layer: Layer) -> bool:
    return PRE[layer] is not _no_requantizer


def requant_layers(graph: QuantGraph) -> list[tuple[int, Layer]]:
    """``(index in graph.layers, layer)`` of every layer with an output requantizer."""
    return [(i, layer) for i, layer in enumerate(graph.layers) if has_requantizer(layer)]


def drop_bits(layer: Layer, frac: int) -> int:
    """Bits the requantizer drops (``> 0``) or appends (``<= 0``)."""
    return frac - layer.out_type.frac


@dataclass(frozen=True)
class LayerEvents:
    """Events of one requantizing layer on a batch ``[N, n]`` (boolean tensors)."""

    index: int
    layer: Layer
    pre: torch.Tensor
    raw: torch.Tensor
    shifted: torch.Tensor
    frac: int
    hi: torch.Tensor
    lo: torch.Tensor
    tie_pos: torch.Tensor
    tie_neg: torch.Tensor
    accum_wrap: torch.Tensor | None

    @property
    def out_type(self) -> FixedType:
        return self.layer.out_type

    def flags(self, event: str) -> torch.Tensor:
        return {"hi": self.hi, "lo": self.lo, "tie+": self.tie_pos, "tie-": self.tie_neg}[event]


def _events(index: int, layer: Layer, p: Pre, out: torch.Tensor) -> LayerEvents:
    t = layer.out_type
    if not torch.equal(requantize(p.pre, p.frac, t), out):  # these events must be the reference's own
        raise RuntimeError(f"flow.check.events disagrees with the integer reference on layer {layer.name!r}")
    s = drop_bits(layer, p.frac)
    shifted = shift_round(p.pre, s, t.rounding)
    hi, lo = shifted > t.max_code, shifted < t.min_code
    if t.rounding is Rounding.RND and s > 0:
        tie = ((p.pre & ((1 << s) - 1)) == (1 << (s - 1))) & ~hi & ~lo
    else:
        tie = torch.zeros_like(hi)
    return LayerEvents(
        index, layer, p.pre, p.raw, shifted, p.frac, hi, lo, tie & (p.pre > 0), tie & (p.pre < 0), p.accum_wrap
    )


def layer_events(graph: QuantGraph, codes: np.ndarray | torch.Tensor) -> list[LayerEvents]:
    """Events of every requantizing layer on input ``codes`` ``[N, n_in]``, in layer order."""
    x = torch.as_tensor(np.asarray(codes, dtype=np.int64))
    out = []
    prev = x
    for i, (layer, y) in enumerate(iter_layers(graph, x)):
        p = PRE[layer](layer, prev)
        if p is not None:
            out.append(_events(i, layer, p, y))
        prev = y
    return out


# -- what can happen at all: interval bounds -----------------------------------------------------------


def _interval(layer: Layer, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds of ``pre`` for inputs in ``[lo, hi]`` and each neuron's residue step ``g``: ``pre`` is always
    ``constant + multiple of g`` (``g = 0``: constant), for the tie argument."""
    if isinstance(layer, Dense):
        w = layer.weight.astype(np.int64)
        b = layer.bias.astype(np.int64) << layer.bias_shift
        wp, wn = np.maximum(w, 0), np.minimum(w, 0)
        plo, phi = wp @ lo + wn @ hi + b, wp @ hi + wn @ lo + b
        a = layer.accum_type
        wraps = (plo < a.min_code) | (phi > a.max_code)
        plo, phi = np.where(wraps, a.min_code, plo), np.where(wraps, a.max_code, phi)
        g = np.array([math.gcd(*[int(v) for v in row]) if row.size else 0 for row in w], dtype=np.int64)
        return plo, phi, g
    if isinstance(layer, ScaleShift):
        s = layer.scale.astype(np.int64)
        t = layer.shift.astype(np.int64) << layer.shift_shift
        a, b = s * lo + t, s * hi + t
        return np.minimum(a, b), np.maximum(a, b), np.abs(s)
    if isinstance(layer, ReLU):
        return np.maximum(lo, 0), np.maximum(hi, 0), np.ones_like(lo)
    raise TypeError(layer)


def _constant_part(layer: Layer) -> np.ndarray:
    if isinstance(layer, Dense):
        return layer.bias.astype(np.int64) << layer.bias_shift
    if isinstance(layer, ScaleShift):
        return layer.shift.astype(np.int64) << layer.shift_shift
    return np.zeros(layer.n_out, dtype=np.int64)


def possible(graph: QuantGraph) -> dict[int, dict[str, np.ndarray]]:
    """``{layer index: {event: bool [n_out]}}``: False where the event is proven impossible for any input
    codes of the input type (interval arithmetic, plus divisibility for ties); True means "not excluded"."""
    lo, hi = code_bounds(graph)
    out: dict[int, dict[str, np.ndarray]] = {}
    for i, layer in enumerate(graph.layers):
        t = layer.out_type
        if not has_requantizer(layer):  # an argmax: any index
            lo, hi = np.zeros(layer.n_out, dtype=np.int64), np.full(layer.n_out, t.max_code, dtype=np.int64)
            continue
        plo, phi, g = _interval(layer, lo, hi)
        frac = layer.product_frac if isinstance(layer, Dense | ScaleShift) else layer.in_type.frac
        s = drop_bits(layer, frac)
        slo = shift_round(torch.from_numpy(plo), s, t.rounding).numpy()
        shi = shift_round(torch.from_numpy(phi), s, t.rounding).numpy()
        ev = {"hi": shi > t.max_code, "lo": slo < t.min_code}
        if t.rounding is Rounding.RND and s > 0:
            half, mod = 1 << (s - 1), 1 << s
            c = _constant_part(layer) % mod
            step = np.gcd(g, mod)
            residue_ok = np.where(step == 0, c == half, (half - c) % np.maximum(step, 1) == 0)
            ev["tie+"] = residue_ok & (phi > 0)
            ev["tie-"] = residue_ok & (plo < 0)
        else:
            ev["tie+"] = ev["tie-"] = np.zeros(layer.n_out, dtype=bool)
        out[i] = ev
        if t.overflow is Overflow.SAT:
            lo, hi = np.clip(slo, t.min_code, t.max_code), np.clip(shi, t.min_code, t.max_code)
        elif ev["hi"].any() or ev["lo"].any():
            lo = np.where(ev["hi"] | ev["lo"], t.min_code, slo)
            hi = np.where(ev["hi"] | ev["lo"], t.max_code, shi)
        else:
            lo, hi = slo, shi
    return out
