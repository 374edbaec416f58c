"""Training: float training, then BatchNorm folding and quantization-aware fine-tuning (QAT).

1. Train the float model (Linear/BatchNorm1d/ReLU) on standardized features with cross-entropy.
2. :func:`~flow.quantize.fold_batchnorm.fold_batchnorm` turns it into Linear/ScaleShift/ReLU.
3. :func:`~flow.quantize.assign_types.assign_types` gives every value its FixedType.
4. QAT fine-tunes the folded network through the fake quantizers (straight-through gradients).
5. The best epoch by validation accuracy is kept; its integer graph is the design.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from flow.config.zoo import TrainSettings
from flow.errors import ConfigError

Progress = Callable[[dict], None]  # called once per epoch with that epoch's record


@dataclass(frozen=True, eq=False)
class Arrays:
    """Standardized float32 features and int64 labels of one split, as tensors."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def of(cls, features: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Arrays:
        x = (np.asarray(features, dtype=np.float64) - mean) / std
        return cls(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(np.asarray(labels, dtype=np.int64)))


@dataclass(frozen=True)
class EpochRecord:
    phase: str  # "float" or "qat"
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    samples_per_s: float

    def as_dict(self) -> dict:
        return asdict(self)


def standardization(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std (float64) of the training features; std of a constant column is 1."""
    f = np.asarray(features, dtype=np.float64)
    std = f.std(axis=0)
    return f.mean(axis=0), np.where(std > 0, std, 1.0)


def make_optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    name = name.lower()
    if name == "adam":
        # fused: one kernel per step instead of one per tensor; halves the step time of these small MLPs
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimizer {name!r}; use adam, adamw or sgd")


@torch.no_grad()
def evaluate(model: nn.Module, data: Arrays, batch: int = 65536) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` in eval mode."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(data.y), batch):
        logits = model(data.x[i : i + batch])
        y = data.y[i : i + batch]
        loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    n = max(len(data.y), 1)
    return loss / n, correct / n


def fit(
    model: nn.Module,
    train: Arrays,
    val: Arrays,
    *,
    phase: str,
    epochs: int,
    lr: float,
    settings: TrainSettings,
    on_epoch: Progress | None = None,
) -> list[EpochRecord]:
    """Train ``model`` in place with a cosine-decayed learning rate; at the end it holds the weights of
    the epoch with the best validation accuracy. Deterministic for ``settings.seed``."""
    torch.set_num_threads(settings.threads)
    gen = torch.Generator().manual_seed(settings.seed + (0 if phase == "float" else 1))
    opt = make_optimizer(settings.optimizer, model.parameters(), lr, settings.weight_decay)
    steps = max(1, epochs * ((len(train.y) + settings.batch_size - 1) // settings.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    history, best_acc, best_state = [], -1.0, copy.deepcopy(model.state_dict())
    for epoch in range(1, epochs + 1):
        model.train()
        t0, total, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
        order = torch.randperm(len(train.y), generator=gen)
        for i in range(0, len(order), settings.batch_size):
            idx = order[i : i + settings.batch_size]
            if len(idx) < 2:
                continue  # BatchNorm needs two samples
            logits = model(train.x[idx])
            loss = nn.functional.cross_entropy(logits, train.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += len(idx)
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == train.y[idx]).sum())
        seconds = time.perf_counter() - t0
        val_loss, val_acc = evaluate(model, val)
        rec = EpochRecord(
            phase,
            epoch,
            loss_sum / max(total, 1),
            correct / max(total, 1),
            val_loss,
            val_acc,
            seconds,
            total / max(seconds, 1e-9),
        )
        history.append(rec)
        if val_acc > best_acc:
            best_acc, best_state = val_acc, copy.deepcopy(model.state_dict())
        if on_epoch:
            on_epoch(rec.as_dict())
    model.load_state_dict(best_state)
    return history
