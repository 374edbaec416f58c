"""Stage 02: train the float model (or take a ``flow train`` checkpoint, or keep an imported model's
weights: :mod:`flow.frontends`), standardization saved with it.

Writes ``float_model.pt`` (spec, weights, input mean/std) and ``history.csv``/``history.json``.
"""

from __future__ import annotations

import shutil

import torch

from flow.artifacts import FLOAT_MODEL, file_sha256
from flow.data import CLASS_NAMES, FEATURE_NAMES
from flow.errors import ConfigError
from flow.results import TrainResult
from flow.stages.data import load_split
from flow.train.fit import Arrays, evaluate, fit, standardization
from flow.train.history import write_history
from flow.train.model import (
    build_float_model,
    load_float_model,
    model_from_checkpoint,
    read_checkpoint,
    save_float_model,
)


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


SOURCE_MODEL = "source_model.onnx"  # an imported QONNX file, as given (the exact-to-original check runs it)


def _imported(ctx, out, spec, arrays) -> tuple:
    """Keep an imported model's weights: the float model is the source's, standardization from
    --input-scaler, the file's metadata, or the training split; nothing is trained."""
    origin = spec.origin
    mean, std = origin.standardization() or standardization(arrays["X_train"])
    model = origin.float_model
    save_float_model(out / FLOAT_MODEL, spec, model, mean, std, extra={"source": origin.ref, "weights": "kept"})
    if origin.kind == "qonnx":
        shutil.copyfile(origin.ref, out / SOURCE_MODEL)
    source_acc = None
    if origin.source_model is not None:  # the module as the user gave it, on the same test set
        _, source_acc = evaluate(origin.source_model, Arrays.of(arrays["X_test"], arrays["y_test"], mean, std))
    return model, mean, std, source_acc


def run(ctx) -> TrainResult:
    out = ctx.dir("train")
    arrays = load_split(ctx)
    spec = ctx.model
    check_model_fits_data(spec, arrays)
    sha256 = None
    origin = getattr(spec, "origin", None)
    source_acc = None
    if origin is not None and not origin.retrain:
        model, mean, std, source_acc = _imported(ctx, out, spec, arrays)
        model = load_float_model(out / FLOAT_MODEL, spec)  # read back: what every later stage uses
        history = []
    elif ctx.options.checkpoint:
        ckpt = read_checkpoint(ctx.options.checkpoint)
        model = model_from_checkpoint(ckpt, spec, ctx.options.checkpoint)
        shutil.copyfile(ctx.options.checkpoint, out / FLOAT_MODEL)
        sha256 = file_sha256(out / FLOAT_MODEL)
        mean, std = ckpt["input_mean"], ckpt["input_std"]
        history = []
    else:
        torch.manual_seed(spec.train.seed)
        mean, std = standardization(arrays["X_train"])
        if origin is not None and origin.standardization() is not None:  # --retrain keeps the given scaler
            mean, std = origin.standardization()
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
        source=origin.ref if origin is not None else None,
        source_kind=origin.kind if origin is not None else None,
        source_sha256=origin.sha256 if origin is not None else None,
        weights=None if origin is None else ("retrained" if origin.retrain else "kept"),
        source_float_accuracy=source_acc,
        input_scaler=origin.input_scaler if origin is not None else None,
        import_notes=tuple(origin.notes) if origin is not None else (),
        headline=f"float test accuracy {acc:.4f} ({spec.n_params:,} parameters)"
        + _import_headline(origin, source_acc, acc),
    )


def _import_headline(origin, source_acc, acc) -> str:
    if origin is None:
        return ""
    if origin.retrain:
        return f"; {origin.kind} model {origin.ref} retrained from scratch (--retrain)"
    same = "" if source_acc is None else f", source model {source_acc:.4f}{' (equal)' if source_acc == acc else ''}"
    return f"; weights kept from {origin.kind} model {origin.ref}{same}"
