"""``flow report BUILD_DIR...``: several builds side by side, through typer's CliRunner."""

from __future__ import annotations

import json
import re

import pytest
import typer
from report_fakes import FakeBuild
from typer.testing import CliRunner

from flow.cli.report import report
from flow.errors import ConfigError, MismatchError
from flow.report import compare
from flow.stages.report import run


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(report)

    @app.callback()
    def main() -> None:  # keep "report" a sub-command, as in the real CLI
        pass

    return app


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("builds")
    good = FakeBuild(tmp_path / "build" / "jsc-tiny" / "xcu250").all()
    run(good.context())
    bad = FakeBuild(tmp_path / "build" / "jsc-tiny" / "xc7z020").all()
    bad.sim(mismatches=5)
    bad.synth(lut=999)
    with pytest.raises(MismatchError):  # the report is written, then the build fails
        run(bad.context())
    return tmp_path / "build", good, bad


def _invoke(app, *args):
    return CliRunner().invoke(app, ["report", *map(str, args)], env={"COLUMNS": "200"})


def test_side_by_side(app, two_builds):
    _, good, bad = two_builds
    r = _invoke(app, good.root, bad.root)
    assert r.exit_code == 0, r.output
    out = r.output
    assert "jsc-tiny / xcu250" in out and "jsc-tiny / xc7z020" in out
    assert "PASS" in out and "FAIL" in out
    assert f"{good.int_acc:.6f}" in out
    assert "1,234 (0.0714 %)" in out and "999 (1.88 %)" in out  # utilization of each build's own device
    assert "5 (reference 0, onnx 0, hls4ml 0, sim 5)" in out
    for row in ("latency", "II", "LUT", "FF", "DSP", "BRAM", "build time", "RTL accuracy", "hls4ml C-sim accuracy"):
        assert row in out


def test_folder_of_builds_and_out_files(app, two_builds, tmp_path):
    build, _, _ = two_builds
    md, html = tmp_path / "cmp" / "c.md", tmp_path / "cmp" / "c.html"
    assert _invoke(app, build, "--out", md).exit_code == 0
    assert _invoke(app, build, "-o", html).exit_code == 0
    text = md.read_text()
    assert text.count("jsc-tiny / ") >= 2 and "**FAIL**" in text
    page = html.read_text()
    assert "jsc-tiny / xc7z020" in page and 'class="bad"' in page
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page)
    assert "data:image/png;base64," in page


def test_duplicates_once(two_builds):
    build, good, _ = two_builds
    found = compare.find_reports([good.root, good.root / "report.json", build])
    assert len(found) == 2 and found[0] == good.root / "report.json"


def test_wrong_folder(app, tmp_path):
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "missing", tmp_path / "empty"):
        r = _invoke(app, path)
        assert r.exit_code != 0
        assert isinstance(r.exception, ConfigError)
        assert str(path) in str(r.exception) and "\n" not in str(r.exception)


def test_not_a_report(app, tmp_path):
    bad = tmp_path / "b" / "report.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps({"model": "not an object"}))
    r = _invoke(app, bad.parent)
    assert isinstance(r.exception, ConfigError) and "not a readable flow report.json" in str(r.exception)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    assert isinstance(_invoke(app, other).exception, ConfigError)


def test_bad_out_suffix(app, two_builds, tmp_path):
    _, good, _ = two_builds
    r = _invoke(app, good.root, "--out", tmp_path / "c.pdf")
    assert isinstance(r.exception, ConfigError) and ".md or .html" in str(r.exception)
