"""``flow sweep``: a grid of training runs in parallel, resumable, summarized as a table and plots.

The grid is the product of batch sizes, learning rates, epochs, architecture variants (BatchNorm on/off,
hidden widths, depth: :mod:`flow.studies.arch`), weight and activation bit widths, each point repeated
with independent seeds (``seed + repeat``). A point without bit widths reports the
last-epoch validation accuracy of the float model; a point with bit widths trains the float model, then
:func:`~flow.quantize.quantize_model.quantize_model` with
:func:`~flow.studies.settings.bit_width_config` layered over the model's quantization, and reports the integer
reference's validation accuracy of the result.

Float runs are shared: the points that differ only in bit widths quantize the same float checkpoint.
Every finished run writes its own JSON, so a rerun of the same command skips them::

    OUT/sweep.json          what the folder holds (model, data, fixed settings); a rerun must match
    OUT/float/<key>.json    a float run (history, best/last validation accuracy)
    OUT/float/<key>.pt      its checkpoint, kept when bit-width points quantize it
    OUT/runs/<key>.json     a bit-width point (integer-reference val accuracy, QAT history, types)
    OUT/runs.csv            every run of the grid, one row each
    OUT/results.md/.csv     mean and spread over repeats per grid point; the best is marked
    OUT/acc_vs_<var>.png    accuracy against each swept variable, others held at the best point
    OUT/curves_<var>.png    validation loss and accuracy against epoch, one line per value of a swept
                            training or architecture variable (mean over seeds, band: min to max)
    OUT/train_acc_vs_steps.png  training accuracy against normalized training steps, one line per batch size
    OUT/runs/<key>/         with --plots-per-run: each run's curves, confusion matrix, ROC and embedding
    OUT/index.html          the table and every figure in one self-contained page
    OUT/failed.json         runs that failed after their retries, with the error (gone once all finish)

Runs go to a backend (:mod:`flow.studies.backends`): the local process pool or a Ray cluster. A worker
runs in a scratch folder of its own and sends back every file as bytes; the head writes them into OUT
(the run's JSON last), so the folder is the same whichever backend ran it and no shared file system is
needed.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import itertools
import json
import os
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from flow.config.zoo import ModelSpec
from flow.errors import ConfigError, FlowError
from flow.studies.arch import apply_arch, network_text
from flow.studies.backends import DEFAULT_RETRIES, Backend, Progress
from flow.studies.data import StudyData
from flow.studies.embed import DEFAULT_SAMPLES
from flow.studies.settings import bit_width_config, check_train, with_quant

VARIABLES = ("batch_size", "lr", "epochs", "batchnorm", "width", "depth", "weight_bits", "act_bits")
ARCH = ("batchnorm", "width", "depth")  # None: the model's own
BITS = ("weight_bits", "act_bits")
LABELS = {
    "batch_size": "batch size",
    "lr": "learning rate",
    "epochs": "epochs",
    "batchnorm": "BatchNorm",
    "width": "hidden width",
    "depth": "hidden layers",
    "weight_bits": "weight bits",
    "act_bits": "activation bits",
}
SHORT = {  # column names of the command line's table
    "batch_size": "batch",
    "lr": "lr",
    "epochs": "epochs",
    "batchnorm": "BN",
    "width": "width",
    "depth": "depth",
    "weight_bits": "w bits",
    "act_bits": "a bits",
}
RUN_PLOTS = ("curves.png", "confusion.png", "roc.png")


@dataclass(frozen=True)
class SweepGrid:
    """Values of each swept variable (``None`` bit width: not quantized) and the repeats per point."""

    batch_size: tuple[int, ...]
    lr: tuple[float, ...]
    epochs: tuple[int, ...]
    weight_bits: tuple[int | None, ...] = (None,)
    act_bits: tuple[int | None, ...] = (None,)
    batchnorm: tuple[bool | None, ...] = (None,)
    width: tuple[str | None, ...] = (None,)
    depth: tuple[int | None, ...] = (None,)
    repeats: int = 1

    def __post_init__(self) -> None:
        for name in VARIABLES:
            if not getattr(self, name):
                raise ConfigError(f"sweep: no values for {LABELS[name]}")
        if self.repeats < 1:
            raise ConfigError(f"--repeats must be at least 1, got {self.repeats}")

    def swept(self) -> tuple[str, ...]:
        """The variables with more than one value."""
        return tuple(v for v in VARIABLES if len(getattr(self, v)) > 1)

    def configs(self) -> list[tuple]:
        return list(itertools.product(*(getattr(self, v) for v in VARIABLES)))

    def shown(self) -> tuple[str, ...]:
        """The variables a table shows: all but the architecture ones left at the model's."""
        return tuple(v for v in VARIABLES if v not in ARCH or getattr(self, v) != (None,))

    def identity(self) -> dict:
        """The grid as JSON, without the architecture variables left at the model's (so that folders and
        default folder names of sweeps made before they existed stay the same)."""
        return {k: v for k, v in asdict(self).items() if k not in ARCH or v != (None,)}


@dataclass(frozen=True)
class SweepPoint:
    """One run: a grid point and a seed."""

    batch_size: int
    lr: float
    epochs: int
    weight_bits: int | None
    act_bits: int | None
    seed: int
    batchnorm: bool | None = None
    width: str | None = None
    depth: int | None = None

    @property
    def config(self) -> tuple:
        return tuple(getattr(self, v) for v in VARIABLES)

    @property
    def quantized(self) -> bool:
        return self.weight_bits is not None or self.act_bits is not None

    @property
    def float_key(self) -> str:
        arch = "" if self.batchnorm is None else ("_bnon" if self.batchnorm else "_bnoff")
        arch += "" if self.width is None else f"_h{self.width}"
        arch += "" if self.depth is None else f"_d{self.depth}"
        return f"bs{self.batch_size}_lr{self.lr:g}_ep{self.epochs}{arch}_s{self.seed}"

    @property
    def float_point(self) -> SweepPoint:
        return replace(self, weight_bits=None, act_bits=None)

    @property
    def key(self) -> str:
        if not self.quantized:
            return self.float_key
        w = "d" if self.weight_bits is None else self.weight_bits
        a = "d" if self.act_bits is None else self.act_bits
        return f"{self.float_key}_w{w}_a{a}"


@dataclass(frozen=True)
class SweepSettings:
    """A sweep: the grid, the first seed, QAT epochs of bit-width points (None: the model's), workers."""

    grid: SweepGrid
    seed: int = 42
    qat_epochs: int | None = None
    workers: int | None = None  # None: os.cpu_count()
    plots_per_run: bool = False  # OUT/runs/<key>/: curves, confusion, ROC, embedding
    embedding: str = "tsne"  # tsne, pca or none (per-run embedding plots)
    embedding_samples: int = DEFAULT_SAMPLES

    def points(self) -> list[SweepPoint]:
        return [
            SweepPoint(**dict(zip(VARIABLES, cfg, strict=True)), seed=self.seed + r)
            for cfg in self.grid.configs()
            for r in range(self.grid.repeats)
        ]

    def run_plots(self) -> tuple[str, ...]:
        """The files a run folder must hold for a run to count as finished (none without --plots-per-run)."""
        if not self.plots_per_run:
            return ()
        return RUN_PLOTS + (("embedding.png",) if self.embedding != "none" else ())


def point_spec(spec: ModelSpec, p: SweepPoint, qat_epochs: int | None = None) -> ModelSpec:
    """The model with a point's architecture, training settings and bit widths."""
    from flow.config.quant import check_names

    spec = apply_arch(spec, p.batchnorm, p.width, p.depth)
    try:
        check_names(spec.quant, spec.layer_names)
    except ConfigError as e:
        raise ConfigError(f"{e} (the architecture variables rename layers fc1, bn1, relu1, ...)") from None
    train = replace(
        spec.train,
        batch_size=p.batch_size,
        lr=p.lr,
        epochs=p.epochs,
        seed=p.seed,
        qat_epochs=spec.train.qat_epochs if qat_epochs is None else qat_epochs,
    )
    spec = replace(spec, train=check_train(train))
    return with_quant(spec, bit_width_config(spec, p.weight_bits, p.act_bits)) if p.quantized else spec


def default_out(spec: ModelSpec, settings: SweepSettings, data: StudyData, root: Path = Path("runs")) -> Path:
    """``runs/<model>/sweep-<hash>``: the same command on the same data resumes the same folder."""
    h = hashlib.sha256(
        json.dumps(
            [
                settings.grid.identity(),
                settings.seed,
                settings.qat_epochs,
                asdict(spec.train),
                repr(spec.quant),
                data.fingerprint(),
                data.split_seed,
            ],
            default=str,
        ).encode()
    ).hexdigest()[:8]
    return root / spec.name / f"sweep-{h}"


# -- one run (in a worker process) ----------------------------------------------------------------------


@contextlib.contextmanager
def _one_thread():
    """One thread for the run (torch, OpenMP and BLAS: small networks gain nothing from more, and
    oversubscribed cores make OpenMP crawl); the caller's settings restored after."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(threads)


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)  # atomic: a half-written result never looks finished


def _steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps per epoch of :func:`flow.train.fit.fit` (a last batch of one jet is skipped)."""
    return n_train // batch_size + (1 if n_train % batch_size >= 2 else 0)


def run_float_point(
    spec: ModelSpec,
    data: StudyData,
    p: SweepPoint,
    out: Path,
    keep_checkpoint: bool,
    settings: SweepSettings | None = None,
) -> dict:
    """Train the float model of ``p``; write ``float/<key>.json`` (and ``.pt`` when asked, and the run's
    plots into ``runs/<key>/`` with ``settings.plots_per_run``)."""
    from flow.studies.run import draw_float_run, train_float
    from flow.train.model import save_float_model

    s = point_spec(spec, p.float_point)
    run = train_float(s, data)
    if keep_checkpoint:
        save_float_model(out / "float" / f"{p.float_key}.pt", s, run.model, run.mean, run.std)
    if settings is not None and settings.plots_per_run:
        draw_float_run(out / "runs" / p.float_key, s, data, run, settings.embedding, settings.embedding_samples)
    result = {
        "key": p.float_key,
        "kind": "float",
        "point": asdict(p.float_point),
        "parameters": s.n_params,
        "network": network_text(s.inputs, s.layers),
        "steps_per_epoch": _steps_per_epoch(len(data.train), s.train.batch_size),
        "metric": run.last_val_acc,
        "last_val_acc": run.last_val_acc,
        "best_val_acc": run.best_val_acc,
        "best_epoch": run.best_epoch,
        "seconds": run.seconds,
        "samples_per_s": float(np.mean([r.samples_per_s for r in run.history])),
        "history": [r.as_dict() for r in run.history],
    }
    _write_json(out / "float" / f"{p.float_key}.json", result)
    return result


def run_quant_point(
    spec: ModelSpec,
    data: StudyData,
    p: SweepPoint,
    out: Path,
    qat_epochs: int | None,
    settings: SweepSettings | None = None,
) -> dict:
    """Quantize the float checkpoint of ``p`` at its bit widths; write ``runs/<key>.json`` (and the run's
    plots into ``runs/<key>/`` with ``settings.plots_per_run``)."""
    from flow.studies.quant import quantize_checkpoint

    t0 = time.perf_counter()
    s = point_spec(spec, p, qat_epochs)
    q = quantize_checkpoint(s, data, out / "float" / f"{p.float_key}.pt")
    float_result = json.loads((out / "float" / f"{p.float_key}.json").read_text())
    if settings is not None and settings.plots_per_run:
        _draw_quant_run(out / "runs" / p.key, s, data, q, float_result["history"], p, settings)
    result = {
        "key": p.key,
        "kind": "quantized",
        "point": asdict(p),
        "parameters": s.n_params,
        "network": network_text(s.inputs, s.layers),
        "metric": q.int_val_acc,
        "int_val_acc": q.int_val_acc,
        "float_val_acc": q.float_val_acc,
        "float_last_val_acc": float_result["last_val_acc"],
        "qat_epochs": s.train.qat_epochs,
        "seconds": time.perf_counter() - t0 + float_result["seconds"],
        "types": q.types_summary(),
        "history": [r.as_dict() for r in q.quantized.history],
    }
    _write_json(out / "runs" / f"{p.key}.json", result)
    return result


def _draw_quant_run(out: Path, s: ModelSpec, data: StudyData, q, float_history: list[dict], p, settings) -> None:
    """A quantized point's plots: float + QAT curves; confusion from the integer reference; ROC and
    embedding from the QAT model (which computes the integer reference's values exactly)."""
    import copy

    from flow.ir.reference import classify, predict
    from flow.plots import softmax
    from flow.studies.embed import probe
    from flow.studies.run import draw_run, run_title

    _, _, test = data.arrays(q.mean, q.std)
    qmodel = copy.deepcopy(q.quantized.model).double()
    hidden, scores = probe(qmodel, test.x.double())
    w = "model" if p.weight_bits is None else p.weight_bits
    a = "model" if p.act_bits is None else p.act_bits
    draw_run(
        out,
        s,
        data,
        [*float_history, *(r.as_dict() for r in q.quantized.history)],
        classify(predict(q.graph, data.test.x)),
        softmax(scores),
        hidden,
        f"{run_title(s)}, weights {w} bits, activations {a} bits (integer reference)",
        settings.embedding,
        settings.embedding_samples,
    )


def sweep_task(
    kind: str,
    spec: ModelSpec,
    data: StudyData,
    p: SweepPoint,
    settings: SweepSettings,
    keep_checkpoint: bool,
    inputs: dict[str, bytes],
) -> dict:
    """One run in a worker: in a scratch folder of its own (``inputs``: the files a quantized point reads,
    its float checkpoint and JSON), then every file it wrote as bytes. Returns ``{"result": the run's
    JSON, "files": {path under OUT: bytes}}``; nothing is written where the head could see it."""
    from flow.studies.backends import pack_folder, unpack_files

    with tempfile.TemporaryDirectory(prefix="flow-run-") as tmp, _one_thread(), warnings.catch_warnings():
        # Ray hands the shared data over as read-only arrays (zero copy); training only reads them.
        warnings.filterwarnings("ignore", "The given NumPy array is not writable", UserWarning)
        root = Path(tmp)
        for sub in ("float", "runs"):
            (root / sub).mkdir()
        unpack_files(root, inputs)
        if kind == "float":
            result = run_float_point(spec, data, p, root, keep_checkpoint, settings)
        else:
            result = run_quant_point(spec, data, p, root, settings.qat_epochs, settings)
        return {"result": result, "files": pack_folder(root, skip=inputs)}


def result_path(p: SweepPoint) -> str:
    """The run's JSON under OUT: written last, so its presence means the run is finished."""
    return f"runs/{p.key}.json" if p.quantized else f"float/{p.float_key}.json"


def _task_memory(spec: ModelSpec, data: StudyData, settings: SweepSettings) -> int:
    """The memory a run declares to Ray (bytes): the process and torch, the data, t-SNE if drawn."""
    n = sum(data.counts().values())
    tsne = settings.plots_per_run and settings.embedding == "tsne"
    mb = 600 + n * spec.inputs * 8 * 4 / 2**20 + (1000 if tsne else 0)
    return int(mb) * 2**20


# -- the sweep -----------------------------------------------------------------------------------------


def _identity(spec: ModelSpec, data: StudyData, settings: SweepSettings) -> dict:
    """What must not change for a folder's finished runs to stay valid."""
    t = spec.train
    return {
        "model": spec.name,
        "layers": [asdict(x) for x in spec.layers],
        "quant": repr(spec.quant),
        "optimizer": t.optimizer,
        "weight_decay": t.weight_decay,
        "qat_lr": t.qat_lr,
        "qat_epochs": t.qat_epochs if settings.qat_epochs is None else settings.qat_epochs,
        "data": {"fingerprint": data.fingerprint(), "split_seed": data.split_seed, "counts": data.counts()},
    }


def _claim_folder(out: Path, identity: dict, settings: SweepSettings) -> None:
    marker = out / "sweep.json"
    if marker.is_file():
        old = json.loads(marker.read_text()).get("identity")
        if old != identity:
            diff = sorted(k for k in identity if old is None or old.get(k) != identity[k])
            raise ConfigError(
                f"{out} holds a sweep with different {', '.join(diff)}; "
                "use another --out (finished runs are only reused for the same settings)"
            )
    for sub in ("float", "runs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    marker.write_text(
        json.dumps({"identity": identity, "grid": settings.grid.identity(), "seed": settings.seed}, indent=1)
    )


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None  # a torn file from a crash: run it again


Report = Callable[[dict, bool], None]  # (result, skipped) for each run as it finishes


@dataclass(frozen=True, eq=False)
class SweepResult:
    out: Path
    runs: tuple[dict, ...]  # one result per finished point, in grid order
    rows: tuple[dict, ...]  # one summary per grid point with a finished run
    seconds: float
    ran: int
    skipped: int
    failed: dict[str, str] = field(default_factory=dict)  # run key -> error, after the retries
    nodes: dict[str, str] = field(default_factory=dict)  # run key -> where it ran (runs of this call)


class SweepIncomplete(FlowError):
    """Some runs failed after their retries; the others are recorded and a rerun retries only these."""

    def __init__(self, out: Path, failed: dict[str, str], result: SweepResult | None = None) -> None:
        n = len(failed)
        first = next(iter(failed.items()))
        super().__init__(
            f"{n} run{'s' * (n > 1)} failed (first: {first[0]}: {first[1]}); errors in {out / FAILED}; "
            "rerun the same command to retry only the missing runs"
        )
        self.out, self.failed, self.result = out, failed, result


FAILED = "failed.json"
ProgressReport = Callable[["Progress"], None]


def run_sweep(
    spec: ModelSpec,
    data: StudyData,
    settings: SweepSettings,
    out: Path,
    on_run: Report | None = None,
    *,
    backend: Backend | None = None,
    retries: int = DEFAULT_RETRIES,
    on_progress: ProgressReport | None = None,
) -> SweepResult:
    """Run every point not finished in ``out`` on ``backend`` (default: the local pool of
    ``settings.workers`` processes; one torch thread per run), write each run's files on this machine as
    it finishes, then the table and plots. A run that fails ``retries + 1`` times is listed in
    ``failed.json`` and in ``SweepResult.failed``; the others complete. Ctrl-C cancels the outstanding
    runs; finished ones are kept for the next call."""
    from flow.studies.backends import LocalPool, Task, run_tasks, unpack_files

    t0 = time.perf_counter()
    out = Path(out)
    points = settings.points()
    for p in points:  # refuse bad settings before any work
        point_spec(spec, p, settings.qat_epochs)
    _claim_folder(out, _identity(spec, data, settings), settings)
    report = on_run or (lambda result, skipped: None)

    need_ckpt = {p.float_key for p in points if p.quantized}
    floats = {p.float_key: p.float_point for p in points}
    quants = {p.key: p for p in points if p.quantized}
    todo_float, todo_quant, skipped = [], {}, 0

    def plotted(key: str) -> bool:  # with --plots-per-run, a run without its folder is run again
        return all((out / "runs" / key / f).is_file() for f in settings.run_plots())

    for key, p in floats.items():
        done = _read(out / "float" / f"{key}.json")
        if done and (key not in need_ckpt or (out / "float" / f"{key}.pt").is_file()) and plotted(key):
            report(done, True)
            skipped += 1
        else:
            todo_float.append(p)
    for key, p in quants.items():
        done = _read(out / "runs" / f"{key}.json")
        if done and plotted(key):
            report(done, True)
            skipped += 1
        else:
            todo_quant.setdefault(p.float_key, []).append(p)

    waiting = {k: v for k, v in todo_quant.items() if k in {p.float_key for p in todo_float}}
    ready = [p for k, v in todo_quant.items() if k not in waiting for p in v]
    n_tasks = len(todo_float) + sum(len(v) for v in todo_quant.values())
    failed: dict[str, str] = {}
    nodes: dict[str, str] = {}
    ran = 0
    if n_tasks:
        workers = max(1, min(settings.workers or os.cpu_count() or 1, n_tasks))
        be = backend or LocalPool(workers)
        memory = _task_memory(spec, data, settings)
        with contextlib.ExitStack() as stack:
            if backend is None:
                stack.enter_context(be)
            else:
                be.start()
            shared_spec, shared_data = be.share(spec), be.share(data)
            order: list[SweepPoint] = []
            details: dict[str, str] = {}

            def task(p: SweepPoint) -> Task:
                inputs = {}
                if p.quantized:
                    names = (f"float/{p.float_key}{ext}" for ext in (".pt", ".json"))
                    inputs = {n: (out / n).read_bytes() for n in names}
                kind = "quantized" if p.quantized else "float"
                args = (kind, shared_spec, shared_data, p, settings, p.float_key in need_ckpt, inputs)
                order.append(p)
                return Task(sweep_task, args, name=f"flow-sweep-{p.key}", num_cpus=1, memory=memory)

            def on_done(i: int, o) -> list[Task]:
                nonlocal ran
                p = order[i]
                if not o.ok:
                    failed[p.key], details[p.key] = o.error, o.details or ""
                    for q in waiting.pop(p.float_key, []) if not p.quantized else []:
                        failed[q.key] = f"its float run {p.float_key} failed"
                    return []
                unpack_files(out, o.value["files"], last=[result_path(p)])
                ran += 1
                nodes[p.key] = o.node
                report(o.value["result"], False)
                return [task(q) for q in waiting.pop(p.float_key, [])] if not p.quantized else []

            first = [task(p) for p in todo_float] + [task(p) for p in ready]
            run_tasks(first, be, retries=retries, on_done=on_done, on_progress=on_progress, total=n_tasks)
        _write_failed(out, failed, details)
    else:
        _write_failed(out, {}, {})
    finished = [p for p in points if p.key not in failed and _read(out / result_path(p)) is not None]
    if not finished:
        raise SweepIncomplete(out, failed or {"?": "no run finished"})
    result = summarize(out, spec, settings, finished, ran, skipped, time.perf_counter() - t0)
    return replace(result, failed=failed, nodes=nodes)


def _write_failed(out: Path, failed: dict[str, str], details: dict[str, str]) -> None:
    path = out / FAILED
    if not failed:
        path.unlink(missing_ok=True)
        return
    rows = {k: {"error": v, "details": details.get(k, "")} for k, v in failed.items()}
    _write_json(path, rows)


# -- summary -------------------------------------------------------------------------------------------


def _result_of(out: Path, p: SweepPoint) -> dict:
    path = out / ("runs" if p.quantized else "float") / f"{p.key}.json"
    result = _read(path)
    if result is None:
        raise ConfigError(f"sweep result missing: {path}; rerun the sweep to finish it")
    return result


def _fmt(v) -> str:
    if v is None:
        return "float"
    return f"{v:g}" if isinstance(v, float) else str(v)


def bits_text(row: dict, var: str) -> str:
    """A bit width for tables: ``float`` when the point is not quantized at all, ``model`` when only the
    other width is set (this one keeps the model's configured width)."""
    v = row[var]
    if v is not None:
        return str(v)
    return "float" if row["weight_bits"] is None and row["act_bits"] is None else "model"


def value_text(row: dict, var: str) -> str:
    if var in BITS:
        return bits_text(row, var)
    v = row.get(var)
    if var in ARCH and v is None:
        return "model"
    if var == "batchnorm":
        return "on" if v else "off"
    return _fmt(v)


def summarize(
    out: Path,
    spec: ModelSpec,
    settings: SweepSettings,
    points: list[SweepPoint],
    ran: int = 0,
    skipped: int = 0,
    seconds: float = 0.0,
) -> SweepResult:
    """Group the runs of ``points`` by grid point; write runs.csv, results.md/.csv, the plots and index.html."""
    runs = [_result_of(out, p) for p in points]
    groups: dict[tuple, list[dict]] = {}
    for p, r in zip(points, runs, strict=True):
        groups.setdefault(p.config, []).append(r)
    rows = []
    for cfg, rs in groups.items():
        acc = np.array([r["metric"] for r in rs])
        row = dict(zip(VARIABLES, cfg, strict=True))
        arch = apply_arch(spec, row["batchnorm"], row["width"], row["depth"])
        row.update(
            network=network_text(arch.inputs, arch.layers),
            parameters=arch.n_params,
            n=len(rs),
            val_acc_mean=float(acc.mean()),
            val_acc_std=float(acc.std(ddof=1)) if len(rs) > 1 else 0.0,
            val_acc_min=float(acc.min()),
            val_acc_max=float(acc.max()),
            float_val_acc_mean=float(np.mean([r.get("float_val_acc", r["metric"]) for r in rs])),
            seconds_mean=float(np.mean([r["seconds"] for r in rs])),
        )
        rows.append(row)
    best = max(range(len(rows)), key=lambda i: rows[i]["val_acc_mean"])
    for i, row in enumerate(rows):
        row["best"] = i == best
    _write_tables(out, spec, settings, points, runs, rows)
    figures = _write_plots(out, spec, settings, rows, rows[best])
    figures += _write_curves(out, spec, settings, points, rows[best])
    from flow.studies.report import write_index

    write_index(out, spec, settings, points, rows, figures)
    return SweepResult(out, tuple(runs), tuple(rows), seconds, ran, skipped)


def metric_label(settings: SweepSettings) -> str:
    quant = any(b is not None for b in settings.grid.weight_bits + settings.grid.act_bits)
    return "val accuracy (float: last epoch; quantized: integer ref.)" if quant else "val accuracy (last epoch)"


def table(settings: SweepSettings, rows: list[dict] | tuple[dict, ...]) -> tuple[list[str], list[list[str]]]:
    """The results table (header, cells) shared by results.md, index.html and the command line."""
    quant = any(r["weight_bits"] is not None or r["act_bits"] is not None for r in rows)
    shown = settings.grid.shown()
    head = [LABELS[v] for v in shown] + ["network", "parameters", "runs", "val acc (mean)", "spread (std)"]
    head += ["min", "max"] + (["float val acc", "drop"] if quant else []) + ["s / run"]
    cells = []
    for r in rows:
        c = [value_text(r, v) for v in shown] + [r["network"], f"{r['parameters']:,}", str(r["n"])]
        c += [f"{r[k]:.4f}" for k in ("val_acc_mean", "val_acc_std", "val_acc_min", "val_acc_max")]
        if quant:
            c += [f"{r['float_val_acc_mean']:.4f}", f"{r['float_val_acc_mean'] - r['val_acc_mean']:+.4f}"]
        c.append(f"{r['seconds_mean']:.1f}")
        cells.append(c)
    return head, cells


def _write_tables(out: Path, spec, settings, points, runs, rows) -> None:
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*VARIABLES, "seed", "parameters", "val_acc", "best_val_acc", "float_val_acc", "seconds", "key"])
        for p, r in zip(points, runs, strict=True):
            row = dict(zip(VARIABLES, p.config, strict=True))
            w.writerow(
                [
                    *(value_text(row, v) for v in VARIABLES),
                    p.seed,
                    r.get("parameters", ""),
                    r["metric"],
                    r.get("best_val_acc", ""),
                    r.get("float_val_acc", ""),
                    f"{r['seconds']:.2f}",
                    p.key,
                ]
            )
    cols = [
        *VARIABLES,
        "network",
        "parameters",
        "n",
        "val_acc_mean",
        "val_acc_std",
        "val_acc_min",
        "val_acc_max",
        "float_val_acc_mean",
        "seconds_mean",
        "best",
    ]
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows([{k: value_text(row, k) if k in VARIABLES else row[k] for k in cols} for row in rows])
    head, cells = table(settings, rows)
    lines = [
        f"# Sweep: {spec.name}",
        "",
        f"Metric: {metric_label(settings)}, mean and sample standard deviation over "
        f"{settings.grid.repeats} seed(s) from {settings.seed}. Best marked **bold**. Network: the widths of "
        "input, hidden and output layers (BN: with BatchNorm); parameters: trainable, of the float model.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r, c in zip(rows, cells, strict=True):
        lines.append("| " + " | ".join(f"**{x}**" for x in c) + " |" if r["best"] else "| " + " | ".join(c) + " |")
    (out / "results.md").write_text("\n".join(lines) + "\n")


def _held(best: dict, others, settings: SweepSettings) -> str:
    quant = any(b is not None for b in settings.grid.weight_bits + settings.grid.act_bits)
    shown = [o for o in others if o in settings.grid.shown() and (quant or o not in BITS)]
    return ", ".join(f"{LABELS[o]} {value_text(best, o)}" for o in shown)


def _order(settings: SweepSettings, var: str, values) -> list:
    """Values of ``var`` in plotting order: numbers ascending, categories as given on the command line."""
    grid = list(getattr(settings.grid, var))
    if var == "width" and _numeric_widths(settings):
        return sorted(values, key=int)
    if var in ("batchnorm", "width"):
        return sorted(values, key=grid.index)
    return sorted(values)


def _numeric_widths(settings: SweepSettings) -> bool:
    return all(w is not None and w.isdigit() for w in settings.grid.width)


def _write_plots(out: Path, spec, settings, rows, best: dict) -> list[str]:
    from flow.plots import plot_metric_vs

    written = []
    for var in settings.grid.swept():
        others = [v for v in VARIABLES if v != var]
        line = [r for r in rows if all(r[o] == best[o] for o in others) and r[var] is not None]
        by_value = {r[var]: r for r in line}
        line = [by_value[v] for v in _order(settings, var, by_value)]
        if not line:
            continue
        title = f"{spec.name}, mean ± std over {settings.grid.repeats} seed(s)\n" + textwrap.fill(
            _held(best, others, settings), 64
        )
        unset = next((r for r in rows if r[var] is None and all(r[o] == best[o] for o in others)), None)
        if unset is not None:
            title += f"; {value_text(unset, var)} {unset['val_acc_mean']:.4f}"
        categorical = var == "batchnorm" or (var == "width" and not _numeric_widths(settings))
        xs = [value_text(r, var) for r in line] if categorical else [float(r[var]) for r in line]
        log_x = var == "lr" or (var in ("batch_size", "width") and not categorical and xs[-1] / xs[0] >= 8)
        name = f"acc_vs_{var}.png"
        plot_metric_vs(
            xs,
            [r["val_acc_mean"] for r in line],
            [r["val_acc_std"] for r in line],
            LABELS[var],
            metric_label(settings),
            out / name,
            title=title,
            log_x=log_x,
            notes=[f"{r['parameters']:,} params" for r in line] if var in ARCH else None,
        )
        written.append(name)
    return written


def _legend(var: str, v) -> str:
    return value_text({var: v, "weight_bits": None, "act_bits": None}, var)


def _mean_band(series: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = min(len(s) for s in series)
    a = np.stack([s[:n] for s in series])
    return a.mean(0), a.min(0), a.max(0)


def _write_curves(out: Path, spec, settings, points: list[SweepPoint], best: dict) -> list[str]:
    """Learning curves overlaid: one line per value of each swept float-training or architecture
    variable, the others held at the best point's values (float training; mean over seeds)."""
    from flow.plots import plot_overlay

    marker = _read(out / "sweep.json") or {}
    n_train = marker.get("identity", {}).get("data", {}).get("counts", {}).get("train", 0)
    floats: dict[str, dict] = {}
    for p in points:
        if p.float_key not in floats:
            floats[p.float_key] = _read(out / "float" / f"{p.float_key}.json") or {}
    written = []
    for var in (v for v in settings.grid.swept() if v not in BITS):
        others = [v for v in VARIABLES if v != var and v not in BITS]
        keys: dict = {}
        for p in points:
            if all(getattr(p, o) == best[o] for o in others):
                keys.setdefault(getattr(p, var), {})[p.float_key] = p
        lines = []
        for v in _order(settings, var, keys):
            runs = [floats[k] for k in keys[v] if floats[k].get("history")]
            if not runs:
                continue
            hist = [[h for h in r["history"] if h.get("phase", "float") == "float"] for r in runs]
            line = {"label": _legend(var, v), "epoch": np.arange(1, min(len(h) for h in hist) + 1)}
            for k in ("val_loss", "val_acc", "train_acc", "train_loss"):
                line[k], line[f"{k}_lo"], line[f"{k}_hi"] = _mean_band([np.array([x[k] for x in h]) for h in hist])
            bs = next(iter(keys[v].values())).batch_size
            spe = runs[0].get("steps_per_epoch") or _steps_per_epoch(n_train, bs) or 1
            total = spe * len(hist[0])
            line["steps"] = line["epoch"] * spe
            line["steps_norm"] = line["steps"] / total
            if var == "batch_size":
                line["label"] += f" ({total:,} steps)"
            lines.append(line)
        if not lines:
            continue
        held = _held(best, others, settings)
        seeds = f"mean over {settings.grid.repeats} seeds, band: min to max" if settings.grid.repeats > 1 else "1 seed"
        title = f"{spec.name}: float training, one line per {LABELS[var]} ({seeds})\n" + textwrap.fill(held, 90)
        name = f"curves_{var}.png"
        panels = [
            {"x": "epoch", "y": "val_loss", "xlabel": "epoch", "ylabel": "validation loss", "integer_x": True},
            {"x": "epoch", "y": "val_acc", "xlabel": "epoch", "ylabel": "validation accuracy", "integer_x": True},
        ]
        ordered = var not in ("batchnorm",) and not (var == "width" and not _numeric_widths(settings))
        plot_overlay(lines, panels, out / name, title=title, legend_title=LABELS[var], ordered=ordered)
        written.append(name)
        if var == "batch_size":
            name = "train_acc_vs_steps.png"
            panels = [
                {
                    "x": "steps_norm",
                    "y": "train_acc",
                    "xlabel": "training steps / total steps of the run (normalized)",
                    "ylabel": "training accuracy (epoch mean)",
                },
                {
                    "x": "steps",
                    "y": "train_acc",
                    "xlabel": "training steps (optimizer updates, log scale)",
                    "ylabel": "training accuracy (epoch mean)",
                    "log_x": True,
                },
            ]
            title = f"{spec.name}: training accuracy, one line per batch size ({seeds})\n" + textwrap.fill(held, 90)
            plot_overlay(lines, panels, out / name, title=title, legend_title="batch size")
            written.append(name)
    return written
