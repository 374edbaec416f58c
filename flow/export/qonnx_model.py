"""A QuantGraph as a QONNX model whose execution equals the integer reference exactly.

QONNX carries fixed-point values as floats: ``Quant(x, scale=2**-frac, zeropt=0, bitwidth=W, signed,
narrow=0, rounding_mode)`` computes ``clip(round_mode(x / scale), min, max) * scale`` (qonnx 1.0.0,
``qonnx.custom_op.general.intquant``; clipping before rounding is the same as after, the bounds being
integers). Two facts shape the graph:

* qonnx's rounding modes are ROUND/HALF_EVEN (ties to even), HALF_UP (ties away from zero), FLOOR,
  CEIL, ... -- none is our ``RND`` = ``floor(x + 1/2)`` (ties toward +inf: -2.5 -> -2). So ``RND`` is
  ``Add(x, 2**-(frac+1))`` then ``Quant(FLOOR)``; ``TRN`` is ``Quant(FLOOR)``; ``RND_CONV`` (ties to
  even) is ``Quant(ROUND)`` itself (ONNX ``Round`` before a WRAP).
* ``Quant`` always saturates, so ``WRAP`` types get explicit code arithmetic before their (then
  identity) Quant: ``c = Floor(x * 2**frac [+ 1/2])``, ``c -= 2**W * Floor((c - min) * 2**-W)``.
  Accumulators get it only if their worst case could wrap (``exact_accum_type`` is wider).

qonnx executes ``Quant`` in numpy and stores its output as **float32** (exact for codes of at most 24
bits, so every Quant-ed type must be at most 24 bits wide); standard ops run in onnxruntime in the
graph's compute type. That is float32 when every intermediate code (sums, products, the half-LSB
add) fits in 24 bits, else float64 with a ``Cast`` after each Quant (53 bits; wider is refused).
Every op is then exact: power-of-two scalings, and sums/products of integers that fit the mantissa.
The graph input is float64 so that real-valued (standardized) features quantize exactly like
:func:`flow.ir.fixed.quantize_float`.

Layers: ``Dense`` -> ``MatMul(x, Quant(W^T)) + Quant(b)`` [wrap] -> quantize to out_type;
``ReLU`` -> ``Relu`` -> quantize; ``ScaleShift`` -> ``Mul(x, Quant(s)) + Quant(t)`` -> quantize;
``ArgMax`` -> ``ArgMax`` (first maximum) -> ``Cast`` -> quantize to the index type.
Each layer's output tensor is named ``<layer>_out``; the graph input is ``x``. Per-feature input types
(:attr:`flow.ir.graph.QuantGraph.input_types`) quantize ``x`` with a per-feature clip and scale
(:func:`_quantize_features`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, Overflow, Rounding, bits_for_range
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.registry import KindTable

QONNX_DOMAIN = "qonnx.custom_op.general"
OPSET = 13
QONNX_OPSET = 1
INPUT = "x"
QUANT_MAX_BITS = 24  # float32 mantissa: qonnx stores Quant outputs as float32
_MANTISSA = {TensorProto.FLOAT: 24, TensorProto.DOUBLE: 53}
_NP = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64}


def output_name(layer: Layer) -> str:
    return f"{layer.name}_out"


def _signed_bits(lo: int, hi: int) -> int:
    return bits_for_range(min(lo, 0), max(hi, 0), signed=True)


def _dense_exact(layer: Dense) -> FixedType:
    return exact_accum_type(layer.in_type, layer.weight, layer.weight_type, layer.bias, layer.bias_type)


def _scale_shift_bits(layer: ScaleShift) -> int:
    x = (layer.in_type.min_code, layer.in_type.max_code)
    prods = [a * int(s) for s in layer.scale for a in x]
    shift = [int(t) << layer.shift_shift for t in layer.shift]
    return _signed_bits(min(prods) + min(shift, default=0), max(prods) + max(shift, default=0))


def intermediate_bits(layer: Layer) -> int:
    """Signed bits of the largest intermediate code of ``layer``: its exact sum/product, +1 for the
    half-LSB add and the wrap arithmetic, + the left shift when ``out_type`` has more fraction bits."""
    kind = EXPORTERS[layer]
    return kind.exact_bits(layer) + 1 + max(0, layer.out_type.frac - kind.grid_frac(layer))


def compute_type(graph: QuantGraph) -> int:
    """``TensorProto.FLOAT`` if every intermediate fits 24 bits, ``DOUBLE`` if 53; else ConfigError."""
    for name, t in _quantized_types(graph):
        if t.width > QUANT_MAX_BITS:
            raise ConfigError(
                f"{name}: {t.describe()} is wider than {QUANT_MAX_BITS} bits; qonnx stores "
                "Quant outputs as float32, which could not hold it exactly"
            )
    need = max(intermediate_bits(layer) for layer in graph.layers)
    for elem in (TensorProto.FLOAT, TensorProto.DOUBLE):
        if need <= _MANTISSA[elem]:
            return elem
    raise ConfigError(f"intermediate values need {need} bits; float64 holds 53 exactly")


def _quantized_types(graph: QuantGraph):
    yield "input", graph.input_type
    for layer in graph.layers:
        for role in ("weight_type", "bias_type", "scale_type", "shift_type", "out_type"):
            if hasattr(layer, role):
                yield f"layer {layer.name!r} {role}", getattr(layer, role)


@dataclass
class _Builder:
    """Collects nodes, initializers and value infos (every tensor gets one, as qonnx wants)."""

    batch: int
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    infos: dict = field(default_factory=dict)
    counter: int = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, hint: str, value, elem: int) -> str:
        name = self.fresh(hint)
        arr = np.asarray(value, dtype=_NP[elem])
        self.inits.append(numpy_helper.from_array(arr, name))
        self.infos[name] = (elem, list(arr.shape))
        return name

    def op(
        self, op_type: str, inputs: list[str], elem: int, shape: list, out: str | None = None, domain: str = "", **attrs
    ) -> str:
        out = out or self.fresh(op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=f"{op_type}_{len(self.nodes)}", domain=domain, **attrs)
        )
        self.infos[out] = (elem, shape)
        return out


def _quant(b: _Builder, x: str, t: FixedType, shape: list, mode: str, out: str | None = None) -> str:
    """``Quant`` node of type ``t`` (float32 output)."""
    f = TensorProto.FLOAT
    args = [x, b.const("scale", 2.0**-t.frac, f), b.const("zeropt", 0.0, f), b.const("bitwidth", float(t.width), f)]
    return b.op("Quant", args, f, shape, out, domain=QONNX_DOMAIN, signed=int(t.signed), narrow=0, rounding_mode=mode)


def _wrap_codes(
    b: _Builder, v: str, t: FixedType, shape: list, elem: int, round_half: bool, to_even: bool = False
) -> str:
    """Values -> ``t``-grid values wrapped into ``t.width`` bits (before a Quant that is then exact).
    ``to_even``: round half to even (ONNX ``Round``) instead of floor."""
    c = b.op("Mul", [v, b.const("k", 2.0**t.frac, elem)], elem, shape)
    if round_half:
        c = b.op("Add", [c, b.const("half", 0.5, elem)], elem, shape)
    c = b.op("Round" if to_even else "Floor", [c], elem, shape)
    k = b.op(
        "Mul",
        [b.op("Sub", [c, b.const("min", float(t.min_code), elem)], elem, shape), b.const("k", 2.0**-t.width, elem)],
        elem,
        shape,
    )
    c = b.op(
        "Sub",
        [c, b.op("Mul", [b.op("Floor", [k], elem, shape), b.const("k", 2.0**t.width, elem)], elem, shape)],
        elem,
        shape,
    )
    return b.op("Mul", [c, b.const("k", 2.0**-t.frac, elem)], elem, shape)


def _to_compute(b: _Builder, q: str, shape: list, elem: int) -> str:
    return q if elem == TensorProto.FLOAT else b.op("Cast", [q], elem, shape, to=elem)


def _requantize(
    b: _Builder, v: str, grid_frac: float, t: FixedType, shape: list, elem: int, out: str | None = None
) -> str:
    """Values on a ``2**-grid_frac`` grid (``inf``: real) -> type ``t``: round, then overflow."""
    drops = grid_frac > t.frac
    round_half = drops and t.rounding is Rounding.RND
    to_even = drops and t.rounding is Rounding.RND_CONV
    if t.overflow is Overflow.WRAP:
        v = _wrap_codes(b, v, t, shape, elem, round_half, to_even)
    elif round_half:
        v = b.op("Add", [v, b.const("half_lsb", 2.0 ** -(t.frac + 1), elem)], elem, shape)
    return _quant(b, v, t, shape, "ROUND" if to_even else "FLOOR", out)


def _quantize_features(b: _Builder, types: tuple[FixedType, ...], shape: list) -> str:
    """Real features -> each feature in its own type (per-feature input types), as ``x_quant``.

    ``Quant`` takes one bit width for the tensor (qonnx 1.0.0 compares it to 1), so the per-feature ranges
    are a clip first: ``Min(Max(x, min_i), max_i)`` with the bounds on each feature's grid, then (RND)
    ``+ 2**-(f_i+1)``, then one ``Quant`` with per-feature ``scale = 2**-f_i`` and the widest width. Clipping
    a real value to grid bounds before rounding equals saturating the rounded code, for every rounding mode
    (the bounds are codes). Per-feature WRAP types have no such form and are refused.
    """
    if any(t.overflow is not Overflow.SAT for t in types) or len({(t.rounding, t.signed) for t in types}) > 1:
        raise ConfigError(
            "QONNX export: per-feature input types must all saturate (SAT) and share one rounding mode and "
            "signedness; got " + ", ".join(t.describe() for t in types)
        )
    d = TensorProto.DOUBLE
    v = b.op("Max", [INPUT, b.const("feature_min", [t.min_value for t in types], d)], d, shape)
    v = b.op("Min", [v, b.const("feature_max", [t.max_value for t in types], d)], d, shape)
    t0 = types[0]
    if t0.rounding is Rounding.RND:
        v = b.op("Add", [v, b.const("half_lsb", [2.0 ** -(t.frac + 1) for t in types], d)], d, shape)
    f = TensorProto.FLOAT
    args = [
        v,
        b.const("scale", [2.0**-t.frac for t in types], f),
        b.const("zeropt", 0.0, f),
        b.const("bitwidth", float(max(t.width for t in types)), f),
    ]
    mode = "ROUND" if t0.rounding is Rounding.RND_CONV else "FLOOR"
    return b.op(
        "Quant", args, f, shape, "x_quant", domain=QONNX_DOMAIN, signed=int(t0.signed), narrow=0, rounding_mode=mode
    )


def _param(b: _Builder, hint: str, codes: np.ndarray, t: FixedType, elem: int) -> str:
    q = _quant(
        b, b.const(hint, codes.astype(np.float64) * 2.0**-t.frac, TensorProto.FLOAT), t, list(codes.shape), "ROUND"
    )
    return _to_compute(b, q, list(codes.shape), elem)


def _dense(b: _Builder, layer: Dense, x: str, elem: int, shape: list) -> str:
    w = _param(b, f"{layer.name}_weight", layer.weight.T, layer.weight_type, elem)
    bias = _param(b, f"{layer.name}_bias", layer.bias, layer.bias_type, elem)
    acc = b.op("Add", [b.op("MatMul", [x, w], elem, shape), bias], elem, shape)
    if _dense_exact(layer).width > layer.accum_type.width:
        acc = _wrap_codes(b, acc, layer.accum_type, shape, elem, round_half=False)
    return acc


def _scale_shift(b: _Builder, layer: ScaleShift, x: str, elem: int, shape: list) -> str:
    s = _param(b, f"{layer.name}_scale", layer.scale, layer.scale_type, elem)
    t = _param(b, f"{layer.name}_shift", layer.shift, layer.shift_type, elem)
    return b.op("Add", [b.op("Mul", [x, s], elem, shape), t], elem, shape)


def _relu(b: _Builder, layer: ReLU, x: str, elem: int, shape: list) -> str:
    return b.op("Relu", [x], elem, shape)


def _argmax(b: _Builder, layer: ArgMax, x: str, elem: int, shape: list) -> str:
    """ONNX ``ArgMax`` (keepdims, first maximum: ``select_last_index = 0``), as values of the index type."""
    index = b.op("ArgMax", [x], TensorProto.INT64, shape, axis=1, keepdims=1, select_last_index=0)
    return b.op("Cast", [index], elem, shape, to=elem)


@dataclass(frozen=True)
class QonnxKind:
    """How one layer kind becomes QONNX nodes."""

    emit: Callable  # (builder, layer, input, compute type, output shape) -> values before requantization
    exact_bits: Callable[[Layer], int]  # signed bits of its largest exact intermediate code
    grid_frac: Callable[[Layer], int]  # fractional bits of those values (the requantizer's input frac)


EXPORTERS = KindTable(
    "QONNX export",
    LAYER_CLASSES,
    {
        Dense: QonnxKind(_dense, lambda g: _dense_exact(g).width, lambda g: g.product_frac),
        ScaleShift: QonnxKind(_scale_shift, _scale_shift_bits, lambda g: g.product_frac),
        ReLU: QonnxKind(_relu, lambda g: g.in_type.width + 1, lambda g: g.in_type.frac),
        ArgMax: QonnxKind(_argmax, lambda g: g.out_type.width + 1, lambda g: 0),
    },
)


def _layer(b: _Builder, layer: Layer, x: str, elem: int) -> str:
    """One layer reading ``x`` (compute type); returns its output Quant (float32) ``<layer>_out``."""
    shape = [b.batch, layer.n_out]
    kind = EXPORTERS[layer]
    v = kind.emit(b, layer, x, elem, shape)
    return _requantize(b, v, kind.grid_frac(layer), layer.out_type, shape, elem, out=output_name(layer))


def build_qonnx(graph: QuantGraph, batch: int = 1) -> onnx.ModelProto:
    """The QONNX ``ModelProto`` of ``graph`` for a fixed ``batch`` (qonnx wants every shape known)."""
    elem = compute_type(graph)
    b = _Builder(batch)
    in_shape = [batch, graph.n_inputs]
    b.infos[INPUT] = (TensorProto.DOUBLE, in_shape)
    if graph.input_types:
        q = _quantize_features(b, graph.input_types, in_shape)
    else:
        q = _requantize(b, INPUT, float("inf"), graph.input_type, in_shape, TensorProto.DOUBLE, out="x_quant")
    for layer in graph.layers:
        q = _layer(b, layer, _to_compute(b, q, [batch, layer.n_in], elem), elem)
    out = output_name(graph.layers[-1])
    inputs = [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, in_shape)]
    outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, graph.n_outputs])]
    hidden = [helper.make_tensor_value_info(n, e, s) for n, (e, s) in b.infos.items() if n not in (INPUT, out)]
    g = helper.make_graph(b.nodes, graph.name, inputs, outputs, initializer=b.inits, value_info=hidden)
    model = helper.make_model(
        g,
        producer_name="flow",
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(QONNX_DOMAIN, QONNX_OPSET)],
    )
    helper.set_model_props(
        model,
        {
            "flow.compute_type": TensorProto.DataType.Name(elem),
            "flow.output_frac": str(graph.output_type.frac),
            # The standardization the input expects (read back when the file is a model source).
            "flow.input_mean": json.dumps([float(v) for v in graph.input_mean]),
            "flow.input_std": json.dumps([float(v) for v in graph.input_std]),
        },
    )
    return model
