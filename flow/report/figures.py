"""The report's plots, drawn from the integer reference's stored outputs and the training histories.

The confusion matrix and ROC curves are the integer reference's on the test set; when the report's
verdict is "pass", hls4ml C-sim and the RTL produce exactly these outputs, so the plots stand for all
three. ROC scores are ``softmax(codes * 2**-frac)`` with ``frac`` of the graph's output type.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from flow import plots
from flow.artifacts import HISTORY_JSON, QUANT_GRAPH
from flow.report.model import ClassStat, Plot, Report

PNG = ".png"


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _output_frac(folder: Path) -> int | None:
    """``frac`` of the quantized graph's output type (read from ``quant_graph.json``)."""
    from flow.errors import FlowError
    from flow.ir.graph import QuantGraph

    try:
        return QuantGraph.load(folder / QUANT_GRAPH).output_type.frac
    except (FlowError, OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def _history(folder: Path) -> list[dict]:
    try:
        h = json.loads((folder / HISTORY_JSON).read_text())
    except (OSError, ValueError):
        return []
    return [r for r in h if isinstance(r, dict)] if isinstance(h, list) else []


def draw(
    report: Report, st, arrays: tuple[np.ndarray, np.ndarray] | None, plot_dir: Path, root: Path
) -> tuple[tuple[Plot, ...], tuple[ClassStat, ...]]:
    """Draw every plot the data allows into ``plot_dir``; returns the plots and per-class figures."""
    from flow.ir.reference import classify

    plot_dir.mkdir(parents=True, exist_ok=True)
    out: list[Plot] = []
    classes: tuple[ClassStat, ...] = ()
    if arrays is not None:
        ref, labels = arrays
        decided = ref.shape[1] == 1  # the design ends in an ArgMax: its outputs are class indices
        k = len(report.data.class_names) if decided else ref.shape[1]
        names = list(report.data.class_names) if len(report.data.class_names) == k else [f"class {i}" for i in range(k)]
        pred = classify(ref)
        n = len(labels)
        path = plot_dir / f"confusion{PNG}"
        counts = plots.plot_confusion(labels, pred, names, path, title="integer reference, test set")
        out.append(
            Plot(
                "confusion",
                "Confusion matrix",
                _rel(path, root),
                f"Integer reference on all {n:,} test jets; rows are true classes, colour the fraction "
                "of the row, numbers the count and row percentage.",
            )
        )
        frac = _output_frac(st.folder("quantize"))
        scores = plots.softmax(ref * 2.0**-frac) if frac is not None else ref.astype(np.float64)
        score_text = (
            f"softmax of the output codes \u00d7 2^-{frac}"
            if frac is not None
            else "the raw output codes (quant_graph.json not readable)"
        )
        if decided:
            scores, score_text = np.eye(k)[pred], "one-hot of the class index (the design outputs its decision)"
        path = plot_dir / f"roc{PNG}"
        aucs = plots.plot_roc(labels, scores, names, path, title="integer reference, one-vs-rest ROC")
        out.append(
            Plot(
                "roc",
                "ROC curves per class",
                _rel(path, root),
                f"One-vs-rest ROC of the integer reference on {n:,} test jets; scores: {score_text}.",
            )
        )
        path = plot_dir / f"rejection{PNG}"
        plots.plot_roc(labels, scores, names, path, title="integer reference, background rejection", rejection=True)
        out.append(
            Plot(
                "rejection",
                "Background rejection per class",
                _rel(path, root),
                "Signal efficiency against background rejection (1 / false positive rate), log scale.",
            )
        )
        totals = counts.sum(axis=1)
        classes = tuple(
            ClassStat(
                name,
                int(totals[i]),
                float(counts[i, i] / totals[i]) if totals[i] else None,
                aucs[name] if np.isfinite(aucs[name]) else None,
            )
            for i, name in enumerate(names)
        )
    history = _history(st.folder("train")) + _history(st.folder("quantize"))
    if history:
        path = plot_dir / f"history{PNG}"
        plots.plot_history(history, path, title="training history")
        out.append(
            Plot(
                "history",
                "Training history",
                _rel(path, root),
                "Loss and accuracy per epoch: float training, then quantization-aware training (QAT); "
                "solid training, dashed validation.",
            )
        )
    return tuple(out), classes
