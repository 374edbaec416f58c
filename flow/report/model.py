"""The typed design-review report: frozen dataclasses, and their JSON form.

Every number is optional: ``None`` means the stage that measures it did not run or did not record it
(rendered "n/a" or "not run"); the report never invents a value. :func:`to_dict` / :func:`from_dict`
convert to and from the ``report.json`` form (unknown keys are ignored, missing ones take defaults, so
older and newer reports still load).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

SCHEMA = 1

# Verdicts of the bit-exactness review.
PASS, FAIL, INCOMPLETE = "pass", "fail", "incomplete"
# Stage states.
RAN, NOT_RUN, SKIPPED = "ran", "not run", "skipped"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str = ""
    architecture: str = ""  # e.g. "16 -> 64 -> 32 -> 32 -> 5"
    layers: tuple[str, ...] = ()  # e.g. ("linear fc1 (64)", "batchnorm bn1", "relu relu1", ...)
    float_params: int | None = None  # trainable parameters of the float model
    quantized_params: int | None = None  # integer weights after BatchNorm folding


@dataclass(frozen=True)
class TargetInfo:
    name: str
    part: str = ""
    clock_mhz: float | None = None
    clock_ns: float | None = None
    luts: int | None = None
    ffs: int | None = None
    dsps: int | None = None
    brams: int | None = None


@dataclass(frozen=True)
class Setting:
    group: str  # "training", "build", "target"
    name: str
    value: str


@dataclass(frozen=True)
class DataInfo:
    source: str | None = None
    jets: int | None = None
    split_seed: int | None = None
    train: int | None = None
    val: int | None = None
    test: int | None = None
    class_counts: dict[str, int] = field(default_factory=dict)
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainingInfo:
    epochs: int | None = None
    qat_epochs: int | None = None
    best_val_accuracy: float | None = None
    best_qat_val_accuracy: float | None = None
    samples_per_s: float | None = None
    checkpoint: str | None = None
    # An imported model (flow.frontends): the source, "kept" or "retrained", the source module's own test
    # accuracy, flow's float accuracy on the kept weights, the import's notes.
    source: str | None = None
    source_kind: str | None = None
    weights: str | None = None
    source_float_accuracy: float | None = None
    float_accuracy: float | None = None
    import_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrecisionRow:
    """One layer's fixed-point types, each in the form ``fixed<W,F> RND/SAT`` (``None``: no such role)."""

    layer: str
    kind: str
    input: str | None = None
    weight: str | None = None
    bias: str | None = None
    accum: str | None = None
    scale: str | None = None
    shift: str | None = None
    out: str | None = None


@dataclass(frozen=True)
class ModeUse:
    """Where one rounding/overflow mode (e.g. ``RND/SAT``) is used: ``("input", "fc1.out", ...)``."""

    mode: str
    uses: tuple[str, ...]


@dataclass(frozen=True)
class Accuracy:
    """Test accuracy of one implementation. For the bit-exact ones (hls4ml C-sim, RTL) ``reference`` is
    the integer reference's accuracy on the same vectors and ``identical`` whether the two are equal."""

    key: str  # "float", "reference", "hls4ml", "sim"
    name: str
    stage: str  # the stage that recorded it
    status: str  # RAN / NOT_RUN / SKIPPED
    value: float | None = None
    vectors: int | None = None
    reference: float | None = None
    identical: bool | None = None


@dataclass(frozen=True)
class Check:
    """A bit-for-bit comparison against the integer reference (or another pass/fail check)."""

    name: str
    stage: str
    status: str  # PASS / FAIL / NOT_RUN / SKIPPED / "n/a"
    vectors: int | None = None
    mismatches: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class CoverageRow:
    """One requantizing layer's coverage on the simulated vectors (test + corner): neurons whose output
    went above (``hi``) / below (``lo``) its range, out of those where it is possible at all and those the
    corner search reached; neurons with a positive / negative RND tie; event counts."""

    layer: str
    kind: str
    mode: str  # e.g. "RND/SAT"
    neurons: int
    hi_hit: int = 0
    hi_possible: int = 0
    hi_reachable: int = 0
    lo_hit: int = 0
    lo_possible: int = 0
    lo_reachable: int = 0
    ties_pos: int = 0
    ties_neg: int = 0
    saturations: int = 0
    wraps: int = 0
    accum_wraps: int = 0
    ties: int = 0


@dataclass(frozen=True)
class Timing:
    clock_mhz: float | None = None
    clock_ns: float | None = None
    latency_cycles: int | None = None
    latency_ns: float | None = None  # latency_cycles * clock period
    ii: int | None = None  # initiation interval, cycles
    throughput_mhz: float | None = None  # million inferences per second: clock / II
    sim_vectors_per_s: float | None = None  # simulation speed, not hardware speed
    synth_latency_ns: float | None = None  # as reported by the synthesis stage
    logic_depth: int | None = None


@dataclass(frozen=True)
class Resource:
    name: str  # LUT, FF, CARRY, DSP, BRAM
    used: float | None = None
    available: int | None = None
    utilization_pct: float | None = None  # used / available * 100


@dataclass(frozen=True)
class StageInfo:
    index: int
    name: str
    status: str  # RAN / NOT_RUN / SKIPPED
    seconds: float | None = None
    started: str | None = None
    headline: str = ""
    note: str = ""  # why it was skipped


@dataclass(frozen=True)
class ToolVersion:
    name: str
    version: str
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Detail:
    """A results key no section above shows, rendered as text."""

    stage: str
    key: str
    value: str


@dataclass(frozen=True)
class Flag:
    level: str  # "error" or "warning"
    message: str


@dataclass(frozen=True)
class ClassStat:
    name: str
    jets: int  # test jets of this class
    recall: float | None  # fraction of them the integer reference classifies correctly
    auc: float | None  # one-vs-rest ROC AUC of the integer reference's scores


@dataclass(frozen=True)
class Plot:
    name: str  # "confusion", "roc", ...
    title: str
    file: str  # POSIX path relative to the build root, e.g. "10_report/confusion.png"
    caption: str = ""


@dataclass(frozen=True)
class LearnedLayer:
    """One Dense layer of a design with learned bit widths (``03_quantize/learned_bits.json``), with its
    RTL block's LUT estimate (shift-add cost model) and Yosys LUTs when those stages ran."""

    layer: str
    weights: int
    nonzero: int
    pruned_fraction: float
    mean_bits: float | None  # significant bits per kept weight (trailing zeros are free)
    weight_bits: dict = field(default_factory=dict)  # {"0": pruned, "1": ..., ...}: weights per bit count
    in_width: int | None = None  # width of the values entering the layer
    act_width: int | None = None  # width of its ReLU output (None: no ReLU after it)
    act_bits: dict = field(default_factory=dict)  # per-neuron ReLU bits: {"bits": neurons} (empty: per layer)
    ebops: int | None = None
    block: str = ""  # the RTL block covering it, e.g. "fc1+relu1"
    est_lut: float | None = None
    yosys_lut: float | None = None


@dataclass(frozen=True)
class Report:
    model: ModelInfo
    target: TargetInfo
    schema: int = SCHEMA
    verdict: str = INCOMPLETE  # PASS / FAIL / INCOMPLETE: bit-exactness of reference, hls4ml and RTL
    flags: tuple[Flag, ...] = ()
    settings: tuple[Setting, ...] = ()
    data: DataInfo = field(default_factory=DataInfo)
    training: TrainingInfo = field(default_factory=TrainingInfo)
    precisions: tuple[PrecisionRow, ...] = ()
    modes: tuple[ModeUse, ...] = ()
    accuracies: tuple[Accuracy, ...] = ()
    float_accuracy: float | None = None
    int_accuracy: float | None = None
    accuracy_drop: float | None = None  # float - integer reference, on the whole test set
    checks: tuple[Check, ...] = ()
    coverage: tuple[CoverageRow, ...] = ()  # from the RTL simulation's vectors
    corner_targets: dict = field(default_factory=dict)  # the corner search: targets, hit, unreachable, ...
    classes: tuple[ClassStat, ...] = ()
    timing: Timing = field(default_factory=Timing)
    resources: tuple[Resource, ...] = ()
    stages: tuple[StageInfo, ...] = ()
    build_seconds: float | None = None  # sum over the stages before the report
    tools: tuple[ToolVersion, ...] = ()
    details: tuple[Detail, ...] = ()
    plots: tuple[Plot, ...] = ()
    learned_layers: tuple[LearnedLayer, ...] = ()  # quantization mode "learned" only
    learned: dict = field(default_factory=dict)  # its totals: beta, EBOPs, kept weights, selected epoch

    def accuracy(self, key: str) -> Accuracy | None:
        """By key: ``"float"``, ``"reference"``, ``"hls4ml"`` or ``"sim"``."""
        return next((a for a in self.accuracies if a.key == key), None)

    def check(self, stage: str) -> Check | None:
        return next((c for c in self.checks if c.stage == stage), None)

    def resource(self, name: str) -> Resource | None:
        return next((r for r in self.resources if r.name == name), None)

    def stage(self, name: str) -> StageInfo | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def errors(self) -> tuple[Flag, ...]:
        return tuple(f for f in self.flags if f.level == "error")

    @property
    def total_mismatches(self) -> int | None:
        """Mismatches summed over the checks that ran (``None`` if none ran)."""
        counts = [c.mismatches for c in self.checks if c.mismatches is not None]
        return sum(counts) if counts else None


# -- JSON form --------------------------------------------------------------------------------------


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN/inf become ``None``, tuples lists, numpy scalars Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "item") and not isinstance(obj, int | float):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_dict(report: Report) -> dict:
    return _clean(dataclasses.asdict(report))


def from_dict(data: dict) -> Report:
    """A :class:`Report` from its JSON form; raises ``ValueError``/``TypeError``/``KeyError`` if malformed."""
    return _build(Report, data)


def _build(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner, value)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if origin is tuple:
        (inner, _) = typing.get_args(tp)
        return tuple(_convert(inner, v) for v in value)
    if origin is dict:
        return dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp):
        raise TypeError(f"expected {tp.__name__}, got {value!r}")
    return value
