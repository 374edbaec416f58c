"""Architecture as a swept variable: BatchNorm on/off, hidden widths and depth of a model.

A model is read as ``prefix`` (layers before the first Linear, e.g. jsc-tiny's input BatchNorm), ``hidden``
blocks (a Linear and what follows it up to the next Linear: BatchNorm, ReLU) and the output Linear (and an
optional ArgMax). :func:`apply_arch` rebuilds the hidden blocks:

* ``batchnorm``: ``True`` puts a BatchNorm after every hidden Linear (before its ReLU); ``False`` removes
  every BatchNorm (the input one too); ``None`` keeps the model's.
* ``width`` (text, as on the command line): ``32`` gives every hidden layer 32 units; ``x0.5`` scales the
  model's hidden widths (rounded, at least 1); ``64-32-32`` sets them layer by layer (and the depth).
* ``depth``: the number of hidden blocks; more than the model has repeats its last hidden width, fewer
  keeps the first ones.

Layers are renamed ``fc1, bn1, relu1, ...`` in order when anything changes, so quantization rules by
layer name must use those names (by-type rules, the zoo's, always fit).
"""

from __future__ import annotations

import re
from dataclasses import replace

from flow.config.zoo import LayerSpec, ModelSpec
from flow.errors import ConfigError

_DEFAULT_NAME = {"dense": "fc", "batchnorm": "bn", "relu": "relu", "argmax": "argmax"}
_LIST = re.compile(r"^\d+(-\d+)+$")
_SCALE = re.compile(r"^x(\d+(\.\d*)?|\.\d+)$")
MAX_WIDTH = 4096
MAX_DEPTH = 32


def parse_widths(text: str, name: str = "--width") -> tuple[str, ...]:
    """``8,16,32`` (every hidden layer), ``x0.5,x2`` (scale the model's), ``64-32-32`` (per layer)."""
    out: list[str] = []
    for item in (s.strip().lower() for s in str(text).split(",")):
        if not item:
            raise ConfigError(f"{name}: empty item in {text!r}")
        out.append(canonical_width(item, name))
    return tuple(dict.fromkeys(out))


def canonical_width(item: str, name: str = "--width") -> str:
    item = item.strip().lower()
    if item.isdigit() or _LIST.match(item):
        widths = [int(w) for w in item.split("-")]
        if not all(1 <= w <= MAX_WIDTH for w in widths):
            raise ConfigError(f"{name}: widths must be 1..{MAX_WIDTH}, got {item!r}")
        if len(widths) > MAX_DEPTH:
            raise ConfigError(f"{name}: at most {MAX_DEPTH} hidden layers, got {item!r}")
        return "-".join(map(str, widths))
    if _SCALE.match(item):
        f = float(item[1:])
        if not 0 < f <= 64:
            raise ConfigError(f"{name}: a scale factor must be above 0 and at most 64, got {item!r}")
        return f"x{f:g}"
    raise ConfigError(
        f"{name}: {item!r} is not a width; write 32 (every hidden layer), x0.5 (scale the model's) "
        "or 64-32-32 (one per hidden layer)"
    )


def parse_switch(text: str, name: str = "--batchnorm") -> tuple[bool, ...]:
    """``on,off`` (also yes/no, true/false, 1/0) as booleans, in order, unique."""
    words = {"on": True, "yes": True, "true": True, "1": True, "off": False, "no": False, "false": False, "0": False}
    out = []
    for item in (s.strip().lower() for s in str(text).split(",")):
        if item not in words:
            raise ConfigError(f"{name}: {item!r} is not on or off")
        out.append(words[item])
    return tuple(dict.fromkeys(out))


def _split(spec: ModelSpec) -> tuple[list[LayerSpec], list[list[LayerSpec]], list[LayerSpec]]:
    dense = [i for i, layer in enumerate(spec.layers) if layer.kind == "dense"]
    if not dense:
        raise ConfigError(f"{spec.name}: no dense layer to vary")
    prefix = list(spec.layers[: dense[0]])
    blocks = [list(spec.layers[a:b]) for a, b in zip(dense[:-1], dense[1:], strict=True)]
    return prefix, blocks, list(spec.layers[dense[-1] :])


def hidden_widths(spec: ModelSpec) -> tuple[int, ...]:
    """The ``out`` of every Linear but the output one."""
    _, blocks, _ = _split(spec)
    return tuple(b[0].out for b in blocks)


def apply_arch(
    spec: ModelSpec, batchnorm: bool | None = None, width: str | None = None, depth: int | None = None
) -> ModelSpec:
    """``spec`` with its hidden blocks rebuilt (see the module docstring); unchanged when all are ``None``."""
    if batchnorm is None and width is None and depth is None:
        return spec
    prefix, blocks, suffix = _split(spec)
    base = [b[0].out for b in blocks]
    if depth is not None and not 1 <= depth <= MAX_DEPTH:
        raise ConfigError(f"depth must be 1..{MAX_DEPTH} hidden layers, got {depth}")
    w = None if width is None else canonical_width(width)
    if w is not None and "-" in w:
        widths = [int(x) for x in w.split("-")]
        if depth is not None and depth != len(widths):
            raise ConfigError(f"width {w} lists {len(widths)} hidden layers but depth is {depth}")
    else:
        d = len(base) if depth is None else depth
        if w is None or w.startswith("x"):
            if not base and d:
                raise ConfigError(
                    f"{spec.name} has no hidden layer to repeat or scale; give widths (e.g. --width 16 or 16-16)"
                )
            widths = (base + base[-1:] * d)[:d]
            if w is not None:
                f = float(w[1:])
                widths = [max(1, round(x * f)) for x in widths]
        else:
            widths = [int(w)] * d
    template = [layer.kind for layer in blocks[0][1:]] if blocks else ["batchnorm", "relu"]
    if batchnorm is True and "batchnorm" not in template:
        template.insert(template.index("relu") if "relu" in template else 0, "batchnorm")
    if batchnorm is False:
        template = [k for k in template if k != "batchnorm"]
        prefix = [layer for layer in prefix if layer.kind != "batchnorm"]
    kinds = [(x.kind, None) for x in prefix]
    for n in widths:
        kinds += [("dense", n)] + [(k, None) for k in template]
    kinds += [(x.kind, x.out) for x in suffix]
    counts: dict[str, int] = {}
    layers = []
    for kind, out in kinds:
        counts[kind] = counts.get(kind, 0) + 1
        layers.append(LayerSpec(kind, f"{_DEFAULT_NAME[kind]}{counts[kind]}", out))
    return replace(spec, layers=tuple(layers), description=f"{spec.description} [{network_text(spec.inputs, layers)}]")


def network_text(inputs: int, layers) -> str:
    """``16-8-8-5 BN`` (widths of the Linears; BN when the network has a BatchNorm)."""
    widths = [str(inputs)] + [str(x.out) for x in layers if x.kind == "dense"]
    return "-".join(widths) + (" BN" if any(x.kind == "batchnorm" for x in layers) else "")
