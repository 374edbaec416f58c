"""Float ONNX (onnxruntime vs PyTorch within tolerance) and the onnx stage end to end."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from flow.errors import MismatchError, ToolError
from flow.export.float_onnx import check_float, export_float, onnx_predict
from flow.ir.reference import encode_inputs, forward
from flow.ir.synthetic import random_graph
from flow.pipeline import stage_context


def float_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 5))
    with torch.no_grad():
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
    return m.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "float.onnx"
    return export_float(float_model(), path, 16)


def test_onnx_matches_torch_with_any_batch(exported):
    x = np.random.default_rng(0).standard_normal((3000, 16)).astype(np.float32) * 3
    assert check_float(exported, float_model(), x) < 1e-4
    assert onnx_predict(exported, x[:1]).shape == (1, 5)
    assert {i.name for i in onnx.load(exported).graph.input} == {"features"}


def test_onnx_of_another_model_is_a_mismatch(exported):
    x = np.random.default_rng(1).standard_normal((100, 16)).astype(np.float32)
    with pytest.raises(MismatchError, match="atol=0.0001"):
        check_float(exported, float_model(seed=1), x)


def test_export_failure_is_a_tool_error(tmp_path):
    with pytest.raises(ToolError, match="ONNX export"):
        export_float(nn.Sequential(nn.Linear(16, 4)), tmp_path / "bad.onnx", 3)  # wrong input width


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    import flow.stages.onnx as stage

    c = stage_context(tmp_path, "m")
    g = random_graph((16, 32, 5), seed=3, scale_shift=True)
    g = type(g)(
        g.name, g.input_type, g.layers, g.class_names, g.feature_names, np.linspace(-2, 2, 16), np.linspace(0.5, 3, 16)
    )  # a real standardization
    g.save(c.dir("quantize") / "quant_graph.json")
    x = np.random.default_rng(0).standard_normal((4000, 16)).astype(np.float32) * 4
    np.savez(c.dir("data") / "split.npz", X_test=x, y_test=np.zeros(len(x), dtype=np.int64))
    codes = encode_inputs(g, x)
    np.save(c.dir("reference") / "test_codes.npy", codes.numpy())
    np.save(c.dir("reference") / "ref_outputs.npy", forward(g, codes).numpy())
    monkeypatch.setattr(stage, "load_float_model", lambda path, spec=None: float_model())
    return c


def test_stage_results(ctx):
    from flow.results import to_record
    from flow.stages.onnx import run

    r = run(ctx)
    assert r.qonnx_vectors == 4000 and r.qonnx_mismatches == 0 and r.qonnx_real_input_vectors == 4000
    assert r.onnx_max_abs_err < 1e-4 and r.qonnx_compute_type == "FLOAT"
    assert Path(r.qonnx_path).is_file() and Path(r.onnx_path).is_file()
    json.dumps(to_record(r))


def test_stage_fails_on_a_wrong_reference(ctx):
    from flow.stages.onnx import run

    ref = np.load(ctx.dir("reference") / "ref_outputs.npy")
    ref[7, 0] -= 1
    np.save(ctx.dir("reference") / "ref_outputs.npy", ref)
    with pytest.raises(MismatchError, match="vector 7"):
        run(ctx)
