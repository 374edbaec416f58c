"""Degenerate precisions: configured types that make the design meaningless although it still checks
"bit for bit" (every back end computes the same constant).

:func:`degenerate_precisions` returns one line per finding; the quantize stage records them
(``QuantizeResult.warnings``), the build prints them and the report flags them:

* an explicit ``frac`` outside ``0..width`` (a type that keeps no integer bits or no fraction bits of the
  value it was meant for; ``frac = "auto"`` may choose such a frac on purpose and is not flagged);
* a layer that no longer depends on its input: every weight (or scale) code 0, or an output that is
  the same on every test vector (the range collapsed to one code); later layers are then constant too,
  so only the first is reported;
* an unsigned type on a value that goes negative on the test vectors (the graph input, a dense or
  scale-shift output, a weight, bias, scale or shift), which then saturates at 0 or wraps.
"""

from __future__ import annotations

import numpy as np
import torch

from flow.config.quant import QuantConfig, graph_input_spec, layer_quant
from flow.ir.fixed import FixedType, Overflow, apply_overflow
from flow.ir.graph import Dense, QuantGraph, ScaleShift
from flow.ir.reference import check_int64_headroom, encode_inputs, run_layer

MAX_VECTORS = 20_000  # enough to tell a constant layer; keeps the check well under a second

# The roles of a graph layer: (config role, attribute of the graph layer).
_TYPED_ROLES = (
    ("weight", "weight_type"),
    ("bias", "bias_type"),
    ("scale", "scale_type"),
    ("shift", "shift_type"),
    ("output", "out_type"),
)


def _negative_note(t: FixedType) -> str:
    return "clamped to 0" if t.overflow is Overflow.SAT else "wrapped to large positive codes"


# The configuration's kind ([quantization.<kind>]) of each graph layer kind; argmax has no types to set.
CONFIG_KIND = {"dense": "dense", "scaleshift": "batchnorm", "relu": "relu"}


def explicit_frac_warnings(graph: QuantGraph, quant: QuantConfig) -> list[str]:
    """Types whose configured (not auto) frac lies outside 0..width."""
    out = []
    t = graph.input_type
    first = graph.layers[0] if graph.layers else None
    first_q = layer_quant(quant, first.name, CONFIG_KIND[first.kind]) if first and first.kind in CONFIG_KIND else None
    in_spec = (first_q.input if first_q is not None else None) or graph_input_spec(quant)
    if in_spec.frac is not None and not 0 <= t.frac <= t.width:
        out.append(f"graph input: frac {t.frac} outside 0..{t.width} ({t.describe()})")
    for layer in graph.layers:
        kind = CONFIG_KIND.get(layer.kind)
        if kind is None:
            continue
        lq = layer_quant(quant, layer.name, kind)
        for role, attr in _TYPED_ROLES:
            spec, t = getattr(lq, role, None), getattr(layer, attr, None)
            if spec is None or t is None or spec.frac is None:
                continue
            if not 0 <= t.frac <= t.width:
                out.append(f"layer {layer.name!r} {role}: frac {t.frac} outside 0..{t.width} ({t.describe()})")
    return out


def _float_params(folded) -> dict[str, dict[str, np.ndarray]]:
    params: dict[str, dict[str, np.ndarray]] = {}
    for layer in folded or ():
        arrays = {}
        for role in ("weight", "bias", "scale", "shift"):
            v = getattr(layer, role, None)
            if isinstance(v, torch.Tensor):
                arrays[role] = v.detach().cpu().numpy()
        params[layer.name] = arrays
    return params


def degenerate_precisions(
    graph: QuantGraph,
    features: np.ndarray,
    *,
    quant: QuantConfig | None = None,
    folded=None,
) -> tuple[str, ...]:
    """Every degenerate precision of ``graph`` on the raw ``features`` (the test set), one line each.

    ``quant`` (the configuration the types came from) enables the explicit-frac check; ``folded`` (the
    float folded layers the parameters were quantized from) the unsigned-parameter check.
    """
    out: list[str] = []
    if quant is not None:
        out += explicit_frac_warnings(graph, quant)
    floats = _float_params(folded)
    features = np.asarray(features)[:MAX_VECTORS]
    n = len(features)
    if n == 0:
        return tuple(out)
    check_int64_headroom(graph)
    t = graph.input_type
    if not t.signed:
        std = (np.asarray(features, np.float64) - graph.input_mean) / graph.input_std
        neg = int((std < 0).sum())
        if neg:
            out.append(
                f"graph input: unsigned type {t.describe()} but {neg:,} of {std.size:,} standardized input "
                f"values are negative ({_negative_note(t)})"
            )
    x = encode_inputs(graph, features)
    constant = bool((x == x[0]).all()) and n > 1
    if constant:
        out.append(f"graph input: every one of the {n:,} test vectors encodes to the same codes ({t.describe()})")
    for layer in graph.layers:
        for role in ("weight", "bias", "scale", "shift"):
            t = getattr(layer, f"{role}_type", None)
            v = floats.get(layer.name, {}).get(role)
            if t is not None and not t.signed and v is not None and (v < 0).any():
                out.append(
                    f"layer {layer.name!r} {role}: unsigned type {t.describe()} but {int((v < 0).sum())} of "
                    f"{v.size} values are negative ({_negative_note(t)})"
                )
        if isinstance(layer, Dense | ScaleShift) and not layer.out_type.signed:
            pre = _before_requantize(layer, x)
            neg = int((pre < 0).sum())
            if neg:
                out.append(
                    f"layer {layer.name!r} output: unsigned type {layer.out_type.describe()} but the value is "
                    f"negative in {neg:,} of {pre.numel():,} cases ({_negative_note(layer.out_type)})"
                )
        y = run_layer(layer, x)
        if not constant:
            why = _constant_because(layer, y, n)
            if why:
                out.append(f"layer {layer.name!r}: {why}; every later layer is constant too")
                constant = True
        x = y
    return tuple(out)


def _before_requantize(layer: Dense | ScaleShift, x: torch.Tensor) -> torch.Tensor:
    """The exact value a dense or scale-shift layer requantizes to its output type (as the reference)."""
    if isinstance(layer, Dense):
        b = torch.from_numpy(layer.bias) << layer.bias_shift
        return apply_overflow(x @ torch.from_numpy(layer.weight).T + b, layer.accum_type)
    return x * torch.from_numpy(layer.scale) + (torch.from_numpy(layer.shift) << layer.shift_shift)


def _constant_because(layer, y: torch.Tensor, n: int) -> str | None:
    if isinstance(layer, Dense) and not layer.weight.any():
        return f"every weight code is 0 (weight type {layer.weight_type.describe()}): it outputs its bias, a constant"
    if isinstance(layer, ScaleShift) and not layer.scale.any():
        return f"every scale code is 0 (scale type {layer.scale_type.describe()}): it outputs its shift, a constant"
    if n > 1 and bool((y == y[0]).all()):
        if layer.kind == "argmax":
            return f"the decision is class {int(y[0, 0])} on all {n:,} test vectors"
        t = getattr(layer, "out_type", None)
        of = f" (output type {t.describe()})" if t is not None else ""
        return f"output is the same on all {n:,} test vectors{of}: its range collapsed to one value"
    return None
