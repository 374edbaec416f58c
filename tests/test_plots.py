"""flow.plots: return values, files written, byte-for-byte determinism, odd inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from flow import plots

CLASSES = ["g", "q", "W", "Z", "t"]


def _toy(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    s = rng.normal(size=(n, len(CLASSES)))
    s[np.arange(n), y] += 1.0
    return y, s


def _history() -> list[dict]:
    rows = [
        dict(
            phase="float",
            epoch=i,
            train_loss=1 / (i + 1),
            val_loss=1.1 / (i + 1),
            train_acc=0.5 + i / 40,
            val_acc=0.5 + i / 45,
        )
        for i in range(6)
    ]
    rows += [dict(phase="qat", epoch=i, train_loss=0.2, val_loss=0.25, train_acc=0.64, val_acc=0.62) for i in range(3)]
    return rows


def test_confusion_counts(tmp_path):
    y_true = np.array([0, 0, 1, 2, 2, 2, 4])
    y_pred = np.array([0, 1, 1, 2, 0, 2, 4])
    counts = plots.plot_confusion(y_true, y_pred, CLASSES, tmp_path / "c.png", title="toy")
    expected = np.zeros((5, 5), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        expected[t, p] += 1
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)  # class 3 has no jets: an empty row, no division by zero
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_confusion_rejects_bad_labels(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        plots.plot_confusion([0, 7], [0, 1], CLASSES, tmp_path / "c.png")
    with pytest.raises(ValueError, match="length"):
        plots.plot_confusion([0, 1], [0], CLASSES, tmp_path / "c.png")


def test_roc_auc_matches_sklearn(tmp_path):
    y, s = _toy()
    aucs = plots.plot_roc(y, plots.softmax(s), CLASSES, tmp_path / "roc.png")
    assert list(aucs) == CLASSES
    p = plots.softmax(s)
    for i, name in enumerate(CLASSES):
        assert aucs[name] == pytest.approx(roc_auc_score(y == i, p[:, i]))
    rej = plots.plot_roc(y, s, CLASSES, tmp_path / "rej.png", rejection=True)
    assert all(0.5 < v <= 1.0 for v in rej.values())
    assert (tmp_path / "rej.png").stat().st_size > 1000


def test_roc_class_without_positives_is_nan(tmp_path):
    y, s = _toy()
    y = np.where(y == 3, 0, y)  # no "Z" jets at all
    aucs = plots.plot_roc(y, s, CLASSES, tmp_path / "roc.png")
    assert math.isnan(aucs["Z"])
    assert not math.isnan(aucs["g"])


def test_roc_integer_codes(tmp_path):
    y, s = _toy()
    codes = np.round(s * 16).astype(np.int64)  # ties: integer output codes
    aucs = plots.plot_roc(y, codes, CLASSES, tmp_path / "roc.png")
    assert all(0.5 < v <= 1.0 for v in aucs.values())


def test_history_and_empty_history(tmp_path):
    plots.plot_history(_history(), tmp_path / "h.png", title="training")
    plots.plot_history([], tmp_path / "empty.png")
    plots.plot_history([{"phase": "float", "epoch": 0, "train_loss": None}], tmp_path / "partial.png")
    for name in ("h.png", "empty.png", "partial.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_metric_vs(tmp_path):
    plots.plot_metric_vs(
        [8, 4, 16],
        [0.7, 0.6, 0.72],
        [0.01, None, float("nan")],
        "bits",
        "accuracy",
        tmp_path / "m.png",
        title="sweep",
        log_x=True,
    )
    plots.plot_metric_vs([1, 2], [0.1, 0.2], None, "x", "y", tmp_path / "m.svg")
    assert (tmp_path / "m.png").exists() and (tmp_path / "m.svg").exists()
    with pytest.raises(ValueError):
        plots.plot_metric_vs([1, 2], [0.1], None, "x", "y", tmp_path / "bad.png")


def test_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=".png"):
        plots.plot_metric_vs([1], [1], None, "x", "y", tmp_path / "m.jpg")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_deterministic_bytes(tmp_path, suffix):
    y, s = _toy()
    outs = []
    for run in ("a", "b"):
        d = tmp_path / run
        plots.plot_confusion(y, s.argmax(1), CLASSES, d / f"c{suffix}")
        plots.plot_roc(y[:200], s[:200], CLASSES, d / f"r{suffix}")
        plots.plot_history(_history(), d / f"h{suffix}")
        plots.plot_metric_vs([1, 2, 3], [0.1, 0.3, 0.2], [0.01, 0.02, 0.01], "x", "y", d / f"m{suffix}")
        outs.append({p.name: p.read_bytes() for p in sorted(d.iterdir())})
    assert outs[0] == outs[1]
    if suffix == ".png":
        assert all(b"Matplotlib" not in b for b in outs[0].values())
    if suffix == ".svg":
        assert all(b"<dc:date>" not in b for b in outs[0].values())
