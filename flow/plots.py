"""Plots for reports and sweeps: confusion matrix, per-class ROC curves, training history, metric sweeps,
learning curves overlaid per setting and 2-D embeddings coloured by class.

Every function draws on its own :class:`matplotlib.figure.Figure` (no ``pyplot``, no global backend
switch, safe to call from threads) and writes ``path``; the format follows the suffix (``.png``,
``.svg`` or ``.pdf``). Output is deterministic: PNG files carry no ``Software`` tag, SVG files no date
and a fixed hash salt, PDF files no creation date, so the same inputs give the same bytes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "plot_confusion",
    "plot_embedding",
    "plot_history",
    "plot_metric_vs",
    "plot_overlay",
    "plot_roc",
    "roc_curves",
    "softmax",
]

_RC = {
    "svg.hashsalt": "flow",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": False,
    "figure.dpi": 100,
    "savefig.dpi": 120,
}
_METADATA = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}
F = TypeVar("F", bound=Callable[..., Any])
PHASE_STYLE = {"float": ("tab:blue", "float training"), "qat": ("tab:orange", "quantization-aware training")}


def _styled(fn: F) -> F:
    """Draw and save under the module's rcParams (fonts, SVG hash salt) without touching the globals."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path: Path | str) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _METADATA:
        raise ValueError(f"plot file must end in .png, .svg or .pdf, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=suffix[1:], metadata=_METADATA[suffix])
    return path


def _no_data(fig: Figure, title: str, message: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color="0.4", transform=ax.transAxes)
    if title:
        ax.set_title(title)


# -- confusion matrix -------------------------------------------------------------------------------


@_styled
def plot_confusion(y_true, y_pred, class_names: Sequence[str], path: Path | str, title: str = "") -> np.ndarray:
    """Confusion matrix: rows are true classes, columns predicted ones; colour is the row-normalized
    fraction, each cell shows the count and its row percentage. Returns the ``[K, K]`` int64 counts."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} vs {y_pred.size}")
    k = len(class_names)
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k):
        raise ValueError(f"labels must lie in 0..{k - 1} for {k} class names")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    totals = counts.sum(axis=1, keepdims=True)
    frac = np.divide(counts, totals, out=np.zeros((k, k)), where=totals > 0)

    size = 1.2 + 0.75 * k
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    for i in range(k):
        for j in range(k):
            colour = "white" if frac[i, j] > 0.5 else "black"
            ax.text(
                j, i, f"{counts[i, j]:,}\n{100 * frac[i, j]:.1f}%", ha="center", va="center", color=colour, fontsize=7
            )
    ax.set_xticks(range(k), labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(range(k), labels=list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(counts) / counts.sum() if counts.sum() else float("nan")
    subtitle = f"accuracy {acc:.4f} on {int(counts.sum()):,} jets"
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle)
    _save(fig, path)
    return counts


# -- ROC curves -------------------------------------------------------------------------------------


def softmax(logits, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def roc_curves(y_true, scores, n_classes: int) -> list[tuple[np.ndarray, np.ndarray, float] | None]:
    """One-vs-rest ``(fpr, tpr, auc)`` per class; ``None`` for a class without both positives and
    negatives (its AUC is undefined)."""
    from sklearn.metrics import auc, roc_curve

    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape != (y_true.size, n_classes):
        raise ValueError(f"scores must be shaped [{y_true.size}, {n_classes}], got {list(scores.shape)}")
    out: list[tuple[np.ndarray, np.ndarray, float] | None] = []
    for c in range(n_classes):
        positive = y_true == c
        if positive.all() or not positive.any():
            out.append(None)
            continue
        fpr, tpr, _ = roc_curve(positive, scores[:, c])
        out.append((fpr, tpr, float(auc(fpr, tpr))))
    return out


@_styled
def plot_roc(
    y_true, scores, class_names: Sequence[str], path: Path | str, title: str = "", rejection: bool = False
) -> dict[str, float]:
    """One-vs-rest ROC curve per class with its AUC in the legend (sklearn.metrics).

    ``scores`` is ``[N, K]``: any per-class score whose order ranks the jets (probabilities, logits or
    integer output codes). With ``rejection`` the plot is the particle-physics form instead: signal
    efficiency (TPR) against background rejection ``1 / FPR`` on a log scale. Returns the AUC per class
    name (NaN for a class without both positives and negatives in ``y_true``).
    """
    curves = roc_curves(y_true, scores, len(class_names))
    aucs = {name: (c[2] if c is not None else float("nan")) for name, c in zip(class_names, curves, strict=True)}
    fig = _figure(5.2, 4.4)
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["tab10"]
    for i, (name, c) in enumerate(zip(class_names, curves, strict=True)):
        if c is None:
            ax.plot([], [], color=colours(i % 10), label=f"{name} (AUC n/a)")
            continue
        fpr, tpr, area = c
        label = f"{name} (AUC {area:.4f})"
        if rejection:
            keep = fpr > 0
            ax.plot(tpr[keep], 1.0 / fpr[keep], color=colours(i % 10), lw=1.4, label=label)
        else:
            ax.plot(fpr, tpr, color=colours(i % 10), lw=1.4, label=label)
    if rejection:
        ax.set_yscale("log")
        ax.set_xlabel("signal efficiency (true positive rate)")
        ax.set_ylabel("background rejection (1 / false positive rate)")
        ax.set_xlim(0.0, 1.0)
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls=":")
        ax.set_xlabel("false positive rate (background efficiency)")
        ax.set_ylabel("true positive rate (signal efficiency)")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="both", color="0.9", lw=0.6)
    ax.set_title(title or ("one-vs-rest background rejection" if rejection else "one-vs-rest ROC"))
    _save(fig, path)
    return aucs


# -- training history -------------------------------------------------------------------------------


@_styled
def plot_history(history: Sequence[dict], path: Path | str, title: str = "") -> None:
    """Loss and accuracy per epoch, train (solid) and validation (dashed); float training and QAT
    are coloured apart and laid end to end on one epoch axis, QAT after float training."""
    fig = _figure(8.0, 3.4)
    rows = [r for r in history if isinstance(r, dict)]
    if not rows:
        _no_data(fig, title, "no training history (model taken from a checkpoint?)")
        _save(fig, path)
        return
    phases: list[str] = []
    for r in rows:
        p = str(r.get("phase", "float"))
        if p not in phases:
            phases.append(p)
    ax_loss, ax_acc = fig.subplots(1, 2)
    offset = 0
    for n, phase in enumerate(phases):
        recs = [r for r in rows if str(r.get("phase", "float")) == phase]
        x = np.arange(1, len(recs) + 1) + offset
        colour, label = PHASE_STYLE.get(phase, (matplotlib.colormaps["tab10"]((n + 2) % 10), phase))
        for ax, key in ((ax_loss, "loss"), (ax_acc, "acc")):
            for split, ls in (("train", "-"), ("val", "--")):
                y = np.array([_num(r.get(f"{split}_{key}")) for r in recs], dtype=np.float64)
                if np.isfinite(y).any():
                    ax.plot(
                        x,
                        y,
                        ls=ls,
                        color=colour,
                        lw=1.4,
                        marker="." if len(x) < 30 else None,
                        label=f"{label}, {'validation' if split == 'val' else 'training'}",
                    )
        if offset:
            for ax in (ax_loss, ax_acc):
                ax.axvline(offset + 0.5, color="0.6", lw=0.8, ls=":")
        offset += len(recs)
    for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch (QAT continues after float training)" if len(phases) > 1 else "epoch")
        ax.set_ylabel(name)
        ax.grid(True, color="0.9", lw=0.6)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = ax_acc.get_legend_handles_labels()
    if handles:
        ax_acc.legend(handles, labels, loc="lower right", fontsize=7)
    if title:
        fig.suptitle(title)
    _save(fig, path)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


# -- sweeps -----------------------------------------------------------------------------------------


@_styled
def plot_metric_vs(
    xs,
    means,
    spreads,
    xlabel: str,
    ylabel: str,
    path: Path | str,
    title: str = "",
    log_x: bool = False,
    notes: Sequence[str] | None = None,
) -> None:
    """``means`` against ``xs`` with error bars of ``spreads`` (e.g. standard deviations over seeds;
    ``None`` or NaN entries draw no bar). String ``xs`` are categories, drawn in the order given;
    ``notes`` (e.g. parameter counts) are written beside the points."""
    categorical = any(isinstance(v, str) for v in xs)
    x = np.arange(len(xs), dtype=np.float64) if categorical else np.asarray(xs, dtype=np.float64)
    y = np.asarray(means, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"xs and means differ in shape: {x.shape} vs {y.shape}")
    if spreads is None:
        err = None
    else:
        err = np.array([_num(s) for s in spreads], dtype=np.float64)
        if err.shape != x.shape:
            raise ValueError(f"spreads and xs differ in shape: {err.shape} vs {x.shape}")
        err = np.where(np.isfinite(err), err, 0.0)
    fig = _figure(5.2, 3.8)
    ax = fig.add_subplot()
    order = np.argsort(x, kind="stable")
    ax.errorbar(
        x[order],
        y[order],
        yerr=None if err is None else err[order],
        fmt="o" if categorical else "o-",  # no line between categories
        color="tab:blue",
        ecolor="tab:blue",
        elinewidth=1.0,
        capsize=3,
        lw=1.4,
        ms=4,
        label="mean ± std over seeds" if err is not None else "mean over seeds",
    )
    if notes is not None:
        for xi, yi, note in zip(x, y, notes, strict=True):
            if note:
                ax.annotate(note, (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=7, color="0.35")
    if categorical:
        ax.set_xticks(x, labels=[str(v) for v in xs])
        ax.set_xlim(-0.5, len(xs) - 0.5)
    elif log_x:
        ax.set_xscale("log")
        if len(x) <= 12:
            ax.set_xticks(x, labels=[f"{v:g}" for v in xs])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(xlabel + (" (log scale)" if log_x and not categorical else ""))
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", color="0.9", lw=0.6)
    ax.legend(loc="best", fontsize=7)
    if title:
        ax.set_title(title)
    _save(fig, path)


# -- learning curves overlaid -----------------------------------------------------------------------


@_styled
def plot_overlay(
    lines: Sequence[dict],
    panels: Sequence[dict],
    path: Path | str,
    title: str = "",
    legend_title: str = "",
    ordered: bool = True,
) -> None:
    """One panel per entry of ``panels`` (``x``/``y``: keys of the lines, ``xlabel``, ``ylabel``, optional
    ``log_x``), one line per entry of ``lines`` (``label`` and an array per key; ``<y>_lo``/``<y>_hi``
    draw a band, e.g. the min and max over seeds). ``ordered`` colours the lines along a sequential map
    (the lines are values of one ordered variable); otherwise with distinct colours."""
    fig = _figure(4.2 * len(panels) + 0.6, 3.8)
    if not lines:
        _no_data(fig, title, "no runs to draw")
        _save(fig, path)
        return
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    n = len(lines)
    if ordered and n > 1:
        cmap = matplotlib.colormaps["viridis"]
        colours = [cmap(0.9 * i / (n - 1)) for i in range(n)]
    else:
        colours = [matplotlib.colormaps["tab10"](i % 10) for i in range(n)]
    for ax, panel in zip(axes, panels, strict=True):
        for line, colour in zip(lines, colours, strict=True):
            x = np.asarray(line[panel["x"]], dtype=np.float64)
            y = np.asarray(line[panel["y"]], dtype=np.float64)
            ax.plot(x, y, color=colour, lw=1.5, marker="." if len(x) <= 30 else None, label=line["label"])
            lo, hi = line.get(f"{panel['y']}_lo"), line.get(f"{panel['y']}_hi")
            if lo is not None and hi is not None and not np.allclose(lo, hi):
                ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
        if panel.get("log_x"):
            ax.set_xscale("log")
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel(panel["ylabel"])
        if panel.get("integer_x"):
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, which="both", color="0.9", lw=0.6)
        if panel.get("title"):
            ax.set_title(panel["title"])
    axes[-1].legend(title=legend_title or None, fontsize=7, title_fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    _save(fig, path)


# -- embeddings -------------------------------------------------------------------------------------


@_styled
def plot_embedding(
    coords,
    labels,
    class_names: Sequence[str],
    path: Path | str,
    axis_labels: tuple[str, str] = ("dimension 1", "dimension 2"),
    title: str = "",
) -> None:
    """A 2-D scatter of ``coords [N, 2]`` coloured by true class, the legend naming the classes."""
    xy = np.asarray(coords, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64).ravel()
    if xy.ndim != 2 or xy.shape != (y.size, 2):
        raise ValueError(f"coords must be shaped [{y.size}, 2], got {list(xy.shape)}")
    fig = _figure(5.6, 4.8)
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["tab10"]
    for c, name in enumerate(class_names):
        keep = y == c
        ax.scatter(
            xy[keep, 0], xy[keep, 1], s=5, alpha=0.6, color=colours(c % 10), label=f"{name} ({int(keep.sum()):,})"
        )
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.legend(title="true class", markerscale=3, fontsize=8, loc="best")
    ax.grid(True, color="0.93", lw=0.6)
    if title:
        ax.set_title(title)
    _save(fig, path)
