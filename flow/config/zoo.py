"""The model zoo: networks described by TOML files in ``models/``, plus user models.

A model is a chain of ``dense``, ``batchnorm`` and ``relu`` layers (and a final ``argmax``) over the
16 JSC features, with default training settings and default quantization. Users add their own by

* a TOML file of the same form (``flow build path/to/net.toml``), or
* an ``nn.Module`` factory: ``flow build mypkg.nets:make_net`` (a function returning an
  ``nn.Sequential`` of ``Linear``/``BatchNorm1d``/``ReLU``, whose weights are used), or
  :func:`register_model` in Python;
* a QONNX/ONNX file or a ``.pt`` file (:mod:`flow.frontends`, docs/import.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from flow.config.quant import QuantConfig, check_names, parse_quant_config, read_toml
from flow.errors import ConfigError, UnknownNameError

MODELS_DIR = Path(__file__).resolve().parent / "models"
LAYER_KINDS = ("dense", "batchnorm", "relu", "argmax")
# Other names users write for a kind (PyTorch's and MASE's "linear"); normalized when a file is read.
KIND_ALIASES = {"linear": "dense"}
_DEFAULT_NAME = {"dense": "fc", "batchnorm": "bn", "relu": "relu", "argmax": "argmax"}


@dataclass(frozen=True)
class LayerSpec:
    """One float layer: ``dense`` (with ``out`` features), ``batchnorm``, ``relu`` or ``argmax``."""

    kind: str
    name: str
    out: int | None = None


@dataclass(frozen=True)
class TrainSettings:
    """Float training then quantization-aware fine-tuning (QAT) of the folded network."""

    epochs: int = 30
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-5
    optimizer: str = "adam"
    qat_epochs: int = 8
    qat_lr: float = 5e-4
    seed: int = 42
    # Intra-op threads for training. These MLPs are too small for threading to pay, and with more
    # threads than idle cores PyTorch's spinning workers made training 20-50x slower here.
    threads: int = 1


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    inputs: int
    classes: int
    layers: tuple[LayerSpec, ...]
    train: TrainSettings = field(default_factory=TrainSettings)
    quant: QuantConfig = field(default_factory=QuantConfig)
    source: str = "builtin"
    # An imported model (flow.frontends.Origin: a QONNX/ONNX/.pt file or module:function) whose weights
    # (and, for a quantized file, types) the build keeps; None for a zoo or TOML model.
    origin: object = field(default=None, compare=False, repr=False)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def n_params(self) -> int:
        """Trainable parameters of the float model (BatchNorm: gamma and beta)."""
        n, width = 0, self.inputs
        for layer in self.layers:
            if layer.kind == "dense":
                n += width * layer.out + layer.out
                width = layer.out
            elif layer.kind == "batchnorm":
                n += 2 * width
        return n


_REGISTRY: dict[str, Callable[[], ModelSpec]] = {}


def parse_train_settings(raw: dict, where: str, base: TrainSettings | None = None) -> TrainSettings:
    base = base or TrainSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [train] must be a table")
    known = {f.name: f for f in fields(TrainSettings)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown [train] key {key!r}; known: {', '.join(known)}")
        want = type(getattr(base, key))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or isinstance(value, bool):
            raise ConfigError(f"{where}: [train] {key} must be {want.__name__}, got {value!r}")
        values[key] = value
    return replace(base, **values)


# Every key a model TOML may hold, at each level; anything else is refused (a typo must not build
# with the defaults).
MODEL_KEYS = ("name", "description", "inputs", "classes", "layers", "train", "quantization", "passes", "weights")
LAYER_KEYS = ("type", "name", "out")


def _check_keys(raw: dict, known: tuple[str, ...], where: str, what: str) -> None:
    unknown = [k for k in raw if k not in known]
    if unknown:
        raise ConfigError(f"{where}: unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")


def _positive_int(doc: dict, key: str, default: int, where: str) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: {key} must be a positive integer, got {value!r}")
    return value


def _parse_layers(raw: list, where: str, inputs: int, classes: int) -> tuple[LayerSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: needs a non-empty [[layers]] list")
    layers, counts, width = [], dict.fromkeys(LAYER_KINDS, 0), inputs
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: layer {i} must be a table ([[layers]] with type = ...)")
        _check_keys(entry, LAYER_KEYS, where, f"key in layer {i} ([[layers]])")
        kind = KIND_ALIASES.get(entry.get("type"), entry.get("type"))
        if kind not in LAYER_KINDS:
            raise ConfigError(f"{where}: layer {i} has type {kind!r}; types are {', '.join(LAYER_KINDS)}")
        counts[kind] += 1
        default_name = _DEFAULT_NAME[kind] + str(counts[kind])
        out = entry.get("out")
        if kind == "dense":
            if not isinstance(out, int) or out < 1:
                raise ConfigError(f"{where}: dense layer {i} needs out = <positive integer>")
            width = out
        elif out is not None:
            raise ConfigError(f"{where}: only dense layers take 'out' (layer {i})")
        if kind == "argmax" and i != len(raw) - 1:
            raise ConfigError(f"{where}: an argmax layer (the class decision) must be the last layer (layer {i})")
        layers.append(LayerSpec(kind, str(entry.get("name", default_name)), out))
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: layer names must be unique, got {names}")
    scores = layers[-2] if layers[-1].kind == "argmax" and len(layers) > 1 else layers[-1]
    if scores.kind != "dense" or width != classes:
        raise ConfigError(
            f"{where}: the network must end with a dense layer with out = classes ({classes}), optionally "
            "followed by argmax"
        )
    return tuple(layers)


def spec_from_toml(doc: dict, where: str) -> ModelSpec:
    _check_keys(doc, MODEL_KEYS, where, "top-level section or key")
    for key in ("name", "layers"):
        if key not in doc:
            raise ConfigError(f"{where}: missing {key!r}")
    if "passes" in doc:
        passes = doc["passes"]
        if not isinstance(passes, dict):
            raise ConfigError(f"{where}: [passes] must be a table ([passes.quantize])")
        _check_keys(passes, ("quantize",), where, "[passes] section")
    train = doc.get("train", {})
    inputs, classes = _positive_int(doc, "inputs", 16, where), _positive_int(doc, "classes", 5, where)
    spec = ModelSpec(
        name=str(doc["name"]),
        description=str(doc.get("description", "")),
        inputs=inputs,
        classes=classes,
        layers=_parse_layers(doc["layers"], where, inputs, classes),
        train=parse_train_settings(train, where),
        quant=parse_quant_config(doc, where),
        source=where,
    )
    check_names(spec.quant, spec.layer_names)
    return spec


def load_model_file(path: Path) -> ModelSpec:
    doc = read_toml(path)
    spec = spec_from_toml(doc, str(path))
    if "weights" in doc:  # a state_dict for this architecture (flow.frontends, docs/import.md)
        from flow.frontends import from_state_dict

        return replace(spec, origin=from_state_dict(spec, Path(path).parent / str(doc["weights"])))
    return spec


def spec_from_module(name: str, module, description: str = "") -> ModelSpec:
    """Describe an ``nn.Sequential`` of Linear/BatchNorm1d/ReLU (and a final ArgMaxHead) as a ModelSpec."""
    from torch import nn

    from flow.nn_layers import ArgMaxHead

    if not isinstance(module, nn.Sequential):
        raise ConfigError(f"model factory for {name!r} must return an nn.Sequential")
    layers, inputs = [], None
    kinds = {nn.Linear: "dense", nn.BatchNorm1d: "batchnorm", nn.ReLU: "relu", ArgMaxHead: "argmax"}
    for child_name, child in module.named_children():
        kind = kinds.get(type(child))
        if kind is None:
            raise ConfigError(
                f"model {name!r}: unsupported layer {type(child).__name__}; use Linear, BatchNorm1d, ReLU "
                "and a final flow.nn_layers.ArgMaxHead"
            )
        if kind == "dense" and inputs is None:
            inputs = child.in_features
        entry = {"type": kind, "name": child_name if not child_name.isdigit() else None}
        if kind == "dense":
            entry["out"] = child.out_features
        layers.append({k: v for k, v in entry.items() if v is not None})
    if layers and layers[0]["type"] == "batchnorm":
        inputs = module[0].num_features
    classes = next(c.out_features for c in reversed(module) if isinstance(c, nn.Linear))
    return spec_from_toml(
        {"name": name, "description": description, "inputs": inputs, "classes": classes, "layers": layers},
        f"factory {name}",
    )


def imported_spec(imp) -> ModelSpec:
    """The ModelSpec of a :class:`flow.frontends.Imported` model: its layers, and its origin kept."""
    spec = spec_from_module(imp.name, imp.module, imp.description)
    return replace(spec, source=imp.source, origin=imp.origin)


def register_model(name: str, factory: Callable[[], object], description: str = "") -> None:
    """Register an ``nn.Module`` factory (returning ``nn.Sequential``) under a zoo name."""
    _REGISTRY[name] = lambda: spec_from_module(name, factory(), description)


def builtin_models() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.toml"))}


def list_models() -> list[ModelSpec]:
    return [get_model(n) for n in sorted({*builtin_models(), *_REGISTRY})]


def get_model(ref: str) -> ModelSpec:
    """A zoo name, a path to a model TOML, or ``module:function`` returning an nn.Sequential."""
    if ref in _REGISTRY:
        return _REGISTRY[ref]()
    if ref in builtin_models():
        return replace(load_model_file(builtin_models()[ref]), source="builtin")
    if ref.endswith(".toml"):
        return load_model_file(Path(ref))
    if ref.endswith((".onnx", ".pt", ".pth")):  # QONNX, float ONNX, a saved nn.Sequential (flow.frontends)
        from flow.frontends import model_from_file

        return imported_spec(model_from_file(Path(ref)))
    if ":" in ref:
        mod_name, _, fn_name = ref.partition(":")
        try:
            fn = getattr(importlib.import_module(mod_name), fn_name)
        except (ImportError, AttributeError) as e:
            raise UnknownNameError(f"cannot load model factory {ref!r}: {e}") from None
        from flow.frontends import from_module  # its weights are used (--retrain trains from scratch)

        return imported_spec(from_module(fn(), fn_name.replace("_", "-"), ref))
    known = ", ".join(sorted({*builtin_models(), *_REGISTRY}))
    raise UnknownNameError(
        f"unknown model {ref!r}; known models: {known} (or a .toml, .onnx, .pt path, or module:function)"
    )
