"""``flow data``: load, generate and describe JSC jet datasets."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from flow.data.schema import CLASS_NAMES, FEATURE_NAMES
from flow.errors import DataError

app = typer.Typer(
    help="Load, generate (Pythia 8 + FastJet) and describe JSC jet datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _class_table(ds, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("class", "jets", "share"):
        t.add_column(col, justify="right" if col != "class" else "left")
    counts = ds.class_counts()
    for c in CLASS_NAMES:
        t.add_row(c, f"{counts[c]:,}", f"{counts[c] / max(len(ds), 1):.1%}")
    return t


@app.command()
def load(
    path: Annotated[Path | None, typer.Argument(help=".arff, .csv, .parquet or .npz file")] = None,
    openml: Annotated[bool, typer.Option("--openml", help="fetch OpenML 42468 (cached) instead of PATH")] = False,
    cache_dir: Annotated[Path | None, typer.Option(help="OpenML cache folder (default ~/.cache/flow/...)")] = None,
    drop_nonfinite: Annotated[
        bool,
        typer.Option("--drop-nonfinite/--refuse-nonfinite", help="drop rows with NaN/inf (counted) or fail"),
    ] = True,
    save: Annotated[Path | None, typer.Option(help="also write the validated data as .parquet or .npz")] = None,
) -> None:
    """Read and validate a dataset file (or OpenML with --openml) and print what is in it."""
    from flow.data import fetch_openml
    from flow.data import load as load_file
    from flow.data.io import write_dataset

    if openml == (path is not None):
        raise DataError("give a PATH or --openml (one of them)")
    policy = "drop" if drop_nonfinite else "refuse"
    ds = fetch_openml(cache_dir) if openml else load_file(path, on_nonfinite=policy)
    console.print(_class_table(ds, f"{ds.source}: {len(ds):,} jets, {len(FEATURE_NAMES)} features"))
    dropped = int(ds.metadata.get("dropped_nonfinite", 0))
    if dropped:
        console.print(f"[yellow]dropped {dropped:,} rows with NaN or inf values[/]")
    if ds.pt is not None:
        console.print(f"jet pT {float(ds.pt.min()):.0f}-{float(ds.pt.max()):.0f} GeV")
    if save is not None:
        write_dataset(save, ds.features, ds.labels, pt=ds.pt, eta=ds.eta, metadata=ds.metadata)
        console.print(f"wrote {save}")


class _RateColumn(ProgressColumn):
    """Jets per second generated in this run (resumed chunks excluded)."""

    def render(self, task: Task) -> Text:
        done = task.completed - task.fields.get("resumed", 0)
        elapsed = task.elapsed or 0.0
        rate = done / elapsed if elapsed > 0 and done > 0 else 0.0
        return Text(f"{rate:6.1f} jets/s", style="cyan")


def _parse_classes(text: str) -> tuple[str, ...]:
    classes = tuple(c.strip().lower() for c in text.split(",") if c.strip())
    return classes


@app.command()
def generate(
    jets: Annotated[int, typer.Option("--jets", help="total number of jets, balanced over the classes")],
    classes: Annotated[str, typer.Option(help="comma-separated classes out of g,q,w,z,t")] = "g,q,w,z,t",
    seed: Annotated[int, typer.Option(help="random seed; the output is a function of it")] = 42,
    workers: Annotated[int, typer.Option(help="worker processes (default: all cores)")] = os.cpu_count() or 1,
    out: Annotated[Path, typer.Option(help="output .parquet or .npz")] = Path("jsc-generated.parquet"),
    chunk_jets: Annotated[int, typer.Option(help="jets per chunk (changes the jets; kept for resume)")] = 500,
    pt_min: Annotated[float, typer.Option(help="jet pT window, lower edge [GeV]")] = 800.0,
    pt_max: Annotated[float, typer.Option(help="jet pT window, upper edge [GeV]")] = 1600.0,
    eta_max: Annotated[float, typer.Option(help="jet |eta| limit")] = 2.5,
    containment: Annotated[bool, typer.Option(help="require the W/Z/top decay quarks within R=0.8 of the jet")] = True,
    smearing: Annotated[bool, typer.Option(help="Gaussian smearing of tracks and calorimeter cells")] = True,
    detector: Annotated[
        bool, typer.Option("--detector/--truth-level", help="detector cells and tracks, or stable particles")
    ] = True,
    pthat_min: Annotated[float, typer.Option(help="Pythia PhaseSpace:pTHatMin [GeV]")] = 1000.0,
    fresh: Annotated[bool, typer.Option(help="discard chunks left by an earlier run of OUT")] = False,
    keep_parts: Annotated[bool, typer.Option(help="keep the chunk folder OUT.parts after writing OUT")] = False,
) -> None:
    """Generate JSC-like jets with Pythia 8 and FastJet (resumable: rerun to continue)."""
    from flow.data.describe import physics_check
    from flow.data.generate.runner import Progress as RunProgress
    from flow.data.generate.runner import generate as run_generate
    from flow.data.generate.settings import DetectorSettings, GeneratorSettings, JetSettings
    from flow.data.loaders import load as load_file

    settings = GeneratorSettings(
        n_jets=jets,
        classes=_parse_classes(classes),
        seed=seed,
        chunk_jets=chunk_jets,
        pthat_min=pthat_min,
        detector=DetectorSettings(enabled=detector, smearing=smearing),
        jets=JetSettings(pt_min=pt_min, pt_max=pt_max, eta_max=eta_max, containment=containment),
    )
    console.print(
        f"[bold]generating[/] {jets:,} jets ({','.join(settings.classes)}) seed {seed}, {workers} workers -> {out}"
    )
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} jets"),
        _RateColumn(),
        TimeElapsedColumn(),
    )
    t0 = time.perf_counter()
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("jets", total=jets)

        def on_progress(p: RunProgress) -> None:
            if p.resumed_jets and p.jets_done == p.resumed_jets:
                bar.reset(task, total=p.jets_total, completed=p.resumed_jets, resumed=p.resumed_jets)
                bar.update(task, description=f"jets ({p.resumed_jets:,} resumed)")
            bar.update(task, completed=p.jets_done)

        meta = run_generate(
            settings,
            out,
            workers=workers,
            fresh=fresh,
            keep_parts=keep_parts,
            on_progress=on_progress,
            command=settings.command(str(out)),
        )
    wall = time.perf_counter() - t0
    made = meta["run"]["jets_generated_this_run"]
    size = out.stat().st_size / 1e6
    console.print(
        f"[bold green]wrote[/] {out} ({jets:,} jets, {size:.1f} MB): {made:,} generated in {wall:.0f} s "
        f"= {made / max(wall, 1e-9):.0f} jets/s"
    )
    check = physics_check(load_file(out))
    peaks = []
    if "w" in settings.classes:
        peaks.append(f"W jets with 65 < mass_mmdt < 105 GeV: {check.w_in_window:.1%}")
    if "t" in settings.classes:
        peaks.append(f"top jets with 140 < mass_mmdt < 200 GeV: {check.top_in_window:.1%}")
    if peaks:
        console.print("; ".join(peaks))


@app.command()
def describe(
    path: Annotated[Path | None, typer.Argument(help="dataset file (default: the built-in data)")] = None,
    out_dir: Annotated[Path, typer.Option(help="folder for the PNG histograms")] = Path("data-describe"),
    bins: Annotated[int, typer.Option(help="histogram bins")] = 60,
    plots: Annotated[bool, typer.Option(help="write the histograms")] = True,
) -> None:
    """Per-class summaries and per-class histograms of the 16 features (PNG)."""
    from flow.data import load as load_file
    from flow.data import load_default
    from flow.data.describe import TOP_WINDOW, W_WINDOW, physics_check, plot_histograms, summarize

    ds = load_file(path) if path is not None else load_default()
    rows = summarize(ds)
    t = Table(title=f"{ds.source}: {len(ds):,} jets", title_justify="left")
    for col in (
        "class",
        "jets",
        "pT med",
        "mass_mmdt med",
        f"in {W_WINDOW[0]:.0f}-{W_WINDOW[1]:.0f}",
        f"in {TOP_WINDOW[0]:.0f}-{TOP_WINDOW[1]:.0f}",
        "multiplicity med",
    ):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            r.cls,
            f"{r.n:,}",
            f"{r.pt_median:.0f}",
            f"{r.mass_median:.1f}",
            f"{r.in_w_window:.1%}",
            f"{r.in_top_window:.1%}",
            f"{r.multiplicity_median:.0f}",
        )
    console.print(t)
    m = Table(title="feature medians per class", title_justify="left")
    m.add_column("feature")
    for r in rows:
        m.add_column(r.cls, justify="right")
    for i, name in enumerate(FEATURE_NAMES):
        m.add_row(name, *(f"{r.medians[i]:.4g}" for r in rows))
    console.print(m)
    check = physics_check(ds)
    verdict = "[green]ok[/]" if check.passed else "[yellow]below the default-data bar (60% / 50%)[/]"
    console.print(
        f"physics: W in W window {check.w_in_window:.1%}, top in top window {check.top_in_window:.1%}: {verdict}"
    )
    if plots:
        written = plot_histograms(ds, out_dir, bins=bins)
        console.print(f"wrote {len(written)} PNGs to {out_dir}/ (overview: {written[0]})")


if __name__ == "__main__":
    app()
