"""bench/fuzz.py: random networks are valid and reproducible, a handful runs clean through every back
end, and a failure saves a reproducer."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fuzz():
    spec = importlib.util.spec_from_file_location("flow_bench_fuzz", ROOT / "bench" / "fuzz.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_random_networks_are_valid_reproducible_and_varied():
    fz = _fuzz()
    seen = {"argmax": 0, "scaleshift": 0, "unsigned_in": 0, "wrap": 0, "trn": 0, "narrow_acc": 0, "w2": 0}
    for i in range(300):
        g = fz.random_network(0, i)
        assert g.to_json() == fz.random_network(0, i).to_json()
        kinds = [layer.kind for layer in g.layers]
        seen["argmax"] += kinds[-1] == "argmax"
        seen["scaleshift"] += "scaleshift" in kinds
        seen["unsigned_in"] += not g.input_type.signed
        for layer in g.layers:
            if layer.kind in ("dense", "scaleshift", "relu"):
                seen["wrap"] += layer.out_type.overflow.name == "WRAP"
                seen["trn"] += layer.out_type.rounding.name == "TRN"
            if layer.kind == "dense":
                seen["w2"] += layer.weight_type.width == 2
                exact = fz.exact_accum_type(layer.in_type, layer.weight, layer.weight_type, layer.bias, layer.bias_type)
                seen["narrow_acc"] += layer.accum_type.width < exact.width
    assert all(v > 10 for v in seen.values()), seen


def test_a_handful_runs_clean(tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) not found")
    pytest.importorskip("qonnx")
    pytest.importorskip("hls4ml")
    fz = _fuzz()
    assert fz.main(["--networks", "4", "--hls-every", "4", "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert not list(tmp_path.iterdir())


def test_a_mismatch_saves_a_reproducer(tmp_path, monkeypatch):
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) not found")
    fz = _fuzz()

    def bad_qonnx(graph, codes, ref):
        raise RuntimeError("injected")

    monkeypatch.setattr(fz, "check_qonnx_net", bad_qonnx)
    assert fz.main(["--networks", "1", "--start", "7", "--no-hls", "--out", str(tmp_path)]) == 1
    d = tmp_path / "net7"
    assert (d / "graph.json").is_file() and "injected" in (d / "error.txt").read_text()
    assert "--seed 0 --start 7 --networks 1" in (d / "command.txt").read_text()
    codes = np.load(d / "codes.npy")
    assert codes.shape[1] == fz.random_network(0, 7).n_inputs


def test_a_type_hls4ml_refuses_is_reported_not_failed(tmp_path, capsys):
    """Network 820: a Dense result fixed<9,-2> RND rounding a 9-bit accumulator by 10 bits (hls4ml's C-sim
    would abort); the hls4ml back end refuses it with a typed error, QONNX and RTL still check it."""
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) not found")
    pytest.importorskip("qonnx")
    fz = _fuzz()
    assert fz.main(["--networks", "1", "--start", "820", "--jobs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "network 820: refused by hls4ml: hls4ml cannot simulate layer 'fc1'" in out
    assert "QONNX: 0 failing" in out and "RTL (Icarus, 25 networks per run): 0 failing" in out
    assert "0 with a mismatch, 1 refused by hls4ml" in out and not list(tmp_path.iterdir())
