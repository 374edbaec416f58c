"""Every command's --help keeps the bracketed names its help texts mention ([train], [build], [GeV], ...).

typer renders help texts as rich markup, where ``[train]`` is a style tag and silently disappears unless
escaped (``rich.markup.escape``). The check walks every command and sub-command of ``flow``, collects
the bracketed words of its raw help texts and requires each in the rendered ``--help``.
"""

from __future__ import annotations

import re

import typer
from rich.markup import escape
from typer.testing import CliRunner

from flow.cli.app import app

BRACKETED = re.compile(r"\[[^\[\]\s]+\]")


def commands(group, path: tuple[str, ...] = ()):
    """``(path, command)`` of a (typer-vendored) click command and all its sub-commands."""
    yield path, group
    if isinstance(getattr(group, "commands", None), dict):
        for name, sub in group.commands.items():
            yield from commands(sub, (*path, name))


def raw_texts(cmd) -> list[str]:
    texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
    return [t.replace("\\[", "[") for t in texts]  # an escaped bracket is meant to be shown


def missing_brackets(application: typer.Typer) -> dict[str, list[str]]:
    """``{"flow sweep": ["[train]", ...]}``: bracketed names of help texts not in the rendered --help."""
    root = typer.main.get_command(application)
    runner = CliRunner()
    out: dict[str, list[str]] = {}
    for path, cmd in commands(root):
        wanted = sorted({m for t in raw_texts(cmd) for m in BRACKETED.findall(t)})
        res = runner.invoke(application, [*path, "--help"], env={"COLUMNS": "250", "NO_COLOR": "1"})
        assert res.exit_code == 0, (path, res.output)
        lost = [w for w in wanted if w not in res.output]
        if lost:
            out[" ".join(("flow", *path))] = lost
    return out


def test_every_help_keeps_bracketed_names():
    root = typer.main.get_command(app)
    names = {" ".join(p) for p, _ in commands(root)}
    assert {"sweep", "train", "quantize", "analyze graph", "data generate", "build"} <= names
    assert missing_brackets(app) == {}


def test_the_check_finds_eaten_markup():
    demo = typer.Typer()

    @demo.command()
    def one(
        config: str = typer.Option("", help="TOML with [train] and [build]"),
        ok: str = typer.Option("", help=escape("TOML with [quantization]")),
    ) -> None:
        """Reads [passes.quantize]."""

    @demo.command()
    def two() -> None:
        """Nothing bracketed."""

    assert missing_brackets(demo) == {"flow one": ["[build]", "[passes.quantize]", "[train]"]}
