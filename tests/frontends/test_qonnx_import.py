"""QONNX model sources: exact import (the original file in qonnx == the integer reference, ties included),
the refusals (one line: node, op, what would work), trailing Softmax dropped, float biases, flow's own
export read back to the same integer design."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from flow.config.zoo import get_model
from flow.errors import ConfigError
from flow.frontends.run import compare_original
from flow.ir.fixed import Rounding
from flow.ir.reference import forward, iter_layers
from tests.frontends.qonnx_files import mlp


def _codes(graph, n=2000, seed=1):
    t = graph.input_type
    return np.random.default_rng(seed).integers(t.min_code, t.max_code + 1, (n, graph.n_inputs)).astype(np.int64)


def test_brevitas_style_file_imports_exactly(tmp_path):
    spec = get_model(str(mlp(tmp_path / "net.onnx")))
    o = spec.origin
    assert o.kind == "qonnx" and spec.name == "net"
    assert [layer.kind for layer in spec.layers] == ["dense", "relu", "dense"]
    g = o.graph
    assert g.input_type.describe() == "fixed<8,4> RND_CONV/SAT"
    fc1, relu1, fc2 = g.layers
    assert (fc1.weight_type.width, fc1.weight_type.frac) == (8, 7) and fc1.weight.min() >= -127
    assert (fc1.bias_type.width, fc1.bias_type.frac) == (16, 11) and fc1.bias_shift == 0
    assert fc1.out_type == fc1.accum_type  # exact: the file's Gemm output is not quantized
    assert relu1.out_type.describe() == "ufixed<8,3> RND_CONV/SAT"
    codes = _codes(g)
    ref = forward(g, torch.from_numpy(codes)).numpy()
    check = compare_original(o.ref, g, codes, ref, o.scores_tensor)
    assert check == {"vectors": 2000, "mismatches": 0, "first": ""}
    # ties of the half-to-even ReLU requantizer do occur, so RND would not have matched
    acc = next(out for layer, out in iter_layers(g, torch.from_numpy(codes)) if layer.name == fc1.name).clamp_min(0)
    s = relu1.in_type.frac - relu1.out_type.frac
    assert int(((acc & ((1 << s) - 1)) == (1 << (s - 1))).sum()) > 10
    from dataclasses import replace

    rnd = replace(relu1, out_type=relu1.out_type.with_modes(Rounding.RND, relu1.out_type.overflow))
    g_rnd = replace(g, layers=(fc1, rnd, replace(fc2, in_type=rnd.out_type)))
    ref_rnd = forward(g_rnd, torch.from_numpy(codes)).numpy()
    assert compare_original(o.ref, g_rnd, codes, ref_rnd, o.scores_tensor)["mismatches"] > 0


def test_trailing_softmax_dropped_with_a_note(tmp_path):
    spec = get_model(str(mlp(tmp_path / "sm.onnx", trailing="Softmax")))
    o = spec.origin
    assert any("trailing Softmax" in n and "dropped" in n for n in o.notes)
    g = o.graph
    codes = _codes(g, 500)
    assert (
        compare_original(o.ref, g, codes, forward(g, torch.from_numpy(codes)).numpy(), o.scores_tensor)["mismatches"]
        == 0
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"act_scale": 0.1}, r"node 'Quant_\d+' \(op Quant\): scale 0\.1\d* is not a power of two; use a power-of-two"),
        ({"zeropt": 3.0}, r"node 'Quant_\d+' \(op Quant\): non-zero zero point; use a symmetric quantizer"),
        ({"middle": "Tanh"}, r"node 'Tanh_\d+' \(op Tanh\): unsupported op; flow imports Gemm, MatMul \+ Add, Relu"),
        ({"middle": "Softmax"}, r"node 'Softmax_\d+' \(op Softmax\): Softmax in the middle of the network; flow drops"),
    ],
    ids=["non-power-of-two-scale", "zero-point", "unsupported-op", "softmax-in-the-middle"],
)
def test_refusals_name_node_op_and_the_fix(tmp_path, kw, message):
    path = mlp(tmp_path / "bad.onnx", **kw)
    with pytest.raises(ConfigError, match=message) as e:
        get_model(str(path))
    assert "\n" not in str(e.value) and str(e.value).startswith(str(path))


def test_float_bias_is_quantized_with_a_note(tmp_path):
    spec = get_model(str(mlp(tmp_path / "fb.onnx", float_bias=True)))
    notes = " ".join(spec.origin.notes)
    assert "float bias (not quantized in the file) quantized to fixed<" in notes and "RND_CONV/SAT" in notes


def test_float_onnx_is_a_float_model(tmp_path):
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 5), nn.Softmax(dim=1)).eval()
    path = tmp_path / "float.onnx"
    torch.onnx.export(net, torch.zeros(2, 16), path, dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "n"}})
    spec = get_model(str(path))
    assert spec.origin.kind == "onnx" and spec.origin.graph is None
    assert [layer.kind for layer in spec.layers] == ["dense", "batchnorm", "relu", "dense"]
    x = torch.randn(64, 16)
    with torch.no_grad():
        assert torch.allclose(spec.origin.float_model(x), net[:-1](x), atol=1e-5)


def test_flow_export_reads_back_to_the_same_integer_design(tmp_path):
    from flow.export.qonnx_model import build_qonnx
    from flow.ir.graph import graph_to_dict
    from flow.ir.synthetic import random_graph

    g = random_graph(seed=3)
    onnx.save(build_qonnx(g), tmp_path / "flow.qonnx.onnx")
    spec = get_model(str(tmp_path / "flow.qonnx.onnx"))
    g2 = spec.origin.graph
    assert spec.origin.metadata_scaler is not None  # the export carries its standardization
    a, b = graph_to_dict(g), graph_to_dict(g2)
    for d in (a, b):  # parameter types: constants are exact codes, their rounding never acts
        for layer in d["layers"]:
            for role in ("weight_type", "bias_type", "scale_type", "shift_type"):
                if role in layer:
                    layer[role] = {k: v for k, v in layer[role].items() if k not in ("rounding", "overflow")}
    assert a["layers"] == b["layers"] and a["input_type"] == b["input_type"]
    codes = _codes(g)
    assert (forward(g, torch.from_numpy(codes)) == forward(g2, torch.from_numpy(codes))).all()
