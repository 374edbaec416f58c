"""docs/import.md's Brevitas example, as written there (1 epoch): its QONNX file builds with flow, the
original file (qonnx executor) equals the integer reference on every test vector, and so do the QAT model,
flow's QONNX export, hls4ml's C simulation and the RTL simulation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "import.md"


def _script() -> str:
    return re.search(r"```python\n(# brevitas_jsc\.py.*?)```", DOCS.read_text(), re.S).group(1)


def test_brevitas_example_builds_bit_exact(tmp_path):
    pytest.importorskip("brevitas")
    from flow.config.targets import get_target
    from flow.config.zoo import get_model
    from flow.pipeline import BuildOptions, run_build

    (tmp_path / "brevitas_jsc.py").write_text(_script())
    subprocess.run([sys.executable, "brevitas_jsc.py", "1"], cwd=tmp_path, check=True, capture_output=True)
    spec = get_model(str(tmp_path / "jsc_brevitas.onnx"))
    g = spec.origin.graph
    assert g.input_type.describe().startswith("fixed<8,") and g.input_type.rounding == "RND_CONV"
    assert [layer.kind for layer in g.layers] == ["dense", "relu", "dense"]
    assert g.layers[0].weight_type.width == 8 and g.layers[0].bias_type.width == 16
    outcomes = run_build(spec, get_target("xcu250"), BuildOptions(until="sim", vectors=300), tmp_path / "build")
    r = {o.stage: o.results for o in outcomes}
    check = r["quantize"].original_check
    assert check["vectors"] == 15_000 and check["mismatches"] == 0
    assert r["train"].weights == "kept" and r["quantize"].mode == "imported"
    assert r["reference"].qat_vs_reference_mismatches == 0 and r["onnx"].qonnx_mismatches == 0
    assert r["hls4ml"].mismatches == 0
    assert r["sim"].mismatches == 0 and r["sim"].corner_mismatches == 0
