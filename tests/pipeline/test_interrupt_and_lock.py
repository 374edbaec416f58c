"""Ctrl-C and concurrent builds: an interrupted build exits 130 with "interrupted" and leaves the stage it
stopped unmarked (no manifest, so a rerun redoes it); a second build into a folder in use is refused in one
line naming the first; a stale lock is taken over with a note."""

import json
import os
import signal
import subprocess
import sys
import time

from flow.pipeline import LOCK
from tests.cli.helpers import one_line_error


def _sigint_default():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background shell may have started pytest with it ignored


def test_ctrl_c_exits_130_and_leaves_the_stage_unmarked(tmp_path, jets_npz):
    cfg = tmp_path / "long.toml"
    cfg.write_text("[train]\nepochs = 100000\n")  # stays in the train stage until interrupted
    out = tmp_path / "b"
    args = ["build", "jsc-tiny", "--data", str(jets_npz), "--until", "train", "--out", str(out), "--config", str(cfg)]
    p = subprocess.Popen(
        [sys.executable, "-m", "flow", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
    )
    train = out / "jsc-tiny" / "xcu250" / "02_train"
    deadline = time.monotonic() + 120
    while not train.is_dir() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # inside the training loop
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, (p.returncode, stderr)
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert (out / "jsc-tiny" / "xcu250" / "01_data" / "manifest.json").is_file()  # finished: kept
    assert not (train / "manifest.json").exists()  # interrupted: unmarked, a rerun redoes it
    assert not (out / "jsc-tiny" / "xcu250" / LOCK).exists()  # released


def _lock(root, pid, command="flow build jsc-tiny --out elsewhere"):
    root.mkdir(parents=True, exist_ok=True)
    lock = {"pid": pid, "host": os.uname().nodename, "command": command, "started": "2026-01-02T03:04:05+00:00"}
    (root / LOCK).write_text(json.dumps(lock))


def test_a_second_build_into_a_folder_in_use_is_refused(cli, tmp_path, jets_npz):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "b"
        _lock(out / "jsc-tiny" / "xcu250", holder.pid)
        r = cli("build", "jsc-tiny", "--data", jets_npz, "--until", "data", "--out", out)
        one_line_error(r, f"is in use by another build (pid {holder.pid} on")
        assert "started 2026-01-02T03:04:05+00:00: flow build jsc-tiny --out elsewhere" in r.stderr
        assert not (out / "jsc-tiny" / "xcu250" / "01_data").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_with_a_note(cli, tmp_path, jets_npz):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "b"
    root = out / "jsc-tiny" / "xcu250"
    _lock(root, gone.pid)
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--until", "data", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "taking over the stale lock" in r.stdout and f"pid {gone.pid}" in r.stdout
    assert (root / "01_data" / "manifest.json").is_file()
    assert not (root / LOCK).exists()
