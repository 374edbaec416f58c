"""FixedType <-> ap_fixed text, the per-layer precision table (and the result types it refuses), and the
generated-code checker."""

import shutil
import sys

import numpy as np
import pytest
import torch

from flow.config.targets import get_target
from flow.errors import ConfigError, FlowError, ToolError, UnsupportedTypeError
from flow.hls.precision import ap_type, graph_roles, hls_name, parse_ap_type, precision_table
from flow.hls.verify import check_project
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.ir.reference import forward, iter_layers
from flow.ir.synthetic import random_codes, random_graph


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


# -- result types hls4ml's C simulation cannot round to ------------------------------------------------
#
# Every case below was compiled and run through the hls4ml 1.3 C simulation: "refused" ones aborted in
# ap_private::get_bit ("Attempting to read bit beyond MSB"), the others equal the reference.


def _graph(in_t: FixedType, *layers) -> QuantGraph:
    n_in, n_out = layers[0].n_in, layers[-1].n_out
    return QuantGraph(
        "g",
        in_t,
        layers,
        tuple(f"c{i}" for i in range(n_out)),
        tuple(f"f{i}" for i in range(n_in)),
        np.zeros(n_in),
        np.ones(n_in),
    )


def _dense(in_t, w_t, b_t, out_t, acc=None, name="fc1") -> Dense:
    rng = np.random.default_rng(0)
    w = rng.integers(w_t.min_code, w_t.max_code + 1, (3, 4))
    b = rng.integers(b_t.min_code, b_t.max_code + 1, 3)
    return Dense(name, in_t, w_t, b_t, acc or exact_accum_type(in_t, w, w_t, b, b_t), out_t, w, b)


def net820(out_t: FixedType) -> QuantGraph:
    """bench/fuzz.py network 820 (seed 0): a fixed<3,6> input, one Dense with a fixed<9,8> accumulator."""
    x = FixedType(3, 6, True)
    return _graph(x, _dense(x, FixedType(4, 2, True), FixedType(5, 7, True), out_t, acc=FixedType(9, 8, True)))


def _int_dense(out_t):  # fixed<4,0> input, exact accumulator fixed<7,0>
    x = FixedType(4, 0, True)
    return _graph(x, _dense(x, FixedType(2, 0, True), FixedType(4, 0, True), out_t))


def _relu(in_t, out_t):
    return _graph(in_t, ReLU("relu0", in_t, out_t, 4))


def _scale_shift(x, s_t, out_t):  # shift fixed<4,0>
    t_t = FixedType(4, 0, True)
    s, t = np.array([1, 2, 3, 0]), np.array([-8, 7, 0, 1])
    return _graph(x, ScaleShift("bn0", x, s_t, t_t, out_t, s, t))


S, U = FixedType(4, 0, True), FixedType(4, 0, False)
RND = "RND"
RESULT_CASES = [  # (graph, None if accepted else what the refusal must say)
    pytest.param(net820(FixedType(9, -2, True, RND, "WRAP")), r"'fc1'.*accumulator fixed<9,8>.*by 10 bits", id="820"),
    pytest.param(net820(FixedType(9, -2, True, "RND_CONV")), "RND_CONV rounding", id="820-rnd-conv"),
    pytest.param(net820(FixedType(9, -2, True, RND, "SAT")), "fixed<9,-2> RND/SAT", id="820-sat"),
    pytest.param(net820(FixedType(9, -2, True, "TRN", "WRAP")), None, id="820-trn"),
    pytest.param(net820(FixedType(9, -1, True, RND)), None, id="820-drops-exactly-9"),
    pytest.param(
        _int_dense(FixedType(8, -8, True, RND)), "accumulator fixed<7,0>.*frac >= -7", id="dense-drops-8-of-7"
    ),
    pytest.param(_int_dense(FixedType(8, -7, True, RND)), None, id="dense-drops-7-of-7"),
    pytest.param(_int_dense(FixedType(8, 10, True, RND)), None, id="dense-result-I<0"),
    pytest.param(
        _relu(FixedType(4, 6), FixedType(4, 1, False, RND)), "'relu0'.*input fixed<4,6>", id="relu-drops-5-of-4"
    ),
    pytest.param(_relu(FixedType(4, 6), FixedType(4, 2, False, RND)), None, id="relu-drops-4-of-4"),
    pytest.param(_relu(FixedType(4, 6), FixedType(4, 1, False, "TRN")), None, id="relu-trn"),
    pytest.param(_relu(FixedType(40, -1), FixedType(8, -33, False, RND)), "constant 0.*-32", id="relu-zero-drops-33"),
    pytest.param(_relu(FixedType(40, -1), FixedType(8, -32, False, RND)), None, id="relu-zero-drops-32"),
    pytest.param(_scale_shift(S, FixedType(3, 0), FixedType(8, -9, True, RND)), "ap_fixed<8,8>", id="bn-drops-9-of-8"),
    pytest.param(_scale_shift(S, FixedType(3, 0), FixedType(8, -8, True, RND)), None, id="bn-drops-8-of-8"),
    pytest.param(_scale_shift(S, FixedType(3, 0), FixedType(8, -9, True, "TRN")), None, id="bn-trn"),
    # an unsigned product plus a signed shift: ap_fixed's sum has one bit more (9)
    pytest.param(
        _scale_shift(U, FixedType(3, 0, False), FixedType(8, -10, True, RND)), "ap_fixed<9,9>", id="bn-u-drops-10-of-9"
    ),
    pytest.param(_scale_shift(U, FixedType(3, 0, False), FixedType(8, -9, True, RND)), None, id="bn-u-drops-9-of-9"),
]


@pytest.mark.parametrize(("g", "refused"), RESULT_CASES)
def test_refuses_exactly_the_result_types_the_csim_aborts_on(g, refused):
    if refused is None:
        assert list(precision_table(g)) == ["x", *(layer.name for layer in g.layers)]
    else:
        with pytest.raises(UnsupportedTypeError, match=refused):
            precision_table(g)


def test_the_refusal_says_what_why_and_what_instead():
    with pytest.raises(UnsupportedTypeError) as e:
        graph_roles(net820(FixedType(9, -2, True, "RND", "WRAP")))
    msg = str(e.value)
    assert isinstance(e.value, FlowError) and "\n" not in msg  # the CLI prints it as one line
    assert msg.startswith("hls4ml cannot simulate layer 'fc1': its result type fixed<9,-2> RND/WRAP ")
    for part in (
        "ap_fixed<9,11,AP_RND,AP_WRAP>",
        "accumulator fixed<9,8> (ap_fixed<9,1>)",
        "more than the 9",
        "ap_private::get_bit",
        "round to 0",
        "frac >= -1 (e.g. fixed<9,-1> RND/WRAP) or TRN rounding",
    ):
        assert part in msg, part


def test_build_refuses_before_hls4ml_is_imported(tmp_path, monkeypatch):
    from flow.hls.project import build_project

    monkeypatch.setitem(sys.modules, "hls4ml", None)  # importing hls4ml (to convert or compile) raises
    with pytest.raises(UnsupportedTypeError, match="layer 'fc1'"):
        build_project(net820(FixedType(9, -2, True, "RND")), tmp_path / "prj", get_target("xcu250"))
    assert not (tmp_path / "prj").exists()


def test_hls4ml_stage_fails_with_the_refusal(tmp_path, monkeypatch):
    from flow.artifacts import HLS_PROJECT
    from flow.pipeline import stage_context
    from flow.stages.hls4ml import run

    g = net820(FixedType(9, -2, True, "RND"))
    ctx = stage_context(tmp_path, "fz820", vectors=50)
    g.save(ctx.dir("quantize") / "quant_graph.json")
    codes = random_codes(g, 50, seed=1)
    ref = forward(g, torch.from_numpy(codes)).numpy()
    for name, arr in (("test_codes", codes), ("ref_outputs", ref), ("test_labels", np.argmax(ref, axis=1))):
        np.save(ctx.dir("reference") / f"{name}.npy", arr)
    monkeypatch.setitem(sys.modules, "hls4ml", None)
    with pytest.raises(UnsupportedTypeError, match=r"^hls4ml cannot simulate layer 'fc1'[^\n]*TRN rounding$"):
        run(ctx)
    assert not (ctx.dir("hls4ml") / HLS_PROJECT).exists()


def test_neighbouring_types_build_and_simulate(tmp_path):
    """An input with I < 0 (ap_fixed<3,-3>), a weight with I > W (ap_fixed<4,6>), a result with I = 0
    rounding, then a ReLU that drops exactly as many bits as its input has: accepted, C-sim == reference."""
    pytest.importorskip("hls4ml")
    from flow.hls.csim import check_csim, trace_layers
    from flow.hls.project import build_project

    x = FixedType(3, 6, True)
    fc1 = _dense(x, FixedType(4, -2, True), FixedType(5, 4, True), FixedType(8, 8, True, "RND", "SAT"))
    relu = ReLU("relu0", fc1.out_type, FixedType(4, 0, False, "RND"), fc1.n_out)
    g = _graph(x, fc1, relu)
    codes = random_codes(g, 300, seed=2)
    project = build_project(g, tmp_path / "prj", get_target("xcu250"))
    check_csim(project, codes, forward(g, torch.from_numpy(codes)).numpy())
    ref_fc1 = next(out for layer, out in iter_layers(g, torch.from_numpy(codes[:8])) if layer is fc1).numpy()
    got_fc1 = np.concatenate([trace_layers(project, codes[k : k + 1])["fc1"] for k in range(8)])
    assert np.array_equal(got_fc1, ref_fc1) and (ref_fc1 != 0).any()
