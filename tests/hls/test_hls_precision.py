"""FixedType <-> ap_fixed text, the per-layer precision table, and the generated-code checker."""

import shutil

import pytest

from flow.errors import ConfigError, ToolError
from flow.hls.precision import ap_type, graph_roles, hls_name, parse_ap_type, precision_table
from flow.hls.verify import check_project
from flow.ir.fixed import FixedType
from flow.ir.graph import QuantGraph, ReLU
from flow.ir.synthetic import random_graph


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (FixedType(10, 5, True, "RND", "SAT"), "ap_fixed<10,5,AP_RND,AP_SAT>"),
        (FixedType(9, 5, False, "TRN", "WRAP"), "ap_ufixed<9,4,AP_TRN,AP_WRAP>"),
        (FixedType(6, 8, True), "ap_fixed<6,-2,AP_TRN,AP_WRAP>"),  # frac > width: negative I
        (FixedType(6, -1, True), "ap_fixed<6,7,AP_TRN,AP_WRAP>"),  # negative frac: I > W
        (FixedType(1, 0, False, "RND", "SAT"), "ap_ufixed<1,1,AP_RND,AP_SAT>"),
        (FixedType(62, 30, True), "ap_fixed<62,32,AP_TRN,AP_WRAP>"),
    ],
)
def test_render_and_parse_back(t, text):
    assert ap_type(t) == text
    assert parse_ap_type(text) == t


@pytest.mark.parametrize(
    ("text", "t"),
    [
        ("ap_fixed<16,6>", FixedType(16, 10, True, "TRN", "WRAP")),  # hls4ml omits default modes
        ("ap_fixed<10,4,AP_RND,AP_SAT,0>", FixedType(10, 6, True, "RND", "SAT")),  # and adds sat bits 0
        ("ap_ufixed<7,2,AP_TRN,AP_SAT>", FixedType(7, 5, False, "TRN", "SAT")),
        (" ap_fixed< 8 , -1 , AP_RND > ", FixedType(8, 9, True, "RND", "WRAP")),
        ("ap_ufixed<8,2,AP_RND_CONV,AP_SAT>", FixedType(8, 6, False, "RND_CONV", "SAT")),  # half to even
    ],
)
def test_parse_hls4ml_spellings(text, t):
    assert parse_ap_type(text) == t


@pytest.mark.parametrize(
    "text",
    [
        "ap_fixed<8,3,AP_RND_ZERO,AP_SAT>",
        "ap_fixed<8,3,AP_TRN,AP_SAT_SYM>",
        "ap_fixed<8,3,AP_TRN,AP_SAT,2>",
        "ap_int<8>",
        "float",
        "ap_fixed<8>",
    ],
)
def test_parse_refuses_what_fixedtype_cannot_say(text):
    with pytest.raises(ConfigError):
        parse_ap_type(text)


def test_hls_names_are_c_identifiers():
    assert hls_name("fc1") == "fc1"
    assert hls_name("block.0-relu") == "block_0_relu"
    assert hls_name("0fc") == "l_0fc"


def test_precision_table_covers_every_role():
    g = random_graph((16, 8, 5), scale_shift=True)
    table = precision_table(g)
    assert list(table) == ["x", "bn0", "relu0", "fc1", "relu1", "fc2"]
    assert set(table["fc1"]) == {"weight", "bias", "accum", "result"}
    assert set(table["bn0"]) == {"scale", "bias", "result"}
    assert set(table["relu1"]) == {"result"}
    assert table["fc2"]["accum"] == ap_type(g.layer("fc2").accum_type)


def test_colliding_layer_names_are_refused():
    g = random_graph((4, 3))
    t = g.layers[0].out_type
    layers = (*g.layers, ReLU("fc-1", t, t, 3), ReLU("fc_1", t, t, 3))
    g2 = QuantGraph("g", g.input_type, layers, ("a", "b", "c"), g.feature_names, g.input_mean, g.input_std)
    with pytest.raises(ConfigError, match="already taken"):
        graph_roles(g2)


@pytest.fixture
def project_copy(project, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(project.project_dir / "firmware", d / "firmware", ignore=shutil.ignore_patterns("*.so"))
    return d


def test_checker_accepts_the_real_project(project_copy, graph):
    check_project(project_copy, "myproject", graph)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("defines.h", "ap_fixed<11,3> fc2_accum_t;", "ap_fixed<12,4> fc2_accum_t;", "fc2_accum_t"),
        ("defines.h", "ap_fixed<6,4,AP_RND,AP_SAT,0>", "ap_fixed<6,4,AP_TRN,AP_SAT,0>", "bn_nop"),
        ("parameters.h", "nnet::product::mult<", "nnet::product::weight_ternary<", "product"),
        ("parameters.h", "nnet::DenseLatency", "nnet::DenseResource_rf_leq_nin", "Latency"),
        ("myproject.cpp", "// bn_nop", "// something_else", "fused, removed or added"),
    ],
)
def test_checker_catches_changed_code(project_copy, graph, file, old, new, message):
    p = project_copy / "firmware" / file
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(ToolError, match=message):
        check_project(project_copy, "myproject", graph)


def test_checker_needs_the_files(tmp_path, graph):
    with pytest.raises(ToolError, match="did not write"):
        check_project(tmp_path, "myproject", graph)
