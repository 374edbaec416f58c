"""A ``--config`` file for ``flow build``: overrides of the model's defaults, one TOML file.

[quantization]            # layered over the model TOML's [quantization], key by key
by = "name"
fc1 = { weight = { width = 6 } }
[train]                   # any TrainSettings field
epochs = 10
[build]
vectors = 20000           # test vectors for C-sim and RTL sim (default: all)
clock_mhz = 250.0         # target clock (default: the target's)
data = "my_jets.parquet"  # dataset file (default: the built-in data)
checkpoint = "runs/x/best.pt"
split_seed = 42
arithmetic = "shiftadd"   # or "dsp" (multipliers, DSP slices)
adder_levels = 5          # at most this many adder levels per pipeline stage (or:)
# latency = 8             # a budget of total cycles (the fewest adder levels per stage that meet it)
axis = false              # also write the AXI4-Stream top
allow_small_test = false  # certify on < 1,000 test vectors or one class (the report says so)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from flow.config.quant import check_names, parse_quant_config, read_toml
from flow.config.targets import Target
from flow.config.zoo import ModelSpec, parse_train_settings
from flow.errors import ConfigError
from flow.options import BuildOptions

_BUILD_KEYS = {
    "vectors": int,
    "clock_mhz": (int, float),
    "data": str,
    "checkpoint": str,
    "split_seed": int,
    "arithmetic": str,
    "adder_levels": int,
    "latency": int,
    "axis": bool,
    "allow_small_test": bool,
}


@dataclass(frozen=True)
class BuildInputs:
    model: ModelSpec
    target: Target
    options: BuildOptions


def apply_config(path: Path, model: ModelSpec, target: Target, options: BuildOptions) -> BuildInputs:
    """Layer the file's sections over the model, target and options."""
    doc = read_toml(path)
    where = str(path)
    unknown = set(doc) - {"quantization", "passes", "train", "build"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)}; use quantization, train, build")
    for section in ("quantization", "passes", "train", "build"):
        if section in doc and not isinstance(doc[section], dict):
            raise ConfigError(f"{where}: {section} must be a section ([{section}]), got {doc[section]!r}")
    if set(doc.get("passes", {})) - {"quantize"}:
        extra = sorted(set(doc["passes"]) - {"quantize"})
        raise ConfigError(f"{where}: unknown [passes] section(s) {extra}; only [passes.quantize] is read")
    quant = model.quant.merged_with(parse_quant_config(doc, where))
    check_names(quant, model.layer_names)
    model = replace(model, quant=quant, train=parse_train_settings(doc.get("train", {}), where, model.train))
    build = doc.get("build", {})
    for key, value in build.items():
        want = _BUILD_KEYS.get(key)
        if want is None:
            raise ConfigError(f"{where}: unknown [build] key {key!r}; known: {', '.join(_BUILD_KEYS)}")
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ConfigError(f"{where}: [build] {key} has the wrong type: {value!r}")
    if "clock_mhz" in build:
        if build["clock_mhz"] <= 0:
            raise ConfigError(f"{where}: [build] clock_mhz must be positive")
        target = target.with_clock(float(build["clock_mhz"]))
    if build.get("vectors", 1) < 1:
        raise ConfigError(f"{where}: [build] vectors must be at least 1")
    base = path.parent
    options = replace(
        options,
        vectors=build.get("vectors", options.vectors),
        data=(base / build["data"]) if "data" in build else options.data,
        checkpoint=(base / build["checkpoint"]) if "checkpoint" in build else options.checkpoint,
        split_seed=build.get("split_seed", options.split_seed),
        arithmetic=build.get("arithmetic", options.arithmetic),
        adder_levels=build.get("adder_levels", options.adder_levels),
        latency=build.get("latency", options.latency),
        axis=options.axis or build.get("axis", False),
        allow_small_test=options.allow_small_test or build.get("allow_small_test", False),
    )
    return BuildInputs(model, target, options)
