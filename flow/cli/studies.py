"""Study commands: ``flow train``, ``flow sweep``, ``flow baseline``, ``flow quantize``, ``flow analyze``.

Mounted on the main app by :func:`register`. Every command reads the built-in dataset unless ``--data``
names a file, splits it like ``flow build`` (``--split-seed``), and writes a folder under ``runs/``
unless ``--out`` says where.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flow.errors import ConfigError

console = Console()

ModelArg = Annotated[str, typer.Argument(help="zoo name (see `flow models`), a model .toml, or module:function")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="dataset file (default: the built-in data)")]
SplitSeedOpt = Annotated[int, typer.Option("--split-seed", help="seed of the train/val/test split")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="output folder (default: runs/<model>/<timestamp>)")]
# Help texts are rich markup (typer's rich mode): square brackets must be escaped or they vanish as tags.
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help=escape("TOML with [train] and/or [quantization] (or MASE's [passes.quantize]) overrides")
    ),
]
EmbeddingOpt = Annotated[str, typer.Option(help="2-D embedding of the last hidden layer: tsne, pca (faster) or none")]
EmbeddingSamplesOpt = Annotated[int, typer.Option(help="test jets in the embedding (a fixed random sample)")]


# -- shared helpers -----------------------------------------------------------------------------------


def _timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _need_file(option: str, path: Path | None) -> None:
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"{option}: file not found: {path}")


def _spec(model: str, config: Path | None):
    from flow.config.zoo import get_model
    from flow.studies.settings import apply_study_config

    _need_file("--config", config)
    spec = get_model(model)
    return apply_study_config(config, spec) if config is not None else spec


def _data(data: Path | None, split_seed: int):
    from flow.studies.data import load_study_data

    _need_file("--data", data)
    with console.status("loading data"):
        d = load_study_data(data, split_seed)
    c = d.counts()
    console.print(
        f"[dim]data: {d.source}: {c['train']:,} train / {c['val']:,} val / {c['test']:,} test "
        f"(split seed {split_seed})[/]"
    )
    return d


def _checkpoint(path: Path, spec):
    """``(float model, input mean, input std)`` of a ``flow train`` checkpoint of ``spec``'s network."""
    from flow.train.model import load_float_model, read_checkpoint

    _need_file("--checkpoint", path)
    ckpt = read_checkpoint(path)
    if ckpt.get("model") != spec.name:
        raise ConfigError(
            f"{path} is a checkpoint of {ckpt.get('model')!r}, not {spec.name!r}; "
            f"pass model {ckpt.get('model_ref', ckpt.get('model'))!r} or another checkpoint"
        )
    return load_float_model(path, spec), ckpt["input_mean"], ckpt["input_std"]


@contextlib.contextmanager
def _epoch_progress(total: int, label: str) -> Iterator:
    """A live bar whose text shows the last epoch's loss and accuracy; yields the on_epoch callback."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def on_epoch(rec: dict) -> None:
            text = (
                f"{rec['phase']:>5} {rec['epoch']:3d}  loss {rec['train_loss']:.4f} / {rec['val_loss']:.4f}  "
                f"acc {rec['train_acc']:.4f} / {rec['val_acc']:.4f}  {rec['samples_per_s']:,.0f} samples/s"
            )
            bar.console.print(f"[dim]{text}[/]")
            bar.update(task, advance=1, description=f"{label}: val acc {rec['val_acc']:.4f}")

        yield on_epoch


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    t = Table(*columns, title=title, title_justify="left")
    for r in rows:
        t.add_row(*r)
    return t


# -- flow train ---------------------------------------------------------------------------------------


def train(
    model: ModelArg,
    batch_size: Annotated[int | None, typer.Option(help="batch size (default: the model's)")] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate (default: the model's)")] = None,
    epochs: Annotated[int | None, typer.Option(help="epochs (default: the model's)")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw or sgd (default: the model's)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of weights and shuffling (default: the model's)")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="weight decay (default: the model's)")] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    split_seed: SplitSeedOpt = 42,
    out: OutOpt = None,
    threads: Annotated[int, typer.Option(help="torch threads (small networks train fastest on one)")] = 1,
    embedding: EmbeddingOpt = "tsne",
    embedding_samples: EmbeddingSamplesOpt = 2000,
) -> None:
    """Train the float model: per-epoch metrics, best/last checkpoints, curves, confusion matrix, ROC,
    embedding of the last hidden layer."""
    import torch

    from flow.studies.embed import check_embedding
    from flow.studies.run import train_run
    from flow.studies.settings import with_train

    embedding = check_embedding(embedding, embedding_samples)

    spec = with_train(
        _spec(model, config),
        batch_size=batch_size,
        lr=lr,
        epochs=epochs,
        optimizer=optimizer,
        seed=seed,
        weight_decay=weight_decay,
    )
    if threads < 1:
        raise ConfigError("--threads must be at least 1")
    torch.set_num_threads(threads)
    d = _data(data, split_seed)
    out = out or Path("runs") / spec.name / _timestamp()
    t = spec.train
    console.print(
        f"[bold]flow train[/] {spec.name}: {t.epochs} epochs, batch {t.batch_size}, lr {t.lr:g}, "
        f"{t.optimizer}, seed {t.seed} -> {out}"
    )
    with _epoch_progress(t.epochs, "float training") as on_epoch:
        r = train_run(spec, d, out, on_epoch, embedding, embedding_samples)
    auc = "  ".join(f"{k} {v:.3f}" for k, v in r.auc.items())
    console.print(
        f"best epoch {r.best_epoch}: val acc {r.best_val_acc:.4f} (last {r.last_val_acc:.4f}); "
        f"test acc {r.test_acc:.4f}; AUC {auc}; {r.samples_per_s:,.0f} samples/s"
    )
    console.print(f"[bold green]run saved[/]: {out}  (next: flow build {model} --checkpoint {out / 'best.pt'})")


# -- flow sweep ---------------------------------------------------------------------------------------


def sweep(
    model: ModelArg,
    batch_size: Annotated[str | None, typer.Option(help="values: 256,512 | 64..1024*4 (default: the model's)")] = None,
    lr: Annotated[str | None, typer.Option(help="values: 1e-3,3e-3 | 1e-4..1e-2*10 (default: the model's)")] = None,
    epochs: Annotated[str | None, typer.Option(help="values: 10,20 | 5..20:5 (default: the model's)")] = None,
    weight_bits: Annotated[str | None, typer.Option(help="weight widths: float,8,6,4 | 2..8 (default: float)")] = None,
    act_bits: Annotated[str | None, typer.Option(help="activation widths, like --weight-bits")] = None,
    batchnorm: Annotated[
        str | None, typer.Option(help="on,off: a BatchNorm after every hidden Linear, or none (default: the model's)")
    ] = None,
    width: Annotated[
        str | None,
        typer.Option(
            help="hidden widths: 8,16,32 (every hidden layer) | x0.5,x2 (scale the model's) | 64-32-32 (per layer)"
        ),
    ] = None,
    depth: Annotated[str | None, typer.Option(help="hidden layers: 1,2,3 | 1..4 (default: the model's)")] = None,
    repeats: Annotated[int, typer.Option(help="independent seeds per grid point")] = 1,
    seed: Annotated[int | None, typer.Option(help="first seed; repeat r uses seed + r (default: the model's)")] = None,
    qat_epochs: Annotated[
        int | None,
        typer.Option(help="QAT epochs of bit-width points (0: post-training quantization; default: the model's)"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="parallel runs (default: one per core; with --backend ray and no --address: its CPUs)"),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="local (a process pool on this machine) or ray (a Ray cluster: docs/cluster.md)")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="with --backend ray: HEAD:6379 or auto (the cluster this machine joined); "
            "none: start a local Ray instance"
        ),
    ] = None,
    retries: Annotated[int, typer.Option(help="reruns of a run that fails or whose worker dies")] = 2,
    config: ConfigOpt = None,
    data: DataOpt = None,
    split_seed: SplitSeedOpt = 42,
    out: Annotated[
        Path | None,
        typer.Option(
            help="sweep folder (default: runs/<model>/sweep-<hash of the settings>, so the same command resumes)"
        ),
    ] = None,
    plots_per_run: Annotated[
        bool, typer.Option(help="write each run's curves, confusion matrix, ROC and embedding to OUT/runs/<key>/")
    ] = False,
    embedding: EmbeddingOpt = "tsne",
    embedding_samples: EmbeddingSamplesOpt = 2000,
) -> None:
    """Train a grid of settings over seeds in parallel, on this machine or a Ray cluster; table (Markdown +
    CSV), a plot per variable, learning curves overlaid per setting, index.html."""
    from flow.studies.arch import parse_switch, parse_widths
    from flow.studies.backends import make_backend
    from flow.studies.embed import check_embedding
    from flow.studies.sweep import (
        SHORT,
        SweepGrid,
        SweepIncomplete,
        SweepSettings,
        default_out,
        metric_label,
        run_sweep,
        table,
    )
    from flow.studies.values import parse_values

    spec = _spec(model, config)
    t = spec.train
    grid = SweepGrid(
        batch_size=parse_values(batch_size, int, "--batch-size") if batch_size else (t.batch_size,),
        lr=parse_values(lr, float, "--lr") if lr else (t.lr,),
        epochs=parse_values(epochs, int, "--epochs") if epochs else (t.epochs,),
        weight_bits=parse_values(weight_bits, int, "--weight-bits", allow_float=True) if weight_bits else (None,),
        act_bits=parse_values(act_bits, int, "--act-bits", allow_float=True) if act_bits else (None,),
        batchnorm=parse_switch(batchnorm, "--batchnorm") if batchnorm else (None,),
        width=parse_widths(width, "--width") if width else (None,),
        depth=parse_values(depth, int, "--depth") if depth else (None,),
        repeats=repeats,
    )
    if workers is not None and workers < 1:
        raise ConfigError("--workers must be at least 1")
    if retries < 0:
        raise ConfigError("--retries must be at least 0")
    runner = make_backend(backend, address, workers)
    runner = None if backend == "local" else runner  # run_sweep sizes the local pool to the runs left
    settings = SweepSettings(
        grid,
        seed=t.seed if seed is None else seed,
        qat_epochs=qat_epochs,
        workers=workers,
        plots_per_run=plots_per_run,
        embedding=check_embedding(embedding, embedding_samples),
        embedding_samples=embedding_samples,
    )
    d = _data(data, split_seed)
    out = out or default_out(spec, settings, d)
    points = settings.points()
    console.print(
        f"[bold]flow sweep[/] {spec.name}: {len(grid.configs())} grid points x {grid.repeats} seeds = "
        f"{len(points)} runs -> {out}"
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with contextlib.ExitStack() as stack, Progress(*columns, console=console, transient=True) as bar:
        if runner is not None:
            with console.status("connecting to Ray"):
                stack.enter_context(runner)
            console.print(f"[dim]backend: {escape(runner.describe())}[/]")
        task = bar.add_task("runs", total=len({p.float_key for p in points}) + sum(p.quantized for p in points))

        def on_progress(pr) -> None:
            bar.update(task, description=f"runs: {pr.text()}")

        def on_run(result: dict, skipped: bool) -> None:
            bar.advance(task)
            if skipped:
                done_before[0] += 1
                return
            p = result["point"]
            bits = "" if result["kind"] == "float" else f" w {p['weight_bits'] or 'model'} a {p['act_bits'] or 'model'}"
            arch = "" if p.get("batchnorm") is None else f" bn {'on' if p['batchnorm'] else 'off'}"
            arch += "" if p.get("width") is None else f" width {p['width']}"
            arch += "" if p.get("depth") is None else f" depth {p['depth']}"
            params = f" ({result['parameters']:,} params)" if "parameters" in result else ""
            what = "float val" if result["kind"] == "float" else "int val"
            bar.console.print(
                f"  bs {p['batch_size']:<5} lr {p['lr']:<8g} ep {p['epochs']:<3}{arch} seed {p['seed']}"
                f"{bits}{params}: {what} acc {result['metric']:.4f}  {result['seconds']:6.1f} s"
            )

        done_before = [0]
        result = run_sweep(spec, d, settings, out, on_run, backend=runner, retries=retries, on_progress=on_progress)
    if done_before[0]:
        console.print(f"  {done_before[0]} runs were finished before in {out}: reused")
    _, cells = table(settings, result.rows)
    shown = grid.shown()
    quant = any(b is not None for b in grid.weight_bits + grid.act_bits)
    keep = [i for i, v in enumerate(shown) if quant or v not in ("weight_bits", "act_bits")]
    keep += [len(shown), len(shown) + 1, len(shown) + 2]  # network, parameters, runs
    columns = [SHORT[shown[i]] for i in keep[:-3]] + ["network", "params", "runs"]
    rows = []
    for r, c in zip(result.rows, cells, strict=True):
        row = [escape(c[i]) for i in keep] + [f"{r['val_acc_mean']:.4f} ± {r['val_acc_std']:.4f}"]
        rows.append([f"[bold]{x}[/]" for x in row] if r["best"] else row)
    console.print(_table(metric_label(settings), [*columns, "val acc (mean ± std)"], rows))
    if result.failed:
        for key, error in result.failed.items():
            console.print(f"  [red]failed[/] {escape(key)}: {escape(error)}")
        console.print(f"[bold yellow]table of the finished runs[/]: {out}/results.md, {out}/index.html")
        raise SweepIncomplete(out, result.failed, result)
    console.print(
        f"[bold green]sweep complete[/] in {result.seconds:.1f} s ({result.ran} runs now, "
        f"{result.skipped} done before): {out}/results.md, {out}/index.html"
    )


# -- flow baseline ------------------------------------------------------------------------------------


def baseline(
    data: DataOpt = None,
    split_seed: SplitSeedOpt = 42,
    out: Annotated[Path | None, typer.Option(help="output folder (default: runs/baseline/<timestamp>)")] = None,
    max_iter: Annotated[int, typer.Option(help="boosting rounds at most (early stopping on val)")] = 300,
    learning_rate: Annotated[float, typer.Option(help="boosting learning rate")] = 0.1,
    max_leaf_nodes: Annotated[int, typer.Option(help="leaves per tree")] = 31,
    seed: Annotated[int, typer.Option(help="random state")] = 42,
    threads: Annotated[int, typer.Option(help="OpenMP threads (one is robust on a busy machine)")] = 1,
) -> None:
    """Gradient-boosted trees (scikit-learn) on the same split: how far is the network from them?"""
    from flow.studies.baseline import BaselineSettings, run_baseline

    if max_iter < 1 or max_leaf_nodes < 2 or not learning_rate > 0 or threads < 1:
        raise ConfigError("--max-iter must be >= 1, --max-leaf-nodes >= 2, --learning-rate > 0, --threads >= 1")
    d = _data(data, split_seed)
    out = out or Path("runs") / "baseline" / _timestamp()
    with console.status("fitting gradient-boosted trees"):
        r = run_baseline(d, out, BaselineSettings(max_iter, learning_rate, max_leaf_nodes, seed=seed, threads=threads))
    auc = "  ".join(f"{k} {v:.3f}" for k, v in r.auc.items())
    console.print(
        f"{r.model}: {r.iterations} rounds in {r.seconds:.1f} s; val acc {r.val_acc:.4f}, "
        f"test acc {r.test_acc:.4f}; AUC {auc}"
    )
    console.print(f"[bold green]baseline saved[/]: {out}")


# -- flow quantize ------------------------------------------------------------------------------------


def quantize(
    model: ModelArg,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help=escape("precision by layer type or name ([quantization] or MASE [passes.quantize])")
        ),
    ] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="a `flow train` checkpoint (default: train now)")] = None,
    qat_epochs: Annotated[
        int | None,
        typer.Option(
            help="quantization-aware fine-tuning epochs; 0 = post-training quantization (default: the model's)"
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="float epochs when training now (default: the model's)")] = None,
    data: DataOpt = None,
    split_seed: SplitSeedOpt = 42,
    out: Annotated[Path | None, typer.Option(help="output folder (default: runs/<model>/quantize-<timestamp>)")] = None,
) -> None:
    """Apply a precision config, show what changed node by node, and check every weight is on its grid."""
    import torch

    from flow.config.zoo import get_model
    from flow.studies.quant import quantize_float_model, quantize_report, verify_grid
    from flow.studies.run import train_float
    from flow.studies.settings import apply_study_config, with_train

    _need_file("--config", config)
    _need_file("--checkpoint", checkpoint)
    spec = get_model(model)
    if config is not None:
        spec = apply_study_config(config, spec)
    spec = with_train(spec, epochs=epochs, qat_epochs=qat_epochs)
    torch.set_num_threads(1)
    d = _data(data, split_seed)
    out = out or Path("runs") / spec.name / f"quantize-{_timestamp()}"
    if checkpoint is not None:
        float_model, mean, std = _checkpoint(checkpoint, spec)
        console.print(f"float model: {checkpoint}")
    else:
        with _epoch_progress(spec.train.epochs, "float training") as on_epoch:
            run = train_float(spec, d, on_epoch)
        float_model, mean, std = run.model, run.mean, run.std
    with _epoch_progress(spec.train.qat_epochs, "quantization-aware training") as on_epoch:
        q = quantize_float_model(spec, d, float_model, mean, std, spec.train.qat_epochs, on_epoch)
    report = quantize_report(q, d, out)
    rows = []
    for c in report.changes:
        err = "-" if c.max_abs_err is None else f"{c.max_abs_err:.3g} ({c.rel_err:.1%})"
        style = {"quantized": "", "folded": "[yellow]", "unchanged": "[dim]"}[c.status]
        rows.append([c.node, c.op, c.before, f"{style}{c.after}", err])
    console.print(
        _table(
            "original -> quantized, node by node (error on validation inputs)",
            ["node", "op", "original", "quantized", "max abs err (rel)"],
            rows,
        )
    )
    bad = [c for c in report.grid if not c.ok]
    n = sum(c.count for c in report.grid)
    console.print(
        f"grid check: {n:,} quantized parameters in {len(report.grid)} tensors, "
        + ("[bold green]all on their fixed-point grids[/]" if not bad else f"[bold red]{len(bad)} off[/]")
    )
    how = f"{len(q.quantized.history)} QAT epochs" if q.quantized.history else "post-training quantization"
    console.print(
        f"validation accuracy: float {q.float_val_acc:.4f} -> integer reference {q.int_val_acc:.4f} "
        f"({q.int_val_acc - q.float_val_acc:+.4f}); {how}"
    )
    verify_grid(list(report.grid))
    console.print(f"[bold green]quantized[/]: {out}  (changes.md, quant_graph.json, report.json)")


# -- flow analyze -------------------------------------------------------------------------------------

analyze_app = typer.Typer(
    help="Look at a network: its traced graph, its weights and activations.", no_args_is_help=True
)


@analyze_app.command("graph")
def analyze_graph(
    model: ModelArg,
    config: ConfigOpt = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="resolve auto precisions on this checkpoint and the training data")
    ] = None,
    quant_graph: Annotated[
        Path | None, typer.Option(help="precisions of a quant_graph.json (flow build / flow quantize)")
    ] = None,
    data: DataOpt = None,
    split_seed: SplitSeedOpt = 42,
) -> None:
    """The traced float graph: node, op kind, target, shape and precision."""
    from flow.ir.graph import QuantGraph
    from flow.studies.graph import calibrated_precisions, config_precisions, graph_precisions, graph_rows

    spec = _spec(model, config)
    _need_file("--checkpoint", checkpoint)
    _need_file("--quant-graph", quant_graph)
    model_obj = None
    if quant_graph is not None:
        try:
            g = QuantGraph.load(quant_graph)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{quant_graph}: not a quantized graph ({e})") from None
        prec = graph_precisions(g, f"quantized graph {quant_graph}")
    elif checkpoint is not None:
        model_obj, mean, std = _checkpoint(checkpoint, spec)
        d = _data(data, split_seed)
        train, _, _ = d.arrays(mean, std)
        prec = calibrated_precisions(spec, model_obj, train.x)
    else:
        prec = config_precisions(spec)
    rows = graph_rows(spec, prec, model_obj)
    console.print(
        _table(
            f"{spec.name}: traced graph ({len(rows)} nodes); precision from {prec.source}",
            ["node", "op", "target", "module", "shape", "dtype", "precision"],
            [[r.node, r.op, r.target, r.module, r.shape, r.dtype, r.precision] for r in rows],
        )
    )


@analyze_app.command("stats")
def analyze_stats(
    model: ModelArg,
    checkpoint: Annotated[Path | None, typer.Option(help="a `flow train` checkpoint (default: a fresh model)")] = None,
    batches: Annotated[int, typer.Option(help="batches of training inputs for activation ranges")] = 10,
    batch_size: Annotated[int, typer.Option(help="jets per batch")] = 256,
    seed: Annotated[int | None, typer.Option(help="seed of a fresh model's weights (default: the model's)")] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    split_seed: SplitSeedOpt = 42,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the profile here")] = None,
) -> None:
    """Weights (mean, variance per layer), activations (min, max, range) and suggested integer bits."""
    from flow.studies.stats import fresh_model, profile

    spec = _spec(model, config)
    _need_file("--checkpoint", checkpoint)
    if batches < 1 or batch_size < 1:
        raise ConfigError("--batches and --batch-size must be at least 1")
    d = _data(data, split_seed)
    if checkpoint is not None:
        net, mean, std = _checkpoint(checkpoint, spec)
        what = f"checkpoint {checkpoint}"
    else:
        net = fresh_model(spec, spec.train.seed if seed is None else seed)
        (mean, std), what = d.standardization(), "fresh (untrained) model"
    train, _, _ = d.arrays(mean, std)
    p = profile(spec, net, train.x, batches, batch_size)
    console.print(
        _table(
            f"{spec.name} ({what}): weights",
            ["layer", "param", "shape", "mean", "variance", "min", "max", "int bits"],
            [
                [
                    w.layer,
                    w.param,
                    "x".join(map(str, w.shape)),
                    f"{w.mean:.4g}",
                    f"{w.var:.4g}",
                    f"{w.min:.4g}",
                    f"{w.max:.4g}",
                    str(w.int_bits),
                ]
                for w in p.weights
            ],
        )
    )
    console.print(
        _table(
            "hardware parameters (BatchNorm folded)",
            ["layer", "role", "max |v|", "int bits", "suggested (configured width)"],
            [[h.layer, h.role, f"{h.max_abs:.4g}", str(h.int_bits), h.suggested] for h in p.hardware],
        )
    )
    console.print(
        _table(
            f"activations over {p.samples:,} training jets",
            ["value", "kind", "min", "max", "range", "mean", "std", "int bits", "suggested"],
            [
                [
                    a.value,
                    a.kind,
                    f"{a.min:.4g}",
                    f"{a.max:.4g}",
                    f"{a.range:.4g}",
                    f"{a.mean:.4g}",
                    f"{a.std:.4g}",
                    str(a.int_bits),
                    a.suggested,
                ]
                for a in p.activations
            ],
        )
    )
    console.print(
        "[dim]int bits include the sign bit (hls4ml's I in ap_fixed<W,I>); negative when every value is "
        'below 1/2. Suggested: what frac = "auto" picks at the configured width.[/]'
    )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(p.as_dict(), indent=1))


# -- mounting -----------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add train, sweep, baseline, quantize and the analyze group to ``app``."""
    app.command()(train)
    app.command()(sweep)
    app.command()(baseline)
    app.command()(quantize)
    app.add_typer(analyze_app, name="analyze")
