"""Training settings of a study: the model's defaults, a ``--config`` file over them, options over both.

A study ``--config`` file has the sections of a ``flow build --config`` file that concern the network::

    [train]                  # any TrainSettings field
    epochs = 10
    batch_size = 256
    [quantization]           # or MASE's [passes.quantize]; layered over the model's own
    by = "type"
    linear = { weight = { width = 6 } }

A ``[build]`` section may be present (the same file can serve ``flow build``); studies ignore it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flow.config.quant import QuantConfig, check_names, load_quant_config, parse_quant_config, read_toml
from flow.config.zoo import ModelSpec, TrainSettings, parse_train_settings
from flow.errors import ConfigError

# The role a "weight bits" setting applies to, per layer kind that has weights.
WEIGHT_ROLE = {"dense": "weight", "batchnorm": "scale"}

OPTIMIZERS = ("adam", "adamw", "sgd")


def apply_study_config(path: Path, spec: ModelSpec) -> ModelSpec:
    """``spec`` with the file's ``[train]`` and quantization sections layered over it."""
    doc = read_toml(path)
    where = str(path)
    unknown = set(doc) - {"quantization", "passes", "train", "build"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown section(s) {sorted(unknown)}; use train, quantization (or MASE's passes.quantize)"
        )
    return with_quant(
        replace(spec, train=parse_train_settings(doc.get("train", {}), where, spec.train)),
        parse_quant_config(doc, where),
    )


def with_quant(spec: ModelSpec, config: QuantConfig) -> ModelSpec:
    """``config`` layered over the model's quantization; by-name rules must name real layers."""
    quant = spec.quant.merged_with(config)
    check_names(quant, spec.layer_names)
    return replace(spec, quant=quant)


def with_quant_file(spec: ModelSpec, path: Path) -> ModelSpec:
    """The quantization section of ``path`` layered over the model's (errors name the file)."""
    return with_quant(spec, load_quant_config(path))


def check_train(t: TrainSettings) -> TrainSettings:
    """Refuse settings that cannot train, with the option to fix."""
    if t.batch_size < 2:
        raise ConfigError(f"batch size must be at least 2 (BatchNorm needs two samples), got {t.batch_size}")
    if not t.lr > 0:
        raise ConfigError(f"learning rate must be positive, got {t.lr}")
    if t.epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {t.epochs}")
    if t.qat_epochs < 0:
        raise ConfigError(f"QAT epochs must be 0 (post-training quantization) or more, got {t.qat_epochs}")
    if t.optimizer.lower() not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {t.optimizer!r}; use {', '.join(OPTIMIZERS)}")
    return t


def with_train(spec: ModelSpec, **overrides) -> ModelSpec:
    """``spec`` with the given TrainSettings fields replaced (``None`` values are left alone), checked."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        train = replace(spec.train, **given)
    except TypeError as e:
        raise ConfigError(f"unknown training setting: {e}") from None
    return replace(spec, train=check_train(train))


def bit_width_config(spec: ModelSpec, weight_bits: int | None, act_bits: int | None) -> QuantConfig:
    """A by-name config forcing every layer's widths (fractional bits stay as configured, usually auto).

    ``weight_bits`` sets Linear weights and unfoldable-BatchNorm scales; ``act_bits`` sets the graph input
    and every layer's output (MASE's ``data_in`` / ``data_out``). Biases and shifts keep their widths.
    By-name rules win over the model's own type and default rules, so the widths hold for every layer.
    """
    for label, bits in (("weight", weight_bits), ("activation", act_bits)):
        if bits is not None and not 2 <= bits <= 32:
            raise ConfigError(f"{label} bit width must be 2..32, got {bits}")
    rules = []
    for layer in spec.layers:
        roles = []
        if weight_bits is not None and layer.kind in WEIGHT_ROLE:
            roles.append((WEIGHT_ROLE[layer.kind], {"width": weight_bits}))
        if act_bits is not None:
            roles.append(("output", {"width": act_bits}))
        if roles:
            rules.append((layer.name, tuple(roles)))
    graph_input = (("width", act_bits),) if act_bits is not None else ()
    return QuantConfig(name_rules=tuple(rules), graph_input=graph_input)
