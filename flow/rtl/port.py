"""The RTL's input port under per-feature input types (:mod:`flow.ir.features`).

The port carries each feature's own code ``c_i`` (``port_width`` bits per element, the widest feature's
range), not the container code ``c_i << s_i``. So the first layer is rewritten to read port codes: its
weight (or scale) column ``i`` is shifted left by ``s_i``. The product is the same integer,
``c_i * (w << s_i) == (c_i << s_i) * w``, so the accumulator, its fraction bits and everything after it are
unchanged; only the input box of the first block narrows to each feature's code range, and a shift is
free in shift-add arithmetic. Without per-feature types the layers are returned as they are.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flow.errors import ConfigError
from flow.ir.features import feature_types, port_signed, port_width, shifts
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, Layer, QuantGraph, ScaleShift


def _port_type(graph: QuantGraph) -> FixedType:
    t = graph.input_type
    return FixedType(port_width(graph), t.frac, port_signed(graph), t.rounding, t.overflow)


def _shifted(t: FixedType, by: int) -> FixedType:
    return FixedType(t.width + by, t.frac, t.signed, t.rounding, t.overflow)


def _read_port(layer: Layer, graph: QuantGraph) -> Layer:
    s = shifts(graph)
    top = int(s.max())
    if isinstance(layer, Dense):
        w = np.asarray(layer.weight, dtype=np.int64) << s[None, :]
        return replace(layer, in_type=_port_type(graph), weight=w, weight_type=_shifted(layer.weight_type, top))
    if isinstance(layer, ScaleShift):
        sc = np.asarray(layer.scale, dtype=np.int64) << s
        return replace(layer, in_type=_port_type(graph), scale=sc, scale_type=_shifted(layer.scale_type, top))
    raise ConfigError(
        f"per-feature input types need a dense or scaleshift first layer in the RTL; {layer.name!r} is {layer.kind}"
    )


def port_layers(graph: QuantGraph) -> tuple[Layer, ...]:
    """The layers the RTL implements: the graph's, the first one reading port codes."""
    if not graph.input_types:
        return graph.layers
    return (_read_port(graph.layers[0], graph), *graph.layers[1:])


def port_box(graph: QuantGraph) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Per-feature code bounds of the port (the first block's input box); None without per-feature types."""
    if not graph.input_types:
        return None
    types = feature_types(graph)
    return tuple(t.min_code for t in types), tuple(t.max_code for t in types)
