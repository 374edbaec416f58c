"""Run a generation: plan chunks, run them on worker processes, keep them on disk, assemble the output.

Chunks are written to ``<out>.parts/`` as they finish; a rerun with the same settings skips the chunks
already there, so an interrupted run resumes. The final file holds the chunks in a fixed order
(chunk index, then class order), so the output is the same for any number of workers.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from queue import Empty

import numpy as np

from flow.data.generate.chunk import ChunkResult, ChunkStats, ChunkTask, generate_chunk
from flow.data.generate.settings import GeneratorSettings
from flow.data.schema import CLASS_NAMES
from flow.errors import DataError

#: Relative cost per jet (measured single-core jets/s: g 82, q 143, w 182, z 190, t 87); the most
#: expensive chunks are started first so the workers finish together.
CLASS_COST = {"g": 2.3, "t": 2.2, "q": 1.3, "w": 1.05, "z": 1.0}

SETTINGS_FILE = "settings.json"


def plan(settings: GeneratorSettings) -> list[ChunkTask]:
    """All chunks of a run, in output order (chunk index, then class order)."""
    per_class = settings.jets_per_class()
    tasks = []
    n_chunks = max(-(-n // settings.chunk_jets) for n in per_class.values())
    for i in range(n_chunks):
        for cls in settings.classes:
            start = i * settings.chunk_jets
            n = min(settings.chunk_jets, per_class[cls] - start)
            if n > 0:
                tasks.append(ChunkTask(cls, i, n))
    return tasks


def parts_dir(out: Path) -> Path:
    """Where the chunks of output ``out`` are kept while it is generated."""
    return out.with_name(out.name + ".parts")


def _chunk_path(parts: Path, task: ChunkTask) -> Path:
    return parts / f"{task.name}.npz"


def save_chunk(parts: Path, result: ChunkResult) -> None:
    """Write one chunk atomically (temporary file, then rename)."""
    path = _chunk_path(parts, result.task)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            features=result.features,
            pt=result.pt,
            eta=result.eta,
            stats=np.array(json.dumps(asdict(result.stats))),
        )
    os.replace(tmp, path)


def load_chunk(parts: Path, task: ChunkTask) -> ChunkResult:
    with np.load(_chunk_path(parts, task)) as z:
        stats = ChunkStats(**json.loads(str(z["stats"])))
        return ChunkResult(task, z["features"], z["pt"], z["eta"], stats)


def _resume_key(settings: GeneratorSettings) -> dict:
    """Settings that chunks depend on (everything except the total number of jets)."""
    rec = settings.to_record()
    rec.pop("n_jets")
    return rec


def prepare_parts(out: Path, settings: GeneratorSettings, *, fresh: bool = False) -> Path:
    """Create or reuse the chunk directory; refuse to mix chunks made with other settings."""
    parts = parts_dir(out)
    key = _resume_key(settings)
    if parts.exists() and fresh:
        shutil.rmtree(parts)
    if parts.exists():
        try:
            old = json.loads((parts / SETTINGS_FILE).read_text())
        except (OSError, ValueError):
            old = None
        if old != key:
            raise DataError(
                f"{parts} holds chunks of a run with other settings; rerun with --fresh to discard them "
                "or use another --out"
            )
    else:
        parts.mkdir(parents=True)
        (parts / SETTINGS_FILE).write_text(json.dumps(key, indent=1, sort_keys=True))
    return parts


#: Where a pool worker reports (chunk name, jets so far) after each batch; set by _worker_init.
_BATCH_QUEUE = None


def _worker_init(in_pool: bool = False, queue=None) -> None:
    global _BATCH_QUEUE
    # One BLAS thread per worker: the workers already use every core.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if in_pool:
        # Ctrl-C reaches the main process, which stops the pool; finished chunks stay on disk.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _BATCH_QUEUE = queue
    from flow.data.generate.clustering import quiet_fastjet

    quiet_fastjet()


def _run_task(
    args: tuple[ChunkTask, GeneratorSettings], on_batch: Callable[[str, int], None] | None = None
) -> tuple[ChunkResult, float]:
    task, settings = args
    if on_batch is None and _BATCH_QUEUE is not None:

        def on_batch(name: str, n: int) -> None:
            _BATCH_QUEUE.put((name, n))

    t0 = time.process_time()
    result = generate_chunk(task, settings, on_batch=None if on_batch is None else lambda n: on_batch(task.name, n))
    return result, time.process_time() - t0


def _execution_order(tasks: list[ChunkTask]) -> list[ChunkTask]:
    """Expensive chunks first (longest-processing-time scheduling), ties in output order."""
    return sorted(tasks, key=lambda t: (t.index, -CLASS_COST[t.cls] * t.n_jets))


def run_chunks(
    tasks: list[ChunkTask],
    settings: GeneratorSettings,
    workers: int,
    on_batch: Callable[[str, int], None] | None = None,
) -> Iterator[tuple[ChunkResult, float]]:
    """Generate ``tasks`` (in any order) and yield (result, worker CPU seconds) as each finishes.

    ``on_batch(chunk name, jets so far)`` is called after every Pythia batch (from a helper thread
    when there are several workers), for a live progress bar.
    """
    if not tasks:
        return
    args = [(t, settings) for t in _execution_order(tasks)]
    if workers <= 1:
        _worker_init()
        for a in args:
            yield _run_task(a, on_batch)
        return
    # fork starts workers in milliseconds, but is only safe without other threads (a progress-bar
    # thread, torch's pools); otherwise spawn, which re-imports modules in each worker (~1-2 s).
    can_fork = sys.platform == "linux" and threading.active_count() == 1 and "torch" not in sys.modules
    ctx = mp.get_context("fork" if can_fork else "spawn")
    queue = ctx.Queue() if on_batch is not None else None
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            try:
                name, n = queue.get(timeout=0.2)
            except Empty:
                continue
            except (EOFError, OSError):
                return
            on_batch(name, n)

    pumper = threading.Thread(target=pump, daemon=True) if queue is not None else None
    n_proc = min(workers, len(args))
    try:
        with ctx.Pool(processes=n_proc, initializer=_worker_init, initargs=(True, queue)) as pool:
            if pumper is not None:
                pumper.start()  # after the workers exist: never fork with this thread running
            yield from pool.imap_unordered(_run_task, args, chunksize=1)
    finally:
        stop.set()
        if pumper is not None and pumper.is_alive():
            pumper.join()


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each batch of events and each finished chunk."""

    jets_done: int
    jets_total: int
    chunks_done: int
    chunks_total: int
    resumed_jets: int


def generate(
    settings: GeneratorSettings,
    out: str | Path,
    *,
    workers: int = 1,
    fresh: bool = False,
    keep_parts: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    command: str | None = None,
) -> dict:
    """Generate ``settings.n_jets`` jets into ``out`` (``.parquet`` or ``.npz``); returns the metadata.

    Runs the missing chunks on ``workers`` processes (each chunk with its own Pythia), then writes
    the output with a metadata record (settings, versions, seed, counts, rejected-jet statistics).
    """
    from flow.data.io import write_dataset

    out = Path(out)
    if out.suffix not in (".parquet", ".npz"):
        raise DataError(f"--out must end in .parquet or .npz, got {out.name!r}")
    if workers < 1:
        raise DataError(f"--workers must be at least 1, got {workers}")
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = prepare_parts(out, settings, fresh=fresh)
    tasks = plan(settings)
    done = {t for t in tasks if _chunk_path(parts, t).exists()}
    todo = [t for t in tasks if t not in done]
    total = sum(t.n_jets for t in tasks)
    resumed = sum(t.n_jets for t in done)
    jets_done, chunks_done = resumed, len(done)
    cpu_seconds = 0.0
    t0 = time.perf_counter()
    partial: dict[str, int] = {}  # jets so far of chunks in flight
    finished: set[str] = set()
    lock = threading.Lock()

    def report() -> None:
        if on_progress:
            on_progress(Progress(jets_done + sum(partial.values()), total, chunks_done, len(tasks), resumed))

    def on_batch(name: str, n: int) -> None:
        with lock:
            if name not in finished:
                partial[name] = n
                report()

    with lock:
        report()
    for result, cpu in run_chunks(todo, settings, workers, on_batch if on_progress else None):
        save_chunk(parts, result)
        cpu_seconds += cpu
        with lock:
            finished.add(result.task.name)
            partial.pop(result.task.name, None)
            jets_done += result.task.n_jets
            chunks_done += 1
            report()
    wall = time.perf_counter() - t0
    results = [load_chunk(parts, t) for t in tasks]
    features = np.concatenate([r.features for r in results]).astype(np.float32)
    labels = np.concatenate([np.full(r.task.n_jets, CLASS_NAMES.index(r.task.cls)) for r in results])
    pt = np.concatenate([r.pt for r in results]).astype(np.float32)
    eta = np.concatenate([r.eta for r in results]).astype(np.float32)
    stats: dict[str, dict] = {}
    for r in results:
        s = stats.setdefault(r.task.cls, asdict(ChunkStats()))
        for k, v in asdict(r.stats).items():
            s[k] += v
    metadata = {
        "generator": "flow.data.generate (Pythia 8 + FastJet contrib)",
        "settings": settings.to_record(),
        "seed": settings.seed,
        "counts": {c: int(n) for c, n in settings.jets_per_class().items()},
        "statistics": stats,
        "versions": versions(),
        "command": command or settings.command(str(out)),
        "run": {
            "workers": workers,
            "wall_seconds": round(wall, 2),
            "worker_cpu_seconds": round(cpu_seconds, 2),
            "jets_generated_this_run": total - resumed,
            "jets_resumed": resumed,
        },
    }
    write_dataset(out, features, labels.astype(np.int64), pt=pt, eta=eta, metadata=metadata)
    if not keep_parts:
        shutil.rmtree(parts, ignore_errors=True)
    return metadata


def versions() -> dict[str, str]:
    """Versions of everything that shapes the jets."""
    from importlib.metadata import PackageNotFoundError, version

    import flow

    out = {"flow": flow.__version__, "python": platform.python_version()}
    for pkg in ("pythia8mc", "fastjet", "numpy", "awkward"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out
