"""Stages, manifests and resuming: a rerun skips what did not change and reruns what did."""

import json

import pytest

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.pipeline import STAGE_NAMES, BuildOptions, build_root, run_build, stage_digest


@pytest.fixture(scope="module")
def first_build(jets_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    spec, target = get_model("jsc-small"), get_target("xcu250")
    options = BuildOptions(data=jets_npz, until="reference", allow_small_test=True)
    outcomes = run_build(spec, target, options, out)
    return out, spec, target, options, outcomes


def test_stages_write_numbered_folders_with_manifests(first_build):
    out, spec, target, _, outcomes = first_build
    root = build_root(out, spec, target)
    assert [o.stage for o in outcomes] == list(STAGE_NAMES[:4])
    for i, name in enumerate(STAGE_NAMES[:4], start=1):
        m = json.loads((root / f"{i:02d}_{name}" / "manifest.json").read_text())
        assert m["stage"] == name and m["index"] == i
        folder = root / f"{i:02d}_{name}"
        assert len(m["input_hash"]) == 64 and m["output_hash"] == stage_digest(folder, m["results"])
        assert m["tools"]["python"] and m["seconds"] >= 0
    assert (root / "03_quantize" / "quant_graph.json").is_file()
    assert outcomes[3].results.qat_vs_reference_mismatches == 0


def test_rerun_skips_unchanged_stages(first_build):
    out, spec, target, options, _ = first_build
    again = run_build(spec, target, options, out)
    assert [o.status for o in again] == ["skipped"] * 4


def test_changed_quantization_reruns_from_quantize(first_build):
    from dataclasses import replace

    from flow.config.quant import parse_quant_config

    out, spec, target, options, _ = first_build
    narrow = parse_quant_config({"quantization": {"linear": {"weight": {"width": 5}}}})
    spec2 = replace(spec, quant=spec.quant.merged_with(narrow))
    again = run_build(spec2, target, options, out)
    assert [o.status for o in again] == ["skipped", "skipped", "ran", "ran"]
    graph = json.loads((build_root(out, spec, target) / "03_quantize" / "quant_graph.json").read_text())
    assert {layer["weight_type"]["width"] for layer in graph["layers"] if layer["kind"] == "dense"} == {5}


def test_force_reruns_everything(first_build):
    out, spec, target, options, _ = first_build
    from dataclasses import replace

    again = run_build(spec, target, replace(options, force=True, until="data"), out)
    assert [o.status for o in again] == ["ran"]


def test_tampered_output_is_rebuilt(first_build):
    out, spec, target, options, _ = first_build
    root = build_root(out, spec, target)
    (root / "01_data" / "dataset.json").write_text("{}")
    again = run_build(spec, target, options.__class__(data=options.data, until="data"), out)
    assert again[0].status == "ran"
