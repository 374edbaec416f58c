"""The RTL input port under per-feature input types (``flow/rtl/port.py``): each feature's own code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flow.check.corners import generate_corners
from flow.ir.features import code_bounds, port_width, shifts, to_port
from flow.ir.reference import forward, run_layer
from flow.ir.synthetic import random_codes, random_graph
from flow.rtl.generate import build_design
from flow.rtl.lint import lint_files
from flow.rtl.port import port_box, port_layers
from flow.sim.simulate import simulate


@pytest.fixture(scope="module")
def graph():
    return random_graph((16, 8, 5), seed=3, per_feature=True, name="perfeature")


def test_first_layer_on_port_codes_computes_the_same_accumulator(graph):
    first = port_layers(graph)[0]
    codes = torch.from_numpy(random_codes(graph, 3000, seed=1))
    port = torch.from_numpy(to_port(graph, codes.numpy()))
    assert torch.equal(run_layer(first, port), run_layer(graph.layers[0], codes))
    assert first.product_frac == graph.layers[0].product_frac and first.in_type.width == port_width(graph)
    lo, hi = port_box(graph)
    assert lo == tuple(t.min_code for t in graph.input_types) and hi == tuple(t.max_code for t in graph.input_types)


def test_port_is_narrower_than_the_container_and_the_box_is_per_feature(graph):
    assert shifts(graph).max() > 0 and port_width(graph) <= graph.input_type.width
    design = build_design(graph)
    top = design.files["perfeature.v"]
    assert f"input  wire [{16 * port_width(graph) - 1}:0] in_data" in top and "one type per feature" in top
    uniform = build_design(random_graph((16, 8, 5), seed=3, name="perfeature"))
    # narrower inputs: fewer LUTs by the cost model for the same weights
    assert design.layers[0].stats != uniform.layers[0].stats
    est = dict(design.layers[0].stats)["est_lut"]
    assert est < dict(uniform.layers[0].stats)["est_lut"]


@pytest.mark.parametrize("arithmetic", ["shiftadd", "dsp"])
def test_rtl_equals_reference_on_per_feature_inputs(graph, arithmetic, verilator):
    design = build_design(graph, arithmetic=arithmetic)
    assert lint_files(design.files, design.top, sources=list(design.sources)) == []
    codes = random_codes(graph, 3000, seed=5)
    result = simulate(graph, codes, design=design)
    assert result.mismatches == 0 and result.vectors == 3000


def test_corner_vectors_are_codes_of_each_feature(graph):
    corners = generate_corners(graph, seed=0, random=16, sweeps=2)
    lo, hi = code_bounds(graph)
    c = corners.codes
    assert ((c >= lo) & (c <= hi)).all()
    to_port(graph, c)  # raises if any code is off a feature's grid
    assert np.array_equal(forward(graph, torch.from_numpy(c)).shape, (len(c), 5))
