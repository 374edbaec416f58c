"""What a build folder holds: the file names the stages write, and each stage folder's manifest.

A build is ``build/<model>/<target>/`` with one folder ``NN_<stage>/`` per stage. Each stage folder has
a ``manifest.json`` (see :func:`write_manifest`) and the files named below; every module of ``flow``
that reads or writes one of these files uses the constant, never the string.

This module is neutral: it imports nothing of ``flow`` but its version, so the pipeline, the stages,
the report and the back ends can all use it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
from pathlib import Path

import flow

MANIFEST = "manifest.json"

# 01_data
SPLIT = "split.npz"  # X_train/X_val/X_test (float32), y_* (int64)
DATASET = "dataset.json"  # source, counts, feature and class names, split seed

# 02_train (and 03_quantize: HISTORY_*)
FLOAT_MODEL = "float_model.pt"  # spec, weights, input mean/std
HISTORY_CSV = "history.csv"
HISTORY_JSON = "history.json"

# 03_quantize
QUANT_GRAPH = "quant_graph.json"  # the integer design every back end reads
QAT_MODEL = "qat_model.pt"
LEARNED_BITS = "learned_bits.json"  # mode = "learned": per-layer bit widths, pruning and costs

# 04_reference
TEST_CODES = "test_codes.npy"  # int64 input codes
TEST_LABELS = "test_labels.npy"
REF_OUTPUTS = "ref_outputs.npy"  # int64 output codes of the integer reference
CORNER_CODES = "corner_codes.npy"  # int64 input codes of the corner vectors (flow.check.corners)
CORNER_OUTPUTS = "corner_outputs.npy"  # int64 output codes of the integer reference on them
CORNERS_JSON = "corners.json"  # every (layer, neuron, event) target: hit / unreachable / not found

# 05_onnx
FLOAT_ONNX = "float_model.onnx"
QONNX = "quant_model.qonnx.onnx"

# 06_hls4ml
HLS_PROJECT = "project"  # folder: the hls4ml project, build scripts, tb_data/

# 07_rtl
DESIGN = "design.json"  # top, latency, layer modules
LINT_LOG = "lint.log"

# 08_sim
RTL_OUTPUTS = "rtl_outputs.npy"
SIM_JSON = "sim.json"
SIM_RUN = "run"  # folder: the simulation's logs

# 09_synth
SYNTH_JSON = "synth.json"
YOSYS_DIR = "yosys"  # folder: the Yosys logs

# 10_report (also copied to the build's top folder)
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
REPORTS = (REPORT_JSON, REPORT_MD, REPORT_HTML)

_FOLDER_RE = re.compile(r"^(\d\d)_(\w+)$")


def stage_folder_name(index: int, stage: str) -> str:
    """``NN_stage`` for the stage at 1-based ``index``."""
    return f"{index:02d}_{stage}"


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a stage folder, or ``None`` if it is missing or not a JSON object."""
    p = Path(folder) / MANIFEST
    try:
        m = json.loads(p.read_text()) if p.is_file() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return m if isinstance(m, dict) else None


def write_manifest(folder: Path, manifest: dict) -> Path:
    p = Path(folder) / MANIFEST
    p.write_text(json.dumps(manifest, indent=1, default=str))
    return p


def stage_manifests(root: Path) -> dict[str, tuple[Path, dict]]:
    """Every stage folder of a build that holds a readable manifest, found from the folders themselves
    (``NN_<stage>/manifest.json``, the stage named by its manifest): ``{stage: (folder, manifest)}`` in
    folder order."""
    out: dict[str, tuple[Path, dict]] = {}
    for folder in sorted(Path(root).glob(f"[0-9][0-9]_*/{MANIFEST}")):
        folder = folder.parent
        m = read_manifest(folder)
        match = _FOLDER_RE.match(folder.name)
        if m is None or match is None or m.get("stage") != match.group(2):
            continue
        out[match.group(2)] = (folder, m)
    return out


def tool_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Versions of Python, flow and the named distributions, as a manifest records them."""
    out = {"python": platform.python_version(), "flow": flow.__version__}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB chunks), as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
