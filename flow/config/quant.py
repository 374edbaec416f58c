"""Per-layer precision configuration: parse TOML (our form or MASE's), resolve per layer.

Our form (in a model TOML or a ``--config`` file)::

    [quantization]
    by = "type"                      # or "name": section keys are layer types or layer names
    input = { width = 12, frac = "auto" }
    [quantization.default]           # every layer
    output = { width = 16, frac = "auto", rounding = "RND", overflow = "SAT" }
    [quantization.dense]             # by = "type": dense (or "linear") | relu | batchnorm
    weight = { width = 8, frac = "auto" }
    bias = { width = 16 }

MASE's form is accepted too::

    [passes.quantize]
    by = "type"
    [passes.quantize.default.config]
    name = "integer"
    data_in_width = 8
    data_in_frac_width = 4
    weight_width = 8
    weight_frac_width = 4
    bias_width = 8
    bias_frac_width = 4

``data_in`` sets the type *entering* a layer (the graph input for the first layer, otherwise the
producing layer's output when that has no explicit ``output``).

Roles: ``input`` (graph or layer input), ``weight``, ``bias`` (dense), ``scale``, ``shift``
(an unfoldable BatchNorm), ``output`` (every layer). Keys of a type spec: ``width`` (bits, with sign),
``frac`` (int or ``"auto"``: chosen from the observed range so the largest magnitude fits),
``signed`` (default: unsigned for ReLU outputs), ``rounding`` (TRN | RND), ``overflow`` (WRAP | SAT).
Resolution order, later wins key by key: built-in defaults < ``default`` < the layer's type or name.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, Overflow, Rounding

LAYER_TYPES = ("dense", "relu", "batchnorm")  # argmax has no types to set: it writes a class index
TYPE_ALIASES = {"linear": "dense"}  # PyTorch's and MASE's name for a dense layer, accepted in files
ROLES = ("input", "weight", "bias", "scale", "shift", "output")
_SPEC_KEYS = {"width", "frac", "signed", "rounding", "overflow"}
# mode = "learned" (trained per-weight bit widths, flow.quantize.learned; docs/explore.md): the keys of its
# [quantization.learned] table and their types; the defaults live in flow.quantize.learned.settings.
MODES = ("uniform", "learned")
LEARNED_KEYS: dict[str, type | tuple[type, ...]] = {
    "beta": (int, float),
    "epochs": int,
    "warmup_epochs": int,
    "ramp_epochs": int,
    "finetune_epochs": int,
    "batch_size": int,
    "lr": (int, float),
    "finetune_lr": (int, float),
    "init_weight_bits": int,
    "init_act_bits": int,
    "lut_budget": (int, float),
    "select": str,
    "seed": int,
    "input_granularity": str,
    "activation_granularity": str,
}


@dataclass(frozen=True)
class TypeSpec:
    """A FixedType whose ``frac`` (``None`` = auto) or ``signed`` (``None`` = by role) may be open."""

    width: int
    frac: int | None = None
    signed: bool | None = None
    rounding: Rounding = Rounding.RND
    overflow: Overflow = Overflow.SAT

    def resolve(self, max_abs: float, *, signed_default: bool = True) -> FixedType:
        """Fix ``frac`` so that ``max_abs`` fits: integer bits = ceil(log2(max_abs)) (+1 sign bit)."""
        signed = signed_default if self.signed is None else self.signed
        frac = self.frac
        if frac is None:
            int_bits = 0 if max_abs <= 0 else math.ceil(math.log2(max_abs * (1 + 2**-20)))
            frac = self.width - int_bits - (1 if signed else 0)
        return FixedType(self.width, frac, signed, self.rounding, self.overflow)

    def describe(self) -> str:
        frac = "auto" if self.frac is None else str(self.frac)
        sign = {None: "", True: "", False: "u"}[self.signed]
        return f"{sign}fixed<{self.width},{frac}> {self.rounding}/{self.overflow}"


@dataclass(frozen=True)
class LayerQuant:
    """The type of each role of one layer (``None``: not set at this level)."""

    input: TypeSpec | None = None
    weight: TypeSpec | None = None
    bias: TypeSpec | None = None
    scale: TypeSpec | None = None
    shift: TypeSpec | None = None
    output: TypeSpec | None = None


Roles = tuple[tuple[str, dict], ...]  # (role, raw TOML keys) pairs, validated at parse time


@dataclass(frozen=True)
class QuantConfig:
    """Parsed precision rules. Type rules key layer types, name rules key layer names."""

    default: Roles = ()
    type_rules: tuple[tuple[str, Roles], ...] = ()
    name_rules: tuple[tuple[str, Roles], ...] = ()
    graph_input: Roles = ()
    mode_set: str | None = None  # "uniform" | "learned"; None: not set here (uniform)
    learned: tuple[tuple[str, object], ...] = ()  # [quantization.learned] keys (LEARNED_KEYS)

    @property
    def mode(self) -> str:
        return self.mode_set or "uniform"

    def merged_with(self, other: QuantConfig) -> QuantConfig:
        """``other`` layered over ``self`` (a ``--config`` file over the model TOML), key by key."""
        return QuantConfig(
            default=_merge_roles(self.default, other.default),
            type_rules=_merge_rules(self.type_rules, other.type_rules),
            name_rules=_merge_rules(self.name_rules, other.name_rules),
            graph_input=tuple({**dict(self.graph_input), **dict(other.graph_input)}.items()),
            mode_set=other.mode_set or self.mode_set,
            learned=tuple({**dict(self.learned), **dict(other.learned)}.items()),
        )


# Built-in defaults per layer type and role (before `default` and per-layer rules).
BUILTIN: dict[str, dict[str, dict]] = {
    "dense": {
        "weight": {"width": 8, "frac": None, "rounding": "RND", "overflow": "SAT"},
        "bias": {"width": 16, "frac": None, "rounding": "RND", "overflow": "SAT"},
        "output": {"width": 16, "frac": None, "rounding": "RND", "overflow": "SAT"},
    },
    "relu": {"output": {"width": 12, "frac": None, "signed": False, "rounding": "RND", "overflow": "SAT"}},
    "batchnorm": {
        "scale": {"width": 12, "frac": None, "rounding": "RND", "overflow": "SAT"},
        "shift": {"width": 16, "frac": None, "rounding": "RND", "overflow": "SAT"},
        "output": {"width": 16, "frac": None, "rounding": "RND", "overflow": "SAT"},
    },
}
BUILTIN_INPUT = {"width": 12, "frac": None, "rounding": "RND", "overflow": "SAT"}


def _merge_roles(a: tuple, b: tuple) -> tuple:
    out = dict(a)
    for role, spec in b:
        out[role] = {**out.get(role, {}), **spec}
    return tuple(out.items())


def make_spec(raw: dict, where: str) -> TypeSpec:
    """Build a TypeSpec from TOML keys, with a message naming ``where`` on any error."""
    unknown = set(raw) - _SPEC_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}")
    if "width" not in raw:
        raise ConfigError(f"{where}: missing 'width'")
    width, frac = raw["width"], raw.get("frac")
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ConfigError(f"{where}: width must be a positive integer, got {width!r}")
    if frac == "auto":
        frac = None
    if frac is not None and (not isinstance(frac, int) or isinstance(frac, bool)):
        raise ConfigError(f'{where}: frac must be an integer or "auto", got {frac!r}')
    try:
        rounding = Rounding(str(raw.get("rounding", "RND")).upper())
        overflow = Overflow(str(raw.get("overflow", "SAT")).upper())
    except ValueError as e:
        raise ConfigError(f"{where}: {e}; rounding is TRN|RND, overflow is WRAP|SAT") from None
    signed = raw.get("signed")
    if signed is not None and not isinstance(signed, bool):
        raise ConfigError(f"{where}: signed must be true or false")
    spec = TypeSpec(width, frac, signed, rounding, overflow)
    try:  # validate the width now, with a placeholder frac when auto
        spec.resolve(1.0, signed_default=True if signed is None else signed)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return spec


def _merge_rules(a: tuple, b: tuple) -> tuple:
    out = dict(a)
    for key, roles in b:
        out[key] = _merge_roles(out.get(key, ()), roles)
    return tuple(out.items())


def _parse_roles(section: dict, where: str) -> tuple[tuple[str, dict], ...]:
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a table of roles ({', '.join(ROLES)})")
    out = []
    for role, raw in section.items():
        if role not in ROLES:
            raise ConfigError(f"{where}: unknown role {role!r}; roles are {', '.join(ROLES)}")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}.{role}: expected a table like {{ width = 8, frac = 4 }}")
        make_spec(raw, f"{where}.{role}")  # validate eagerly
        out.append((role, dict(raw)))
    return tuple(out)


_MASE_ROLES = (("data_in", "input"), ("weight", "weight"), ("bias", "bias"), ("data_out", "output"))
MASE_KEYS = ("name", *(f"{m}_{suffix}" for m, _ in _MASE_ROLES for suffix in ("width", "frac_width")))


def _parse_mase_roles(section: dict, where: str) -> tuple[tuple[str, dict], ...]:
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a table (with a [...config] table of {', '.join(MASE_KEYS)})")
    if "config" in section:
        others = sorted(set(section) - {"config"})
        if others:
            raise ConfigError(f"{where}: unknown key(s) {others} beside 'config'")
        cfg = section["config"]
        if not isinstance(cfg, dict):
            raise ConfigError(f"{where}.config: expected a table of {', '.join(MASE_KEYS)}")
    else:
        cfg = section
    unknown = sorted(set(cfg) - set(MASE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown MASE key(s) {unknown}; known: {', '.join(MASE_KEYS)}")
    name = cfg.get("name", "integer")
    if name not in ("integer", "fixed"):
        raise ConfigError(f"{where}: only integer (fixed-point) quantization is supported, got {name!r}")
    roles = []
    for mase, role in _MASE_ROLES:
        if f"{mase}_width" in cfg:
            raw = {"width": cfg[f"{mase}_width"], "frac": cfg.get(f"{mase}_frac_width", "auto")}
            make_spec(raw, f"{where}.{mase}")
            roles.append((role, raw))
        elif f"{mase}_frac_width" in cfg:
            raise ConfigError(f"{where}: {mase}_frac_width needs {mase}_width")
    return tuple(roles)


def _parse_learned(value, where: str) -> tuple[tuple[str, object], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table like {{ beta = 5e-6, epochs = 300 }}")
    for key, v in value.items():
        want = LEARNED_KEYS.get(key)
        if want is None:
            raise ConfigError(f"{where}: unknown key {key!r}; known: {', '.join(LEARNED_KEYS)}")
        if not isinstance(v, want) or isinstance(v, bool):
            raise ConfigError(f"{where}: {key} has the wrong type: {v!r}")
    return tuple(value.items())


def parse_quant_config(doc: dict, where: str = "config") -> QuantConfig:
    """Parse ``[quantization]`` (ours) or ``[passes.quantize]`` (MASE's) from a TOML document."""
    passes = doc.get("passes", {})
    mase_form = isinstance(passes, dict) and "quantize" in passes
    if "quantization" in doc and mase_form:
        raise ConfigError(f"{where}: both [quantization] and [passes.quantize]; use one")
    if "quantization" in doc:
        sec, mase, where = doc["quantization"], False, f"{where}: [quantization]"
    elif mase_form:
        sec, mase, where = passes["quantize"], True, f"{where}: [passes.quantize]"
    else:
        return QuantConfig()
    if not isinstance(sec, dict):
        raise ConfigError(f"{where}: expected a table")
    by = sec.get("by", "type")
    if by not in ("type", "name"):
        raise ConfigError(f'{where}: by must be "type" or "name", got {by!r}')
    parse = _parse_mase_roles if mase else _parse_roles
    default, rules, graph_input = (), [], ()
    mode, learned = None, ()
    for key, value in sec.items():
        if key == "by":
            continue
        if key == "mode" and not mase:
            if value not in MODES:
                raise ConfigError(f"{where}: mode must be one of {', '.join(MODES)}, got {value!r}")
            mode = value
            continue
        if key == "learned" and not mase:
            learned = _parse_learned(value, f"{where}.learned")
            continue
        if key == "input" and not mase:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.input: expected a table like {{ width = 12, frac = 7 }}")
            make_spec({**BUILTIN_INPUT, **value}, f"{where}.input")
            graph_input = tuple(value.items())
        elif key == "default":
            default = parse(value, f"{where}.default")
        else:
            if by == "type":
                key = TYPE_ALIASES.get(key, key)
            if by == "type" and key not in LAYER_TYPES:
                raise ConfigError(
                    f"{where}: unknown layer type {key!r}; types are {', '.join(LAYER_TYPES)}"
                    ' (use by = "name" for layer names)'
                )
            rules.append((key, parse(value, f"{where}.{key}")))
    if by == "type":
        return QuantConfig(default, tuple(rules), (), graph_input, mode, learned)
    return QuantConfig(default, (), tuple(rules), graph_input, mode, learned)


def load_quant_config(path: Path) -> QuantConfig:
    """Read a TOML file and parse its quantization section."""
    return parse_quant_config(read_toml(path), str(path))


def read_toml(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def check_names(config: QuantConfig, layer_names: tuple[str, ...]) -> None:
    """By-name rules must name real layers."""
    for key, _ in config.name_rules:
        if key not in layer_names:
            raise ConfigError(f"quantization rule for unknown layer {key!r}; layers are {', '.join(layer_names)}")


def layer_quant(config: QuantConfig, name: str, kind: str) -> LayerQuant:
    """Resolve every role of one layer: built-in < default < type rule < name rule."""
    merged: dict[str, dict] = {role: dict(raw) for role, raw in BUILTIN.get(kind, {}).items()}
    for roles in (config.default, dict(config.type_rules).get(kind, ()), dict(config.name_rules).get(name, ())):
        for role, raw in roles:
            merged[role] = {**merged.get(role, {}), **raw}
    specs = {
        role: make_spec(raw, f"layer {name!r} {role}")
        for role, raw in merged.items()
        if role in {f.name for f in fields(LayerQuant)}
    }
    return LayerQuant(**specs)


def user_roles(config: QuantConfig, name: str, kind: str) -> frozenset[str]:
    """Roles of one layer that the configuration sets (not just the built-in defaults)."""
    sections = (config.default, dict(config.type_rules).get(kind, ()), dict(config.name_rules).get(name, ()))
    return frozenset(role for roles in sections for role, _ in roles)


def graph_input_spec(config: QuantConfig) -> TypeSpec:
    raw = {**BUILTIN_INPUT, **dict(config.graph_input)}
    return make_spec(raw, "quantization.input")
