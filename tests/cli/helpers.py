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
