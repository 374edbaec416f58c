"""Training of the bit widths: cross-entropy + beta * EBOPs, beta warm-up and ramp, cosine learning rate,
checkpoint selection by validation accuracy under the budget, then fine-tuning with the bits frozen."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import torch
from torch import nn

from flow.quantize.learned.cost import LUT_PER_EBOP, significant_bits
from flow.quantize.learned.model import LearnedModel
from flow.quantize.learned.settings import LearnedSettings
from flow.train.fit import Arrays

Progress = Callable[[dict], None]


@torch.no_grad()
def model_ebops(model: LearnedModel) -> int:
    """Exact EBOPs of the model's current codes (what :func:`flow.quantize.learned.cost.ebops` gives for
    its exported graph)."""
    total = 0
    for d, q in zip(model.dense, model.in_quantizers(), strict=True):
        wq = d.quantized_weight().double()
        codes = torch.round(wq * torch.exp2(d.w_frac().double())).to(torch.int64).numpy()
        # a per-feature quantizer's widths broadcast over the weight columns
        total += int((significant_bits(codes) * q.clamp_width().to(torch.int64).numpy()).sum())
    return total


@torch.no_grad()
def accuracy(model: LearnedModel, data: Arrays, batch: int = 65536) -> tuple[float, float]:
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(data.y), batch):
        logits = model(data.x[i : i + batch])
        y = data.y[i : i + batch]
        loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    n = max(len(data.y), 1)
    return loss / n, correct / n


def _epochs(
    model: LearnedModel,
    train: Arrays,
    val: Arrays,
    s: LearnedSettings,
    *,
    phase: str,
    epochs: int,
    lr: float,
    beta_at: Callable[[int], float],
    params: list[nn.Parameter],
    gen: torch.Generator,
    on_epoch: Progress | None,
    history: list[dict],
    keep: Callable[[dict], bool],
) -> tuple[dict | None, dict | None]:
    """Run ``epochs`` epochs; return the best kept record (by validation accuracy) and its state."""
    opt = torch.optim.Adam(params, lr=lr)
    steps = max(1, epochs * ((len(train.y) + s.batch_size - 1) // s.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    best, best_state = None, None
    for epoch in range(1, epochs + 1):
        beta = beta_at(epoch)
        model.train()
        t0, total, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        order = torch.randperm(len(train.y), generator=gen)
        for i in range(0, len(order), s.batch_size):
            idx = order[i : i + s.batch_size]
            logits = model(train.x[idx])
            loss = nn.functional.cross_entropy(logits, train.y[idx])
            if beta > 0:
                loss = loss + beta * model.ebops_surrogate()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            model.clamp_bits()
            total += len(idx)
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == train.y[idx]).sum())
        model.calibrate(train.x)
        val_loss, val_acc = accuracy(model, val)
        e = model_ebops(model)
        rec = {
            "phase": phase,
            "epoch": epoch,
            "beta": beta,
            "train_loss": loss_sum / max(total, 1),
            "train_acc": correct / max(total, 1),
            "val_loss": val_loss,
            "val_acc": val_acc,
            "ebops": e,
            "lut_estimate": LUT_PER_EBOP * e,
            "seconds": time.perf_counter() - t0,
        }
        history.append(rec)
        if keep(rec) and (best is None or val_acc > best["val_acc"] or s.select == "last"):
            best, best_state = rec, copy.deepcopy(model.state_dict())
        if on_epoch:
            on_epoch(rec)
    return best, best_state


def train_learned(
    model: LearnedModel,
    train: Arrays,
    val: Arrays,
    s: LearnedSettings,
    *,
    threads: int = 1,
    on_epoch: Progress | None = None,
) -> tuple[list[dict], dict]:
    """Train ``model`` in place; at the end it holds the selected checkpoint. Returns the per-epoch
    history and the selection record (``selected``: the chosen epoch, ``budget_met``)."""
    torch.set_num_threads(threads)
    torch.manual_seed(s.seed)
    gen = torch.Generator().manual_seed(s.seed)
    model.calibrate(train.x)
    history: list[dict] = []
    budget = s.lut_budget

    def within(rec: dict) -> bool:
        return budget <= 0 or rec["lut_estimate"] <= budget

    params = model.value_parameters() + model.bit_parameters()
    best, state = _epochs(
        model,
        train,
        val,
        s,
        phase="bits",
        epochs=s.epochs,
        lr=s.lr,
        beta_at=s.beta_at,
        params=params,
        gen=gen,
        on_epoch=on_epoch,
        history=history,
        keep=lambda r: r["epoch"] >= s.full_beta_epoch and within(r),
    )
    budget_met = best is not None
    if best is None:  # nothing within the budget: the cheapest epoch at full beta
        late = [r for r in history if r["epoch"] >= s.full_beta_epoch] or history
        best = min(late, key=lambda r: (r["lut_estimate"], -r["val_acc"]))
        state = None
    if state is not None:
        model.load_state_dict(state)
    if s.finetune_epochs > 0:
        model.freeze_bits()
        start = dict(best, phase="finetune", epoch=0)
        start_state = copy.deepcopy(model.state_dict())
        ft_best, ft_state = _epochs(
            model,
            train,
            val,
            s,
            phase="finetune",
            epochs=s.finetune_epochs,
            lr=s.finetune_lr,
            beta_at=lambda e: 0.0,
            params=model.value_parameters(),
            gen=gen,
            on_epoch=on_epoch,
            history=history,
            keep=lambda r: within(r) or not budget_met,
        )
        if ft_best is not None and ft_best["val_acc"] > start["val_acc"]:
            best, state = ft_best, ft_state
        else:
            best, state = start, start_state
        model.load_state_dict(state)
    return history, {"selected": best, "budget_met": budget_met, "lut_budget": budget}


def settings_summary(s: LearnedSettings) -> dict:
    return {k: getattr(s, k) for k in s.__dataclass_fields__}


__all__ = ["accuracy", "model_ebops", "settings_summary", "train_learned"]
