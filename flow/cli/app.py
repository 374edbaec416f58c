"""Top-level commands: build, models, targets; sub-apps are mounted here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flow.artifacts import REPORT_MD
from flow.cli.data import app as data_app
from flow.cli.report import report
from flow.cli.studies import register as register_studies
from flow.config.targets import TARGETS, get_target
from flow.config.zoo import get_model, list_models
from flow.errors import ConfigError
from flow.options import MIN_TEST_VECTORS
from flow.pipeline import STAGE_NAMES, BuildOptions, build_root, run_build, stage_index

app = typer.Typer(
    help="flow: jet-tagger networks to bit-exact FPGA cores on open tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
app.command()(report)
app.command()(__import__("flow.cli.check", fromlist=["check"]).check)
app.command()(__import__("flow.explore.cli", fromlist=["explore"]).explore)
register_studies(app)
app.add_typer(data_app, name="data", help="Datasets: load, generate (Pythia 8 + FastJet), describe.")


@app.command()
def build(
    model: Annotated[
        str,
        typer.Argument(
            help="zoo name (see `flow models`), a model .toml, a QONNX/ONNX or .pt file, or module:function"
        ),
    ],
    target: Annotated[str, typer.Option("--target", "-t", help="FPGA target (see `flow targets`)")] = "xcu250",
    out: Annotated[Path, typer.Option(help="build folder; results go to OUT/<model>/<target>/")] = Path("build"),
    config: Annotated[Path | None, typer.Option(help="TOML overriding quantization, training, build")] = None,
    until: Annotated[str | None, typer.Option(help=f"stop after this stage: {', '.join(STAGE_NAMES)}")] = None,
    force: Annotated[bool, typer.Option(help="rerun every stage even if its inputs did not change")] = False,
    vectors: Annotated[int | None, typer.Option(help="test vectors for C-sim and RTL (default: all)")] = None,
    data: Annotated[Path | None, typer.Option(help="dataset file (default: the built-in data)")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="start from a `flow train` checkpoint")] = None,
    clock_mhz: Annotated[float | None, typer.Option(help="target clock in MHz (default: the target's)")] = None,
    arithmetic: Annotated[
        str | None, typer.Option(help="RTL arithmetic: shiftadd (default, no multipliers) or dsp (multipliers)")
    ] = None,
    latency: Annotated[int | None, typer.Option(help="RTL latency budget in cycles (total)")] = None,
    adder_levels: Annotated[int | None, typer.Option(help="at most this many adder levels per pipeline stage")] = None,
    axis: Annotated[bool, typer.Option(help="also write (and lint) the AXI4-Stream top")] = False,
    retrain: Annotated[
        bool, typer.Option(help="imported model: train its architecture from scratch instead of keeping its weights")
    ] = False,
    input_scaler: Annotated[
        Path | None, typer.Option(help="imported model: mean/std per feature it was trained with (JSON or npz)")
    ] = None,
    allow_small_test: Annotated[
        bool,
        typer.Option(
            help=f"certify on a test set of fewer than {MIN_TEST_VECTORS:,} vectors or one class "
            "(refused otherwise; the report says it was allowed)"
        ),
    ] = False,
) -> None:
    """Train, quantize, export, generate hls4ml + RTL, check bit for bit, synthesize, report."""
    from flow.config.build import apply_config
    from flow.frontends import with_options

    spec, tgt = get_model(model), get_target(target)
    spec = with_options(spec, retrain=retrain, input_scaler=input_scaler)
    if until is not None:
        stage_index(until)
    for name, path in (("--data", data), ("--checkpoint", checkpoint), ("--config", config)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{name}: file not found: {path}")
    if vectors is not None and vectors < 1:
        raise ConfigError("--vectors must be at least 1")
    check_out(out)
    options = BuildOptions(
        vectors=vectors,
        data=data,
        checkpoint=checkpoint,
        force=force,
        until=until,
        allow_small_test=allow_small_test,
    )
    if config is not None:
        inputs = apply_config(config, spec, tgt, options)
        spec, tgt, options = inputs.model, inputs.target, inputs.options
    options = _rtl_options(options, arithmetic, latency, adder_levels, axis)
    if clock_mhz is not None:
        if clock_mhz <= 0:
            raise ConfigError("--clock-mhz must be positive")
        tgt = tgt.with_clock(clock_mhz)
    console.print(f"[bold]flow build[/] {spec.name} -> {tgt.name} ({tgt.part}, {tgt.clock_mhz:g} MHz)")
    run_build(spec, tgt, options, out, console)
    root = build_root(out, spec, tgt)
    report = root / REPORT_MD
    console.print(f"[bold green]build complete[/]: {root}" + (f"  (report: {report})" if report.exists() else ""))


def _rtl_options(options, arithmetic, latency, adder_levels, axis):
    """The command line's RTL options over the config file's; checked (flow.rtl.generate.RtlSettings)."""
    from dataclasses import replace

    from flow.rtl.generate import rtl_settings

    if latency is not None or adder_levels is not None:  # one of the two replaces the other
        options = replace(options, latency=latency, adder_levels=adder_levels)
    options = replace(options, arithmetic=arithmetic or options.arithmetic, axis=axis or options.axis)
    rtl_settings(options)
    return options


def check_out(out: Path) -> None:
    """``--out`` must be a folder that exists or can be made, and that can be written."""
    for parent in (out, *out.parents):
        if parent.exists():
            if not parent.is_dir():
                what = "" if parent == out else f" ({parent} is a file)"
                raise ConfigError(f"--out: {out} is not a folder{what}")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ConfigError(f"--out: cannot write to {parent}")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out: cannot create {out}: {e.strerror or e}") from None


@app.command()
def models() -> None:
    """List the model zoo."""
    t = Table("name", "parameters", "layers", "description")
    for m in list_models():
        t.add_row(
            m.name,
            f"{m.n_params:,}",
            " ".join(layer.kind[:2] if layer.kind != "linear" else str(layer.out) for layer in m.layers),
            m.description,
        )
    console.print(t)


@app.command()
def targets() -> None:
    """List FPGA targets and their device totals."""
    t = Table("name", "part", "clock MHz", "LUT", "FF", "DSP", "BRAM36", "description")
    for x in TARGETS.values():
        t.add_row(
            x.name,
            x.part,
            f"{x.clock_mhz:g}",
            f"{x.luts:,}",
            f"{x.ffs:,}",
            f"{x.dsps:,}",
            f"{x.brams:,}",
            x.description,
        )
    console.print(t)


@app.command()
def doctor(
    prepare: bool = typer.Option(
        False,
        "--prepare",
        help="also compile Verilator's runtime library once for this machine (about 18 CPU-s), "
        "so that the first build does not",
    ),
) -> None:
    """Check the tools each stage needs; exit 1 if a required one is missing."""
    from flow.cli.doctor import checks
    from flow.errors import ToolError

    t = Table("tool", "status", "version / path / how to install", "used by")
    results = checks()
    for c in results:
        status = "[green]ok[/]" if c.found else ("[red]missing[/]" if c.required else "[yellow]optional[/]")
        t.add_row(c.name, status, c.detail, c.used_by)
    console.print(t)
    missing = [c.name for c in results if c.required and not c.found]
    if missing:
        raise ToolError(f"required tools missing: {', '.join(missing)} (see the table above)")
    if prepare:
        from flow.sim.build import prepare_runtime, runtime_cache_root

        with console.status("compiling Verilator's runtime library"):
            builds = prepare_runtime()
        spent = sum(b.seconds for b in builds)
        console.print(f"Verilator runtime library ready in {runtime_cache_root()} ({spent:.1f} s)")
