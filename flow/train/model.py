"""Float PyTorch models built from a :class:`~flow.config.zoo.ModelSpec`, and their checkpoints.

The float model takes *standardized* features ``(x - mean) / std``; the statistics travel with the
checkpoint so a checkpoint is usable on its own (``flow train`` output feeds ``flow build``).
"""

from __future__ import annotations

import zipfile
import zlib
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flow.config.zoo import ModelSpec, get_model
from flow.errors import ConfigError
from flow.nn_layers import ArgMaxHead
from flow.registry import UnsupportedLayerError

# The torch module of each float layer kind, from the width entering it and its spec.
FLOAT_MODULES = {
    "dense": lambda width, layer: nn.Linear(width, layer.out),
    "batchnorm": lambda width, layer: nn.BatchNorm1d(width),
    "relu": lambda width, layer: nn.ReLU(),
    "argmax": lambda width, layer: ArgMaxHead(),
}


def build_float_model(spec: ModelSpec) -> nn.Sequential:
    """``nn.Sequential`` whose children are named after the spec's layers."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    width = spec.inputs
    for layer in spec.layers:
        if layer.kind not in FLOAT_MODULES:
            raise UnsupportedLayerError("float model", layer.kind, f"kinds are {', '.join(FLOAT_MODULES)}")
        modules[layer.name] = FLOAT_MODULES[layer.kind](width, layer)
        width = layer.out if layer.out is not None else width
    return nn.Sequential(modules)


def save_float_model(
    path: Path, spec: ModelSpec, model: nn.Module, mean: np.ndarray, std: np.ndarray, extra: dict | None = None
) -> None:
    torch.save(
        {
            "format": "flow-float-v1",
            "model": spec.name,
            "model_ref": spec.source if spec.source != "builtin" else spec.name,
            "layers": [asdict(layer) for layer in spec.layers],
            "state_dict": model.state_dict(),
            "input_mean": np.asarray(mean, dtype=np.float64),
            "input_std": np.asarray(std, dtype=np.float64),
            **(extra or {}),
        },
        path,
    )


def _check_zip(path: Path) -> None:
    """A torch checkpoint is a zip archive: refuse one whose members fail their CRC (overwritten bytes)."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except zipfile.BadZipFile as e:
        raise ConfigError(f"{path}: not a readable checkpoint (not a torch zip archive: {e})") from None
    except (OSError, EOFError, zlib.error, NotImplementedError) as e:
        raise ConfigError(f"{path}: not a readable checkpoint (corrupt zip archive: {e})") from None
    if bad is not None:
        raise ConfigError(f"{path}: corrupt checkpoint: member {bad!r} fails its CRC check (the file was altered)")


def read_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint not found: {path}")
    _check_zip(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means "not our checkpoint"
        raise ConfigError(f"{path}: not a readable checkpoint ({e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != "flow-float-v1":
        raise ConfigError(f"{path}: not a flow float checkpoint (write one with `flow train`)")
    for key in ("state_dict", "input_mean", "input_std", "layers"):
        if key not in ckpt:
            raise ConfigError(f"{path}: not a flow float checkpoint (no {key!r})")
    return ckpt


def _describe_layers(layers: list[dict]) -> str:
    return " ".join(f"{d.get('kind')}{'(' + str(d['out']) + ')' if d.get('out') else ''}" for d in layers)


def check_checkpoint_fits(ckpt: dict, spec: ModelSpec, path: Path) -> None:
    """A checkpoint of another network (other layers, widths or inputs) is refused in one line."""
    want = [asdict(layer) for layer in spec.layers]
    have = ckpt.get("layers")
    mean = np.asarray(ckpt.get("input_mean"))
    if have != want or mean.shape != (spec.inputs,):
        of = f"model {ckpt.get('model')!r}" if ckpt.get("model") else "another model"
        raise ConfigError(
            f"{path}: checkpoint of {of} ({_describe_layers(have or [])}, {mean.size} inputs) does not fit "
            f"model {spec.name!r} ({_describe_layers(want)}, {spec.inputs} inputs)"
        )


def model_from_checkpoint(ckpt: dict, spec: ModelSpec, path: Path) -> nn.Sequential:
    """The float model of ``spec`` with the checkpoint's weights; ConfigError if they do not fit."""
    check_checkpoint_fits(ckpt, spec, path)
    model = build_float_model(spec)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{path}: checkpoint does not fit model {spec.name!r}: {first}") from None
    return model


def load_float_model(path: Path, spec: ModelSpec | None = None) -> nn.Sequential:
    """Rebuild the float model of a checkpoint (input: standardized features), in eval mode."""
    ckpt = read_checkpoint(path)
    spec = spec or get_model(ckpt["model_ref"])
    return model_from_checkpoint(ckpt, spec, path).eval()
