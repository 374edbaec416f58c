"""Corner vectors and coverage, on graphs whose answers are known (no simulator needed)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from flow.check.corners import HIT, UNREACHABLE, generate_corners
from flow.check.coverage import coverage, findings
from flow.check.events import layer_events, possible
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph
from flow.ir.reference import forward
from flow.ir.synthetic import random_codes, random_graph


def _hand_graph() -> QuantGraph:
    """x (fixed<4,0>, codes -8..7) -> Dense: y0 = x0 + x1, y1 = x0 / 2, output fixed<3,0> RND/SAT (-4..3).

    Weights have frac 1, so the accumulator has frac 1 and the output drops one bit: ties at odd sums."""
    f = FixedType
    x_t, w_t, b_t = f(4, 0, True, "RND", "SAT"), f(4, 1, True), f(4, 1, True)
    acc_t = f(10, 1, True)
    out_t = f(3, 0, True, "RND", "SAT")  # codes -4..3
    w = np.array([[2, 2], [1, 0]])  # y0 = x0 + x1 (acc 2x0+2x1, even: no ties); y1 = x0 / 2 (ties when x0 odd)
    dense = Dense("fc", x_t, w_t, b_t, acc_t, out_t, w, np.zeros(2, dtype=np.int64))
    return QuantGraph("hand", x_t, (dense,), ("a", "b"), ("x0", "x1"), np.zeros(2), np.ones(2))


def test_events_and_coverage_on_a_hand_made_graph():
    g = _hand_graph()
    codes = np.array([[3, 2], [-8, -8], [1, 0], [-3, 0], [0, 0]])
    # y0 = x0 + x1: 5 (> 3: hi), -16 (lo), 1, -3, 0.   y1 = x0 / 2 RND: 1.5 -> 2 (tie+), -4, 0.5 -> 1 (tie+),
    # -1.5 -> -1 (tie-), 0.
    (e,) = layer_events(g, codes)
    assert e.hi[:, 0].tolist() == [True, False, False, False, False]
    assert e.lo[:, 0].tolist() == [False, True, False, False, False]
    assert e.tie_pos[:, 1].tolist() == [True, False, True, False, False]
    assert e.tie_neg[:, 1].tolist() == [False, False, False, True, False]
    can = possible(g)[0]
    assert can["hi"].tolist() == [True, True]  # y1 = 7 / 2 = 3.5 rounds to 4 > 3
    assert can["lo"].tolist() == [True, False]  # y1 >= -8 / 2 = -4, the lowest code: never below
    assert can["tie+"].tolist() == [False, True] and can["tie-"].tolist() == [False, True]  # y0 is never a tie
    (rec,) = coverage(g, codes)
    assert rec["neurons"] == 2 and rec["mode"] == "RND/SAT" and rec["vectors"] == 5
    assert rec["hi"]["hit"] == 1 and rec["lo"]["hit"] == 1
    assert rec["tie+"]["hit"] == 1 and rec["tie-"]["hit"] == 1
    assert rec["events"] == {"saturations": 2, "wraps": 0, "accum_wraps": 0, "ties": 3}
    # Nothing is known reachable without the corner search, so nothing missed is an error, only a warning.
    errors, warnings = findings([rec])
    assert errors == [] and warnings  # y1's upper bound (x0 = 7: 3.5 -> 4 > 3) was not exercised


def test_a_reachable_bound_no_vector_hit_is_an_error():
    g = _hand_graph()
    corners = generate_corners(g, seed=1)
    (rec,) = coverage(g, np.array([[0, 0]]), corners.targets)
    errors, _ = findings([rec])
    assert any("upper saturation is reachable" in e for e in errors)
    (full,) = coverage(g, corners.codes, corners.targets)
    assert findings([full])[0] == []


def test_corner_search_is_deterministic_and_reaches_every_bound_of_a_random_network():
    g = random_graph((16, 8, 5), seed=3, weight_bits=6)
    a, b = generate_corners(g, seed=7), generate_corners(g, seed=7)
    assert np.array_equal(a.codes, b.codes) and a.targets == b.targets
    dense_bounds = [t for t in a.targets if t.event in ("hi", "lo") and t.layer.startswith("fc")]
    # every saturation bound of every neuron is either reached or proven impossible: none left open
    assert dense_bounds and all(t.status in (HIT, UNREACHABLE) for t in dense_bounds)
    assert sum(t.status == HIT for t in dense_bounds) > 0.9 * len(dense_bounds)
    # Every HIT target is hit by the row it names.
    events = {e.index: e for e in layer_events(g, a.codes)}
    for t in a.targets:
        if t.status == HIT:
            assert bool(events[t.index].flags(t.event)[t.vector, t.neuron])


def _sat_to_wrap(graph: QuantGraph, name: str) -> QuantGraph:
    """The graph with one layer's output overflow SAT replaced by WRAP (and the next layer reading it)."""
    layers = list(graph.layers)
    for i, layer in enumerate(layers):
        if layer.name == name:
            wrap = layer.out_type.with_modes(layer.out_type.rounding, "WRAP")
            layers[i] = dataclasses.replace(layer, out_type=wrap)
            if i + 1 < len(layers):
                layers[i + 1] = dataclasses.replace(layers[i + 1], in_type=wrap)
    return dataclasses.replace(graph, layers=tuple(layers))


def test_corner_vectors_catch_sat_to_wrap_in_every_layer_where_random_data_does_not():
    g = random_graph((16, 8, 8, 5), seed=5, weight_bits=6)
    corners = generate_corners(g, seed=0)
    ref = forward(g, torch.from_numpy(corners.codes)).numpy()
    for layer in g.layers:
        reachable = any(t.layer == layer.name and t.event in ("hi", "lo") and t.status == HIT for t in corners.targets)
        mutant = forward(_sat_to_wrap(g, layer.name), torch.from_numpy(corners.codes)).numpy()
        if reachable:
            assert (mutant != ref).any(), f"SAT->WRAP in {layer.name} not caught by the corner vectors"
        else:  # an equivalent mutant: its bounds are proven unreachable
            assert all(
                t.status == UNREACHABLE for t in corners.targets if t.layer == layer.name and t.event in ("hi", "lo")
            )
    # the corner set holds the fixed rows: all-min, all-max and random full-range codes
    t = g.input_type
    assert (corners.codes[0] == t.min_code).all() and (corners.codes[1] == t.max_code).all()
    assert len(random_codes(g, 2)) == 2
