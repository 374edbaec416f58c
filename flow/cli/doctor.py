"""``flow doctor``: which tools this machine has, and which stages need them."""

from __future__ import annotations

import importlib.metadata
import shutil
from dataclasses import dataclass

from flow.errors import ToolError


@dataclass(frozen=True)
class Check:
    name: str
    found: bool
    detail: str  # version or path, or how to install
    required: bool
    used_by: str


_PACKAGES = (
    ("torch", "train, quantize, reference"),
    ("hls4ml", "hls4ml"),
    ("qonnx", "onnx"),
    ("onnxruntime", "onnx"),
    ("cocotb", "sim"),
    ("pythia8mc", "flow data generate"),
    ("fastjet", "flow data generate"),
)


def _package(name: str, used_by: str) -> Check:
    try:
        return Check(name, True, importlib.metadata.version(name), True, used_by)
    except importlib.metadata.PackageNotFoundError:
        return Check(name, False, f"pip install {name}", True, used_by)


def _tool(name: str, find, required: bool, used_by: str) -> Check:
    try:
        return Check(name, True, find(), required, used_by)
    except ToolError as e:
        return Check(name, False, str(e), required, used_by)


def _which(exe: str, hint: str) -> str:
    path = shutil.which(exe)
    if path is None:
        raise ToolError(hint)
    return path


def checks() -> list[Check]:
    from flow.tools import find_verilator, find_yosys

    out = [_package(n, u) for n, u in _PACKAGES]
    out.append(
        _tool(
            "verilator",
            lambda: (lambda v: f"{v.version} ({v.source}: {v.exe})")(find_verilator()),
            True,
            "rtl lint, sim",
        )
    )
    out.append(_tool("yosys", lambda: (lambda y: f"{y.version} ({y.source})")(find_yosys()), True, "synth"))
    out.append(_tool("g++", lambda: _which("g++", "apt-get install g++"), True, "hls4ml C-sim, Verilator"))
    out.append(_tool("make", lambda: _which("make", "apt-get install make"), True, "Verilator"))
    out.append(
        _tool(
            "iverilog",
            lambda: _which("iverilog", "apt-get install iverilog"),
            False,
            "fast block tests (skipped without it)",
        )
    )
    vendor = next((t for t in ("vitis_hls", "vivado_hls", "vivado") if shutil.which(t)), None)
    out.append(
        Check(
            "Vitis HLS / Vivado",
            vendor is not None,
            shutil.which(vendor)
            if vendor
            else "not found: the hls4ml project is written; synthesize it where Vitis HLS is installed",
            False,
            "vendor synthesis (optional)",
        )
    )
    return out
