"""Synthesize the generated RTL with Yosys ``synth_xilinx`` and report resources, latency and depth.

Speed: each layer module is synthesized on its own (flattened inside the layer, so that ``ltp``
can measure it), in parallel Yosys processes, and the per-layer counts are summed. The top level
only wires layers together, so the sum equals a hierarchical synthesis of the whole design;
what is lost is optimization across layer boundaries (none is expected: every layer output is
used). Identical ReLU instances (same parameters) are synthesized once and counted per instance.
``-noiopad``: out-of-context figures, no I/O buffers (as hls4ml/Vivado OOC reports);
``-noclkbuf``: no BUFG per run (a real design has one clock buffer at the top, not one per layer).

Every run is cached by a hash of its script, the text of every Verilog file it reads and the
Yosys version (``$FLOW_SYNTH_CACHE``, default ``~/.cache/flow/yosys``; ``off`` disables it), so
synthesizing unchanged RTL again (another output folder, another part of the same family, a
rebuild) takes no Yosys time; a layer whose weights changed is synthesized again on its own.

What the numbers are (no open tool gives a trustworthy Fmax):

* ``lut`` = logic LUTs (LUT1-6) plus LUTs used as memory/shift registers (SRL*, RAM*M/X);
  ``ff`` = FD* flip-flops; ``carry`` = CARRY4/CARRY8 cells; ``dsp`` = DSP48 slices;
  ``bram`` = BRAM36 equivalents (a RAMB18 counts 0.5).
* ``latency_cycles`` comes from the RTL generator (sum of layer latencies), ``latency_ns`` is
  that times the target clock period: a requirement on timing closure, not a measured delay.
* ``depth`` per layer is Yosys ``ltp -noff`` on the flattened layer with the flip-flops (FD*)
  left out of the selection: the number of cells (LUT, CARRY, MUXF, DSP) on the longest
  register-to-register (or port-to-register/register-to-port) path, a proxy for the logic levels
  of the worst pipeline stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flow import cpu
from flow.config.targets import Target
from flow.errors import ToolError
from flow.rtl.generate import RtlDesign
from flow.tools import find_yosys
from flow.workdir import work_folder

_LUT = re.compile(r"^LUT[1-6](_2)?$|^INV$")
_LUTMEM = re.compile(r"^(SRL16E?|SRLC16E|SRLC32E|RAM\d+X\d+[SDQ]?|RAM\d+M\d*|RAM\d+X\d+[SD]P?)$")
_FF = re.compile(r"^FD[RSCP]E?(_1)?$|^LD[CP]E?$")
_CARRY = re.compile(r"^CARRY(4|8)$")
_DSP = re.compile(r"^DSP48")
_BRAM36 = re.compile(r"^RAMB36")
_BRAM18 = re.compile(r"^RAMB18")
_MUXF = re.compile(r"^MUXF[789]$")


# -noiopad: out of context (no I/O buffers); -flatten: each layer module is flattened (its
# requantizers inlined) so that ltp sees whole stages; -nowidelut: LUT6-only mapping, which on
# Yosys 0.23 is about 1.5x faster and maps these adder trees into about a third fewer LUTs than
# the default wide-LUT (LUT+MUXF7/8/9) mapping.
# -noclkbuf: no BUFG in each per-layer run (summed, they would be counted once per layer).
SYNTH_OPTIONS = " -noiopad -noclkbuf -flatten -nowidelut"
CACHE_VERSION = "1"  # bump to invalidate cached results when the recipe or the parsing changes


@dataclass(frozen=True)
class LayerSynth:
    """Yosys figures for one layer module (per instance)."""

    layer: str
    module: str
    cells: dict[str, int]
    depth: int | None
    seconds: float
    instances: int = 1
    cached: bool = False


@dataclass(frozen=True)
class YosysResult:
    """Summed resources of the design, utilization of the target and latency."""

    tool: str
    target: str
    part: str
    family: str
    top: str
    cells: dict[str, int]
    lut: int
    lut_logic: int
    lut_memory: int
    ff: int
    carry: int
    dsp: int
    bram: float
    muxf: int
    utilization: dict[str, float]
    latency_cycles: int
    clock_mhz: float
    latency_ns: float
    depth: int | None  # max over layers
    seconds: float
    options: dict = field(default_factory=dict)
    layers: tuple[LayerSynth, ...] = ()

    def to_dict(self) -> dict:
        return {
            "tool": self.tool,
            "target": self.target,
            "part": self.part,
            "family": self.family,
            "top": self.top,
            "lut": self.lut,
            "lut_logic": self.lut_logic,
            "lut_memory": self.lut_memory,
            "ff": self.ff,
            "carry": self.carry,
            "dsp": self.dsp,
            "bram": self.bram,
            "muxf": self.muxf,
            "utilization": self.utilization,
            "latency_cycles": self.latency_cycles,
            "clock_mhz": self.clock_mhz,
            "latency_ns": self.latency_ns,
            "depth": self.depth,
            "seconds": round(self.seconds, 1),
            "options": self.options,
            "cells": self.cells,
            "layers": [
                {
                    "layer": s.layer,
                    "module": s.module,
                    "instances": s.instances,
                    "depth": s.depth,
                    "seconds": round(s.seconds, 1),
                    "cached": s.cached,
                    **_summary(s.cells),
                }
                for s in self.layers
            ],
            "depth_note": "cells (LUT/CARRY/MUXF/DSP) on the longest path between registers, per layer "
            "(yosys ltp -noff without the FD* cells); not a timing analysis",
        }


def _summary(cells: dict[str, int]) -> dict:
    lut_logic = sum(n for c, n in cells.items() if _LUT.match(c))
    lut_mem = sum(n for c, n in cells.items() if _LUTMEM.match(c))
    return {
        "lut": lut_logic + lut_mem,
        "lut_logic": lut_logic,
        "lut_memory": lut_mem,
        "ff": sum(n for c, n in cells.items() if _FF.match(c)),
        "carry": sum(n for c, n in cells.items() if _CARRY.match(c)),
        "dsp": sum(n for c, n in cells.items() if _DSP.match(c)),
        "bram": sum(n for c, n in cells.items() if _BRAM36.match(c))
        + 0.5 * sum(n for c, n in cells.items() if _BRAM18.match(c)),
        "muxf": sum(n for c, n in cells.items() if _MUXF.match(c)),
    }


def parse_stat(text: str, module: str | None = None) -> dict[str, int]:
    """Cell counts by type from Yosys ``stat -json`` output (or the plain ``stat`` text as a fallback).

    With several modules, ``module`` picks one; otherwise the design totals (or the only module).
    """
    start = text.find("{")
    if start >= 0:
        try:
            data = json.loads(text[start:])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "modules" in data:
            mods = {k.lstrip("\\"): v for k, v in data["modules"].items()}
            if module is not None and module in mods:
                entry = mods[module]
            elif "design" in data and "num_cells_by_type" in data["design"]:
                entry = data["design"]
            elif len(mods) == 1:
                entry = next(iter(mods.values()))
            else:
                raise ToolError(f"yosys stat lists modules {sorted(mods)}; cannot pick {module!r}")
            return {k.lstrip("\\$"): int(v) for k, v in entry.get("num_cells_by_type", {}).items()}
    # Text form: "     LUT2                          123" lines after "Number of cells:".
    cells: dict[str, int] = {}
    block = text
    if module is not None:
        m = re.search(rf"=== {re.escape(module)} ===(.*?)(?:\n===|\Z)", text, re.S)
        block = m.group(1) if m else text
    for m in re.finditer(r"^\s+\$?([A-Za-z_][\w$]*)\s+(\d+)\s*$", block, re.M):
        cells[m.group(1)] = cells.get(m.group(1), 0) + int(m.group(2))
    if not cells and "Number of cells" not in block:
        raise ToolError("could not find cell counts in the yosys stat output")
    return cells


def parse_ltp(text: str) -> int | None:
    """Length of the longest topological path from Yosys ``ltp`` output (None if absent)."""
    found = re.findall(r"Longest topological path in \S+ \(length=(\d+)\)", text)
    return max(int(v) for v in found) if found else None


@dataclass(frozen=True)
class _Job:
    layer: str
    module: str
    sources: tuple[str, ...]
    params: tuple[tuple[str, int], ...]
    instances: int
    weight: int  # rough size for scheduling (largest first)


def job_count(design: RtlDesign) -> int:
    """Number of Yosys runs :func:`synthesize` makes for ``design`` (for progress bars)."""
    return len(_jobs(design))


def _jobs(design: RtlDesign) -> list[_Job]:
    from flow.rtl.generate import LIBRARY

    lib = tuple(path for _, path in LIBRARY)
    jobs: dict[tuple, _Job] = {}
    for layer in design.layers:
        params: tuple = ()
        if layer.file is None:
            params = layer.params
            key = (layer.module, params)
        else:
            key = (layer.module,)
        if key in jobs:
            j = jobs[key]
            jobs[key] = _Job(j.layer + "," + layer.name, j.module, j.sources, j.params, j.instances + 1, j.weight)
            continue
        sources = lib + ((layer.file,) if layer.file else ())
        size = len(design.files[layer.file]) if layer.file else layer.n_out * 100
        jobs[key] = _Job(layer.name, layer.module, sources, params, 1, size)
    return sorted(jobs.values(), key=lambda j: -j.weight)


def _script(job: _Job, family: str, dsp: bool, stat_file: str) -> str:
    reads = "\n".join(f"read_verilog {s}" for s in job.sources)
    chparams = "".join(f"chparam -set {k} {v} {job.module}\n" for k, v in job.params)
    opts = SYNTH_OPTIONS + ("" if dsp else " -nodsp")
    return (
        f"{reads}\n{chparams}hierarchy -check -top {job.module}\n"
        f"synth_xilinx -family {family}{opts} -top {job.module}\n"
        f"tee -q -o {stat_file} stat -json\n"
        # ltp -noff does not know the mapped FD* cells as flip-flops and would measure a path
        # through every pipeline stage; leaving them out of the selection cuts it at registers.
        "ltp -noff t:FD* %n\n"
    )


def cache_root() -> Path | None:
    """Folder of cached Yosys results: ``$FLOW_SYNTH_CACHE`` (``off``/``0``: no cache), else ``~/.cache/flow/yosys``."""
    env = os.environ.get("FLOW_SYNTH_CACHE")
    if env is not None and env.strip().lower() in ("", "0", "off", "no", "none"):
        return None
    return Path(env) if env else Path.home() / ".cache" / "flow" / "yosys"


def _cache_key(job: _Job, family: str, dsp: bool, src_dir: Path, yosys_id: str) -> str:
    h = hashlib.sha256()
    for part in (CACHE_VERSION, yosys_id, job.module, _script(job, family, dsp, "STAT")):
        h.update(part.encode() + b"\0")
    for rel in job.sources:
        h.update(rel.encode() + b"\0" + (src_dir / rel).read_bytes() + b"\0")
    return h.hexdigest()[:24]


def _run_job(
    job: _Job,
    family: str,
    dsp: bool,
    src_dir: Path,
    work: Path,
    argv: tuple[str, ...],
    yosys_id: str = "",
    cache: Path | None = None,
) -> LayerSynth:
    tag = re.sub(r"\W", "_", job.layer)[:60]
    stat_file = work / f"{tag}.stat.json"
    script = work / f"{tag}.ys"
    log = work / f"{tag}.log"
    script.write_text(_script(job, family, dsp, str(stat_file)))
    entry = None
    if cache is not None:
        key = _cache_key(job, family, dsp, src_dir, yosys_id)
        entry = cache / f"{job.module[:40]}-{key}.json"
        try:
            hit = json.loads(entry.read_text())
            cells = {str(k): int(v) for k, v in hit["cells"].items()}
            depth = hit["depth"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        else:
            log_file = entry.with_suffix(".log")
            log.write_text(
                f"(cached result {entry.name}, first synthesized in {hit.get('seconds', 0):.1f} s)\n"
                + (log_file.read_text(errors="replace") if log_file.is_file() else "")
            )
            return LayerSynth(job.layer, job.module, cells, depth, 0.0, job.instances, cached=True)
    try:
        with cpu.slot():  # one Yosys per free core (flow.cpu)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [*argv, "-q", "-l", str(log), "-s", str(script)],
                cwd=src_dir,
                capture_output=True,
                text=True,
                timeout=3600,
            )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"yosys timed out on layer {job.layer} after an hour") from exc
    seconds = time.perf_counter() - t0
    log_text = log.read_text(errors="replace") if log.is_file() else ""
    if proc.returncode != 0 or not stat_file.is_file():
        tail = "\n".join((log_text or proc.stdout + proc.stderr).splitlines()[-20:])
        raise ToolError(f"yosys failed on layer {job.layer} (exit {proc.returncode}); see {log}:\n{tail}")
    cells = parse_stat(stat_file.read_text(), job.module)
    depth = parse_ltp(log_text)
    if entry is not None:
        _store(entry, {"module": job.module, "cells": cells, "depth": depth, "seconds": round(seconds, 2)}, log_text)
    return LayerSynth(job.layer, job.module, cells, depth, seconds, job.instances)


def _store(entry: Path, record: dict, log_text: str) -> None:
    """Write a cache entry atomically (log first, then the JSON that marks the entry complete)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((entry.with_suffix(".log"), log_text), (entry, json.dumps(record, sort_keys=True))):
            fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, path)
    except OSError:  # a read-only or full cache only costs speed
        pass


def synthesize(
    design: RtlDesign,
    target: Target,
    *,
    rtl_dir: str | Path | None = None,
    dsp: bool = True,
    jobs: int | None = None,
    work_dir: str | Path | None = None,
    progress=None,
    cache: bool = True,
) -> YosysResult:
    """Run Yosys ``synth_xilinx -family <target.yosys_family>`` per layer and sum the results.

    ``rtl_dir`` reads the Verilog from disk (default: the text in ``design.files``); ``dsp=False``
    maps multipliers to LUTs/carry chains (``-nodsp``); ``jobs`` parallel Yosys processes (default:
    CPU count); ``progress`` is called once per finished layer job; ``cache=False`` ignores the
    result cache (see :func:`cache_root`).
    """
    yosys = find_yosys()
    with work_folder(work_dir, "flow_synth_") as work:
        src_dir = work / "src"
        src_dir.mkdir(exist_ok=True)
        for rel in [*design.sources]:
            text = (Path(rtl_dir) / rel).read_text() if rtl_dir is not None else design.files[rel]
            (src_dir / rel).write_text(text)
        job_list = _jobs(design)
        t0 = time.perf_counter()
        n_workers = max(1, min(jobs or os.cpu_count() or 1, len(job_list)))
        cache_dir = cache_root() if cache else None
        yosys_id = f"{yosys.version} {yosys.source}"
        with cpu.lend(), ThreadPoolExecutor(max_workers=n_workers) as pool:
            futures = [
                pool.submit(_run_job, j, target.yosys_family, dsp, src_dir, work, yosys.argv, yosys_id, cache_dir)
                for j in job_list
            ]
            results = []
            for fut in futures:
                results.append(fut.result())
                if progress is not None:
                    progress()
        seconds = time.perf_counter() - t0
    order = {layer.name: i for i, layer in enumerate(design.layers)}
    results.sort(key=lambda r: order.get(r.layer.split(",")[0], 0))
    total: dict[str, int] = {}
    for r in results:
        for cell, n in r.cells.items():
            total[cell] = total.get(cell, 0) + n * r.instances
    s = _summary(total)
    util = {
        "lut": _pct(s["lut"], target.luts),
        "ff": _pct(s["ff"], target.ffs),
        "dsp": _pct(s["dsp"], target.dsps),
        "bram": _pct(s["bram"], target.brams),
    }
    depths = [r.depth for r in results if r.depth is not None]
    return YosysResult(
        tool=yosys.version,
        target=target.name,
        part=target.part,
        family=target.yosys_family,
        top=design.top,
        cells=dict(sorted(total.items())),
        lut=s["lut"],
        lut_logic=s["lut_logic"],
        lut_memory=s["lut_memory"],
        ff=s["ff"],
        carry=s["carry"],
        dsp=s["dsp"],
        bram=s["bram"],
        muxf=s["muxf"],
        utilization=util,
        latency_cycles=design.latency,
        clock_mhz=target.clock_mhz,
        latency_ns=round(design.latency * target.clock_ns, 3),
        depth=max(depths) if depths else None,
        seconds=seconds,
        options={
            "dsp": dsp,
            "script": f"synth_xilinx -family {target.yosys_family}{SYNTH_OPTIONS}{'' if dsp else ' -nodsp'}",
            "hierarchy": "one Yosys run per distinct layer module, summed",
            "jobs": n_workers,
            "cached": sum(r.cached for r in results),
            "yosys_seconds_total": round(sum(r.seconds for r in results), 1),
        },
        layers=tuple(results),
    )


def _pct(used: float, total: int) -> float:
    return round(100.0 * used / total, 4) if total else 0.0
