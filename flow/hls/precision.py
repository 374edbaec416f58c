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

:func:`layer_roles` also refuses (:class:`~flow.errors.UnsupportedTypeError`) the result types hls4ml's
C simulation cannot round to, see :func:`check_result_casts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from flow.errors import ConfigError, UnsupportedTypeError
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


@dataclass(frozen=True)
class CastSource:
    """A value a kernel assigns to the layer's ``result_t``: ``ap_[u]fixed<width, width - frac>``."""

    what: str
    width: int
    frac: int
    signed: bool
    data: bool = True  # the layer's values (False: a constant the kernel writes)

    def text(self) -> str:
        u = "" if self.signed else "u"
        ap = f"ap_{u}fixed<{self.width},{self.width - self.frac}>"
        return f"{self.what} {u}fixed<{self.width},{self.frac}> ({ap})" if self.data else f"{self.what} ({ap})"


def _scale_shift_sum(layer: ScaleShift) -> CastSource:
    # nnet::normalize: res = x * s + t in ap_fixed's own result types (ap_fixed_base::RType mult, plus)
    x, s, t = layer.in_type, layer.scale_type, layer.shift_type
    p_int, p_frac, p_signed = x.integer + s.integer, layer.product_frac, x.signed or s.signed
    integer = max(p_int + (t.signed and not p_signed), t.integer + (p_signed and not t.signed)) + 1
    frac = max(p_frac, t.frac)
    return CastSource("x * scale + shift", integer + frac, frac, p_signed or t.signed)


# What each kernel assigns to its result type (hls4ml 1.3 nnet_utils): dense_latency casts the
# accumulator, relu assigns its input or the int constant 0 (an ap_fixed<32,32>), normalize the sum.
RESULT_CASTS = KindTable(
    "hls4ml result cast",
    LAYER_CLASSES,
    {
        Dense: lambda g: [CastSource("the accumulator", g.accum_type.width, g.accum_type.frac, g.accum_type.signed)],
        ScaleShift: lambda g: [_scale_shift_sum(g)],
        ReLU: lambda g: [
            CastSource("the input", g.in_type.width, g.in_type.frac, g.in_type.signed),
            CastSource("the constant 0, a C int", 32, 0, True, data=False),
        ],
        ArgMax: Unsupported(NO_ARGMAX),
    },
)


def check_result_casts(layer: Layer) -> None:
    """Refuse a result type hls4ml's C simulation would abort on.

    ``ap_fixed_base::operator=`` (hls4ml's ap_types) rounding ``W2`` bits with ``F2`` fractional bits
    to ``F < F2`` with any mode but ``AP_TRN`` reads source bit ``F2 - F - 1`` (the first dropped one)
    unchecked: if the cast drops more bits than the source has (``F2 - F > W2``) the C-sim aborts in
    ``ap_private::get_bit`` ("Attempting to read bit beyond MSB"). ``AP_TRN`` reads no such bit, and
    double -> ap_fixed (the input, the weights) is guarded, so neither is refused.
    """
    t = layer.out_type
    if t.rounding is Rounding.TRN:
        return
    sources = RESULT_CASTS[layer](layer)
    bad = [s for s in sources if s.frac - t.frac > s.width]
    if not bad:
        return
    src = bad[0]
    need = max(s.frac - s.width for s in sources)
    zero = ", and every value would round to 0 anyway" if src.data else ""
    raise UnsupportedTypeError(
        f"hls4ml cannot simulate layer {layer.name!r}: its result type {t.describe()} ({ap_type(t)}) would round "
        f"{src.text()} by {src.frac - t.frac} bits, more than the {src.width} it has; hls4ml's ap_fixed "
        f"{t.rounding} rounding then reads a bit beyond the MSB and the C simulation aborts (ap_private::get_bit)"
        f"{zero}. Give the result frac >= {need} (e.g. {replace(t, frac=need).describe()}) or TRN rounding"
    )


def layer_roles(layer: Layer) -> dict[str, FixedType]:
    """hls4ml precision keys of one layer and the FixedType each must carry (refusing a result type
    the C simulation cannot round to, :func:`check_result_casts`)."""
    roles = PRECISION_ROLES[layer](layer)
    check_result_casts(layer)
    return roles


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
