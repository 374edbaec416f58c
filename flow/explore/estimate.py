"""The shift-add cost model's estimate of a graph, for explore (kept out of the quantize stage, whose input
hash would otherwise follow every change of the RTL generator)."""

from __future__ import annotations

from flow.ir.graph import Dense, QuantGraph, ReLU


def shiftadd_lut(graph: QuantGraph, max_levels: int = 5) -> dict | None:
    """LUT/FF estimate of the multiplier-free RTL (flow.rtl.shiftadd's adder graphs and cost model), each
    Dense solved with its ReLU fused and the reachable input ranges chained; ``None`` if that package is
    not available. A few seconds for jsc-medium. Called by ``flow explore``, not by the quantize stage (whose
    input hash would then follow every change of the RTL generator)."""
    try:
        from flow.rtl.port import port_box, port_layers
        from flow.rtl.shiftadd.cost import estimate
        from flow.rtl.shiftadd.layers import layer_problem, solve_problem
        from flow.rtl.shiftadd.schedule import schedule
    except ImportError:
        return None
    # the first layer as the RTL builds it: on port codes when the features have their own types
    layers, rows = list(port_layers(graph)), []
    lo, hi = port_box(graph) or (None, None)
    i = 0
    while i < len(layers):
        layer = layers[i]
        if not isinstance(layer, Dense):
            i += 1
            continue
        relu = layers[i + 1] if i + 1 < len(layers) and isinstance(layers[i + 1], ReLU) else None
        p = layer_problem(layer, relu, lo, hi)
        ag = solve_problem(p)
        c = estimate(ag, schedule(ag, max_levels))
        rows.append({"layer": layer.name, "lut": round(c.lut), "ff": c.ff, "adders": c.adders})
        lo, hi = p.out_lo, p.out_hi
        i += 2 if relu else 1
    return {"lut": sum(r["lut"] for r in rows), "ff": sum(r["ff"] for r in rows), "layers": rows}
