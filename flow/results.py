"""Typed stage results: what each stage's ``run(ctx)`` returns, records in its manifest and later
stages and the report read back.

One frozen dataclass per stage. In the manifest a result is a JSON object whose ``"type"`` is the class
name followed by the fields (:func:`to_record`); :func:`from_record` reads it back and checks every
field's type, so a record that does not match its class (an older flow, a hand edit) is a
:class:`ResultsError`, never a silently missing key. Nested values (per-layer rows, dictionaries of
counts) stay plain JSON.

A field made with :func:`omitted` is left out of the record while it has its default (a value that
exists only in some builds, such as the vendor HLS tool's reports), and takes it when absent.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from flow.errors import FlowError

TYPE_KEY = "type"


class ResultsError(FlowError):
    """A stage's results record is missing, of another stage, or does not match its class."""


def omitted(default: Any = None) -> Any:
    """A field left out of the record while it equals ``default`` (``None`` or an empty tuple)."""
    return field(default=default, metadata={"omit_default": True})


@dataclass(frozen=True, kw_only=True)
class StageResult:
    """Base of the stage results. ``headline`` is the one line the build prints and the report shows."""

    stage: ClassVar[str] = ""

    def warning_lines(self) -> tuple[str, ...]:
        """One-line warnings the build prints after this stage (none unless a stage says so)."""
        return ()


@dataclass(frozen=True, kw_only=True)
class DataResult(StageResult):
    stage: ClassVar[str] = "data"
    source: str
    jets: int
    split_seed: int
    counts: dict[str, int]  # train / val / test
    class_counts: dict[str, int]
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    # Rows of the file dropped because a feature (or pT/eta, or the label) was NaN/inf or missing.
    dropped_nonfinite: int = 0
    test_class_counts: dict[str, int] = field(default_factory=dict)
    # Why the test set is too small to certify (fewer than 1,000 vectors or one class), or None; a build
    # past the data stage with this set ran only because the user allowed it (small_test_allowed).
    small_test: str | None = omitted()
    small_test_allowed: bool = omitted(False)
    headline: str


@dataclass(frozen=True, kw_only=True)
class TrainResult(StageResult):
    stage: ClassVar[str] = "train"
    params: int
    epochs: int  # 0 when a checkpoint was given
    best_val_accuracy: float | None
    float_test_accuracy: float
    samples_per_s: float | None
    checkpoint: str | None
    # SHA-256 of the given checkpoint file (its zip CRCs checked before loading), None when trained here.
    checkpoint_sha256: str | None = omitted()
    # An imported model (flow.frontends): the file or module:function, its kind (qonnx, onnx, pt, module)
    # and SHA-256, whether its weights were "kept" or "retrained" (--retrain), the accuracy of the source
    # module itself on the test set, the --input-scaler file, and the import's notes.
    source: str | None = omitted()
    source_kind: str | None = omitted()
    source_sha256: str | None = omitted()
    weights: str | None = omitted()
    source_float_accuracy: float | None = omitted()
    input_scaler: str | None = omitted()
    import_notes: tuple[str, ...] = omitted(())
    headline: str


@dataclass(frozen=True, kw_only=True)
class QuantizeResult(StageResult):
    stage: ClassVar[str] = "quantize"
    precisions: tuple[dict[str, str], ...]  # flow.ir.graph.precision_rows: layer, kind, in, weight, ..., out
    qat_epochs: int
    best_qat_val_accuracy: float | None
    params: int
    # Degenerate precisions (flow.config.degenerate): explicit frac outside 0..width, a layer whose
    # output is constant, an unsigned type on a value that goes negative. One line each.
    warnings: tuple[str, ...] = omitted(())

    def warning_lines(self) -> tuple[str, ...]:
        return self.warnings

    # An imported quantized model: "imported" (its graph kept, no QAT), and the exact-to-original check:
    # the original file run by qonnx's executor vs the integer reference on every test vector
    # ({runtime, file, vectors, mismatches, first}).
    mode: str | None = omitted()
    original_check: dict | None = omitted()
    headline: str


@dataclass(frozen=True, kw_only=True)
class ReferenceResult(StageResult):
    stage: ClassVar[str] = "reference"
    vectors: int
    float_accuracy: float
    int_accuracy: float
    qat_vs_reference_mismatches: int
    accuracy_drop: float
    # Corner vectors (flow.check.corners): how many, the search's target counts, the QAT check on them.
    corner_vectors: int | None = omitted()
    corner_targets: dict | None = omitted()  # targets, hit, unreachable, not_found, seed, rows_evaluated
    qat_corner_mismatches: int | None = omitted()
    headline: str


@dataclass(frozen=True, kw_only=True)
class OnnxResult(StageResult):
    stage: ClassVar[str] = "onnx"
    onnx_path: str
    onnx_max_abs_err: float
    onnx_tolerance: dict[str, float]  # atol, rtol
    onnx_vectors: int
    qonnx_path: str
    qonnx_compute_type: str
    qonnx_vectors: int
    qonnx_mismatches: int
    qonnx_real_input_vectors: int
    qonnx_vectors_per_s: int | None
    qonnx_corner_vectors: int | None = omitted()
    qonnx_corner_mismatches: int | None = omitted()
    headline: str


@dataclass(frozen=True, kw_only=True)
class Hls4mlResult(StageResult):
    stage: ClassVar[str] = "hls4ml"
    vectors: int
    mismatches: int
    accuracy: float
    project_dir: str
    project_name: str
    backend: str
    part: str
    clock_ns: float
    precisions: dict[str, dict]  # layer -> role -> ap_fixed type
    compile_seconds: float
    csim_vectors_per_s: int | None
    vendor: str  # the vendor HLS tool that ran, or "not found"
    csynth: dict | None = omitted()
    vendor_csim_vectors: int | None = omitted()
    # Trailing layers hls4ml cannot build (an argmax): the project and its check end before them.
    left_out: tuple[str, ...] = omitted(())
    corner_vectors: int | None = omitted()
    corner_mismatches: int | None = omitted()
    header_values: int | None = omitted()  # firmware/weights/*.h values compared with the graph
    headline: str


@dataclass(frozen=True, kw_only=True)
class RtlResult(StageResult):
    stage: ClassVar[str] = "rtl"
    top: str
    files: tuple[str, ...]
    lines: int
    lint: str  # "clean", "N warnings (see lint.log)" or "not run: why"
    latency_cycles: int
    ii: int
    layers: tuple[dict, ...]  # per block: cycles, adder levels per stage, adders, registers, est LUT/FF
    # How the RTL was built (flow.rtl.generate.RtlSettings) and its totals over the blocks.
    arithmetic: str = omitted("")
    settings: dict | None = omitted()
    adder_levels: int | None = omitted()
    adders: int | None = omitted()
    register_bits: int | None = omitted()
    est_lut: int | None = omitted()
    est_ff: int | None = omitted()
    axis: str | None = omitted()  # the AXI4-Stream top written with --axis, and its lint
    headline: str

    @property
    def lint_clean(self) -> bool:
        return self.lint == "clean"


@dataclass(frozen=True, kw_only=True)
class SimResult(StageResult):
    stage: ClassVar[str] = "sim"
    vectors: int
    mismatches: int
    latency_cycles: int
    ii: int | None
    cycles: int
    gaps: int
    vectors_per_s: float
    sim_vectors_per_s: float
    build_seconds: float
    run_seconds: float
    mode: str
    simulator: str
    build_cached: bool
    accuracy: float
    top: str
    vectors_total: int
    corner_vectors: int | None = omitted()
    corner_mismatches: int | None = omitted()
    # Per requantizing layer, on the simulated vectors (test + corner): flow.check.coverage.coverage
    coverage: tuple[dict, ...] = omitted(())
    headline: str


@dataclass(frozen=True, kw_only=True)
class SynthResult(StageResult):
    stage: ClassVar[str] = "synth"
    tool: str
    target: str
    part: str
    family: str
    top: str
    lut: int
    lut_logic: int
    lut_memory: int
    ff: int
    carry: int
    dsp: int
    bram: float
    muxf: int
    utilization: dict[str, float]
    latency_cycles: int
    clock_mhz: float
    latency_ns: float
    depth: int | None
    seconds: float
    options: dict
    cells: dict[str, int]
    layers: tuple[dict, ...]
    depth_note: str
    est_lut: int | None = omitted()  # the rtl stage's cost-model estimate, next to Yosys's figure
    est_ff: int | None = omitted()
    vivado: dict | None = omitted()  # the out-of-context Vivado run: script, status, post-route LUT/Fmax
    headline: str


@dataclass(frozen=True, kw_only=True)
class ReportResult(StageResult):
    stage: ClassVar[str] = "report"
    verdict: str
    errors: tuple[str, ...]
    warnings: int
    files: tuple[str, ...]
    headline: str


RESULT_TYPES: dict[str, type[StageResult]] = {
    cls.__name__: cls
    for cls in (
        DataResult,
        TrainResult,
        QuantizeResult,
        ReferenceResult,
        OnnxResult,
        Hls4mlResult,
        RtlResult,
        SimResult,
        SynthResult,
        ReportResult,
    )
}
STAGE_RESULTS: dict[str, type[StageResult]] = {cls.stage: cls for cls in RESULT_TYPES.values()}


# -- record form -------------------------------------------------------------------------------------


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else tp), type(None) in typing.get_args(tp)
    return tp, False


def _encode(tp: Any, value: Any) -> Any:
    tp, _ = _strip_optional(tp)
    if value is None:
        return None
    base = typing.get_origin(tp) or tp
    if base is bool:
        return bool(value)
    if base is int:
        return int(value)
    if base is float:
        return float(value)
    if base is tuple:
        return [_plain(v) for v in value]
    return _plain(value)


def _plain(value: Any) -> Any:
    """JSON as it will read back from the manifest."""
    return json.loads(json.dumps(value, default=str))


def to_record(result: StageResult) -> dict:
    """The manifest form: ``{"type": "SimResult", field: value, ...}`` (JSON values only)."""
    if not isinstance(result, StageResult) or not dataclasses.is_dataclass(result):
        raise ResultsError(f"a stage must return a flow.results.StageResult, not {type(result).__name__}")
    hints = _hints(type(result))
    out: dict[str, Any] = {TYPE_KEY: type(result).__name__}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if f.metadata.get("omit_default") and value == f.default:
            continue
        out[f.name] = _encode(hints[f.name], value)
    return out


def fields_of(record: dict) -> dict:
    """A record without its ``"type"`` key: ``{field: value}`` as written."""
    return {k: v for k, v in record.items() if k != TYPE_KEY}


def _decode(cls: type, name: str, tp: Any, value: Any) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ResultsError(f"{cls.__name__}.{name} is null")
    base = typing.get_origin(tp) or tp
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
        tuple: lambda v: isinstance(v, list | tuple),
        dict: lambda v: isinstance(v, dict),
    }[base](value)
    if not ok:
        raise ResultsError(f"{cls.__name__}.{name}: expected {getattr(base, '__name__', base)}, got {value!r:.80}")
    if base is float:
        return float(value)
    if base is tuple:
        return tuple(value)
    return value


def from_record(record: Any, expected: type[StageResult] | None = None) -> StageResult:
    """The result a :func:`to_record` record stands for (of class ``expected`` if given)."""
    if not isinstance(record, dict):
        raise ResultsError(f"a results record is a JSON object, not {type(record).__name__}")
    cls = RESULT_TYPES.get(record.get(TYPE_KEY))
    if cls is None:
        raise ResultsError(f"results record of unknown type {record.get(TYPE_KEY)!r}")
    if expected is not None and cls is not expected:
        raise ResultsError(f"expected a {expected.__name__} record, found a {cls.__name__}")
    hints = _hints(cls)
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(record) - set(names) - {TYPE_KEY}
    if unknown:
        raise ResultsError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    kwargs = {}
    for name, f in names.items():
        if name not in record:
            if f.metadata.get("omit_default"):
                continue
            raise ResultsError(f"{cls.__name__} record lacks {name!r}")
        kwargs[name] = _decode(cls, name, hints[name], record[name])
    return cls(**kwargs)
