"""The in-process CLI runner and assertions shared by the command-line tests (and tests/pipeline)."""

import sys
from dataclasses import dataclass

import pytest

from flow.cli import main


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``flow.cli.main`` in-process and capture exit code and output."""

    def call(*args):
        monkeypatch.setattr(sys, "argv", ["flow", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


def one_line_error(r, words: str) -> None:
    """Exit 1, one line on stderr containing ``words``, no traceback."""
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(r.lines) == 1, r.stderr
    assert words in r.lines[0], r.stderr


def build_toml(tmp_path, monkeypatch, model_toml: str, name: str, *args) -> tuple:
    """Write ``model_toml`` into ``tmp_path``, run ``flow build`` on it in-process there (``args``: more
    flags) and return the build folder ``build/<name>/xcu250`` and each stage's results by stage name
    (read back from the manifests, as the report reads them)."""
    import json

    toml = tmp_path / f"{name}.toml"
    toml.write_text(model_toml)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["flow", "build", str(toml), "--target", "xcu250", *map(str, args)])
    main()
    root = tmp_path / "build" / name / "xcu250"
    manifests = [json.loads(p.read_text()) for p in root.glob("*/manifest.json")]
    return root, {m["stage"]: m["results"] for m in manifests}
