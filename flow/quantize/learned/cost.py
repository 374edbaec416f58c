"""Resource estimates of an integer design, from its weight codes (no synthesis).

For a multiplier-free (shift-add) Dense layer a weight costs nothing when it is 0, and otherwise about one
adder of the input's width per non-zero signed digit beyond shifts (trailing zeros are free):

* ``ebops``: sum over weights of ``significant_bits(code) * width(x_in)``, where ``significant_bits`` is the
  bit length of ``|code|`` without its trailing zeros (HGQ's EBOPs on our codes);
* ``nsd_bops``: the same with the number of non-zero digits of the code's canonical signed-digit form.

``LUT_PER_EBOP`` turns EBOPs into a LUT estimate (HGQ2's EBOPs tracked Yosys LUTs of da4ml RTL within ~15%
on this network; recalibrate against flow's shift-add RTL when it lands).
"""

from __future__ import annotations

import numpy as np

from flow.ir.graph import Dense, QuantGraph

LUT_PER_EBOP = 1.0


def significant_bits(codes: np.ndarray) -> np.ndarray:
    """Bit length of ``|code|`` minus its trailing zeros (0 for a zero code)."""
    a = np.abs(np.asarray(codes, dtype=np.int64))
    out = np.zeros(a.shape, dtype=np.int64)
    nz = a > 0
    v = a[nz]
    tz = np.zeros_like(v)
    while True:
        even = (v & 1) == 0
        if not even.any():
            break
        tz += even
        v = np.where(even, v >> 1, v)
    bl = np.zeros_like(v)
    while (v >> bl).any():
        bl += (v >> bl) > 0
    out[nz] = bl
    return out


def nsd(codes: np.ndarray) -> np.ndarray:
    """Non-zero digits of each code's canonical signed-digit (NAF) form."""
    a = np.abs(np.asarray(codes, dtype=np.int64)).copy()
    n = np.zeros(a.shape, dtype=np.int64)
    while a.any():
        odd = (a & 1) == 1
        digit = np.where(odd, 2 - (a & 3), 0)  # +1 or -1 where odd
        n += odd
        a = (a - digit) >> 1
    return n


def input_widths(graph: QuantGraph, index: int) -> np.ndarray:
    """Width of each value entering layer ``index``: the features' own widths for the first layer of a
    graph with per-feature input types, else the layer's input type width for all (int64 ``[n_in]``)."""
    layer = graph.layers[index]
    if index == 0 and graph.input_types:
        return np.asarray([t.width for t in graph.input_types], dtype=np.int64)
    return np.full(layer.n_in, layer.in_type.width, dtype=np.int64)


def layer_costs(graph: QuantGraph) -> list[dict]:
    """Per Dense layer: weights, non-zero weights, input width (the widest, and each input's when they
    differ), EBOPs ``sum bits(w[o, i]) * width(x_i)``, NSD-BOPs."""
    rows = []
    for k, layer in enumerate(graph.layers):
        if not isinstance(layer, Dense):
            continue
        bx = input_widths(graph, k)
        sb = significant_bits(layer.weight)
        row = {
            "layer": layer.name,
            "weights": int(layer.weight.size),
            "nonzero": int((layer.weight != 0).sum()),
            "in_width": int(bx.max()),
            "ebops": int((sb * bx).sum()),
            "nsd_bops": int((nsd(layer.weight) * bx).sum()),
        }
        if len(set(bx.tolist())) > 1:
            row["in_widths"] = bx.tolist()
        rows.append(row)
    return rows


def ebops(graph: QuantGraph) -> int:
    return sum(r["ebops"] for r in layer_costs(graph))


def lut_estimate(graph: QuantGraph) -> float:
    return LUT_PER_EBOP * ebops(graph)
