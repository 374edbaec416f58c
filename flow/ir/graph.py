"""The quantized graph: typed layers with integer weights, shared by every back end.

A :class:`QuantGraph` is a chain of layers. Each layer reads codes of ``in_type`` and writes codes
of ``out_type``; the next layer's ``in_type`` is this layer's ``out_type``. Weights and biases are
integer codes (int64 numpy arrays) of their own :class:`~flow.ir.fixed.FixedType`.

Arithmetic of each layer (the integer reference in :mod:`flow.ir.reference` implements it):

* :class:`Dense`: ``acc[o] = sum_i x[i] * w[o, i] + (b[o] << (fx + fw - fb))`` with
  ``frac(acc) = fx + fw``, wrapped into ``accum_type`` (WRAP, so the order of additions does not
  matter), then ``out = requantize(acc, fx + fw, out_type)``.
* :class:`ReLU`: ``out = requantize(max(x, 0), fx, out_type)``.
* :class:`ScaleShift` (a BatchNorm that cannot be folded): ``y[i] = x[i] * s[i] +
  (t[i] << (fx + fs - ft))`` at full precision, then ``out = requantize(y, fx + fs, out_type)``.
* :class:`ArgMax` (the trigger decision): ``out = min{i : x[i] = max_j x[j]}``, the index of the
  first maximum as an unsigned integer code (``frac = 0``) of ``ceil(log2(n))`` bits.

The graph's input is one container type ``input_type`` for every feature, or, when ``input_types`` is
given, one type per feature (learned per-feature widths): feature ``i`` is quantized to ``input_types[i]``
and enters the graph as the container code ``c_i << (input_type.frac - input_types[i].frac)``, which is
exact because each feature type fits inside the container (:mod:`flow.ir.features`). Every layer computes
on container codes, so the per-feature types change only the input quantizer and the RTL's input port.

Each kind has one vocabulary name, its ``kind`` attribute (``dense``, ``relu``, ``scaleshift``,
``argmax``), used in graph files, reports, templates and configuration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, Overflow, bits_for_range


def _codes_fit(name: str, what: str, codes: np.ndarray, t: FixedType) -> None:
    if codes.size and (codes.min() < t.min_code or codes.max() > t.max_code):
        raise ConfigError(f"layer {name!r}: {what} codes do not fit {t.describe()}")


@dataclass(frozen=True, eq=False)
class Dense:
    """Fully connected layer, ``weight`` codes shaped ``[n_out, n_in]``, ``bias`` codes ``[n_out]``."""

    name: str
    in_type: FixedType
    weight_type: FixedType
    bias_type: FixedType
    accum_type: FixedType
    out_type: FixedType
    weight: np.ndarray = field(repr=False)
    bias: np.ndarray = field(repr=False)

    kind = "dense"

    def __post_init__(self) -> None:
        if self.accum_type.frac != self.product_frac:
            raise ConfigError(
                f"layer {self.name!r}: accumulator frac must be input frac + weight frac = "
                f"{self.product_frac}, got {self.accum_type.frac}"
            )
        if self.accum_type.overflow is not Overflow.WRAP:
            raise ConfigError(f"layer {self.name!r}: the accumulator must WRAP (sum order must not matter)")
        if self.bias_type.frac > self.product_frac:
            raise ConfigError(
                f"layer {self.name!r}: bias frac {self.bias_type.frac} exceeds the product frac "
                f"{self.product_frac}; the bias could not be added exactly"
            )
        _codes_fit(self.name, "weight", self.weight, self.weight_type)
        _codes_fit(self.name, "bias", self.bias, self.bias_type)

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def product_frac(self) -> int:
        return self.in_type.frac + self.weight_type.frac

    @property
    def bias_shift(self) -> int:
        """Left shift that aligns bias codes to the accumulator's LSB."""
        return self.product_frac - self.bias_type.frac

    @property
    def n_params(self) -> int:
        return int(self.weight.size + self.bias.size)


@dataclass(frozen=True, eq=False)
class ReLU:
    """``max(x, 0)`` then requantize to ``out_type``."""

    name: str
    in_type: FixedType
    out_type: FixedType
    n: int

    kind = "relu"

    @property
    def n_in(self) -> int:
        return self.n

    @property
    def n_out(self) -> int:
        return self.n

    @property
    def n_params(self) -> int:
        return 0


@dataclass(frozen=True, eq=False)
class ScaleShift:
    """Per-feature ``x * scale + shift``: the hardware form of a BatchNorm that cannot be folded."""

    name: str
    in_type: FixedType
    scale_type: FixedType
    shift_type: FixedType
    out_type: FixedType
    scale: np.ndarray = field(repr=False)
    shift: np.ndarray = field(repr=False)

    kind = "scaleshift"

    def __post_init__(self) -> None:
        if self.shift_type.frac > self.product_frac:
            raise ConfigError(
                f"layer {self.name!r}: shift frac {self.shift_type.frac} exceeds the product frac "
                f"{self.product_frac}; the shift could not be added exactly"
            )
        _codes_fit(self.name, "scale", self.scale, self.scale_type)
        _codes_fit(self.name, "shift", self.shift, self.shift_type)

    @property
    def n(self) -> int:
        return int(self.scale.shape[0])

    @property
    def n_in(self) -> int:
        return self.n

    @property
    def n_out(self) -> int:
        return self.n

    @property
    def product_frac(self) -> int:
        return self.in_type.frac + self.scale_type.frac

    @property
    def shift_shift(self) -> int:
        """Left shift that aligns shift codes to the product's LSB."""
        return self.product_frac - self.shift_type.frac

    @property
    def n_params(self) -> int:
        return int(self.scale.size + self.shift.size)


@dataclass(frozen=True, eq=False)
class ArgMax:
    """Index of the first maximum of ``n`` codes: one unsigned integer code of ``out_type``."""

    name: str
    in_type: FixedType
    out_type: FixedType
    n: int

    kind = "argmax"

    def __post_init__(self) -> None:
        need = index_type(self.n)
        if self.out_type.signed or self.out_type.frac != 0 or self.out_type.width < need.width:
            raise ConfigError(
                f"layer {self.name!r}: an argmax of {self.n} values writes {need.describe()} "
                f"(or wider, unsigned, frac 0), got {self.out_type.describe()}"
            )

    @property
    def n_in(self) -> int:
        return self.n

    @property
    def n_out(self) -> int:
        return 1

    @property
    def n_params(self) -> int:
        return 0


def index_type(n: int) -> FixedType:
    """The unsigned integer type of a class index in ``0..n-1`` (at least 1 bit)."""
    return FixedType(bits_for_range(0, max(n - 1, 1), signed=False), 0, False, "TRN", "WRAP")


Layer = Dense | ReLU | ScaleShift | ArgMax
LAYER_CLASSES: tuple[type, ...] = (Dense, ReLU, ScaleShift, ArgMax)


def exact_accum_type(
    in_type: FixedType, weight: np.ndarray, weight_type: FixedType, bias: np.ndarray, bias_type: FixedType
) -> FixedType:
    """The narrowest WRAP accumulator that holds every possible sum exactly.

    Bound: for each output, ``sum_i max(|x_min * w|, |x_max * w|)`` plus ``|b << shift|``; the
    width is the fewest signed bits holding ``[-bound, bound]``, so wrapping never happens.
    """
    frac = in_type.frac + weight_type.frac
    shift = frac - bias_type.frac
    w = weight.astype(object)
    lo_x, hi_x = in_type.min_code, in_type.max_code
    hi = lo = 0
    for o in range(weight.shape[0]):
        pos = sum(max(lo_x * int(v), hi_x * int(v)) for v in w[o])
        neg = sum(min(lo_x * int(v), hi_x * int(v)) for v in w[o])
        b = int(bias[o]) << shift
        hi, lo = max(hi, pos + b), min(lo, neg + b)
    return FixedType(bits_for_range(lo, hi, signed=True), frac, True, "TRN", "WRAP")


def _check_feature_types(types: tuple[FixedType, ...], container: FixedType, n_in: int) -> None:
    """Every per-feature type must be representable exactly in the container: no more fractional bits,
    and its code range, shifted onto the container's LSB, inside the container's code range."""
    if len(types) != n_in:
        raise ConfigError(f"graph input: {len(types)} per-feature types for {n_in} features")
    for i, t in enumerate(types):
        s = container.frac - t.frac
        if s < 0 or (t.min_code << s) < container.min_code or (t.max_code << s) > container.max_code:
            raise ConfigError(
                f"graph input: feature {i}'s type {t.describe()} does not fit the container {container.describe()}"
            )


@dataclass(frozen=True, eq=False)
class QuantGraph:
    """A quantized network: input type, a chain of layers, and what the outputs mean."""

    name: str
    input_type: FixedType
    layers: tuple[Layer, ...]
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    # Standardization applied to raw features before input quantization: (x - mean) / std.
    input_mean: np.ndarray = field(repr=False)
    input_std: np.ndarray = field(repr=False)
    # One type per input feature, each inside ``input_type`` (empty: every feature is ``input_type``).
    input_types: tuple[FixedType, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_types", tuple(self.input_types))
        if self.input_types:
            _check_feature_types(self.input_types, self.input_type, self.layers[0].n_in if self.layers else 0)
        prev = self.input_type
        for layer in self.layers:
            if layer.in_type != prev:
                raise ConfigError(
                    f"layer {layer.name!r} reads {layer.in_type.describe()} but its input is {prev.describe()}"
                )
            prev = layer.out_type
        for a, b in zip(self.layers[:-1], self.layers[1:], strict=True):
            if a.n_out != b.n_in:
                raise ConfigError(f"layer {b.name!r} reads {b.n_in} values but {a.name!r} writes {a.n_out}")

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def output_type(self) -> FixedType:
        return self.layers[-1].out_type

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    # -- serialization -------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(graph_to_dict(self), indent=1)

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> QuantGraph:
        return graph_from_dict(json.loads(Path(path).read_text()))


def precision_rows(graph: QuantGraph) -> list[dict]:
    """One row per layer with every FixedType it uses (``describe()`` text), for reports."""
    out = graph.input_type.describe()
    if graph.input_types:
        out += " (per feature: " + ", ".join(t.describe() for t in graph.input_types) + ")"
    rows = [{"layer": "input", "kind": "input", "out": out}]
    for layer in graph.layers:
        row = {"layer": layer.name, "kind": layer.kind, "in": layer.in_type.describe()}
        for role in ("weight_type", "bias_type", "accum_type", "scale_type", "shift_type"):
            if hasattr(layer, role):
                row[role.removesuffix("_type")] = getattr(layer, role).describe()
        row["out"] = layer.out_type.describe()
        rows.append(row)
    return rows


@dataclass(frozen=True)
class _Fields:
    """How a layer kind is written to and read from a graph file."""

    types: tuple[str, ...]  # FixedType fields
    arrays: tuple[str, ...] = ()  # int64 code arrays
    ints: tuple[str, ...] = ()  # plain integers


_FIELDS: dict[type, _Fields] = {
    Dense: _Fields(("in_type", "weight_type", "bias_type", "accum_type", "out_type"), ("weight", "bias")),
    ReLU: _Fields(("in_type", "out_type"), ints=("n",)),
    ScaleShift: _Fields(("in_type", "scale_type", "shift_type", "out_type"), ("scale", "shift")),
    ArgMax: _Fields(("in_type", "out_type"), ints=("n",)),
}
_BY_KIND = {cls.kind: cls for cls in _FIELDS}


def layer_arrays(layer: Layer) -> dict[str, np.ndarray]:
    """The constant code arrays of a layer by role (``{"weight": ..., "bias": ...}`` for a Dense)."""
    return {k: getattr(layer, k) for k in _FIELDS[type(layer)].arrays}


def _layer_to_dict(layer: Layer) -> dict:
    f = _FIELDS[type(layer)]
    d: dict = {"kind": layer.kind, "name": layer.name}
    d.update({k: getattr(layer, k).to_dict() for k in f.types})
    d.update({k: getattr(layer, k).tolist() for k in f.arrays})
    d.update({k: int(getattr(layer, k)) for k in f.ints})
    return d


def _layer_from_dict(d: dict) -> Layer:
    cls = _BY_KIND.get(d.get("kind"))
    if cls is None:
        raise ConfigError(f"graph file: unknown layer kind {d.get('kind')!r}; kinds are {', '.join(_BY_KIND)}")
    f = _FIELDS[cls]
    kwargs: dict = {"name": d["name"]}
    kwargs.update({k: FixedType.from_dict(d[k]) for k in f.types})
    kwargs.update({k: np.asarray(d[k], dtype=np.int64) for k in f.arrays})
    kwargs.update({k: int(d[k]) for k in f.ints})
    return cls(**kwargs)


def graph_to_dict(g: QuantGraph) -> dict:
    per_feature = {"input_types": [t.to_dict() for t in g.input_types]} if g.input_types else {}
    return {
        "name": g.name,
        "input_type": g.input_type.to_dict(),
        **per_feature,
        "layers": [_layer_to_dict(layer) for layer in g.layers],
        "class_names": list(g.class_names),
        "feature_names": list(g.feature_names),
        "input_mean": [float(v) for v in g.input_mean],
        "input_std": [float(v) for v in g.input_std],
    }


def graph_from_dict(d: dict) -> QuantGraph:
    return QuantGraph(
        name=d["name"],
        input_type=FixedType.from_dict(d["input_type"]),
        layers=tuple(_layer_from_dict(x) for x in d["layers"]),
        class_names=tuple(d["class_names"]),
        feature_names=tuple(d["feature_names"]),
        input_mean=np.asarray(d["input_mean"], dtype=np.float64),
        input_std=np.asarray(d["input_std"], dtype=np.float64),
        input_types=tuple(FixedType.from_dict(t) for t in d.get("input_types", ())),
    )
