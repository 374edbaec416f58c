"""``flow train``: one float training run into a run folder.

The folder holds::

    settings.json     model, training settings, data (source, split seed, counts, fingerprint)
    history.csv/json  one row per epoch: train/val loss and accuracy, seconds, samples/s
    best.pt, last.pt  float checkpoints (flow.train.model.save_float_model): `flow build --checkpoint best.pt`
    metrics.json      best epoch, best/last val accuracy, test accuracy and loss, AUC per class
    curves.png        loss and accuracy per epoch
    confusion.png     confusion matrix of best.pt on the test split
    roc.png           one-vs-rest ROC per class of best.pt on the test split, with AUC
    embedding.png     t-SNE (or PCA) of best.pt's last hidden layer on 2,000 test jets, coloured by class

The best checkpoint is the epoch with the highest validation accuracy (what :func:`flow.train.fit.fit`
keeps); the test split is only used for the final numbers and plots.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flow.config.zoo import ModelSpec
from flow.studies.data import StudyData
from flow.studies.embed import DEFAULT_SAMPLES
from flow.train.fit import Arrays, EpochRecord, Progress, evaluate, fit
from flow.train.history import write_history
from flow.train.model import build_float_model, save_float_model


@dataclass(frozen=True, eq=False)
class FloatRun:
    """A trained float model (best-epoch weights), its last-epoch weights and its history."""

    model: nn.Sequential
    last_state: dict
    mean: np.ndarray
    std: np.ndarray
    history: tuple[EpochRecord, ...]
    seconds: float

    @property
    def best_epoch(self) -> int:
        return max(self.history, key=lambda r: (r.val_acc, -r.epoch)).epoch

    @property
    def best_val_acc(self) -> float:
        return max(r.val_acc for r in self.history)

    @property
    def last_val_acc(self) -> float:
        return self.history[-1].val_acc

    def last_model(self, spec: ModelSpec) -> nn.Sequential:
        model = build_float_model(spec)
        model.load_state_dict(self.last_state)
        return model.eval()


def train_float(spec: ModelSpec, data: StudyData, on_epoch: Progress | None = None) -> FloatRun:
    """Train ``spec``'s float model with ``spec.train`` (seeded: same settings, same weights)."""
    t = spec.train
    torch.manual_seed(t.seed)
    mean, std = data.standardization()
    train, val, _ = data.arrays(mean, std)
    model = build_float_model(spec)
    last: dict = {}

    def hook(rec: dict) -> None:
        if rec["epoch"] == t.epochs:  # fit() restores the best epoch after this call; keep the last one
            last["state"] = copy.deepcopy(model.state_dict())
        if on_epoch:
            on_epoch(rec)

    t0 = time.perf_counter()
    history = fit(model, train, val, phase="float", epochs=t.epochs, lr=t.lr, settings=t, on_epoch=hook)
    return FloatRun(model.eval(), last["state"], mean, std, tuple(history), time.perf_counter() - t0)


@torch.no_grad()
def class_scores(model: nn.Module, data: Arrays) -> np.ndarray:
    """Softmax probabilities ``[N, classes]`` of ``model`` in eval mode."""
    model.eval()
    return torch.softmax(model(data.x), dim=1).numpy()


@dataclass(frozen=True)
class RunResult:
    """The headline numbers of a run folder (also in its ``metrics.json``)."""

    out: str
    model: str
    epochs: int
    best_epoch: int
    best_val_acc: float
    last_val_acc: float
    test_acc: float
    test_loss: float
    auc: dict[str, float]
    samples_per_s: float
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def draw_run(
    out: Path,
    spec: ModelSpec,
    data: StudyData,
    history: list[dict],
    predictions: np.ndarray,
    scores: np.ndarray,
    hidden: np.ndarray,
    what: str,
    embedding: str = "tsne",
    samples: int = DEFAULT_SAMPLES,
) -> dict[str, float]:
    """curves.png, confusion.png, roc.png and embedding.png of one run on the test split; the AUC per class.

    ``predictions``, ``scores`` and ``hidden`` are per test jet (class index, per-class scores, the input
    of the output Linear); ``what`` names the run in the titles."""
    from flow.plots import plot_confusion, plot_history, plot_roc
    from flow.studies.embed import plot_hidden_embedding

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_history(history, out / "curves.png", title=what)
    plot_confusion(data.test.y, predictions, data.class_names, out / "confusion.png", title=f"{what}, test split")
    auc = plot_roc(data.test.y, scores, data.class_names, out / "roc.png", title=f"{what}, test split")
    if embedding != "none":
        plot_hidden_embedding(
            hidden, data.test.y, data.class_names, out / "embedding.png", embedding, samples, title=what
        )
    return {k: float(v) for k, v in auc.items()}


def run_title(spec: ModelSpec) -> str:
    from flow.studies.arch import network_text

    t = spec.train
    return f"{spec.name} ({network_text(spec.inputs, spec.layers)}): batch {t.batch_size}, lr {t.lr:g}, seed {t.seed}"


def draw_float_run(
    out: Path,
    spec: ModelSpec,
    data: StudyData,
    run: FloatRun,
    embedding: str = "tsne",
    samples: int = DEFAULT_SAMPLES,
) -> dict[str, float]:
    """:func:`draw_run` for a float run (its best-epoch model)."""
    from flow.plots import softmax
    from flow.studies.embed import probe

    _, _, test = data.arrays(run.mean, run.std)
    hidden, logits = probe(run.model, test.x)
    return draw_run(
        out,
        spec,
        data,
        [r.as_dict() for r in run.history],
        logits.argmax(1),
        softmax(logits),
        hidden,
        f"{run_title(spec)} (best epoch {run.best_epoch})",
        embedding,
        samples,
    )


def write_run(
    out: Path,
    spec: ModelSpec,
    data: StudyData,
    run: FloatRun,
    embedding: str = "tsne",
    samples: int = DEFAULT_SAMPLES,
) -> RunResult:
    """Write the run folder (see the module docstring) and return its metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    history = [r.as_dict() for r in run.history]
    write_history(out, history)
    extra = {"train_settings": asdict(spec.train), "data": data.describe()}
    save_float_model(
        out / "best.pt",
        spec,
        run.model,
        run.mean,
        run.std,
        {**extra, "epoch": run.best_epoch, "val_acc": run.best_val_acc},
    )
    save_float_model(
        out / "last.pt",
        spec,
        run.last_model(spec),
        run.mean,
        run.std,
        {**extra, "epoch": run.history[-1].epoch, "val_acc": run.last_val_acc},
    )
    _, _, test = data.arrays(run.mean, run.std)
    test_loss, test_acc = evaluate(run.model, test)
    auc = draw_float_run(out, spec, data, run, embedding, samples)
    result = RunResult(
        out=str(out),
        model=spec.name,
        epochs=len(history),
        best_epoch=run.best_epoch,
        best_val_acc=run.best_val_acc,
        last_val_acc=run.last_val_acc,
        test_acc=test_acc,
        test_loss=test_loss,
        auc=auc,
        samples_per_s=float(np.mean([r.samples_per_s for r in run.history])),
        seconds=run.seconds,
    )
    settings = {
        "model": spec.name,
        "model_source": spec.source,
        "layers": [asdict(x) for x in spec.layers],
        "parameters": spec.n_params,
        "train": asdict(spec.train),
        "data": data.describe(),
    }
    (out / "settings.json").write_text(json.dumps(settings, indent=1))
    (out / "metrics.json").write_text(json.dumps(result.as_dict(), indent=1))
    return result


def train_run(
    spec: ModelSpec,
    data: StudyData,
    out: Path,
    on_epoch: Progress | None = None,
    embedding: str = "tsne",
    samples: int = DEFAULT_SAMPLES,
) -> RunResult:
    """Train and write a run folder: the function behind ``flow train``."""
    return write_run(out, spec, data, train_float(spec, data, on_epoch), embedding, samples)
