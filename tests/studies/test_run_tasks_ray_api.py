"""The backend interface that `flow sweep` (and `flow explore`) run on, exercised on the local pool:
results in task order, bounded retries, a dead worker replaced, follow-up tasks, cancellation; and the
sweep's fault path: a failed run reported, the others recorded, a rerun doing only the missing one."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flow.studies import sweep as sweep_mod
from flow.studies.backends import Cancelled, LocalPool, Task, make_backend, run_tasks
from flow.studies.sweep import SweepGrid, SweepSettings, run_sweep


def square(x):
    return x * x


def flaky(path, fails):
    """Fails ``fails`` times (counted in a file), then returns 'ok'."""
    n = int(Path(path).read_text()) if os.path.exists(path) else 0
    if n < fails:
        Path(path).write_text(str(n + 1))
        raise RuntimeError(f"attempt {n + 1} fails")
    return "ok"


def die_once(path):
    if not os.path.exists(path):
        Path(path).write_text("1")
        os._exit(3)  # the worker process dies
    return "survived"


def test_order_follow_ups_and_progress():
    seen = []
    outs = run_tasks(
        [Task(square, (i,), name=f"sq{i}") for i in range(3)],
        LocalPool(1),
        on_done=lambda i, o: [Task(square, (o.value,), name=f"again{i}")] if i < 3 else None,
        on_progress=seen.append,
        total=6,
    )
    assert [o.value for o in outs[:3]] == [0, 1, 4] and all(o.ok and o.attempts == 1 for o in outs)
    assert {o.name: o.value for o in outs[3:]} == {"again0": 0, "again1": 1, "again2": 16}  # in order added
    assert seen[-1].done == 6 and seen[-1].total == 6 and seen[-1].failed == 0


def test_retries_are_bounded(tmp_path):
    ok, bad = str(tmp_path / "a"), str(tmp_path / "b")
    outs = run_tasks([Task(flaky, (ok, 2)), Task(flaky, (bad, 5))], LocalPool(1), retries=2)
    assert outs[0].ok and outs[0].value == "ok" and outs[0].attempts == 3
    assert not outs[1].ok and outs[1].attempts == 3 and "RuntimeError: attempt 3 fails" in outs[1].error
    assert "Traceback" in outs[1].details


def test_dead_worker_is_replaced(tmp_path):
    outs = run_tasks([Task(die_once, (str(tmp_path / "x"),)), Task(square, (3,))], make_backend("local", workers=2))
    assert [o.value for o in outs] == ["survived", 9]


def test_cancel_event():
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled), LocalPool(2) as pool:
        run_tasks([Task(time.sleep, (5,))], pool, cancel=stop)


def test_failed_run_reported_then_resumed(small, data, tmp_path, monkeypatch):
    settings = SweepSettings(SweepGrid((64, 128), (0.01,), (1,)), seed=7, workers=1)
    real = sweep_mod.run_float_point

    def broken(spec, data, p, out, keep, settings=None):
        if p.batch_size == 128:
            raise ValueError("no luck")
        return real(spec, data, p, out, keep, settings)

    monkeypatch.setattr(sweep_mod, "run_float_point", broken)
    r = run_sweep(small, data, settings, tmp_path, retries=1)
    assert (
        r.ran == 1
        and list(r.failed) == ["bs128_lr0.01_ep1_s7"]
        and "ValueError: no luck" in r.failed["bs128_lr0.01_ep1_s7"]
    )
    failed = json.loads((tmp_path / "failed.json").read_text())
    assert "no luck" in failed["bs128_lr0.01_ep1_s7"]["details"]
    assert len(r.rows) == 1 and (tmp_path / "results.md").is_file()  # the table of what finished
    monkeypatch.setattr(sweep_mod, "run_float_point", real)
    again = run_sweep(small, data, settings, tmp_path)
    assert (again.ran, again.skipped, again.failed) == (1, 1, {}) and not (tmp_path / "failed.json").exists()


def test_ctrl_c_cancels_and_keeps_finished_runs(csv_path, tmp_path):
    """SIGINT to `flow sweep` (local pool of 2): exit 130, finished runs recorded, a rerun does the rest."""
    out = tmp_path / "sw"
    args = [sys.executable, "-c", "from flow.cli import main; main()", "sweep", "jsc-small", "--data", str(csv_path)]
    args += ["--batch-size", "64,128", "--lr", "0.01,0.02", "--epochs", "4", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 60
    while not list((out / "float").glob("*.json")) if (out / "float").is_dir() else True:
        assert time.monotonic() < end and proc.poll() is None, proc.stdout.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    text, _ = proc.communicate(30)
    assert proc.returncode == 130, text
    assert "interrupted" in text
    done = len(list((out / "float").glob("*.json")))
    assert 1 <= done < 4
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"({4 - done} runs now, {done} done before)" in rerun.stdout
