"""The ``flow explore`` command (registered on the main app in flow/cli/app.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# the range measured on jsc-medium (docs/explore.md): 1e-6 ~ 24k LUT ... 8e-5 ~ 1.1k LUT at 400 epochs
DEFAULT_BETAS = "1e-6,2.5e-6,5e-6,1.2e-5,1.8e-5,5e-5,8e-5"


def explore(
    model: Annotated[str, typer.Argument(help="zoo name, a model .toml, or module:function")],
    target: Annotated[str, typer.Option("--target", "-t", help="FPGA target (see `flow targets`)")] = "xcu250",
    betas: Annotated[str, typer.Option(help="comma-separated beta values (resource weight)")] = DEFAULT_BETAS,
    out: Annotated[Path | None, typer.Option(help="folder (default: explore/<model>/<target>)")] = None,
    jobs: Annotated[int, typer.Option(help="points built at once (default: half the cores)")] = 0,
    epochs: Annotated[int | None, typer.Option(help="bit-width training epochs per point")] = None,
    lut_budget: Annotated[float | None, typer.Option(help="keep the best epoch within this LUT estimate")] = None,
    vectors: Annotated[int | None, typer.Option(help="test vectors for C-sim and RTL (default: all)")] = None,
    data: Annotated[Path | None, typer.Option(help="dataset file (default: the built-in data)")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="float checkpoint shared by every point")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML overriding quantization, training, build")] = None,
    baseline: Annotated[bool, typer.Option(help="also build the model's uniform design as a reference")] = False,
    reference: Annotated[list[str] | None, typer.Option(help="reference point NAME:ACCURACY:LUT (repeatable)")] = None,
    seeds: Annotated[str | None, typer.Option(help="training seeds, comma-separated")] = None,
    latency: Annotated[int | None, typer.Option(help="RTL latency budget in cycles for every point")] = None,
    adder_levels: Annotated[int | None, typer.Option(help="adder levels per pipeline stage for every point")] = None,
    collect: Annotated[bool, typer.Option(help="build nothing: re-read the point folders, rewrite the front")] = False,
    backend: Annotated[str, typer.Option(help="local (process pool) or ray (one task per point)")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (auto, HOST:PORT); none: start one")] = None,
    retries: Annotated[int, typer.Option(help="attempts after a failed or lost point (Ray backend)")] = 2,
) -> None:
    """Learned bit widths across resource budgets: build and verify every point, write the front."""
    from flow.config.build import apply_config
    from flow.config.targets import get_target
    from flow.config.zoo import get_model
    from flow.errors import ConfigError
    from flow.explore.front import PARETO_JSON, parse_reference
    from flow.explore.run import explore as run_explore
    from flow.options import BuildOptions

    spec, tgt = get_model(model), get_target(target)
    options = BuildOptions(vectors=vectors, data=data, checkpoint=checkpoint)
    if config is not None:
        inputs = apply_config(config, spec, tgt, options)
        spec, tgt, options = inputs.model, inputs.target, inputs.options
    if latency is not None or adder_levels is not None:
        from dataclasses import replace

        rtl = {"latency": latency} if latency is not None else {}
        rtl.update({"adder_levels": adder_levels} if adder_levels is not None else {})
        options = replace(options, **rtl)
    try:
        beta_list = [float(b) for b in betas.split(",") if b.strip()]
    except ValueError:
        raise ConfigError(f"--betas must be comma-separated numbers, got {betas!r}") from None
    if not beta_list or any(b < 0 for b in beta_list):
        raise ConfigError("--betas needs at least one value, none negative")
    try:
        seed_list = [int(x) for x in seeds.split(",") if x.strip()] if seeds else None
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    learned: dict = {}
    if epochs is not None:
        learned["epochs"] = epochs
    if lut_budget is not None:
        learned["lut_budget"] = float(lut_budget)
    jobs = jobs or max(1, (os.cpu_count() or 2) // 2)
    folder = out or Path("explore") / spec.name / tgt.name
    refs = [parse_reference(r) for r in reference or []]
    console = Console()
    run_explore(
        spec,
        tgt,
        beta_list,
        folder,
        options,
        jobs=jobs,
        learned=learned,
        baseline=baseline,
        references=refs,
        console=console,
        seeds=seed_list,
        build=not collect,
        backend=backend,
        address=address,
        retries=retries,
    )
    console.print(f"[bold green]explore complete[/]: {folder / PARETO_JSON}")
