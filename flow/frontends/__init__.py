"""Model sources other than flow's own TOML files: networks trained (and quantized) elsewhere.

* a QONNX file (``Quant`` nodes: Brevitas ``export_qonnx``, QKeras through qonnx, flow's own export):
  its quantization becomes flow's FixedTypes exactly and is kept; the build checks the original file,
  run by qonnx's executor, against the integer reference on every test vector;
* a float ONNX file: its weights, then flow's own quantization;
* a ``.pt``/``.pth`` file holding a whole ``nn.Sequential`` (loaded on the CPU), or a ``state_dict``
  named by a model TOML (``weights = "file.pt"``);
* ``module:function`` returning an ``nn.Sequential``: its weights are used.

Imported weights are kept: the train stage writes them as the float model instead of training, and for a
quantized file the quantize stage writes its graph instead of running QAT. ``--retrain`` trains the
architecture from scratch instead (the report says which happened). Details: docs/import.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from flow.artifacts import file_sha256
from flow.errors import ConfigError

MODEL_SUFFIXES = (".onnx", ".pt", ".pth")


@dataclass(frozen=True, eq=False)
class Origin:
    """Where an imported model came from and what it brought."""

    kind: str  # "qonnx", "onnx", "pt", "module"
    ref: str  # the path or module:function given
    sha256: str  # of the file (or of the module's parameters)
    float_model: object = field(repr=False)  # nn.Sequential with the source's (dequantized) weights
    source_model: object = field(default=None, repr=False)  # the module as loaded (its own accuracy)
    graph: object = field(default=None, repr=False)  # QuantGraph of a quantized file
    notes: tuple[str, ...] = ()
    scores_tensor: str = ""  # qonnx: the original tensor compared with the reference
    input_elem: int = 1
    metadata_scaler: tuple | None = field(default=None, repr=False)  # (mean, std) from the file
    input_scaler: str | None = None  # --input-scaler FILE
    scaler: tuple | None = field(default=None, repr=False)  # (mean, std) read from it
    retrain: bool = False

    @property
    def quantized(self) -> bool:
        return self.graph is not None

    @property
    def keeps_weights(self) -> bool:
        return not self.retrain

    def key(self) -> list:
        """What goes into the stage input hashes (the file, how it is used)."""
        scaler = None
        if self.scaler is not None:
            scaler = [np.asarray(v, dtype=np.float64).tolist() for v in self.scaler]
        return [self.kind, self.sha256, self.retrain, scaler]

    def standardization(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mean, std) from --input-scaler, else from the file's metadata, else None (flow computes it)."""
        return self.scaler or self.metadata_scaler


def model_name(path: Path) -> str:
    stem = path.name.split(".")[0] or "model"
    return re.sub(r"[^A-Za-z0-9_-]", "-", stem)


def _sha256_module(module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Imported:
    """A model read from a source: its name, float module, description, origin and source string
    (:func:`flow.config.zoo.get_model` makes the ModelSpec of it)."""

    name: str
    module: object
    description: str
    origin: Origin
    source: str


def _metadata_scaler(meta: dict, path) -> tuple | None:
    if "flow.input_mean" not in meta and "input_mean" not in meta:
        return None
    try:
        mean = np.asarray(json.loads(meta.get("flow.input_mean", meta.get("input_mean"))), dtype=np.float64)
        std = np.asarray(json.loads(meta.get("flow.input_std", meta.get("input_std"))), dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: unreadable input_mean/input_std metadata ({e})") from None
    return mean, std


def from_onnx(path: Path) -> Imported:
    """A QONNX or float ONNX file."""
    from flow.frontends.convert import float_module, quant_graph
    from flow.frontends.onnx_graph import load_clean, walk

    model = load_clean(path)
    parsed = walk(model, path)
    notes = list(parsed.notes)
    name = model_name(path)
    module = float_module(parsed, path)
    graph = quant_graph(parsed, name, path, notes) if parsed.quantized else None
    scores = ""
    if graph is not None:
        scores = _original_tensor(model, parsed.scores_tensor)
    origin = Origin(
        "qonnx" if graph is not None else "onnx",
        str(path),
        file_sha256(path),
        module,
        graph=graph,
        notes=tuple(notes),
        scores_tensor=scores,
        input_elem=parsed.input_elem,
        metadata_scaler=_metadata_scaler(parsed.metadata, path),
    )
    what = "quantized (QONNX)" if graph is not None else "float ONNX"
    return Imported(name, module, f"{what} model from {path}", origin, str(path))


def _original_tensor(model, tensor: str) -> str:
    """The name, in the original file, of the cleaned model's ``tensor`` (cleanup renames tensors)."""
    for node in model.graph.node:
        if tensor in node.output and "|out:" in node.doc_string:
            return node.doc_string.split("|out:", 1)[1]
    return tensor


def from_pt(path: Path) -> Imported:
    """A ``.pt`` file holding a whole ``nn.Sequential``."""
    import torch
    from torch import nn

    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure
        raise ConfigError(f"{path}: not a readable PyTorch file ({e})") from None
    if isinstance(obj, dict) and obj.get("format") == "flow-float-v1":
        raise ConfigError(f"{path}: a flow checkpoint; build it with `flow build <model> --checkpoint {path}`")
    if isinstance(obj, dict):
        raise ConfigError(
            f"{path}: holds a state_dict, not a module; name the architecture in a model TOML with "
            f'weights = "{path.name}" and build that TOML (docs/import.md)'
        )
    if not isinstance(obj, nn.Module):
        raise ConfigError(f"{path}: holds a {type(obj).__name__}, not an nn.Sequential")
    return from_module(obj, model_name(path), str(path), "pt", file_sha256(path))


def _float_copy(module):
    """A copy in float32, eval mode, on the CPU (the source object is left as it is)."""
    import copy

    return copy.deepcopy(module).cpu().float().eval()


def from_module(module, name: str, ref: str, kind: str = "module", sha256: str | None = None) -> Imported:
    """A model whose float model is ``module`` (an nn.Sequential of Linear/BatchNorm1d/ReLU, a
    trailing Softmax/Sigmoid dropped with a note)."""
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise ConfigError(f"model {ref!r}: must be an nn.Sequential, got {type(module).__name__}")
    children = list(module.named_children())
    notes = []
    trailing = (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)
    if children and isinstance(children[-1][1], trailing):
        notes.append(
            f"trailing {type(children[-1][1]).__name__} ({children[-1][0]!r}) dropped: the scores are the outputs"
        )
        children = children[:-1]
    for cname, child in children:
        if isinstance(child, trailing):
            raise ConfigError(
                f"model {ref!r}: {type(child).__name__} ({cname!r}) in the middle of the network; only a trailing "
                "Softmax/Sigmoid is dropped"
            )
    from collections import OrderedDict

    kept = nn.Sequential(OrderedDict((_child_name(n, c, i), c) for i, (n, c) in enumerate(children)))
    float_model = _float_copy(kept)
    origin = Origin(
        kind,
        ref,
        sha256 or _sha256_module(float_model),
        float_model,
        source_model=_float_copy(module),
        notes=tuple(notes),
    )
    return Imported(name, float_model, f"{kind} model {ref}", origin, ref)


def _child_name(name: str, child, i: int) -> str:
    if not name.isdigit():
        return name
    from torch import nn

    kind = {nn.Linear: "fc", nn.BatchNorm1d: "bn", nn.ReLU: "relu"}.get(type(child), "layer")
    return f"{kind}{i}"


def _float_layers(spec):
    """The float nn.Sequential of a TOML architecture (as flow.train.model builds it, without importing it)."""
    from collections import OrderedDict

    from torch import nn

    from flow.nn_layers import ArgMaxHead

    mods, width = OrderedDict(), spec.inputs
    for layer in spec.layers:
        if layer.kind == "dense":
            mods[layer.name], width = nn.Linear(width, layer.out), layer.out
        elif layer.kind == "batchnorm":
            mods[layer.name] = nn.BatchNorm1d(width)
        elif layer.kind == "relu":
            mods[layer.name] = nn.ReLU()
        else:
            mods[layer.name] = ArgMaxHead()
    return nn.Sequential(mods)


def from_state_dict(spec, weights: Path) -> Origin:
    """The origin of a TOML architecture ``spec`` with the weights of a ``state_dict`` file (matched by
    name, else in order with equal shapes)."""
    import torch

    weights = Path(weights)
    if not weights.is_file():
        raise ConfigError(f"{spec.source}: weights file not found: {weights}")
    try:
        sd = torch.load(weights, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"{weights}: not a readable PyTorch file ({e})") from None
    if hasattr(sd, "state_dict") and not isinstance(sd, dict):
        sd = sd.state_dict()
    if not isinstance(sd, dict):
        raise ConfigError(f"{weights}: holds a {type(sd).__name__}, not a state_dict")
    model = _float_layers(spec)
    own = model.state_dict()
    if set(sd) != set(own):
        ours, theirs = list(own), list(sd)
        if len(ours) != len(theirs) or any(
            tuple(own[a].shape) != tuple(sd[b].shape) for a, b in zip(ours, theirs, strict=True)
        ):
            raise ConfigError(
                f"{weights}: state_dict ({_shapes(sd)}) does not fit model {spec.name!r} ({_shapes(own)})"
            )
        sd = {a: sd[b] for a, b in zip(ours, theirs, strict=True)}
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    except (RuntimeError, AttributeError) as e:
        raise ConfigError(f"{weights}: does not fit model {spec.name!r}: {str(e).splitlines()[0]}") from None
    model.eval()
    return Origin("pt", str(weights), file_sha256(weights), model, source_model=_float_copy(model))


def _shapes(sd: dict) -> str:
    items = [f"{k}{tuple(v.shape)}" for k, v in list(sd.items())[:6]]
    return ", ".join(items) + (", ..." if len(sd) > 6 else "")


def model_from_file(path: Path) -> Imported:
    """A model file (``.onnx``, ``.pt``, ``.pth``)."""
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}")
    if path.suffix == ".onnx":
        return from_onnx(path)
    return from_pt(path)


def read_scaler(path: Path, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``--input-scaler FILE``: mean and std per feature from JSON (``{"mean": [...], "std": [...]}``,
    also sklearn's ``mean_``/``scale_``) or npz (arrays ``mean`` and ``std`` or ``scale``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--input-scaler: file not found: {path}")
    try:
        if path.suffix == ".npz":
            with np.load(path) as z:
                d = {k: z[k] for k in z.files}
        else:
            d = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"--input-scaler: cannot read {path} ({e})") from None
    if not isinstance(d, dict):
        raise ConfigError(f"--input-scaler: {path} must hold mean and std")
    mean = next((d[k] for k in ("mean", "mean_", "input_mean") if k in d), None)
    std = next((d[k] for k in ("std", "scale", "scale_", "input_std") if k in d), None)
    if mean is None or std is None:
        raise ConfigError(f"--input-scaler: {path} needs 'mean' and 'std' (or 'scale') per feature; has {', '.join(d)}")
    mean, std = np.asarray(mean, dtype=np.float64).reshape(-1), np.asarray(std, dtype=np.float64).reshape(-1)
    if mean.shape != std.shape or (n is not None and mean.size != n):
        raise ConfigError(f"--input-scaler: {path}: {mean.size} means and {std.size} stds for {n} features")
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(std)) or np.any(std <= 0):
        raise ConfigError(f"--input-scaler: {path}: every std must be a positive finite number")
    return mean, std


def with_options(spec, *, retrain: bool = False, input_scaler: Path | None = None):
    """``--retrain`` and ``--input-scaler`` applied to a model (only imported models take them)."""
    origin = getattr(spec, "origin", None)
    if origin is None:
        if retrain:
            raise ConfigError(f"--retrain: model {spec.name!r} is not imported; flow trains it anyway")
        if input_scaler is not None:
            raise ConfigError(f"--input-scaler: model {spec.name!r} is not imported; flow computes its standardization")
        return spec
    if input_scaler is not None:
        origin = replace(origin, input_scaler=str(input_scaler), scaler=read_scaler(input_scaler, spec.inputs))
    if retrain:
        origin = replace(origin, retrain=True)
    return replace(spec, origin=origin)
