"""``verilator --lint-only -Wall`` must be clean on generated designs and on each library module."""

from __future__ import annotations

import numpy as np
import pytest

from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph
from flow.ir.synthetic import random_graph
from flow.rtl.generate import build_design, library_files
from flow.rtl.lint import lint_files


def _odd_graph() -> QuantGraph:
    """A dense layer with a dead input column, a narrow wrapping accumulator and a TRN/WRAP output."""
    g = random_graph((5, 3), seed=2, name="odd", input_type=FixedType(12, 4, True, "RND", "SAT"))
    fc = g.layers[0]
    w = fc.weight.copy()
    w[:, 2] = 0
    acc = FixedType(9, fc.accum_type.frac, True, "TRN", "WRAP")
    out = FixedType(5, 2, True, "TRN", "WRAP")
    layer = Dense(fc.name, fc.in_type, fc.weight_type, fc.bias_type, acc, out, w, fc.bias)
    return QuantGraph("odd", g.input_type, (layer,), g.class_names[:3], g.feature_names, g.input_mean, g.input_std)


@pytest.mark.parametrize(
    "graph",
    [
        random_graph((16, 8, 5), seed=0, name="net"),
        random_graph((16, 8, 5), seed=1, scale_shift=True, name="net-bn"),
        random_graph(
            (16, 64, 32, 32, 5),
            seed=0,
            weight_bits=8,
            name="jsc-medium",
            input_type=FixedType(14, 8, True, "RND", "SAT"),
        ),
        _odd_graph(),
    ],
    ids=["net", "net-bn", "jsc-medium", "odd"],
)
@pytest.mark.parametrize("arithmetic", ["shiftadd", "dsp"])
def test_generated_design_lints_clean(graph, arithmetic, verilator):
    design = build_design(graph, arithmetic=arithmetic)
    assert lint_files(design.files, design.top, sources=list(design.sources)) == []


@pytest.mark.parametrize(
    ("top", "params"),
    [
        ("flow_requant", {}),
        ("flow_requant", {"IN_W": 9, "IN_SIGNED": 0, "SHIFT": -3, "OUT_W": 12, "OUT_SIGNED": 0, "RND": 1, "SAT": 1}),
        ("flow_requant", {"IN_W": 20, "SHIFT": 25, "OUT_W": 3, "RND": 1, "SAT": 0}),
        ("flow_valid_pipe", {}),
        ("flow_valid_pipe", {"DEPTH": 4}),
        ("flow_relu", {}),
        ("flow_relu", {"N": 3, "IN_W": 7, "IN_SIGNED": 0, "SHIFT": 2, "OUT_W": 5, "OUT_SIGNED": 1, "SAT": 1}),
    ],
)
def test_library_module_lints_clean_on_its_own(top, params, verilator):
    files = library_files("lint")
    needed = {
        "flow_requant": ["flow_requant.v"],
        "flow_valid_pipe": ["flow_valid_pipe.v"],
        "flow_relu": ["flow_requant.v", "flow_valid_pipe.v", "flow_relu.v"],
    }[top]
    assert lint_files(files, top, parameters=params, sources=needed) == []


def test_lint_reports_problems(verilator):
    files = library_files("lint")
    files["bad.v"] = (
        "`default_nettype none\nmodule bad(input wire [3:0] a, output wire [1:0] y);\n  assign y = a;\nendmodule\n"
    )
    warnings = lint_files(files, "bad", sources=["bad.v"])
    assert any("WIDTH" in w for w in warnings)


def test_odd_graph_is_really_odd():
    g = _odd_graph()
    assert (g.layers[0].weight[:, 2] == 0).all() and g.layers[0].accum_type.width == 9
    assert np.any(g.layers[0].weight)
