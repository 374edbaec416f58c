"""RTL generation without any simulator: structure, determinism, banners, names, constants."""

from __future__ import annotations

import re

import numpy as np
import pytest

import flow
from flow.errors import ConfigError
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph
from flow.ir.synthetic import random_graph
from flow.rtl.generate import build_design, generate_rtl, render, sanitize_name, write_files


def test_deterministic_and_complete():
    g = random_graph((16, 8, 5), seed=3, scale_shift=True, name="jsc-medium")
    a, b = generate_rtl(g), generate_rtl(g)
    assert a == b
    assert list(a) == sorted(a)
    assert {
        "flow_requant.v",
        "flow_relu.v",
        "flow_valid_pipe.v",
        "jsc_medium.v",
        "jsc_medium_fc1.v",
        "jsc_medium_fc2.v",
        "jsc_medium_bn0.v",
        "jsc_medium.f",
    } == set(a)
    order = a["jsc_medium.f"].split()
    assert order[-1] == "jsc_medium.v" and set(order) == {p for p in a if p.endswith(".v")}


def test_banner_and_nettype_in_every_file():
    g = random_graph((6, 4, 3), seed=1, name="jsc-medium")
    for path, text in generate_rtl(g).items():
        if not path.endswith(".v"):
            continue
        head = text[:600]
        assert "DO NOT EDIT" in head and "flow.rtl.generate" in head, path
        assert f"flow {flow.__version__}" in head and "'jsc-medium'" in head, path
        assert "`default_nettype none" in text, path
        assert re.search(r"^module ", text, re.M), path


def test_top_module_named_after_model():
    g = random_graph((6, 4, 3), seed=1, name="jsc-medium")
    design = build_design(g)
    assert design.top == "jsc_medium"
    assert re.search(r"^module jsc_medium \($", design.files["jsc_medium.v"], re.M)
    assert "element i at bits [i*W +: W]" in design.files["jsc_medium.v"]


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("jsc-medium", "jsc_medium"),
        ("3layer", "m_3layer"),
        ("module", "module_top"),
        ("a  b..c", "a_b_c"),
        ("--", "model"),
    ],
)
def test_sanitize(name, want):
    assert sanitize_name(name) == want


def test_latency_is_sum_of_layers():
    g = random_graph((16, 64, 32, 32, 5), seed=0, weight_bits=8, name="m")
    d = build_design(g, fanin=8, arithmetic="dsp")
    assert d.latency == sum(layer.latency for layer in d.layers)
    # fanin 8: 16 and 32 and 64 products all fit two adder levels, plus the requantizer.
    assert [layer.latency for layer in d.layers if layer.kind == "dense"] == [3, 3, 3, 3]
    assert build_design(g, fanin=64, arithmetic="dsp").latency < d.latency
    s = build_design(g)
    assert s.latency == sum(layer.latency for layer in s.layers)


def test_weights_are_baked_in_and_zeros_omitted():
    g = random_graph((4, 2), seed=0, name="m")
    fc = g.layers[0]
    w = fc.weight.copy()
    w[0, :] = [3, 0, -2, 1]
    layer = Dense(fc.name, fc.in_type, fc.weight_type, fc.bias_type, fc.accum_type, fc.out_type, w, fc.bias)
    g2 = QuantGraph("m", g.input_type, (layer,), g.class_names, g.feature_names, g.input_mean, g.input_std)
    text = generate_rtl(g2, arithmetic="dsp")["m_fc1.v"]
    line = next(ln for ln in text.splitlines() if "s0_n0_g0 <=" in ln)
    assert "x0 * " in line and "'sd3" in line and "x1" not in line and "x2 * " in line and "+ x3" in line


def test_unknown_template_variable_is_an_error():
    with pytest.raises(ConfigError):
        render("requant.v.j2")  # no banner


def test_write_files(tmp_path):
    files = generate_rtl(random_graph((4, 3), seed=0, name="m"))
    paths = write_files(files, tmp_path)
    assert sorted(p.name for p in paths) == sorted(files)
    assert (tmp_path / "m.v").read_text() == files["m.v"]


def test_narrow_accumulator_keeps_low_bits():
    """An accumulator narrower than the input codes reads only their low bits (sums wrap)."""
    g = random_graph((3, 2), seed=0, name="m", input_type=FixedType(12, 4, True, "RND", "SAT"))
    fc = g.layers[0]
    acc = FixedType(6, fc.accum_type.frac, True, "TRN", "WRAP")
    layer = Dense(
        fc.name, fc.in_type, fc.weight_type, fc.bias_type, acc, fc.out_type, np.ones_like(fc.weight), fc.bias * 0
    )
    g2 = QuantGraph("m", g.input_type, (layer,), g.class_names, g.feature_names, g.input_mean, g.input_std)
    text = generate_rtl(g2, arithmetic="dsp")["m_fc1.v"]
    assert "wire signed [5:0] x0 = in_data[5:0];" in text
    assert "unused_inputs" in text


def test_shiftadd_blocks_fuse_relu_and_have_no_multipliers():
    g = random_graph((16, 8, 5), seed=3, scale_shift=True, name="m")
    d = build_design(g)
    assert [b.name for b in d.layers] == ["bn0+relu0", "fc1+relu1", "fc2"]
    assert [b.layers for b in d.layers][0] == ("bn0", "relu0") and d.layers[0].kind == "scaleshift+relu"
    for b in d.layers:
        code = [ln for ln in d.files[b.file].splitlines() if not ln.lstrip().startswith("//")]
        assert not any(" * " in ln for ln in code), b.name
        assert b.info["arithmetic"] == "shiftadd" and b.info["adders"] > 0 and b.info["est_lut"] > 0


def test_latency_budget_and_adder_levels():
    from flow.rtl.generate import DEFAULT_ADDER_LEVELS, RtlSettings, block_cuts, plan_blocks

    g = random_graph((10, 8, 5), seed=1, weight_bits=8, name="m")
    default = build_design(g)
    assert default.adder_levels == DEFAULT_ADDER_LEVELS
    one = build_design(g, adder_levels=1)
    assert one.latency > default.latency and one.adder_levels == 1
    for budget in sorted({1, len(default.layers) + 1, default.latency, (default.latency + one.latency) // 2}):
        settings = RtlSettings(latency=budget)
        d = build_design(g, settings=settings)
        assert d.latency <= budget
        if d.adder_levels > 1:  # the fewest levels per stage that meet the budget, cuts through blocks or not
            plans, _ = plan_blocks(g, settings)
            assert block_cuts(plans, d.adder_levels - 1, settings)[1] > budget
    # shift-add blocks can share cycles (tests/rtl/test_rtl_cuts.py); DSP blocks each keep a register
    assert build_design(g, latency=1).latency == 1
    with pytest.raises(ConfigError, match="cannot be met"):
        build_design(g, arithmetic="dsp", latency=len(default.layers) - 1)
    with pytest.raises(ConfigError):
        RtlSettings(latency=8, adder_levels=3)
    with pytest.raises(ConfigError):
        RtlSettings(arithmetic="lut")


def test_python_model_of_each_block_equals_the_reference():
    """The adder graph's exact integer model equals flow.ir.reference, block by block, on random codes."""
    import torch

    from flow.ir.reference import run_layer
    from flow.ir.synthetic import random_codes
    from flow.rtl.generate import RtlSettings, plan_blocks

    g = random_graph((12, 10, 6, 4), seed=7, scale_shift=True, weight_bits=7, name="m")
    plans, _ = plan_blocks(g, RtlSettings())
    x = torch.from_numpy(random_codes(g, 300, seed=2))
    for plan in plans:
        xin = x
        for layer in plan.layers:
            x = run_layer(layer, x)
        got = np.array([plan.graph.evaluate(row) for row in xin.numpy().tolist()])
        assert np.array_equal(got, x.numpy()), plan.layers[0].name
