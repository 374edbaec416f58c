"""The report stage on a fake build: files, numbers, flags, self-containment, missing stages."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from report_fakes import SUBSET, FakeBuild

from flow.errors import MismatchError
from flow.report import FAIL, INCOMPLETE, PASS, collect, from_dict, to_dict
from flow.report.collect import parse_type
from flow.results import ReportResult, fields_of, from_record
from flow.stages.report import run

FILES = ("report.json", "report.md", "report.html")


def _run(build: FakeBuild) -> tuple[ReportResult, dict, str, str]:
    results = run(build.context())
    root = build.root
    data = json.loads((root / "report.json").read_text())
    return results, data, (root / "report.md").read_text(), (root / "report.html").read_text()


def _run_failing(build: FakeBuild, words: str) -> tuple[dict, str, str]:
    """A failing review still writes the report, then fails the build with the reason."""
    with pytest.raises(MismatchError, match=words):
        run(build.context())
    root = build.root
    data = json.loads((root / "report.json").read_text())
    return data, (root / "report.md").read_text(), (root / "report.html").read_text()


def test_full_build_passes(fake_build):
    b = fake_build.all()
    results, data, md, html = _run(b)
    assert results.verdict == PASS and results.errors == ()
    for f in FILES:
        assert (b.root / f).is_file() and (b.root / "10_report" / f).is_file()
    assert data["verdict"] == PASS
    # the numbers the stages recorded are in the report
    for text in (
        f"{b.float_acc:.6f}",
        f"{b.int_acc:.6f}",
        f"{b.sub_acc:.6f}",
        "1,234",
        "0.0714 %",
        "7 cycles",
        "35 ns",
        "jsc-tiny",
        "xcu250-figd2104-2L-e",
        "Yosys 0.47",
        "2.13.0",
        "hls4ml C-sim",
    ):
        assert text in md, text
        assert text in html, text
    assert "+1.25 percentage points" in md  # float -> integer drop
    assert md.count("| identical |") == 2  # hls4ml and RTL accuracies equal the reference's on the same vectors
    # the fixed-point modes of the precisions
    assert "`RND/SAT`" in md and "`TRN/WRAP`" in md and "`fixed<10,6> RND/SAT`" in md
    # stage times from the manifests, and the total
    assert "| 02 | train | ran | 12.2 |" in md and "132.2" in md
    # result fields no section shows are listed, not dropped
    assert "| synth | muxf | 77 |" in md and "depth_note" in md


def test_accuracy_on_the_same_vectors(fake_build):
    b = fake_build.all()
    report = collect(b.root)
    hls, rtl = report.accuracy("hls4ml"), report.accuracy("sim")
    assert hls.vectors == SUBSET and hls.reference == b.sub_acc and hls.identical is True
    assert rtl.identical is True
    assert report.accuracy("reference").value == b.int_acc
    assert report.accuracy_drop == pytest.approx(0.0125)


def test_html_is_self_contained(fake_build):
    _, data, _, html = _run(fake_build.all())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == len(data["plots"]) >= 3
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<style>" in html


def test_plots_and_markdown_links(fake_build):
    b = fake_build.all()
    _, data, md, _ = _run(b)
    names = {p["name"] for p in data["plots"]}
    assert {"confusion", "roc", "rejection", "history"} <= names
    for dest in (b.root, b.root / "10_report"):
        text = (dest / "report.md").read_text()
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        assert len(links) == len(names)
        for link in links:
            assert (dest / link).is_file(), link
    aucs = {c["name"]: c["auc"] for c in data["classes"]}
    assert set(aucs) == {"g", "q", "W", "Z", "t"} and all(0 < v < 1 for v in aucs.values())


def test_mismatches_are_flagged(fake_build):
    b = fake_build.all()
    b.sim(mismatches=3)
    data, md, html = _run_failing(b, "RTL simulation vs integer reference: 3 of 150 vectors MISMATCH")
    assert data["verdict"] == FAIL
    assert "**ERROR: RTL simulation vs integer reference: 3 of 150 vectors MISMATCH**" in md
    assert "❌ FAIL" in md
    assert 'class="verdict fail"' in html and "MISMATCH" in html
    assert data["checks"][3]["status"] == FAIL and data["checks"][3]["mismatches"] == 3


def test_hls4ml_mismatches_fail(fake_build):
    b = fake_build.all()
    b.hls4ml(mismatches=2)
    report = collect(b.root)
    assert report.check("hls4ml").mismatches == 2 and report.verdict == FAIL


def test_different_accuracy_is_flagged(fake_build):
    b = fake_build.all()
    b.hls4ml(accuracy=b.sub_acc + 1 / SUBSET)  # no mismatch recorded, but the accuracy differs: still an error
    data, md, _ = _run_failing(b, "hls4ml C-sim accuracy .* differs")
    assert data["verdict"] == FAIL
    assert "DIFFERENT" in md
    assert data["accuracies"][2]["identical"] is False


def test_missing_stages_shown_as_not_run(fake_build):
    b = fake_build.all(upto="reference")
    results, data, md, html = _run(b)
    assert results.verdict == INCOMPLETE
    for stage in ("onnx", "hls4ml", "rtl", "sim", "synth"):
        assert re.search(rf"\| \d\d \| {stage} \| not run \|", md), stage
    assert "| hls4ml C-sim | hls4ml | | not run |" in md
    assert "| LUT | n/a |" in md  # no invented numbers
    assert "n/a cycles" in md
    assert data["timing"]["latency_cycles"] is None and data["resources"][0]["used"] is None
    assert "⚠️ INCOMPLETE" in md and 'class="verdict incomplete"' in html


def test_empty_build_folder(tmp_path):
    root = tmp_path / "build" / "m" / "t"
    root.mkdir(parents=True)
    report = collect(root, plot_dir=root / "10_report")
    assert report.model.name == "m" and report.target.name == "t"
    assert all(s.status == "not run" for s in report.stages)
    assert report.verdict == INCOMPLETE and report.plots == ()
    from flow.report import render_html, render_markdown

    assert "not run" in render_markdown(report, root, root)
    assert "not run" in render_html(report, root)


def _record(b: FakeBuild, stage: str) -> dict:
    return json.loads((b.folder(stage) / "manifest.json").read_text())["results"]


def test_records_that_are_not_their_stage_result_are_not_run(fake_build):
    """A record of another class, with a wrong field type, a missing or an unknown field, or without
    a type (an older flow) is never read by guessing: the stage shows as not run, with a warning."""
    b = fake_build.all()
    sim = _record(b, "sim")
    assert from_record(sim).vectors == SUBSET  # the fake's records are valid ones
    b.write("sim", {**sim, "vectors": "many"})
    b.write("synth", {k: v for k, v in _record(b, "synth").items() if k != "lut"})
    b.write("onnx", {**_record(b, "onnx"), "weird": 1})
    b.write("rtl", fields_of(_record(b, "rtl")))
    b.write("hls4ml", sim)
    report = collect(b.root)
    for stage in ("sim", "synth", "onnx", "rtl", "hls4ml"):
        assert report.stage(stage).status == "not run", stage
        assert report.stage(stage).note.startswith("results unreadable"), stage
        assert any(f"stage {stage}: manifest results unreadable" in f.message for f in report.flags), stage
    assert report.timing.latency_cycles is None and report.resource("LUT").used is None
    assert report.accuracy("sim").value is None and report.check("sim").status == "not run"
    assert report.verdict == INCOMPLETE


def test_corrupt_manifest_is_not_run(fake_build):
    b = fake_build.all()
    (b.folder("onnx") / "manifest.json").write_text("{ not json")
    report = collect(b.root)
    assert report.stage("onnx").status == "not run"


def test_subset_accuracy_without_reference_arrays(fake_build):
    b = fake_build.all()
    (b.folder("reference") / "ref_outputs.npy").unlink()
    report = collect(b.root, plot_dir=b.root / "10_report")
    hls = report.accuracy("hls4ml")
    assert hls.reference is None and hls.identical is None  # cannot compare: not invented
    assert report.verdict == INCOMPLETE
    assert any("cannot be compared" in f.message for f in report.flags)
    assert [p.name for p in report.plots] == ["history"]


def test_json_round_trip(fake_build):
    b = fake_build.all()
    report = collect(b.root, plot_dir=b.root / "10_report")
    data = json.loads(json.dumps(to_dict(report)))
    assert from_dict(data) == report
    data["future_key"] = 1  # newer reports still load
    del data["timing"]
    assert from_dict(data) == replace(report, timing=type(report.timing)())


def test_nan_is_not_written(fake_build):
    b = fake_build.all()
    b.train(float_test_accuracy=float("nan"))
    b.reference(float_accuracy=float("nan"))
    report = collect(b.root)
    assert report.float_accuracy is None and report.accuracy_drop is None
    json.dumps(to_dict(report), allow_nan=False)


def test_deterministic(fake_build):
    b = fake_build.all()
    run(b.context())
    first = {f: (b.root / f).read_bytes() for f in FILES}
    plots = {p.name: p.read_bytes() for p in (b.root / "10_report").glob("*.png")}
    run(b.context())
    assert first == {f: (b.root / f).read_bytes() for f in FILES}
    assert plots == {p.name: p.read_bytes() for p in (b.root / "10_report").glob("*.png")}


def test_confusion_matches_reference(fake_build):
    b = fake_build.all()
    report = collect(b.root, plot_dir=b.root / "10_report")
    pred = np.argmax(b.ref, axis=1)
    for i, c in enumerate(report.classes):
        mask = b.labels == i
        assert c.jets == int(mask.sum())
        assert c.recall == pytest.approx(float(np.mean(pred[mask] == i)))


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("fixed<12,7> RND/SAT", (True, 12, 7, "RND", "SAT")),
        ("ufixed<9,-2> TRN/WRAP", (False, 9, -2, "TRN", "WRAP")),
        ("ap_fixed<16,6>", None),
    ],
)
def test_parse_type(text, parsed):
    assert parse_type(text) == parsed


def test_report_files_listed(fake_build):
    b = fake_build.all()
    results = run(b.context())
    for f in results.files:
        assert (b.root / f).is_file() or (b.root / Path(f).name).is_file()
