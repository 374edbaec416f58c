"""``flow report BUILD_DIR...``: several builds' design-review reports side by side.

Mounted in :mod:`flow.cli.app` with ``app.command()(report)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def report(
    build_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="build folders (build/<model>/<target>), report.json files, or folders holding several builds",
            show_default=False,
            metavar="BUILD_DIR",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="also write the comparison to this file (.md or .html, self-contained)"),
    ] = None,
) -> None:
    """Put the reports of several builds side by side: accuracies, mismatches, latency, II, resources."""
    from flow.report import compare

    if out is not None and out.suffix.lower() not in (".md", ".html", ".htm"):
        from flow.errors import ConfigError

        raise ConfigError(f"--out {out}: the comparison is written as .md or .html")
    builds = compare.load_all(build_dirs)
    console.print(compare.table(builds))
    if out is not None:
        console.print(f"comparison written to {compare.write(builds, out)}")
