"""A model with learned bit widths builds through every stage unchanged: the integer reference, the QAT
model, QONNX, hls4ml's C simulation and the RTL agree bit for bit; pruned weights leave the RTL."""

import json

import numpy as np
import pytest

from flow.artifacts import LEARNED_BITS
from tests.cli.helpers import build_toml

pytestmark = pytest.mark.slow

MODEL = """
name = "jsc-small-learned"
description = "jsc-small with learned bit widths"
inputs = 16
classes = 5
[[layers]]
type = "dense"
out = 8
[[layers]]
type = "batchnorm"
[[layers]]
type = "relu"
[[layers]]
type = "dense"
out = 8
[[layers]]
type = "batchnorm"
[[layers]]
type = "relu"
[[layers]]
type = "dense"
out = 5
[train]
epochs = 3
[quantization]
mode = "learned"
[quantization.learned]
beta = 1e-4
epochs = 6
warmup_epochs = 1
ramp_epochs = 2
finetune_epochs = 1
init_weight_bits = 6
activation_granularity = "neuron"
"""


def test_learned_model_builds_bit_exact(tmp_path, monkeypatch):
    root, results = build_toml(tmp_path, monkeypatch, MODEL, "jsc-small-learned", "--vectors", "3000")
    assert results["reference"]["qat_vs_reference_mismatches"] == 0
    assert results["onnx"]["qonnx_mismatches"] == 0
    assert results["hls4ml"]["mismatches"] == 0
    assert results["sim"]["mismatches"] == 0
    assert results["synth"]["lut"] > 0
    assert "learned bits" in results["quantize"]["headline"]
    stats = json.loads((root / "03_quantize" / LEARNED_BITS).read_text())
    graph = json.loads((root / "03_quantize" / "quant_graph.json").read_text())
    dense = [layer for layer in graph["layers"] if layer["kind"] == "dense"]
    zeros = sum(int((np.asarray(d["weight"]) == 0).sum()) for d in dense)
    assert zeros == stats["weights"] - stats["nonzero_weights"] > 0  # something was pruned
    assert {r["layer"] for r in stats["layers"] if "weight_bits_histogram" in r} == {d["name"] for d in dense}
    # each input feature in its own type; the RTL port carries each feature's own code
    features = graph["input_types"]
    assert len(features) == 16 and len({(t["width"], t["frac"]) for t in features}) > 1
    top = (root / "07_rtl" / "jsc_small_learned.v").read_text()
    port_w = max(t["width"] for t in features)
    assert f"input  wire [{16 * port_w - 1}:0] in_data" in top and "one type per feature" in top
    # per-neuron ReLU bits (set above): a histogram per ReLU, the design holding each neuron's own code
    relus = [r for r in stats["layers"] if r["kind"] == "relu"]
    assert relus and all(sum(r["activation_bits_histogram"].values()) == 8 for r in relus)
    (note,) = root.glob("*_hls4ml/**/PER_FEATURE_INPUTS.md")  # how to quantize the features before the kernel
    assert all(f"| {i} |" in note.read_text() for i in range(16))
    # pruned weights vanish from the RTL: no product is written for a zero code (fewer multiplications
    # than non-zero weights: +-1 weights need none, a shift-add RTL none at all)
    rtl = "\n".join(p.read_text() for p in (root / "07_rtl").rglob("*.v"))
    assert rtl.count(" * ") <= stats["nonzero_weights"]
    report = json.loads((root / "report.json").read_text())
    assert report["verdict"] == "pass"
