"""A real Ray cluster on 127.0.0.1 for the tests and bench/bench_sweep.py: a head and worker nodes, each its own
``ray start --block`` process in its own process group, stopped by process-group id (never
``ray stop``, which would stop every Ray process on the machine, other people's included).

Ray turns ``127.0.0.1`` into the machine's network address when it starts a node (so that other machines
can reach it). To keep everything on the loopback interface the head runs with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray's single-machine mode, which binds 127.0.0.1), and a worker
node runs Ray's own ``ray start`` entry point with that address translation switched off
(``ray start`` refuses to add a worker node in single-machine mode). The driver (this process) does the
same through :func:`loopback_driver`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Ray's own `ray start`, with 127.0.0.1 kept as it is instead of replaced by the network address.
_WORKER_START = (
    "import sys, ray._private.services as s; s.resolve_ip_for_localhost = lambda host: host; "
    "from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path) -> dict:
    return dict(
        os.environ,
        RAY_TMPDIR=str(tmp),
        RAY_AUTH_MODE="disabled",  # loopback only, for the test's lifetime
        RAY_USAGE_STATS_ENABLED="0",
        # notice a dead node in about 2 s instead of about 15 s (the kill test)
        RAY_health_check_period_ms="500",
        RAY_health_check_timeout_ms="1000",
        RAY_health_check_failure_threshold="3",
    )


class LocalCluster:
    """``with LocalCluster(workers=1) as c:`` a head with ``cpus`` CPUs and ``workers`` worker nodes."""

    def __init__(self, workers: int = 1, cpus: int = 1) -> None:
        self.n_workers, self.cpus = workers, cpus
        self.tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths must fit
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: str, env: dict) -> subprocess.Popen:
        out = open(self.tmp / log, "w")  # noqa: SIM115 - the process keeps it
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait(self, log: str, proc: subprocess.Popen, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "Ray runtime started" in (self.tmp / log).read_text():
                return
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"ray start failed: {(self.tmp / log).read_text()[-3000:]}")

    def start(self) -> LocalCluster:
        env = _env(self.tmp)
        head = ["ray", "start", "--head", "--port", str(self.port), "--num-cpus", str(self.cpus)]
        head += ["--include-dashboard=false", "--temp-dir", str(self.tmp), "--disable-usage-stats", "--block"]
        self.head = self._start(head, "head.log", dict(env, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"))
        self._wait("head.log", self.head)
        for _ in range(self.n_workers):
            self.add_worker()
        return self

    def add_worker(self) -> subprocess.Popen:
        i = len(self.workers)
        args = [sys.executable, "-c", _WORKER_START, "start", "--address", self.address]
        args += ["--num-cpus", str(self.cpus), "--disable-usage-stats", "--block"]
        w = self._start(args, f"worker{i}.log", _env(self.tmp))
        self.workers.append(w)
        self._wait(f"worker{i}.log", w)
        return w

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL, wait: float = 10) -> None:
        """Kill a node: its ``ray start`` process and everything in its process group (raylet, workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)

    def stop(self) -> None:
        procs = [p for p in [*self.workers, self.head] if p is not None]
        for p in procs:
            self.kill(p, signal.SIGTERM, wait=0)
        end = time.monotonic() + 3
        while time.monotonic() < end and any(p.poll() is None for p in procs):
            time.sleep(0.1)
        for p in procs:  # the whole group: raylet and workers outlive a stopped `ray start`
            self.kill(p, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def loopback_driver(cluster: LocalCluster):
    """Let this process connect to ``cluster`` as a driver without Ray rewriting 127.0.0.1."""
    import ray._private.ray_constants as rc

    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_TMPDIR")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_TMPDIR=str(cluster.tmp))
    was, rc.ENABLE_RAY_CLUSTER = rc.ENABLE_RAY_CLUSTER, False
    try:
        yield
    finally:
        rc.ENABLE_RAY_CLUSTER = was
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
