"""From what :mod:`flow.frontends.onnx_graph` read to flow's objects: the float ``nn.Sequential``
(dequantized weights for a quantized file) and, for a quantized file, the integer QuantGraph."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from flow.errors import ConfigError
from flow.frontends.onnx_graph import DEFAULT_INPUT, Parsed, Step, _layer_names
from flow.ir.fixed import FixedType, Rounding, bits_for_range
from flow.ir.graph import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type


def _bn(n: int, gamma, beta, mean, var, eps: float) -> nn.BatchNorm1d:
    m = nn.BatchNorm1d(n, eps=eps)
    with torch.no_grad():
        m.weight.copy_(torch.as_tensor(gamma, dtype=torch.float32))
        m.bias.copy_(torch.as_tensor(beta, dtype=torch.float32))
        m.running_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        m.running_var.copy_(torch.as_tensor(var, dtype=torch.float32))
    return m


def float_module(parsed: Parsed, path) -> nn.Sequential:
    """The network as Linear/BatchNorm1d/ReLU with the file's (dequantized) values."""
    _layer_names(parsed.steps)
    mods: OrderedDict[str, nn.Module] = OrderedDict()
    width = None
    for s in parsed.steps:
        if s.kind == "dense":
            w = s.weight.values
            n_out, n_in = w.shape
            if width is not None and n_in != width:
                raise ConfigError(f"{path}: layer {s.name!r} reads {n_in} values but {width} arrive")
            lin = nn.Linear(n_in, n_out)
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
                b = s.bias.values.reshape(-1) if s.bias is not None else np.zeros(n_out)
                lin.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
            mods[s.name] = lin
            width = n_out
        elif s.kind == "relu":
            mods[s.name] = nn.ReLU()
        elif s.kind == "batchnorm":
            bn = s.bn
            mods[s.name] = _bn(len(bn["gamma"]), bn["gamma"], bn["beta"], bn["mean"], bn["var"], bn["eps"])
            width = len(bn["gamma"])
        else:  # scaleshift: x * s + t as a BatchNorm1d with mean 0, var 1, eps 0 (scale exactly s)
            sc = s.weight.values.reshape(-1)
            sh = s.bias.values.reshape(-1) if s.bias is not None else np.zeros_like(sc)
            mods[s.name] = _bn(len(sc), sc, sh, np.zeros_like(sc), np.ones_like(sc), 0.0)
            width = len(sc)
    return nn.Sequential(mods).eval()


def _float_bias(s: Step, frac: int, notes: list[str]) -> tuple[np.ndarray, FixedType]:
    """A bias given as floats in a quantized model: exact at the accumulator's LSB if it is on that
    grid, else rounded (half to even) onto it, with a note."""
    b = s.bias.values.reshape(-1).astype(np.float64) * 2.0**frac
    codes = np.round(b)
    exact = bool(np.all(codes == b))
    lo, hi = int(codes.min(initial=0)), int(codes.max(initial=0))
    t = FixedType(bits_for_range(min(lo, 0), max(hi, 0), True), frac, True, "RND_CONV", "SAT")
    if exact:
        notes.append(f"layer {s.name!r}: float bias is on the accumulator grid, kept exact as {t.describe()}")
    else:
        worst = float(np.max(np.abs(codes - b))) * 2.0**-frac
        notes.append(
            f"layer {s.name!r}: float bias (not quantized in the file) quantized to {t.describe()} "
            f"(the accumulator's LSB; largest change {worst:.3g}); quantize it in the file for a bit-exact import"
        )
    return codes.astype(np.int64), t


def _dense(s: Step, x_t: FixedType, path, notes: list[str]) -> Dense:
    if s.weight.codes is None:
        raise ConfigError(
            f"{path}: layer {s.name!r}: float weights in a quantized model; put a Quant on the weights, or "
            "export the model without any Quant for flow to quantize"
        )
    w, w_t = s.weight.codes, s.weight.t
    pf = x_t.frac + w_t.frac
    if s.bias is None:
        b, b_t = np.zeros(w.shape[0], dtype=np.int64), FixedType(2, pf, True, Rounding.RND, "SAT")
    elif s.bias.codes is None:
        b, b_t = _float_bias(s, pf, notes)
    else:
        b, b_t = s.bias.codes.reshape(-1), s.bias.t
        if b_t.frac > pf:
            raise ConfigError(
                f"{path}: layer {s.name!r}: bias scale 2^-{b_t.frac} is finer than input x weight scale 2^-{pf}; "
                "use a bias scale of input scale x weight scale (Brevitas: Int16Bias / Int32Bias)"
            )
    acc = exact_accum_type(x_t, w, w_t, b, b_t)
    return Dense(s.name, x_t, w_t, b_t, acc, s.out or acc, w, b)


def _scale_shift(s: Step, x_t: FixedType, path) -> ScaleShift:
    if s.weight.codes is None or (s.bias is not None and s.bias.codes is None):
        raise ConfigError(f"{path}: layer {s.name!r}: Mul/Add constants of a quantized model must be Quant-ed")
    sc, s_t = s.weight.codes.reshape(-1), s.weight.t
    pf = x_t.frac + s_t.frac
    if s.bias is None:
        sh, t_t = np.zeros_like(sc), FixedType(2, pf, True, Rounding.RND, "SAT")
    else:
        sh, t_t = s.bias.codes.reshape(-1), s.bias.t
    prods = [a * int(v) for v in sc for a in (x_t.min_code, x_t.max_code)]
    shifted = [int(v) << (pf - t_t.frac) for v in sh]
    lo, hi = min(prods) + min(shifted, default=0), max(prods) + max(shifted, default=0)
    exact = FixedType(bits_for_range(min(lo, 0), max(hi, 0), True), pf, True, "TRN", "WRAP")
    return ScaleShift(s.name, x_t, s_t, t_t, s.out or exact, sc, sh)


def quant_graph(parsed: Parsed, name: str, path, notes: list[str]) -> QuantGraph:
    """The integer graph of a quantized file (standardization placeholders: mean 0, std 1)."""
    _layer_names(parsed.steps)
    x_t = parsed.input_type
    if x_t is None:
        x_t = DEFAULT_INPUT
        notes.append(
            f"no Quant on the input: input type {x_t.describe()} chosen (standardized features within +-16); "
            "put a Quant (Brevitas: QuantIdentity) on the input to set it"
        )
    input_type = x_t
    layers = []
    prev_kind = None
    for s in parsed.steps:
        if s.kind == "dense":
            layer = _dense(s, x_t, path, notes)
        elif s.kind == "relu":
            layer = ReLU(s.name, x_t, s.out or x_t, layers[-1].n_out if layers else _n_in(parsed))
        elif s.kind == "batchnorm":
            raise ConfigError(
                f"{path}: layer {s.name!r}: BatchNormalization in a quantized model has float scale and shift; "
                "fold it into the Gemm before quantizing (Brevitas: train with the BN merged), or export a float "
                "ONNX for flow to fold and quantize"
            )
        else:
            if prev_kind == "dense":
                raise ConfigError(
                    f"{path}: layer {s.name!r}: a Mul/Add scale-and-shift right after a dense layer; fold it into "
                    "the dense layer's weights"
                )
            layer = _scale_shift(s, x_t, path)
        layer = _no_drop_rounding(layer)
        layers.append(layer)
        x_t, prev_kind = layer.out_type, s.kind
    n_in = layers[0].n_in
    return QuantGraph(
        name,
        input_type,
        tuple(layers),
        (),
        (),
        np.zeros(n_in, dtype=np.float64),
        np.ones(n_in, dtype=np.float64),
    )


def _no_drop_rounding(layer):
    """A requantize that drops no bits never rounds: its type records flow's default (RND), so that a
    file written by flow reads back to the same graph whatever mode its Quant names."""
    from dataclasses import replace

    grid = layer.product_frac if hasattr(layer, "product_frac") else layer.in_type.frac
    t = layer.out_type
    if grid <= t.frac and t.rounding is not Rounding.RND and t.overflow.value == "SAT":
        return replace(layer, out_type=t.with_modes(Rounding.RND, t.overflow))
    return layer


def _n_in(parsed: Parsed) -> int:
    for s in parsed.steps:
        if s.kind == "dense":
            return int(s.weight.values.shape[1])
        if s.weight is not None:
            return int(s.weight.values.size)
    raise ConfigError("cannot tell the number of inputs")
