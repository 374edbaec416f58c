"""Give every value of a folded network its FixedType, from the config and observed ranges.

``frac = "auto"`` picks the most fractional bits that still hold the largest magnitude seen:
weights, biases, scales and shifts from the parameters themselves; the input and every layer output
from a float64 pass over calibration data (the training set). A bias or shift never gets more
fractional bits than the product it is added to (``frac(x) + frac(w)``), so it adds exactly.

A layer's ``input`` role (MASE's ``data_in``) sets the type entering it; otherwise that boundary has
the producing layer's ``output`` type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from flow.config.quant import LayerQuant, QuantConfig, TypeSpec, graph_input_spec, layer_quant, user_roles
from flow.ir.fixed import FixedType
from flow.ir.graph import index_type
from flow.quantize.fold_batchnorm import (
    FOLDED_CLASSES,
    FloatArgMax,
    FloatLinear,
    FloatReLU,
    FloatScaleShift,
    FoldedLayer,
)
from flow.quantize.qat import ArgMaxTypes, LayerTypes, LinearTypes, ReLUTypes, ScaleShiftTypes
from flow.registry import KindTable


def _max_abs(x: torch.Tensor) -> float:
    return float(x.abs().max()) if x.numel() else 0.0


def _capped(spec: TypeSpec, value: torch.Tensor, max_frac: int) -> FixedType:
    t = spec.resolve(_max_abs(value))
    if t.frac > max_frac:
        t = FixedType(t.width, max_frac, t.signed, t.rounding, t.overflow)
    return t


@dataclass(frozen=True)
class KindRule:
    """How type assignment treats one folded layer kind."""

    kind: str  # the configuration's name of the kind ([quantization.<kind>])
    run: Callable[[Any, torch.Tensor], torch.Tensor]  # float64 forward pass, for the observed ranges
    # (layer, resolved config, input type, output values, output spec) -> the layer's types
    types: Callable[[Any, LayerQuant, FixedType, torch.Tensor, TypeSpec], LayerTypes]


def _linear_types(layer: FloatLinear, q: LayerQuant, x_t: FixedType, y: torch.Tensor, out: TypeSpec) -> LinearTypes:
    w_t = q.weight.resolve(_max_abs(layer.weight))
    return LinearTypes(w_t, _capped(q.bias, layer.bias, x_t.frac + w_t.frac), out.resolve(_max_abs(y)))


def _scale_shift_types(layer: FloatScaleShift, q: LayerQuant, x_t: FixedType, y: torch.Tensor, out: TypeSpec):
    s_t = q.scale.resolve(_max_abs(layer.scale))
    return ScaleShiftTypes(s_t, _capped(q.shift, layer.shift, x_t.frac + s_t.frac), out.resolve(_max_abs(y)))


def _relu_types(layer: FloatReLU, q: LayerQuant, x_t: FixedType, y: torch.Tensor, out: TypeSpec) -> ReLUTypes:
    return ReLUTypes(out.resolve(_max_abs(y), signed_default=False))


RULES = KindTable(
    "type assignment",
    FOLDED_CLASSES,
    {
        FloatLinear: KindRule("dense", lambda m, x: x @ m.weight.T + m.bias, _linear_types),
        FloatScaleShift: KindRule("batchnorm", lambda m, x: x * m.scale + m.shift, _scale_shift_types),
        FloatReLU: KindRule(
            "relu",
            lambda m, x: torch.relu(x),
            lambda m, q, x_t, y, out: ReLUTypes(out.resolve(_max_abs(y), signed_default=False)),
        ),
        # The decision passes the scores through in float (see flow.nn_layers.ArgMaxHead); its output
        # type is the class index, whatever the configuration says.
        FloatArgMax: KindRule("argmax", lambda m, x: x, lambda m, q, x_t, y, out: ArgMaxTypes(index_type(y.shape[1]))),
    },
)


def assign_types(
    folded: tuple[FoldedLayer, ...], config: QuantConfig, calib: torch.Tensor
) -> tuple[FixedType, tuple[LayerTypes, ...]]:
    """Returns the graph input type and each layer's types (see the module docstring)."""
    x = calib.double()
    rules = [RULES[layer] for layer in folded]
    quants = [layer_quant(config, layer.name, rule.kind) for layer, rule in zip(folded, rules, strict=True)]
    set_by_user = [user_roles(config, layer.name, rule.kind) for layer, rule in zip(folded, rules, strict=True)]
    in_spec = quants[0].input or graph_input_spec(config)
    x_t = in_spec.resolve(_max_abs(x))
    input_type, types = x_t, []
    for i, (layer, rule, q) in enumerate(zip(folded, rules, quants, strict=True)):
        y = rule.run(layer, x)
        nxt = quants[i + 1].input if i + 1 < len(quants) else None
        out_spec = nxt if nxt is not None and "output" not in set_by_user[i] else q.output
        t = rule.types(layer, q, x_t, y, out_spec)
        types.append(t)
        x, x_t = y, t.out
    return input_type, tuple(types)
