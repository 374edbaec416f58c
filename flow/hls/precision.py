"""``FixedType`` <-> ``ap_fixed`` text, and the per-layer hls4ml precision table of a QuantGraph.

``FixedType(width, frac, signed, rounding, overflow)`` is ``ap_fixed<W, I, Q, O>`` with ``W = width``,
``I = width - frac`` (integer bits including the sign; may be negative or exceed ``W``),
``Q = AP_TRN | AP_RND | AP_RND_CONV`` and ``O = AP_WRAP | AP_SAT``; unsigned types are ``ap_ufixed``.
``AP_RND`` adds half an LSB and truncates (``floor(x + 1/2)``), ``AP_TRN`` truncates (``floor(x)``),
``AP_RND_CONV`` rounds half to even, exactly the three rounding modes of :mod:`flow.ir.fixed`. This
module is the only place that writes that text.

hls4ml roles per layer (hls4ml layer class, then config key -> our type):

* ``Dense``: ``weight``, ``bias``, ``accum``, ``result`` -> ``weight_type``, ``bias_type``,
  ``accum_type``, ``out_type``.
* ``Activation`` (ReLU): ``result`` -> ``out_type``.
* ``BatchNormalization`` (our ScaleShift): ``scale``, ``bias``, ``result`` -> ``scale_type``,
  ``shift_type``, ``out_type``.
* ``Input``: ``result`` -> the graph's ``input_type``.
"""

from __future__ import annotations

import re

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, Overflow, Rounding
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift
from flow.registry import KindTable, Unsupported

INPUT_NAME = "x"  # the hls4ml Input layer: the argument name of the generated torch module's forward()

_AP_RE = re.compile(
    r"^\s*ap_(u?)fixed\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(AP_\w+)\s*)?(?:,\s*(AP_\w+)\s*)?"
    r"(?:,\s*(\d+)\s*)?>\s*$"
)
_ROUND = {Rounding.TRN: "AP_TRN", Rounding.RND: "AP_RND", Rounding.RND_CONV: "AP_RND_CONV"}
_OVERFLOW = {Overflow.WRAP: "AP_WRAP", Overflow.SAT: "AP_SAT"}


def ap_type(t: FixedType) -> str:
    """``FixedType(10, 5, True, RND, SAT)`` -> ``"ap_fixed<10,5,AP_RND,AP_SAT>"`` (modes spelled out)."""
    kind = "ap_fixed" if t.signed else "ap_ufixed"
    return f"{kind}<{t.width},{t.integer},{_ROUND[t.rounding]},{_OVERFLOW[t.overflow]}>"


def parse_ap_type(text: str) -> FixedType:
    """Read ``ap_[u]fixed<W,I[,Q[,O[,N]]]>`` as hls4ml writes it into ``defines.h``.

    Omitted modes are ap_fixed's defaults (``AP_TRN``, ``AP_WRAP``); a saturation-bits field ``N``
    other than 0 and modes other than TRN/RND/RND_CONV and WRAP/SAT have no FixedType and are refused.
    """
    m = _AP_RE.match(text)
    if not m:
        raise ConfigError(f"not an ap_fixed/ap_ufixed type: {text!r}")
    unsigned, w, i, q, o, n = m.groups()
    rounding = {v: k for k, v in _ROUND.items()}.get(q or "AP_TRN")
    overflow = {v: k for k, v in _OVERFLOW.items()}.get(o or "AP_WRAP")
    if rounding is None or overflow is None or (n not in (None, "0")):
        raise ConfigError(f"{text!r} uses a rounding/overflow mode flow does not model")
    width = int(w)
    return FixedType(width, width - int(i), not unsigned, rounding, overflow)


def hls_name(name: str) -> str:
    """A graph layer name as an hls4ml layer name: a C identifier (it prefixes C++ type names)."""
    s = re.sub(r"\W", "_", name)
    return f"l_{s}" if not s or s[0].isdigit() else s


# hls4ml has no argmax layer (its PyTorch frontend converts Linear, BatchNorm1d and activations only).
NO_ARGMAX = (
    "hls4ml has no argmax layer; the hls4ml project ends at the scores before it (a trailing argmax "
    "is left out, see flow.hls.project.hls_graph)"
)

# hls4ml precision keys of each layer kind and the FixedType each must carry.
PRECISION_ROLES = KindTable(
    "hls4ml precision",
    LAYER_CLASSES,
    {
        Dense: lambda g: {"weight": g.weight_type, "bias": g.bias_type, "accum": g.accum_type, "result": g.out_type},
        ScaleShift: lambda g: {"scale": g.scale_type, "bias": g.shift_type, "result": g.out_type},
        ReLU: lambda g: {"result": g.out_type},
        ArgMax: Unsupported(NO_ARGMAX),
    },
)


def layer_roles(layer: Layer) -> dict[str, FixedType]:
    """hls4ml precision keys of one layer and the FixedType each must carry."""
    return PRECISION_ROLES[layer](layer)


def graph_roles(graph: QuantGraph) -> dict[str, dict[str, FixedType]]:
    """``{hls4ml layer name: {role: FixedType}}`` for the input and every layer, in order."""
    roles = {INPUT_NAME: {"result": graph.input_type}}
    for layer in graph.layers:
        name = hls_name(layer.name)
        if name in roles:
            raise ConfigError(f"layer {layer.name!r}: hls4ml name {name!r} is already taken; rename the layer")
        roles[name] = layer_roles(layer)
    return roles


def precision_table(graph: QuantGraph) -> dict[str, dict[str, str]]:
    """The same table as ``ap_fixed`` strings (what goes into the hls4ml config and the results)."""
    return {name: {role: ap_type(t) for role, t in r.items()} for name, r in graph_roles(graph).items()}
