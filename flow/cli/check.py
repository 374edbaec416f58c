"""``flow check BUILD_DIR``: re-run every bit-exact check on a build's artifacts as they are on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def check(
    build_dir: Annotated[Path, typer.Argument(help="a build folder, e.g. build/jsc-tiny/xcu250")],
    vectors: Annotated[int | None, typer.Option(help="test vectors to check (default: all; corners always)")] = None,
    only: Annotated[str, typer.Option(help="comma-separated checks: onnx, hls4ml, rtl")] = "onnx,hls4ml,rtl",
) -> None:
    """Check the QONNX file, the hls4ml project (weight headers included) and the RTL files as they are.

    Nothing is regenerated. Exit 1 with the first mismatch (vector set, vector, layer, both values);
    exit 0 with a summary when every check passes.
    """
    from flow.check.build import check_build
    from flow.errors import ConfigError

    if not build_dir.is_dir():
        raise ConfigError(f"not a folder: {build_dir}")
    names = tuple(s.strip() for s in only.split(",") if s.strip())
    unknown = set(names) - {"onnx", "hls4ml", "rtl"}
    if unknown:
        raise ConfigError(f"--only: unknown check(s) {', '.join(sorted(unknown))}; use onnx, hls4ml, rtl")
    console.print(f"[bold]flow check[/] {build_dir}")
    outcomes = check_build(build_dir, vectors=vectors, only=names, echo=lambda s: console.print(f"  {s}"))
    console.print(f"[bold green]all {len(outcomes)} checks pass[/]: 0 mismatches")
