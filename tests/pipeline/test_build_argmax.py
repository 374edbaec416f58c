"""The ArgMax layer kind end to end: a network ending in the class decision builds through every stage.

The design outputs the class index; the integer reference, the QAT model, QONNX and the RTL agree on it
bit for bit, and hls4ml (which has no argmax layer) is checked on the scores before it.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import build_toml

pytestmark = pytest.mark.slow

MODEL = """
name = "jsc-decision"
description = "jsc-tiny with the class decision in hardware"
inputs = 16
classes = 5
[[layers]]
type = "batchnorm"
[[layers]]
type = "relu"
[[layers]]
type = "dense"
out = 5
[[layers]]
type = "argmax"
name = "decision"
[train]
epochs = 3
qat_epochs = 1
"""


def test_argmax_model_builds_and_verifies(tmp_path, monkeypatch):
    root, results = build_toml(tmp_path, monkeypatch, MODEL, "jsc-decision", "--vectors", "2000")
    graph = json.loads((root / "03_quantize" / "quant_graph.json").read_text())
    assert graph["layers"][-1]["kind"] == "argmax"
    assert graph["layers"][-1]["out_type"] == {
        "width": 3,
        "frac": 0,
        "signed": False,
        "rounding": "TRN",
        "overflow": "WRAP",
    }
    ref_out = __import__("numpy").load(root / "04_reference" / "ref_outputs.npy")
    assert ref_out.shape[1] == 1 and set(ref_out[:, 0].tolist()) <= set(range(5))
    assert results["reference"]["qat_vs_reference_mismatches"] == 0
    assert results["onnx"]["qonnx_mismatches"] == 0
    assert results["sim"]["mismatches"] == 0 and results["sim"]["vectors"] == 2000
    assert results["hls4ml"]["mismatches"] == 0 and results["hls4ml"]["left_out"] == ["decision"]
    # the decision in hardware makes the same predictions as the reference
    assert results["sim"]["accuracy"] == results["hls4ml"]["accuracy"]
    assert json.loads((root / "report.json").read_text())["verdict"] == "pass"
