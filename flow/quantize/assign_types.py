"""Give every value of a folded network its FixedType, from the config and observed ranges.

``frac = "auto"`` picks the most fractional bits that still hold the largest magnitude seen:
weights, biases, scales and shifts from the parameters themselves; the input and every layer output
from a float64 pass over calibration data (the training set). A bias or shift never gets more
fractional bits than the product it is added to (``frac(x) + frac(w)``), so it adds exactly.

A layer's ``input`` role (MASE's ``data_in``) sets the type entering it; otherwise that boundary has
the producing layer's ``output`` type.
"""

from __future__ import annotations

import torch

from flow.config.quant import QuantConfig, TypeSpec, graph_input_spec, layer_quant, user_roles
from flow.ir.fixed import FixedType
from flow.quantize.fold_batchnorm import FloatLinear, FloatReLU, FloatScaleShift, FoldedLayer
from flow.quantize.qat import LayerTypes, LinearTypes, ReLUTypes, ScaleShiftTypes


def _max_abs(x: torch.Tensor) -> float:
    return float(x.abs().max()) if x.numel() else 0.0


def _run(layer: FoldedLayer, x: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, FloatLinear):
        return x @ layer.weight.T + layer.bias
    if isinstance(layer, FloatScaleShift):
        return x * layer.scale + layer.shift
    return torch.relu(x)


def _capped(spec: TypeSpec, value: torch.Tensor, max_frac: int) -> FixedType:
    t = spec.resolve(_max_abs(value))
    if t.frac > max_frac:
        t = FixedType(t.width, max_frac, t.signed, t.rounding, t.overflow)
    return t


def _kind(layer: FoldedLayer) -> str:
    return {FloatLinear: "linear", FloatScaleShift: "batchnorm", FloatReLU: "relu"}[type(layer)]


def assign_types(
    folded: tuple[FoldedLayer, ...], config: QuantConfig, calib: torch.Tensor
) -> tuple[FixedType, tuple[LayerTypes, ...]]:
    """Returns the graph input type and each layer's types (see the module docstring)."""
    x = calib.double()
    quants = [layer_quant(config, layer.name, _kind(layer)) for layer in folded]
    set_by_user = [user_roles(config, layer.name, _kind(layer)) for layer in folded]
    in_spec = quants[0].input or graph_input_spec(config)
    x_t = in_spec.resolve(_max_abs(x))
    input_type, types = x_t, []
    for i, (layer, q) in enumerate(zip(folded, quants, strict=True)):
        y = _run(layer, x)
        nxt = quants[i + 1].input if i + 1 < len(quants) else None
        out_spec = nxt if nxt is not None and "output" not in set_by_user[i] else q.output
        signed_default = not isinstance(layer, FloatReLU)
        out_t = out_spec.resolve(_max_abs(y), signed_default=signed_default)
        if isinstance(layer, FloatLinear):
            w_t = q.weight.resolve(_max_abs(layer.weight))
            types.append(LinearTypes(w_t, _capped(q.bias, layer.bias, x_t.frac + w_t.frac), out_t))
        elif isinstance(layer, FloatScaleShift):
            s_t = q.scale.resolve(_max_abs(layer.scale))
            types.append(ScaleShiftTypes(s_t, _capped(q.shift, layer.shift, x_t.frac + s_t.frac), out_t))
        else:
            types.append(ReLUTypes(out_t))
        x, x_t = y, out_t
    return input_type, tuple(types)
