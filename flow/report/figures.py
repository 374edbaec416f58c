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
    if report.learned_layers:
        path = plot_dir / f"learned_bits{PNG}"
        plot_learned(report.learned_layers, path)
        out.append(
            Plot(
                "learned_bits",
                "Learned bit widths per layer",
                _rel(path, root),
                "Left: weights per number of significant bits (0 = pruned; trailing zeros are free), per Dense "
                "layer. Middle: width of the values entering each layer and of its ReLU output. Right: LUTs per "
                "RTL block, the shift-add cost model's estimate against Yosys.",
            )
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


def plot_learned(layers, path: Path) -> None:
    """Three panels of a learned-bit-width design: weight-bit histograms, activation widths, LUTs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=100)
    ax = axes[0]
    bits = sorted({int(b) for layer in layers for b in layer.weight_bits})
    n = len(layers)
    w = 0.8 / max(n, 1)
    for k, layer in enumerate(layers):
        xs = [b + (k - (n - 1) / 2) * w for b in bits]
        ax.bar(xs, [layer.weight_bits.get(str(b), 0) for b in bits], width=w, label=layer.layer)
    ax.set_yscale("log")
    ax.set_xticks(bits)
    ax.set_xlabel("significant bits per weight (0 = pruned)")
    ax.set_ylabel("weights")
    ax.legend(fontsize=7)
    ax = axes[1]
    names = [layer.layer for layer in layers]
    x = np.arange(n)
    ax.bar(x - 0.2, [layer.in_width or 0 for layer in layers], width=0.4, label="input width")
    ax.bar(x + 0.2, [layer.act_width or 0 for layer in layers], width=0.4, label="ReLU output width")
    ax.set_xticks(x, names)
    ax.set_ylabel("bits")
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.bar(x - 0.2, [layer.est_lut or 0 for layer in layers], width=0.4, label="estimate (cost model)")
    ax.bar(x + 0.2, [layer.yosys_lut or 0 for layer in layers], width=0.4, label="Yosys")
    ax.set_xticks(x, [layer.block or layer.layer for layer in layers], fontsize=7)
    ax.set_ylabel("LUT")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
