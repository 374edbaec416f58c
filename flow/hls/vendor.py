"""AMD vendor tools for an hls4ml project: find them, run ``build.sh``, parse what they leave behind.

Nothing here needs the tools to be installed: :func:`find_tool` returns None without them, and the
parsers read whatever report files exist (C synthesis ``<project>_csynth.xml``, the vendor C simulation's
``tb_data/csim_results.log``), so a project synthesized elsewhere can be copied back and read.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from flow.errors import ToolError
from flow.ir.fixed import FixedType

TOOLS = {"Vitis": ("vitis-run", "vitis_hls"), "Vivado": ("vivado_hls",)}


def find_tool(backend: str) -> str | None:
    """The first vendor HLS executable for ``backend`` on PATH, or None."""
    return next((t for t in TOOLS.get(backend, ()) if shutil.which(t)), None)


def run_build(project_dir: Path, timeout: float | None = None) -> Path:
    """Run the project's ``build.sh`` (C-sim + C synthesis); returns its log. ToolError on failure."""
    project_dir = Path(project_dir)
    log = project_dir / "vendor_build.log"
    with log.open("w") as f:
        try:
            r = subprocess.run(
                ["sh", "build.sh"], cwd=project_dir, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"vendor HLS build timed out after {timeout} s; log: {log}") from None
    if r.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise ToolError(f"vendor HLS build failed (exit {r.returncode}); log: {log}\n{tail}")
    return log


def _text(node: ET.Element | None, path: str) -> str | None:
    found = node.find(path) if node is not None else None
    return found.text.strip() if found is not None and found.text else None


def _number(s: str | None) -> float | int | None:
    if s is None:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return int(v) if v.is_integer() else v


def _resources(node: ET.Element | None) -> dict[str, float | int | None]:
    if node is None:
        return {}
    return {("DSP" if c.tag == "DSP48E" else c.tag): _number(c.text) for c in node}


def parse_csynth(project_dir: Path, project_name: str) -> dict | None:
    """Summary of ``<project>_prj/solution*/syn/report/<project>_csynth.xml``, or None if absent.

    Latencies and intervals are in clock cycles, clocks in ns, resources as the tool counts them.
    """
    pattern = f"{project_name}_prj/solution*/syn/report/{project_name}_csynth.xml"
    reports = sorted(Path(project_dir).glob(pattern))
    if not reports:
        return None
    root = ET.parse(reports[0]).getroot()
    perf = root.find("./PerformanceEstimates")
    lat = "./SummaryOfOverallLatency/"
    area = root.find("./AreaEstimates")
    return {
        "report": str(reports[0]),
        "clock_target_ns": _number(_text(root, "./UserAssignments/TargetClockPeriod")),
        "clock_estimated_ns": _number(_text(perf, "./SummaryOfTimingAnalysis/EstimatedClockPeriod")),
        "latency_cycles": [_number(_text(perf, lat + k)) for k in ("Best-caseLatency", "Worst-caseLatency")],
        "interval_cycles": [_number(_text(perf, lat + k)) for k in ("Interval-min", "Interval-max")],
        "resources": _resources(area.find("./Resources") if area is not None else None),
        "available": _resources(area.find("./AvailableResources") if area is not None else None),
    }


def parse_vendor_csim(project_dir: Path, output_type: FixedType) -> np.ndarray | None:
    """Output codes of the vendor C simulation, or None if absent. The testbench writes
    ``tb_data/csim_results.log`` relative to where it runs (the project or the tool's csim build folder).

    ``ap_fixed``'s ``operator<<`` prints a decimal with limited digits, so each value is mapped to the
    *nearest* code; that is exact while the print error stays below half an LSB (codes under 2**20).
    """
    d = Path(project_dir)
    name = "tb_data/csim_results.log"
    found = (d / name, *d.glob(f"*_prj/solution*/csim/build/{name}"))
    logs = [p for p in found if p.is_file()]
    if not logs:
        return None
    log = max(logs, key=lambda p: p.stat().st_mtime)
    rows = [[float(v) for v in line.split()] for line in log.read_text().splitlines() if line.strip()]
    return np.rint(np.asarray(rows, dtype=np.float64) * 2.0**output_type.frac).astype(np.int64)
