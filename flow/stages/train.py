"""Stage 02: train the float model (or take a ``flow train`` checkpoint), standardization saved with it.

Writes ``float_model.pt`` (spec, weights, input mean/std) and ``history.csv``/``history.json``.
"""

from __future__ import annotations

import shutil

import torch

from flow.artifacts import FLOAT_MODEL
from flow.data import CLASS_NAMES, FEATURE_NAMES
from flow.errors import ConfigError
from flow.results import TrainResult
from flow.stages.data import load_split
from flow.train.fit import Arrays, evaluate, fit, standardization
from flow.train.history import write_history
from flow.train.model import build_float_model, file_sha256, model_from_checkpoint, read_checkpoint, save_float_model


def check_model_fits_data(spec, arrays: dict) -> None:
    """The model's ``inputs`` and ``classes`` must be the data's: one line, not a shape error from torch."""
    n_features = int(arrays["X_train"].shape[1])
    if spec.inputs != n_features:
        raise ConfigError(
            f"model {spec.name!r} has inputs = {spec.inputs} but the data has {n_features} features "
            f"({', '.join(FEATURE_NAMES)})"
        )
    if spec.classes != len(CLASS_NAMES):
        raise ConfigError(
            f"model {spec.name!r} has classes = {spec.classes} but the data has {len(CLASS_NAMES)} classes "
            f"({', '.join(CLASS_NAMES)})"
        )


def run(ctx) -> TrainResult:
    out = ctx.dir("train")
    arrays = load_split(ctx)
    spec = ctx.model
    check_model_fits_data(spec, arrays)
    sha256 = None
    if ctx.options.checkpoint:
        ckpt = read_checkpoint(ctx.options.checkpoint)
        model = model_from_checkpoint(ckpt, spec, ctx.options.checkpoint)
        shutil.copyfile(ctx.options.checkpoint, out / FLOAT_MODEL)
        sha256 = file_sha256(out / FLOAT_MODEL)
        mean, std = ckpt["input_mean"], ckpt["input_std"]
        history = []
    else:
        torch.manual_seed(spec.train.seed)
        mean, std = standardization(arrays["X_train"])
        model = build_float_model(spec)
        train = Arrays.of(arrays["X_train"], arrays["y_train"], mean, std)
        val = Arrays.of(arrays["X_val"], arrays["y_val"], mean, std)
        with ctx.progress(f"float training, {spec.train.epochs} epochs", spec.train.epochs) as advance:
            history = [
                r.as_dict()
                for r in fit(
                    model,
                    train,
                    val,
                    phase="float",
                    epochs=spec.train.epochs,
                    lr=spec.train.lr,
                    settings=spec.train,
                    on_epoch=lambda rec: advance(),
                )
            ]
        save_float_model(out / FLOAT_MODEL, spec, model, mean, std)
    write_history(out, history)
    test = Arrays.of(arrays["X_test"], arrays["y_test"], mean, std)
    _, acc = evaluate(model, test)
    val_acc = max((h["val_acc"] for h in history), default=None)
    return TrainResult(
        params=spec.n_params,
        epochs=len(history),
        best_val_accuracy=val_acc,
        float_test_accuracy=acc,
        samples_per_s=(sum(h["samples_per_s"] for h in history) / len(history)) if history else None,
        checkpoint=str(ctx.options.checkpoint) if ctx.options.checkpoint else None,
        checkpoint_sha256=sha256,
        headline=f"float test accuracy {acc:.4f} ({spec.n_params:,} parameters)",
    )
