"""``.pt`` and ``module:function`` model sources: the weights are kept (the train stage trains nothing and its
float accuracy equals the source module's), a state_dict named by a model TOML, --retrain, --input-scaler."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from torch import nn

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.errors import ConfigError
from flow.frontends import read_scaler, with_options
from flow.pipeline import BuildOptions, run_build


def _net() -> nn.Sequential:
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 5), nn.Softmax(dim=1))
    with torch.no_grad():  # "trained" weights: anything but a fresh init of flow's seed
        for p in net.parameters():
            p.mul_(3.0)
    return net


def _build(spec, tmp_path, until="reference"):
    outcomes = run_build(spec, get_target("xcu250"), BuildOptions(until=until), tmp_path / "build")
    return {o.stage: o.results for o in outcomes}


def test_pt_sequential_keeps_its_weights(tmp_path):
    net = _net()
    torch.save(net, tmp_path / "net.pt")
    spec = get_model(str(tmp_path / "net.pt"))
    assert spec.origin.kind == "pt" and any("Softmax" in n for n in spec.origin.notes)
    r = _build(spec, tmp_path)
    t = r["train"]
    assert t.weights == "kept" and t.epochs == 0 and t.source_kind == "pt"
    assert t.source_float_accuracy == t.float_test_accuracy  # the report's proof that the weights were kept
    assert r["quantize"].qat_epochs == 0 and r["reference"].qat_vs_reference_mismatches == 0


def test_module_function_weights_are_used(tmp_path, monkeypatch):
    (tmp_path / "mynets.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "def trained():\n"
        "    torch.manual_seed(3)\n"
        "    return nn.Sequential(nn.Linear(16, 6), nn.ReLU(), nn.Linear(6, 5))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mynets", None)
    spec = get_model("mynets:trained")
    assert spec.origin.kind == "module"
    t = _build(spec, tmp_path, until="train")["train"]
    assert t.weights == "kept" and t.source == "mynets:trained" and t.source_float_accuracy == t.float_test_accuracy
    assert "weights kept from module model mynets:trained" in t.headline
    retrained = with_options(spec, retrain=True)
    assert retrained.origin.retrain and retrained.origin.key() != spec.origin.key()  # another build hash


def test_state_dict_named_by_a_model_toml(tmp_path):
    net = _net()[:-1]
    torch.save(net.state_dict(), tmp_path / "w.pt")
    (tmp_path / "arch.toml").write_text(
        'name = "arch"\nweights = "w.pt"\n[[layers]]\ntype = "dense"\nout = 8\n[[layers]]\ntype = "relu"\n'
        '[[layers]]\ntype = "dense"\nout = 5\n'
    )
    spec = get_model(str(tmp_path / "arch.toml"))
    x = torch.randn(32, 16)
    with torch.no_grad():
        assert torch.equal(spec.origin.float_model(x), net(x))
    with pytest.raises(ConfigError, match="holds a state_dict, not a module; name the architecture in a model TOML"):
        get_model(str(tmp_path / "w.pt"))


def test_input_scaler_json_and_npz(tmp_path):
    mean, std = np.arange(16.0), np.full(16, 2.0)
    (tmp_path / "s.json").write_text(json.dumps({"mean": mean.tolist(), "std": std.tolist()}))
    np.savez(tmp_path / "s.npz", mean=mean, scale=std)
    for f in ("s.json", "s.npz"):
        m, s = read_scaler(tmp_path / f, 16)
        assert np.array_equal(m, mean) and np.array_equal(s, std)
    (tmp_path / "bad.json").write_text(json.dumps({"mean": [0.0] * 3, "std": [1.0] * 3}))
    with pytest.raises(ConfigError, match="3 means and 3 stds for 16 features"):
        read_scaler(tmp_path / "bad.json", 16)
    torch.save(_net(), tmp_path / "net.pt")
    spec = with_options(get_model(str(tmp_path / "net.pt")), input_scaler=tmp_path / "s.json")
    assert np.array_equal(spec.origin.standardization()[0], mean)
    with pytest.raises(ConfigError, match="--input-scaler: model 'jsc-tiny' is not imported"):
        with_options(get_model("jsc-tiny"), input_scaler=tmp_path / "s.json")
