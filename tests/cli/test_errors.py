"""Every user error: one clear line on stderr and a non-zero exit, no traceback."""

import subprocess
import sys
from dataclasses import dataclass

import pytest

from flow.cli import main


def flow(*args, cwd=None):
    """Run the real CLI in a subprocess (used where the process boundary matters)."""
    return subprocess.run([sys.executable, "-m", "flow", *args], capture_output=True, text=True, cwd=cwd)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys, monkeypatch):
    """Run ``flow.cli.main`` in-process (fast) and capture exit code and output."""

    def call(*args):
        monkeypatch.setattr(sys, "argv", ["flow", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


@pytest.mark.parametrize(
    "args, words",
    [
        (["build", "jsc-nope"], "unknown model 'jsc-nope'"),
        (["build", "jsc-tiny", "--target", "xc9999"], "unknown target 'xc9999'"),
        (["build", "jsc-tiny", "--until", "synthesis"], "unknown stage 'synthesis'"),
        (["build", "jsc-tiny", "--data", "no/such/file.parquet"], "--data: file not found"),
        (["build", "jsc-tiny", "--checkpoint", "no/such.pt"], "--checkpoint: file not found"),
        (["build", "jsc-tiny", "--config", "no/such.toml"], "--config: file not found"),
        (["build", "jsc-tiny", "--vectors", "0"], "--vectors must be at least 1"),
        (["build", "jsc-tiny", "--clock-mhz", "-5"], "--clock-mhz must be positive"),
        (["build", "missing.toml"], "config file not found: missing.toml"),
        (["build", "nosuchmodule:make"], "cannot load model factory"),
    ],
)
def test_user_errors_are_one_line(run, args, words):
    r = run(*args)
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert words in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "text, words",
    [
        ("[quantization\n", "not valid TOML"),
        ("[hardware]\nx = 1\n", "unknown section"),
        ("[build]\nvector = 5\n", "unknown [build] key 'vector'"),
        ("[build]\nvectors = 0\n", "vectors must be at least 1"),
        ("[train]\nepochs = 'ten'\n", "[train] epochs must be int"),
        ('[quantization]\nby = "name"\nfc7 = { weight = { width = 4 } }\n', "unknown layer 'fc7'"),
        ('[quantization]\nlinear = { weight = { width = 4, rounding = "up" } }\n', "rounding is TRN|RND"),
    ],
)
def test_bad_config_files(run, tmp_path, text, words):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    r = run("build", "jsc-small", "--config", cfg)
    assert r.returncode == 1, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


def test_bad_model_toml(run, tmp_path):
    m = tmp_path / "net.toml"
    m.write_text('name = "net"\n[[layers]]\ntype = "conv"\n')
    r = run("build", m)
    assert r.returncode == 1 and "type 'conv'" in r.stderr


def test_usage_error_exits_non_zero():
    r = flow("build")
    assert r.returncode == 2 and "Missing" in (r.stderr + r.stdout) and "Traceback" not in r.stderr


def test_error_in_a_real_process_is_one_line():
    r = flow("build", "jsc-nope")
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "unknown model" in r.stderr


def test_help_on_every_command(run):
    for cmd in ([], ["build"], ["models"], ["targets"]):
        r = run(*cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout


def test_models_and_targets_list(run):
    assert "jsc-medium" in run("models").stdout
    out = run("targets").stdout
    assert "xcu250" in out and "xc7z020" in out
