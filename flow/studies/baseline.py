"""``flow baseline``: a gradient-boosted-tree classifier on the same split, as a non-neural yardstick.

scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier` on the raw features (trees do
not need standardization), early-stopped on the validation split, scored on validation and test. A
report calls :func:`baseline_metrics` (or reads ``metrics.json`` of a ``flow baseline`` folder) to say
how far the network is from it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from flow.studies.data import StudyData


@dataclass(frozen=True)
class BaselineSettings:
    max_iter: int = 300
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    l2_regularization: float = 0.0
    seed: int = 42
    threads: int | None = 1  # OpenMP threads (None: all); one is robust on a busy machine


@dataclass(frozen=True)
class BaselineResult:
    model: str
    val_acc: float
    test_acc: float
    auc: dict[str, float]  # test split, one-vs-rest per class
    iterations: int
    seconds: float
    settings: dict

    def as_dict(self) -> dict:
        return asdict(self)


def fit_baseline(data: StudyData, settings: BaselineSettings = BaselineSettings()):
    """The fitted classifier (early stopping on the validation split)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    clf = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        l2_regularization=settings.l2_regularization,
        early_stopping=True,
        n_iter_no_change=20,
        random_state=settings.seed,
    )
    with threadpool_limits(settings.threads):
        clf.fit(data.train.x, data.train.y, X_val=data.val.x, y_val=data.val.y)
    return clf


def baseline_metrics(
    data: StudyData, settings: BaselineSettings = BaselineSettings(), plots_to: Path | None = None
) -> BaselineResult:
    """Fit and score the baseline; with ``plots_to``, also draw its confusion matrix and ROC (test split)."""
    from flow.plots import plot_confusion, plot_roc, roc_curves

    t0 = time.perf_counter()
    clf = fit_baseline(data, settings)
    seconds = time.perf_counter() - t0
    scores = clf.predict_proba(data.test.x)
    pred = scores.argmax(1)
    val_acc = float(np.mean(clf.predict(data.val.x) == data.val.y))
    test_acc = float(np.mean(pred == data.test.y))
    k = len(data.class_names)
    if plots_to is not None:
        plots_to = Path(plots_to)
        plot_confusion(
            data.test.y, pred, data.class_names, plots_to / "confusion.png", title="gradient-boosted trees, test split"
        )
        auc = plot_roc(
            data.test.y, scores, data.class_names, plots_to / "roc.png", title="gradient-boosted trees, test split"
        )
    else:
        curves = roc_curves(data.test.y, scores, k)
        auc = {n: (c[2] if c is not None else float("nan")) for n, c in zip(data.class_names, curves, strict=True)}
    return BaselineResult(
        "HistGradientBoostingClassifier",
        val_acc,
        test_acc,
        {n: float(a) for n, a in auc.items()},
        int(clf.n_iter_),
        seconds,
        asdict(settings),
    )


def run_baseline(data: StudyData, out: Path, settings: BaselineSettings = BaselineSettings()) -> BaselineResult:
    """``flow baseline``: fit, score, and write ``metrics.json``, ``confusion.png``, ``roc.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = baseline_metrics(data, settings, plots_to=out)
    (out / "metrics.json").write_text(json.dumps({**result.as_dict(), "data": data.describe()}, indent=1))
    return result
