"""The build pipeline: one explicit, ordered list of stages.

Each stage writes into its own numbered folder ``build/<model>/<target>/NN_<stage>/`` and leaves a
``manifest.json`` there (:mod:`flow.artifacts`): the hash of its inputs, the hash of its outputs, tool
versions, wall time and its typed result (:mod:`flow.results`, written as a record naming its class).

The input hash of a stage covers everything that can change its outputs: the code and package data
of its stage module's import closure within ``flow`` (computed by :mod:`flow.sources`), the settings
it depends on and the output hashes of the stages in its ``needs``. ``needs`` is enforced: while a
stage runs, ``ctx.dir(other)`` or ``ctx.results(other)`` of a stage it does not list raises
:class:`UndeclaredStageError`, so no input can escape the hash unnoticed. A stage whose input hash is
unchanged (and whose files are intact) is skipped on the next run; ``--force`` reruns everything and
``--until STAGE`` stops after that stage.

Stages run in the order of their ``needs``, not strictly one after another: a stage marked
``background`` (Yosys synthesis) starts in a worker thread as soon as its needs are met, and the
stages it needs are run first, so on two cores synthesis overlaps the checks (reference, ONNX,
hls4ml C-sim, RTL simulation). Background stages only drive external processes given absolute paths
and an explicit working folder (hls4ml's C-sim compile changes the process's working folder, so it
stays in the main thread). The cores are shared through :mod:`flow.cpu`: a main-thread stage holds one
slot, every Yosys job takes one. Stage lines are printed as stages finish; the results keep STAGES order.

Data flow::

    01_data -> 02_train -> 03_quantize -> 04_reference -> 05_onnx
                                                       -> 06_hls4ml
                                       -> 07_rtl ----------------------------> 08_sim (also needs 04)
                                                 -> 09_synth (background)
                                                                           -> 10_report (needs all)
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import hashlib
import importlib
import io
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import flow
from flow import cpu
from flow.artifacts import MANIFEST, file_sha256, read_manifest, stage_folder_name, tool_versions, write_manifest
from flow.config.targets import Target
from flow.config.zoo import ModelSpec
from flow.errors import DataError, FlowError, UnknownNameError
from flow.options import BuildOptions
from flow.results import STAGE_RESULTS, ResultsError, StageResult, from_record, to_record
from flow.sources import source_digest

__all__ = [
    "STAGES",
    "STAGE_NAMES",
    "BuildContext",
    "BuildOptions",
    "Stage",
    "StageOutcome",
    "UndeclaredStageError",
    "build_root",
    "input_hash",
    "read_manifest",
    "run_build",
    "run_stage",
    "stage_context",
    "stage_digest",
    "stage_index",
    "tool_versions",
]


class UndeclaredStageError(FlowError):
    """A stage read the folder or results of a stage it does not list in its ``needs``: that input would
    escape its input hash, so a change there could not make it rerun."""


@dataclass(frozen=True)
class Stage:
    """One step of the build: ``run(ctx) -> StageResult`` writes into ``ctx.dir(name)``."""

    name: str
    module: str  # flow.stages.<module> exposes run(ctx) -> the stage's flow.results class
    depends: tuple[str, ...]  # which settings it reads: model, train, quant, target, data, vectors
    needs: tuple[str, ...] = ()  # earlier stages whose folders or results it reads (enforced)
    tools: tuple[str, ...] = ()  # Python distributions whose versions go into the manifest
    summary: str = ""
    background: bool = False  # runs in a worker thread beside the main-thread stages (see the module doc)

    @property
    def module_name(self) -> str:
        return f"flow.stages.{self.module}"

    @property
    def result_type(self) -> type[StageResult]:
        return STAGE_RESULTS[self.name]

    def function(self) -> Callable[[BuildContext], StageResult]:
        return importlib.import_module(self.module_name).run


STAGES: tuple[Stage, ...] = (
    Stage("data", "data", ("data",), (), ("numpy", "pandas", "pyarrow"), "load the dataset, split it by seed"),
    Stage("train", "train", ("model", "train"), ("data",), ("torch",), "float training (or a given checkpoint)"),
    Stage(
        "quantize",
        "quantize",
        ("model", "quant", "train"),
        ("data", "train"),
        ("torch",),
        "fold BatchNorm, assign fixed-point types, quantization-aware fine-tuning",
    ),
    Stage(
        "reference",
        "reference",
        (),
        ("data", "train", "quantize"),
        ("torch",),
        "integer reference on the test set; exact check of the QAT model",
    ),
    Stage(
        "onnx",
        "onnx",
        (),
        ("data", "train", "quantize", "reference"),
        ("onnx", "onnxruntime", "qonnx"),
        "ONNX (float) and QONNX export, both checked",
    ),
    Stage(
        "hls4ml",
        "hls4ml",
        ("target", "vectors"),
        ("quantize", "reference"),
        ("hls4ml",),
        "hls4ml project and bit-exact C simulation",
    ),
    Stage("rtl", "rtl", ("rtl",), ("quantize",), ("jinja2",), "Verilog from flow/rtl/templates/, linted"),
    Stage(
        "sim",
        "sim",
        ("vectors", "target"),
        ("quantize", "reference", "rtl"),
        ("cocotb", "verilator"),
        "cocotb + Verilator bit-exact check, latency, II",
    ),
    Stage(
        "synth",
        "synth",
        ("target",),
        ("quantize", "rtl"),
        (),
        "Yosys synthesis: resources, utilization, logic depth",
        background=True,
    ),
    Stage(
        "report",
        "report",
        ("target",),
        ("data", "train", "quantize", "reference", "onnx", "hls4ml", "rtl", "sim", "synth"),
        ("matplotlib",),
        "report.json, report.md, report.html",
    ),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def stage_index(name: str) -> int:
    try:
        return STAGE_NAMES.index(name)
    except ValueError:
        raise UnknownNameError(f"unknown stage {name!r}; stages are {', '.join(STAGE_NAMES)}") from None


@dataclass(frozen=True)
class BuildContext:
    """What a stage sees: the model, target, options, where folders are, and progress reporting.

    The context a stage runs with (:meth:`for_stage`) lets it open only its own folder and those of
    the stages in its ``needs`` (whose output hashes are in its input hash); any other raises
    :class:`UndeclaredStageError`. A context without a stage (:func:`stage_context`) opens any folder.
    """

    model: ModelSpec
    target: Target
    options: BuildOptions
    root: Path  # build/<model>/<target>
    console: Console = field(default_factory=Console)
    progress_bar: Progress | None = None
    stage: Stage | None = None  # the stage running with this context

    def for_stage(self, stage: Stage) -> BuildContext:
        return replace(self, stage=stage)

    @property
    def stages(self) -> tuple[Stage, ...]:
        """Every stage of the pipeline, in order (the report lists them)."""
        return STAGES

    def _check_access(self, other: str, what: str) -> None:
        stage_index(other)
        s = self.stage
        if s is not None and other != s.name and other not in s.needs:
            raise UndeclaredStageError(
                f"stage {s.name!r} reads the {what} of stage {other!r}, which is not in its needs "
                f"({', '.join(s.needs) or 'none'}); add it to the Stage entry in flow/pipeline.py"
            )

    def dir(self, stage: str) -> Path:
        """The numbered folder of ``stage`` (created)."""
        self._check_access(stage, "folder")
        d = self.root / stage_folder_name(stage_index(stage) + 1, stage)
        d.mkdir(parents=True, exist_ok=True)
        return d

    @contextlib.contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[Callable[..., None]]:
        """A live progress task; yields ``advance(n=1)``."""
        if self.progress_bar is None:
            yield lambda n=1: None
            return
        task = self.progress_bar.add_task(f"  {description}", total=total)
        try:
            yield lambda n=1: self.progress_bar.advance(task, n)
        finally:
            self.progress_bar.remove_task(task)

    def results(self, stage: str) -> StageResult:
        """The typed result of an earlier stage (from its manifest), e.g. a
        :class:`~flow.results.SimResult` for ``"sim"``; :class:`~flow.results.ResultsError` if that
        stage has not run."""
        self._check_access(stage, "results")
        folder = self.root / stage_folder_name(stage_index(stage) + 1, stage)
        m = read_manifest(folder)
        if m is None:
            raise ResultsError(f"stage {stage!r} has not run: no {folder / MANIFEST}")
        return from_record(m.get("results"), STAGE_RESULTS[stage])


def stage_context(root: Path, model_name: str, *, vectors: int | None = None, target: str = "xcu250") -> BuildContext:
    """A quiet context for running single stages outside a build (tests, notebooks): folders under
    ``root``, a model known only by name, no progress bar, console output discarded."""
    from types import SimpleNamespace

    from flow.config.targets import get_target

    return BuildContext(
        SimpleNamespace(name=model_name),
        get_target(target),
        BuildOptions(vectors=vectors),
        Path(root),
        Console(file=io.StringIO()),
    )


# -- hashing and manifests --------------------------------------------------------------------------


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def output_digest(folder: Path) -> str:
    """Hash of every file in a stage folder except its manifest (names and contents)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(folder)).encode())
            h.update(file_sha256(p).encode())
    return h.hexdigest()


def stage_digest(folder: Path, results: dict) -> str:
    """What later stages see of a stage: its files and its results record (the manifest form)."""
    return _digest([output_digest(folder), results])


def _setting(ctx: BuildContext, key: str):
    o = ctx.options
    return {
        "model": [asdict(layer) for layer in ctx.model.layers]
        + [ctx.model.inputs, ctx.model.classes]
        + ([ctx.model.origin.key()] if getattr(ctx.model, "origin", None) is not None else []),
        "train": [
            asdict(ctx.model.train),
            str(o.checkpoint),
            file_sha256(o.checkpoint) if o.checkpoint and o.checkpoint.is_file() else None,
        ],
        "quant": repr(ctx.model.quant),
        "target": asdict(ctx.target),
        "data": [
            str(o.data),
            file_sha256(o.data) if o.data and o.data.is_file() else "default",
            o.split_seed,
            o.allow_small_test,
        ],
        "vectors": o.vectors,
        "rtl": [o.arithmetic, o.adder_levels, o.latency, o.axis],
    }[key]


def input_hash(ctx: BuildContext, stage: Stage, upstream: dict[str, str]) -> str:
    return _digest(
        {
            "stage": stage.name,
            "flow": flow.__version__,
            "code": source_digest(stage.module_name),
            "settings": {k: _setting(ctx, k) for k in stage.depends},
            "upstream": {name: upstream[name] for name in stage.needs},
        }
    )


# -- running ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    status: str  # "ran" or "skipped"
    seconds: float
    results: StageResult


def _clear(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_file() or p.is_symlink():
            p.unlink()
        elif p.is_dir():
            p.rmdir()


def _up_to_date(folder: Path, stage: Stage, ihash: str) -> tuple[StageResult, dict] | None:
    """The recorded result if the folder's manifest has this input hash and its files are unchanged."""
    old = read_manifest(folder)
    if not old or old.get("input_hash") != ihash:
        return None
    record = old.get("results")
    if not isinstance(record, dict) or old.get("output_hash") != stage_digest(folder, record):
        return None
    try:
        return from_record(record, stage.result_type), old
    except ResultsError:  # written by another version of flow: run again
        return None


def run_stage(ctx: BuildContext, stage: Stage, upstream: dict[str, str]) -> tuple[StageOutcome, str]:
    ctx = ctx.for_stage(stage)
    folder = ctx.dir(stage.name)
    ihash = input_hash(ctx, stage, upstream)
    cached = None if ctx.options.force else _up_to_date(folder, stage, ihash)
    if cached is not None:
        result, old = cached
        return StageOutcome(stage.name, "skipped", old.get("seconds", 0.0), result), old["output_hash"]
    _clear(folder)
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    result = stage.function()(ctx)
    seconds = time.perf_counter() - t0
    if type(result) is not stage.result_type:
        raise ResultsError(
            f"stage {stage.name!r} returned a {type(result).__name__}, not a {stage.result_type.__name__}"
        )
    record = to_record(result)
    result = from_record(record, stage.result_type)  # exactly what later stages will read back
    ohash = stage_digest(folder, record)
    manifest = {
        "stage": stage.name,
        "index": stage_index(stage.name) + 1,
        "input_hash": ihash,
        "output_hash": ohash,
        "started": started,
        "seconds": round(seconds, 3),
        "tools": tool_versions(stage.tools),
        "command": " ".join(sys.argv),
        "results": record,
    }
    write_manifest(folder, manifest)
    return StageOutcome(stage.name, "ran", seconds, result), ohash


def build_root(out: Path, model: ModelSpec, target: Target) -> Path:
    """``OUT/<model>/<target>``, absolute: tools such as cocotb run in other working folders."""
    return Path(out).resolve() / model.name / target.name


# -- one build per folder -------------------------------------------------------------------------------

LOCK = "build.lock"  # in the build folder while a build runs: pid, host, command, start time


class BuildLockedError(FlowError):
    """Another build (alive) is running into the same folder."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OverflowError, ValueError):
        return False
    return True


def _read_lock(path: Path) -> dict:
    try:
        lock = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return lock if isinstance(lock, dict) else {}


def _describe_lock(lock: dict) -> str:
    return (
        f"pid {lock.get('pid', '?')} on {lock.get('host', '?')}, started {lock.get('started', '?')}: "
        f"{lock.get('command', '?')}"
    )


def _lock_holder_alive(lock: dict, host: str) -> bool:
    pid = lock.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return False  # unreadable: written atomically, so never half-written; a leftover
    if lock.get("host", host) != host:
        return True  # another machine's process: cannot tell, so assume it runs
    return _pid_alive(pid)


@contextlib.contextmanager
def build_lock(root: Path, console: Console | None = None) -> Iterator[Path]:
    """Hold ``root/build.lock`` for the duration of a build. A lock of a live process refuses the build in
    one line naming it (pid, command, start time); a stale one (its process is gone) is taken over with a
    note. The lock appears whole or not at all (written aside, then hard-linked into place)."""
    path = root / LOCK
    mine = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    aside = root / f".{LOCK}.{os.getpid()}"
    try:
        aside.write_text(json.dumps(mine))
        for attempt in range(2):
            try:
                os.link(aside, path)
                break
            except FileExistsError:
                lock = _read_lock(path)
                if attempt or _lock_holder_alive(lock, mine["host"]):
                    raise BuildLockedError(
                        f"{root} is in use by another build ({_describe_lock(lock)}); wait for it to finish, "
                        f"or remove {path} if that process is gone"
                    ) from None
                if console is not None:
                    console.print(f"[yellow]note:[/] taking over the stale lock {path} ({_describe_lock(lock)})")
                if _read_lock(path) == lock:  # not replaced meanwhile by another build taking it over
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
    except OSError as e:
        raise FlowError(f"cannot write the build folder {root}: {e.strerror or e}") from None
    finally:
        with contextlib.suppress(OSError):
            aside.unlink()
    try:
        yield path
    finally:
        if _read_lock(path) == mine:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def make_root(root: Path) -> None:
    """Create the build folder, or say in one line why it cannot be."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FlowError(f"cannot create the build folder {root}: a file is in the way") from None
    except OSError as e:
        raise FlowError(f"cannot create the build folder {root}: {e.strerror or e}") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise FlowError(f"cannot write to the build folder {root}")


# -- the build ------------------------------------------------------------------------------------------

CERTIFIES_FROM = "reference"  # the first stage that checks an implementation against the reference


def check_test_set(data: StageResult, options: BuildOptions, last: int) -> str | None:
    """Refuse to certify on a test set too small to mean much unless the user allowed it; returns the
    warning to print when allowed."""
    small = getattr(data, "small_test", None)
    if not small or last < stage_index(CERTIFIES_FROM):
        return None
    if not (options.allow_small_test and getattr(data, "small_test_allowed", False)):
        raise DataError(
            f"refusing to certify on {small}: use more data, or pass --allow-small-test "
            "(the report will say the test set was small)"
        )
    return f"certifying on {small}, allowed by --allow-small-test"


def run_build(
    model: ModelSpec, target: Target, options: BuildOptions, out: Path = Path("build"), console: Console | None = None
) -> list[StageOutcome]:
    """Run the stages (up to ``options.until``) as their ``needs`` allow; returns what each did, in
    STAGES order.

    Background stages run in worker threads while the main thread goes on (see the module doc); a
    failure anywhere waits for the running stages to end, then raises. One build at a time per folder
    (:func:`build_lock`). A KeyboardInterrupt propagates: a stage it stops has written no manifest, so
    the next run redoes it.
    """
    console = console or Console()
    last = stage_index(options.until) if options.until else len(STAGES) - 1
    root = build_root(out, model, target)
    make_root(root)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with build_lock(root, console), Progress(*columns, console=console, transient=True) as bar:
        ctx = BuildContext(model, target, options, root, console, bar)
        run = _Schedule(ctx, STAGES[: last + 1], last)
        return run.all()


def execution_order(stages: tuple[Stage, ...]) -> list[Stage]:
    """The order in which the main thread takes up ``stages``: STAGES order, except that a stage a
    background stage needs (directly or through others) comes before the rest, so that the
    background stage can start as early as possible. Always a topological order of ``needs``."""
    names = {s.name for s in stages}
    by_name = {s.name: s for s in stages}
    feeds: set[str] = set()

    def mark(name: str) -> None:
        for need in by_name[name].needs:
            if need in names and need not in feeds:
                feeds.add(need)
                mark(need)

    for s in stages:
        if s.background:
            mark(s.name)
    order: list[Stage] = []
    todo = list(stages)
    while todo:
        ready = [s for s in todo if all(n in {o.name for o in order} or n not in names for n in s.needs)]
        pick = min(ready, key=lambda s: (s.name not in feeds, stage_index(s.name)))
        order.append(pick)
        todo.remove(pick)
    return order


class _Schedule:
    """One build's stages: main-thread stages in :func:`execution_order`, background stages in
    worker threads as soon as their needs are done."""

    def __init__(self, ctx: BuildContext, stages: tuple[Stage, ...], last: int) -> None:
        self.ctx, self.last, self.stages = ctx, last, stages
        self.order = execution_order(stages)
        self.names = {s.name for s in stages}
        self.upstream: dict[str, str] = {}
        self.outcomes: dict[str, StageOutcome] = {}
        self.running: dict[futures.Future, Stage] = {}
        self.warn = Console(stderr=True, highlight=False, soft_wrap=True)

    def _ready(self, stage: Stage) -> bool:
        return all(n in self.outcomes or n not in self.names for n in stage.needs)

    def _run(self, stage: Stage) -> tuple[StageOutcome, str]:
        bar = self.ctx.progress_bar
        task = bar.add_task(f"[bold]{stage_index(stage.name) + 1:02d} {stage.name}[/] {stage.summary}", total=None)
        try:
            if stage.background:  # its tool jobs take CPU slots themselves (flow.cpu)
                return run_stage(self.ctx, stage, dict(self.upstream))
            with cpu.hold():
                return run_stage(self.ctx, stage, dict(self.upstream))
        finally:
            bar.remove_task(task)

    def _record(self, stage: Stage, outcome: StageOutcome, ohash: str) -> None:
        self.outcomes[stage.name], self.upstream[stage.name] = outcome, ohash
        mark = "[green]done[/]" if outcome.status == "ran" else "[dim]up to date[/]"
        self.ctx.console.print(
            f"{stage_index(stage.name) + 1:02d} {stage.name:<10} {mark} "
            f"[dim]{outcome.seconds:7.1f} s[/]  {outcome.results.headline}"
        )
        for line in outcome.results.warning_lines():
            self.warn.print(f"[bold yellow]warning:[/] {escape(line)}")
        if stage.name == "data":
            note = check_test_set(outcome.results, self.ctx.options, self.last)
            if note:
                self.warn.print(f"[bold yellow]warning:[/] {escape(note)}")

    def _collect(self, wait: bool) -> None:
        """Record the background stages that have finished (waiting for one when ``wait``)."""
        if not self.running:
            return
        done, _ = futures.wait(self.running, timeout=None if wait else 0, return_when=futures.FIRST_COMPLETED)
        for fut in sorted(done, key=lambda f: stage_index(self.running[f].name)):
            stage = self.running.pop(fut)
            self._record(stage, *fut.result())

    def all(self) -> list[StageOutcome]:
        todo = list(self.order)
        pool = futures.ThreadPoolExecutor(max_workers=max(1, sum(s.background for s in todo)))
        try:
            while todo or self.running:
                self._collect(wait=False)
                for stage in [s for s in todo if s.background and self._ready(s)]:
                    todo.remove(stage)
                    self.running[pool.submit(self._run, stage)] = stage
                main = next((s for s in todo if not s.background and self._ready(s)), None)
                if main is not None:
                    todo.remove(main)
                    self._record(main, *self._run(main))
                elif self.running:
                    self._collect(wait=True)
                elif todo:  # cannot happen for a topological STAGES; say so rather than spin
                    raise FlowError(f"stages {[s.name for s in todo]} wait for stages that are not run")
        except BaseException:
            futures.wait(self.running)  # never leave a stage writing into the folder after the lock is gone
            raise
        finally:
            pool.shutdown(wait=True)
        return [self.outcomes[s.name] for s in self.stages if s.name in self.outcomes]
