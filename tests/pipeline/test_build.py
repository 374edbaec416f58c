"""Whole builds on the built-in data: every back end equals the integer reference bit for bit.

jsc-tiny and jsc-small run every stage (synthesis included); jsc-large runs up to the RTL
simulation on fewer vectors (its Yosys run takes many minutes: see `bench/bench_build.py`).
"""

import json
import sys

import pytest

from flow.cli import main
from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.pipeline import BuildOptions, build_root, run_build
from flow.results import to_record

pytestmark = pytest.mark.slow


def _checks(results: dict) -> None:
    ref = results["reference"]
    assert ref["qat_vs_reference_mismatches"] == 0
    assert ref["float_accuracy"] - ref["int_accuracy"] <= 0.01  # within one point
    assert results["onnx"]["qonnx_mismatches"] == 0
    assert results["hls4ml"]["mismatches"] == 0
    assert results["sim"]["mismatches"] == 0
    assert results["sim"]["ii"] == 1 and results["sim"]["latency_cycles"] > 0
    n = results["sim"]["vectors"]
    assert results["hls4ml"]["vectors"] == n
    if n == ref["vectors"]:  # the whole test set: all three accuracies are the same number
        assert results["hls4ml"]["accuracy"] == ref["int_accuracy"] == results["sim"]["accuracy"]


@pytest.mark.parametrize("model", ["jsc-tiny", "jsc-small"])
def test_full_build(model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default, relative --out (build/) as a user runs it
    monkeypatch.setattr(sys, "argv", ["flow", "build", model, "--target", "xcu250"])
    main()  # exits only on error
    root = tmp_path / "build" / model / "xcu250"
    results = {
        json.loads(p.read_text())["stage"]: json.loads(p.read_text())["results"] for p in root.glob("*/manifest.json")
    }
    _checks(results)
    assert results["reference"]["vectors"] >= 10_000
    assert results["synth"]["lut"] > 0
    report = json.loads((root / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert (root / "report.html").read_text().count("data:image/png;base64") >= 2
    assert "build complete" in capsys.readouterr().out


def test_large_model_until_rtl_simulation(tmp_path):
    spec = get_model("jsc-large")
    outcomes = run_build(spec, get_target("xcu250"), BuildOptions(vectors=2000, until="sim"), tmp_path)
    results = {o.stage: to_record(o.results) for o in outcomes}
    _checks(results)
    assert results["sim"]["vectors"] == 2000
    assert (build_root(tmp_path, spec, get_target("xcu250")) / "07_rtl").is_dir()
