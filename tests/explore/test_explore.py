"""flow explore: the front, its files, and resuming after an interruption."""

import json
from dataclasses import replace

import pytest

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.explore.front import PARETO_JSON, PARETO_MD, mark_front, parse_reference, write_front
from flow.explore.run import explore, point_name, point_spec, read_point
from flow.options import BuildOptions
from flow.pipeline import STAGE_NAMES


def test_front_marks_non_dominated_verified_points():
    pts = [
        {"name": "a", "accuracy": 0.66, "lut": 4000, "verified": True},
        {"name": "b", "accuracy": 0.65, "lut": 5000, "verified": True},  # dominated by a
        {"name": "c", "accuracy": 0.67, "lut": 9000, "verified": True},
        {"name": "d", "accuracy": 0.70, "lut": 100, "verified": False},  # not verified: never on the front
    ]
    assert [p["on_front"] for p in mark_front(pts)] == [True, False, True, False]


def test_front_files(tmp_path):
    pts = [{"name": "beta-1e-05", "beta": 1e-5, "accuracy": 0.66, "lut": 4000, "verified": True}]
    write_front(tmp_path, {"model": "m", "target": "t"}, pts, [parse_reference("hgq2:66.76:4433")])
    doc = json.loads((tmp_path / PARETO_JSON).read_text())
    assert doc["points"][0]["on_front"] and doc["references"][0] == {"name": "hgq2", "accuracy": 0.6676, "lut": 4433}
    assert "beta-1e-05" in (tmp_path / PARETO_MD).read_text()


def test_point_spec_sets_learned_mode_and_beta():
    s = point_spec(get_model("jsc-small"), 3e-6, {"epochs": 5})
    assert s.quant.mode == "learned" and dict(s.quant.learned) == {"beta": 3e-6, "epochs": 5}
    s = point_spec(get_model("jsc-small"), 3e-6, {"epochs": 5}, seed=7)
    assert dict(s.quant.learned) == {"beta": 3e-6, "epochs": 5, "seed": 7}
    assert (point_name(3e-6), point_name(3e-6, 7)) == ("beta-3e-06", "beta-3e-06-s7")


def test_unverified_when_the_review_fails(tmp_path):
    from flow.artifacts import write_manifest

    root = tmp_path / "m" / "t"
    results = {
        "reference": {"qat_vs_reference_mismatches": 0, "int_accuracy": 0.6},
        "onnx": {"qonnx_mismatches": 0},
        "hls4ml": {"mismatches": 0},
        "sim": {"mismatches": 0, "latency_cycles": 4},
        "synth": {"lut": 100, "ff": 10, "dsp": 0},
        "report": {"verdict": "pass"},
    }
    for i, name in enumerate(STAGE_NAMES):
        if name in results:
            d = root / f"{i + 1:02d}_{name}"
            d.mkdir(parents=True)
            write_manifest(d, {"stage": name, "results": results[name]})
    assert read_point(root)["verified"] is True
    write_manifest(root / f"{STAGE_NAMES.index('report') + 1:02d}_report", {"results": {"verdict": "fail"}})
    assert read_point(root)["verified"] is False


@pytest.mark.slow
def test_explore_resumes(tmp_path):
    spec = get_model("jsc-small")
    spec = replace(spec, train=replace(spec.train, epochs=2))
    learned = {"epochs": 3, "warmup_epochs": 1, "ramp_epochs": 1, "finetune_epochs": 1}
    opts = BuildOptions(vectors=500, until="reference")  # the bit-exact checks after it are the build's own tests
    first = explore(spec, get_target("xcu250"), [1e-4], tmp_path, opts, learned=learned)
    assert first[0]["stages_ran"] and first[0]["accuracy"] > 0.2
    # "interrupted" after the first point: run again with one more; the first is not retrained
    again = {p["name"]: p for p in explore(spec, get_target("xcu250"), [1e-4, 1e-3], tmp_path, opts, learned=learned)}
    assert again["beta-0.0001"]["stages_ran"] == []
    assert "quantize" in again["beta-0.001"]["stages_ran"]
    doc = json.loads((tmp_path / PARETO_JSON).read_text())
    assert {p["name"] for p in doc["points"]} == {"beta-0.0001", "beta-0.001"}
    for p in doc["points"]:
        assert set(p) >= {"accuracy", "lut", "ff", "dsp", "latency_cycles", "verified", "on_front", "build"}
        assert p["verified"] is False  # not synthesized: never verified
    # --collect: nothing is built (no manifest rewritten), the records are read again from the folders
    manifests = {m: m.stat().st_mtime_ns for m in tmp_path.glob("points/*/*/*/*/manifest.json")}
    collected = explore(spec, get_target("xcu250"), [1e-4, 1e-3], tmp_path, opts, learned=learned, build=False)
    assert {p["name"]: p["accuracy"] for p in collected} == {p["name"]: p["accuracy"] for p in doc["points"]}
    assert manifests and {m: m.stat().st_mtime_ns for m in manifests} == manifests
    # a run naming only one of the betas keeps the other folder's point on the front
    explore(spec, get_target("xcu250"), [1e-3], tmp_path, opts, learned=learned, build=False)
    doc = json.loads((tmp_path / PARETO_JSON).read_text())
    assert {p["name"] for p in doc["points"]} == {"beta-0.0001", "beta-0.001"}
