"""Where a study's tasks run: the local process pool or a Ray cluster, behind one function.

:func:`run_tasks` takes picklable :class:`Task` objects (a module-level function and its arguments) and a
backend, runs them, and returns one :class:`Outcome` per task **in task order**, whatever order they
finished in::

    from flow.studies.backends import LocalPool, RayBackend, Task, run_tasks

    with RayBackend("auto") as backend:           # or LocalPool(workers=2), or the strings "local"/"ray"
        data = backend.share(big_object)          # sent once; a top-level task argument
        tasks = [Task(build_point, (data, beta), name=f"beta{beta}", num_cpus=1, memory=2 << 30) for beta in betas]
        outcomes = run_tasks(tasks, backend, retries=2, on_done=record, on_progress=show)
    for o in outcomes:
        print(o.name, o.value if o.ok else o.error)

* **Retries.** A task that raises, or whose worker process (or node) dies, is run again up to ``retries``
  more times; after that its outcome carries the error (``ok`` is False) and the other tasks go on. On Ray
  this is Ray's own ``max_retries`` with ``retry_exceptions=True`` (lost objects are rebuilt from lineage);
  locally :func:`run_tasks` resubmits, and a pool broken by a dead worker is replaced.
* **Follow-up tasks.** ``on_done(index, outcome)`` is called on the head as each task finishes (write its
  results there: workers share no file system with the head) and may return new tasks, which are
  appended (their outcomes follow the initial ones, in the order they were added).
* **Progress.** ``on_progress(Progress)`` on every change and every ``poll`` seconds: done, running,
  queued, failed, elapsed and an estimate of the time left.
* **Cancellation.** Ctrl-C (``KeyboardInterrupt``) or a set ``cancel`` event cancels every outstanding task
  (Ray: ``ray.cancel(force=True)``; local: the pool's processes are terminated) and re-raises
  (:class:`Cancelled` for the event); tasks that finished were already passed to ``on_done``.

A task function should return plain data (dicts, numbers, ``bytes``), not paths: on a cluster the head
cannot read a worker's disk. :func:`pack_folder` and :func:`unpack_files` move a folder as bytes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from flow.errors import ConfigError

BACKENDS = ("local", "ray")
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class Task:
    """``fn(*args)`` as one unit of work. ``fn`` must be importable on the workers (a module-level
    function of an installed package); ``args`` must pickle, or be handles from ``backend.share``.
    ``num_cpus`` and ``memory`` (bytes) are the resources Ray schedules by."""

    fn: Callable[..., Any]
    args: tuple = ()
    name: str = ""
    num_cpus: float = 1
    memory: int | None = None


@dataclass
class Outcome:
    """What became of a task: its value, or the error of its last attempt."""

    name: str
    value: Any = None
    error: str | None = None  # "ExceptionType: message"
    details: str | None = None  # the traceback (or Ray's error text) of the last attempt
    attempts: int = 0  # runs started by run_tasks (Ray's own retries are not counted here)
    seconds: float = 0.0  # wall time of the successful attempt, in the worker
    node: str = ""  # where it ran: host:pid locally, the Ray node id on Ray

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    failed: int
    running: int
    queued: int
    elapsed: float
    eta: float | None  # seconds left, from the rate so far; None before the first task ends

    def text(self) -> str:
        eta = "" if self.eta is None else f", about {_duration(self.eta)} left"
        return (
            f"{self.done}/{self.total} done, {self.running} running, {self.queued} queued, {self.failed} failed; "
            f"{_duration(self.elapsed)} elapsed{eta}"
        )


def _duration(s: float) -> str:
    s = max(0, round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class Cancelled(KeyboardInterrupt):
    """The ``cancel`` event of :func:`run_tasks` was set (a KeyboardInterrupt, so the CLI exits 130)."""


class TaskError(Exception):
    """A task's failure as the backend reports it: ``error`` one line, ``details`` the traceback."""

    def __init__(self, error: str, details: str = "", system: bool = False) -> None:
        super().__init__(error)
        self.error, self.details, self.system = error, details, system


# -- what runs in the worker --------------------------------------------------------------------------


class Shared:
    """A handle of an object sent once to every local worker (see :meth:`LocalPool.share`)."""

    def __init__(self, key: int) -> None:
        self.key = key


_SHARED: dict[int, Any] = {}


def _init_local_worker(shared: dict[int, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the head handles Ctrl-C and stops the pool
    _SHARED.update(shared)


def _where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _execute(fn: Callable, *args) -> tuple[Any, float, str]:
    """Run one task in a local worker; shared handles are replaced by their objects."""
    args = tuple(_SHARED[a.key] if isinstance(a, Shared) else a for a in args)
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0, _where()


def _execute_ray(fn: Callable, *args) -> tuple[Any, float, str]:
    """Run one task in a Ray worker (Ray has already replaced top-level ObjectRefs by their values)."""
    import ray

    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0, ray.get_runtime_context().get_node_id()


# -- backends -----------------------------------------------------------------------------------------


class Backend:
    """The interface :func:`run_tasks` drives. ``retries_itself``: the backend re-runs failed tasks."""

    name = "?"
    retries_itself = False

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> str:
        return self.name

    def share(self, obj: Any) -> Any:
        return obj

    def slots(self, task: Task | None = None) -> int:
        """How many tasks like ``task`` can run at once."""
        return 1

    def submit(self, task: Task, retries: int) -> Any: ...

    def wait(self, handles: list, timeout: float) -> list:
        """The handles among ``handles`` that finished (within ``timeout`` seconds)."""
        raise NotImplementedError

    def result(self, handle) -> tuple[Any, float, str]:
        """``(value, seconds, node)``, or raises :class:`TaskError`."""
        raise NotImplementedError

    def cancel(self, handles: list) -> None: ...


class LocalPool(Backend):
    """A pool of ``workers`` spawned processes on this machine (``workers=1``: in this process)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError("--workers must be at least 1")
        self.workers = workers or os.cpu_count() or 1
        self._shared: dict[int, Any] = {}
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"local pool, {self.workers} worker{'s' * (self.workers > 1)}"

    def share(self, obj: Any) -> Any:
        if self._pool is not None:
            raise RuntimeError("LocalPool.share() must be called before the first task is submitted")
        key = len(self._shared)
        self._shared[key] = obj
        return Shared(key)

    def slots(self, task: Task | None = None) -> int:
        return self.workers

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("spawn"), initializer=_init_local_worker, initargs=(self._shared,)
            )
        return self._pool

    def submit(self, task: Task, retries: int) -> Future:
        if self.workers == 1:  # inline: the result is ready when submit returns
            f: Future = Future()
            try:
                _SHARED.update(self._shared)
                f.set_result(_execute(task.fn, *task.args))
            except Exception as e:  # noqa: BLE001 - reported as the task's outcome
                f.set_exception(e)
            return f
        try:
            pool = self._executor()
            f = pool.submit(_execute, task.fn, *task.args)
        except BrokenProcessPool:  # a worker died: a fresh pool for the resubmitted tasks
            self._kill()
            pool = self._executor()
            f = pool.submit(_execute, task.fn, *task.args)
        f.flow_pool = pool  # type: ignore[attr-defined]
        return f

    def wait(self, handles: list, timeout: float) -> list:
        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Future) -> tuple[Any, float, str]:
        try:
            return handle.result()
        except BrokenProcessPool as e:
            if getattr(handle, "flow_pool", None) is self._pool:  # not a pool already replaced
                self._kill()
            raise TaskError(f"worker died: {e}", system=True) from None
        except Exception as e:  # noqa: BLE001
            details = "".join(traceback.format_exception(e))
            raise TaskError(f"{type(e).__name__}: {e}", details) from None

    def cancel(self, handles: list) -> None:
        self._kill()

    def _kill(self) -> None:
        if self._pool is None:
            return
        for proc in list((getattr(self._pool, "_processes", None) or {}).values()):  # shutdown() forgets them
            proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class RayBackend(Backend):
    """Tasks on a Ray cluster: ``address`` ``"auto"`` (the cluster this machine belongs to), ``HOST:PORT``
    (the head's GCS port, 6379 by default), or ``None``: a local Ray instance started now (``num_cpus``,
    default all cores) and stopped by :meth:`close`. Each task asks for ``task.num_cpus`` CPUs and
    ``task.memory`` bytes, so the cluster runs as many at once as fit."""

    name = "ray"
    retries_itself = True

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._ray = None
        self._remote = None
        self._owned = False
        self._slots: tuple[float, int] = (0.0, 1)

    def describe(self) -> str:
        where = "a local Ray instance" if self.address is None else f"the Ray cluster at {self.address}"
        if self._ray is None:
            return where
        res = self._ray.cluster_resources()
        nodes = sum(1 for n in self._ray.nodes() if n.get("Alive"))
        return f"{where}: {nodes} node{'s' * (nodes != 1)}, {res.get('CPU', 0):g} CPUs"

    def start(self) -> None:
        if self._ray is not None:
            return
        try:
            import ray
        except ImportError:
            raise ConfigError("--backend ray needs Ray: pip install 'ray==2.60.0' (scripts/setup.sh does)") from None
        if not ray.is_initialized():
            kw: dict = {"include_dashboard": False} if self.address is None else {}
            if self.address is None and self.num_cpus is not None:
                kw["num_cpus"] = self.num_cpus
            try:
                ray.init(address=self.address, **kw)
            except ConnectionError as e:
                raise ConfigError(f"--address {self.address}: cannot connect to a Ray cluster ({e})") from None
            self._owned = True
        self._ray = ray
        self._remote = ray.remote(_execute_ray)

    def close(self) -> None:
        if self._ray is not None and self._owned:
            self._ray.shutdown()
        self._ray, self._owned = None, False

    def share(self, obj: Any) -> Any:
        self.start()
        return self._ray.put(obj)

    def slots(self, task: Task | None = None) -> int:
        now = time.monotonic()
        if now - self._slots[0] > 5:
            cpus = self._ray.cluster_resources().get("CPU", 1) if self._ray else 1
            self._slots = (now, max(1, int(cpus // (task.num_cpus if task else 1) or 1)))
        return self._slots[1]

    def submit(self, task: Task, retries: int):
        self.start()
        opts: dict = {"num_cpus": task.num_cpus, "max_retries": retries, "retry_exceptions": True}
        if task.memory:
            opts["memory"] = int(task.memory)
        if task.name:
            opts["name"] = task.name
        return self._remote.options(**opts).remote(task.fn, *task.args)

    def wait(self, handles: list, timeout: float) -> list:
        done, _ = self._ray.wait(handles, num_returns=1, timeout=timeout)
        if done:  # and whatever else is ready by now
            more, _ = self._ray.wait(handles, num_returns=len(handles), timeout=0)
            done = list({id(r): r for r in [*done, *more]}.values())
        return done

    def result(self, handle) -> tuple[Any, float, str]:
        from ray import exceptions as rx

        try:
            return self._ray.get(handle)
        except rx.RayTaskError as e:
            cause = e.cause if isinstance(e.cause, BaseException) else e
            raise TaskError(f"{type(cause).__name__}: {cause}".splitlines()[0], str(e)) from None
        except rx.RayError as e:  # worker or node died beyond the retries, object lost, cancelled, ...
            raise TaskError(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", str(e), True) from None

    def cancel(self, handles: list) -> None:
        for ref in handles:
            with contextlib.suppress(Exception):  # finished or already gone
                self._ray.cancel(ref, force=True)


def make_backend(name: str, address: str | None = None, workers: int | None = None) -> Backend:
    """The backend of ``--backend NAME [--address ADDR] [--workers N]``."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {name!r}: use {' or '.join(BACKENDS)}")
    if name == "local":
        if address is not None:
            raise ConfigError("--address is for --backend ray")
        return LocalPool(workers)
    return RayBackend(address, num_cpus=workers if address is None else None)


# -- the driver loop ----------------------------------------------------------------------------------


@dataclass
class _Slot:
    task: Task
    outcome: Outcome
    handle: Any = None
    started: float = field(default_factory=time.perf_counter)


def run_tasks(
    tasks: Iterable[Task],
    backend: Backend | str = "local",
    *,
    retries: int = DEFAULT_RETRIES,
    on_done: Callable[[int, Outcome], Iterable[Task] | None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    total: int | None = None,
    poll: float = 0.5,
) -> list[Outcome]:
    """Run ``tasks`` on ``backend``; one :class:`Outcome` per task (and per follow-up task) in order.

    ``total``: the number of tasks expected including follow-ups (for the progress estimate). A backend
    given by name is created, started and closed here; an instance is started (if it was not) and left
    open. See the module docstring for retries, follow-ups, progress and cancellation."""
    if retries < 0:
        raise ConfigError("retries must be at least 0")
    owned = isinstance(backend, str)
    be: Backend = make_backend(backend) if isinstance(backend, str) else backend
    slots: list[_Slot] = []
    pending: dict[int, int] = {}  # id(handle) -> index in slots
    t0 = time.perf_counter()
    finished = [0, 0]  # done, failed
    last_progress = [0.0]

    def submit(i: int) -> None:
        s = slots[i]
        s.outcome.attempts += 1
        s.handle = be.submit(s.task, 0 if not be.retries_itself else retries)
        s.started = time.perf_counter()
        pending[id(s.handle)] = i

    def add(new: Iterable[Task] | None) -> None:
        for t in new or ():
            slots.append(_Slot(t, Outcome(t.name)))
            submit(len(slots) - 1)

    def progress(force: bool = False) -> None:
        now = time.perf_counter()
        if on_progress is None or (not force and now - last_progress[0] < poll):
            return
        last_progress[0] = now
        n = max(total or 0, len(slots))
        elapsed = now - t0
        ended = finished[0] + finished[1]
        left = n - ended
        running = min(len(pending), be.slots(slots[0].task if slots else None))
        eta = elapsed / ended * left if ended else None
        on_progress(Progress(n, finished[0], finished[1], running, len(pending) - running, elapsed, eta))

    try:
        be.start()
        add(tasks)
        progress(True)
        while pending:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            handles = [slots[i].handle for i in pending.values()]
            done = be.wait(handles, poll)
            for h in done:
                i = pending.pop(id(h))
                s = slots[i]
                try:
                    s.outcome.value, s.outcome.seconds, s.outcome.node = be.result(h)
                    s.outcome.error = s.outcome.details = None
                except TaskError as e:
                    s.outcome.error, s.outcome.details = e.error, e.details
                    if not be.retries_itself and s.outcome.attempts <= retries:
                        submit(i)
                        continue
                finished[0 if s.outcome.ok else 1] += 1
                if on_done is not None:
                    add(on_done(i, s.outcome))
                progress(True)
            progress()
    except BaseException:  # Ctrl-C, the cancel event or a failing on_done: stop the outstanding tasks
        be.cancel([slots[i].handle for i in pending.values()])
        raise
    finally:
        if owned:
            be.close()
    return [s.outcome for s in slots]


# -- moving files as bytes ----------------------------------------------------------------------------


def pack_folder(root: Path, skip: Iterable[str] = ()) -> dict[str, bytes]:
    """Every file under ``root`` as ``{relative posix path: bytes}`` (minus ``skip``), sorted by path."""
    root = Path(root)
    skip = set(skip)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {r: p.read_bytes() for p in files if (r := p.relative_to(root).as_posix()) not in skip}


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def unpack_files(root: Path, files: dict[str, bytes], last: Iterable[str] = ()) -> None:
    """Write :func:`pack_folder`'s output under ``root``; the paths in ``last`` (markers that say a result
    is complete) are written after all the others."""
    root = Path(root)
    last = [p for p in last if p in files]
    for rel in [r for r in files if r not in last] + last:
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise ValueError(f"refusing to write outside {root}: {rel}")
        write_atomic(root / rel, files[rel])
