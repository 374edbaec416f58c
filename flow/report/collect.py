"""Build a :class:`~flow.report.model.Report` from a build folder's stage manifests and files.

The stage folders are found from the build folder itself (``NN_<stage>/manifest.json``,
:func:`flow.artifacts.stage_manifests`); each manifest's results record is read back as its typed
:mod:`flow.results` class and the sections read its fields. A stage that did not run (no manifest, or
a record that is not a valid result of that stage) shows as "not run"/"n/a". Nothing is invented:
derived numbers (latency in ns, utilization, the reference's accuracy on a subset of vectors) are
computed only from recorded ones.

The bit-exact stages (hls4ml C-sim, RTL simulation) may check only the first ``vectors`` test vectors
(``flow build --vectors N``); their accuracy is then compared with the integer reference's accuracy on
those same first N vectors, recomputed from ``04_reference/ref_outputs.npy`` and ``test_labels.npy``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from flow.artifacts import LEARNED_BITS, REF_OUTPUTS, TEST_LABELS, stage_folder_name, stage_manifests
from flow.report.model import (
    FAIL,
    INCOMPLETE,
    NOT_RUN,
    PASS,
    RAN,
    Accuracy,
    Check,
    CoverageRow,
    DataInfo,
    Detail,
    Flag,
    LearnedLayer,
    ModelInfo,
    ModeUse,
    PrecisionRow,
    Report,
    Resource,
    Setting,
    StageInfo,
    TargetInfo,
    Timing,
    ToolVersion,
    TrainingInfo,
)
from flow.results import (
    STAGE_RESULTS,
    DataResult,
    Hls4mlResult,
    OnnxResult,
    QuantizeResult,
    ReferenceResult,
    ResultsError,
    RtlResult,
    SimResult,
    StageResult,
    SynthResult,
    TrainResult,
    fields_of,
    from_record,
)

REPORT_STAGE = "report"

# Fields of each stage's result that a section of the report shows; every other field goes to Details.
_SHOWN: dict[str, set[str]] = {
    "data": {"source", "jets", "split_seed", "counts", "class_counts", "feature_names", "class_names"},
    "train": {"params", "epochs", "best_val_accuracy", "float_test_accuracy", "samples_per_s", "checkpoint"},
    "quantize": {"precisions", "qat_epochs", "best_qat_val_accuracy", "params"},
    "reference": {
        "vectors",
        "float_accuracy",
        "int_accuracy",
        "qat_vs_reference_mismatches",
        "accuracy_drop",
        "corner_vectors",
        "corner_targets",
        "qat_corner_mismatches",
    },
    "onnx": {
        "onnx_max_abs_err",
        "qonnx_vectors",
        "qonnx_mismatches",
        "qonnx_corner_vectors",
        "qonnx_corner_mismatches",
    },
    "hls4ml": {"vectors", "mismatches", "accuracy", "vendor", "corner_vectors", "corner_mismatches", "header_values"},
    "rtl": {"lint"},
    "sim": {
        "vectors",
        "mismatches",
        "latency_cycles",
        "ii",
        "vectors_per_s",
        "accuracy",
        "corner_vectors",
        "corner_mismatches",
        "coverage",
    },
    "synth": {"lut", "ff", "carry", "dsp", "bram", "latency_ns", "depth", "tool"},
}
# Resource name -> the SynthResult field, and the Target attribute holding the device total.
_RESOURCES = (
    ("LUT", "lut", "luts"),
    ("FF", "ff", "ffs"),
    ("CARRY", "carry", None),
    ("DSP", "dsp", "dsps"),
    ("BRAM", "bram", "brams"),
)
_TYPE_RE = re.compile(r"^\s*(u?fixed)<\s*(-?\d+)\s*,\s*(-?\d+)\s*>\s*(\w+)\s*/\s*(\w+)\s*$")
_ROLES = ("input", "weight", "bias", "accum", "scale", "shift", "out")
# PrecisionRow field -> key of a flow.ir.graph.precision_rows row (a role a layer kind lacks is absent)
_ROW_KEYS = {"input": "in", "weight": "weight", "bias": "bias", "accum": "accum", "scale": "scale", "shift": "shift"}


def _finite(v: float | None) -> float | None:
    """A recorded float, or ``None`` for NaN/inf (e.g. an accuracy over no labelled vectors)."""
    return v if v is not None and math.isfinite(v) else None


def _text(v: Any, limit: int = 400) -> str:
    """Any results value as one line of text."""
    if isinstance(v, str):
        s = v
    elif isinstance(v, float):
        s = f"{v:.6g}"
    else:
        try:
            s = json.dumps(v, sort_keys=True, default=str)
        except (TypeError, ValueError):
            s = str(v)
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class StageEntry:
    """A stage the report lists: its name and what it does (shown when it did not run)."""

    name: str
    summary: str = ""


_DEFAULT_STAGES = tuple(StageEntry(name) for name in STAGE_RESULTS)


class _Stages:
    """The manifests and typed results of a build's stages, read once."""

    def __init__(self, root: Path, stages: Sequence):
        self.root = Path(root)
        self.stages = tuple(s for s in stages if s.name != REPORT_STAGE)
        self.index = {s.name: i for i, s in enumerate(stages, start=1)}
        found = stage_manifests(self.root)
        self.manifests: dict[str, dict] = {}
        self.folders: dict[str, Path] = {}
        self.records: dict[str, dict] = {}
        self.typed: dict[str, StageResult] = {}
        self.unreadable: dict[str, str] = {}
        for s in self.stages:
            if s.name not in found:
                continue
            self.folders[s.name], self.manifests[s.name] = found[s.name]
            record = self.manifests[s.name].get("results")
            try:
                self.typed[s.name] = from_record(record, STAGE_RESULTS[s.name])
                self.records[s.name] = fields_of(record)
            except ResultsError as exc:
                self.unreadable[s.name] = str(exc)

    def result(self, name: str) -> Any:
        """The stage's typed result, or ``None`` if it did not run."""
        return self.typed.get(name)

    def status(self, name: str) -> str:
        return RAN if name in self.typed else NOT_RUN

    def ran(self, name: str) -> bool:
        return self.status(name) == RAN

    def folder(self, name: str) -> Path:
        if name in self.folders:
            return self.folders[name]
        return self.root / stage_folder_name(self.index.get(name, 0), name)


# -- context helpers (used by the report stage) --------------------------------------------------------


def model_info(spec) -> ModelInfo:
    """From a :class:`flow.config.zoo.ModelSpec`."""
    widths = [str(spec.inputs)] + [str(layer.out) for layer in spec.layers if layer.out]  # the dense layers
    layers = tuple(f"{layer.kind} {layer.name}" + (f" ({layer.out})" if layer.out else "") for layer in spec.layers)
    return ModelInfo(
        name=spec.name,
        description=spec.description,
        architecture=" \u2192 ".join(widths),
        layers=layers,
        float_params=spec.n_params,
    )


def target_info(target) -> TargetInfo:
    """From a :class:`flow.config.targets.Target`."""
    return TargetInfo(
        name=target.name,
        part=target.part,
        clock_mhz=float(target.clock_mhz),
        clock_ns=float(target.clock_ns),
        luts=target.luts,
        ffs=target.ffs,
        dsps=target.dsps,
        brams=target.brams,
    )


def settings_of(ctx) -> tuple[Setting, ...]:
    """The build's settings from a :class:`flow.pipeline.BuildContext`."""
    out = [Setting("training", f.name, _text(getattr(ctx.model.train, f.name))) for f in fields(ctx.model.train)]
    o = ctx.options
    out += [
        Setting("build", "vectors", "whole test set" if o.vectors is None else f"{o.vectors:,}"),
        Setting("build", "data", str(o.data) if o.data else "built-in default"),
        Setting("build", "checkpoint", str(o.checkpoint) if o.checkpoint else "none (trained here)"),
        Setting("build", "split_seed", str(o.split_seed)),
        Setting("build", "model source", str(getattr(ctx.model, "source", ""))),
        Setting("target", "part", ctx.target.part),
        Setting("target", "clock", f"{ctx.target.clock_mhz:g} MHz ({ctx.target.clock_ns:.3f} ns)"),
    ]
    return tuple(out)


# -- sections -----------------------------------------------------------------------------------------


def _data(st: _Stages) -> DataInfo:
    r: DataResult | None = st.result("data")
    if r is None:
        return DataInfo()
    return DataInfo(
        source=r.source,
        jets=r.jets,
        split_seed=r.split_seed,
        train=r.counts.get("train"),
        val=r.counts.get("val"),
        test=r.counts.get("test"),
        class_counts=dict(r.class_counts),
        class_names=r.class_names,
        feature_names=r.feature_names,
    )


def _training(st: _Stages) -> TrainingInfo:
    t: TrainResult | None = st.result("train")
    q: QuantizeResult | None = st.result("quantize")
    return TrainingInfo(
        epochs=t.epochs if t else None,
        qat_epochs=q.qat_epochs if q else None,
        best_val_accuracy=t.best_val_accuracy if t else None,
        best_qat_val_accuracy=q.best_qat_val_accuracy if q else None,
        samples_per_s=t.samples_per_s if t else None,
        checkpoint=t.checkpoint if t else None,
        source=t.source if t else None,
        source_kind=t.source_kind if t else None,
        weights=t.weights if t else None,
        source_float_accuracy=t.source_float_accuracy if t else None,
        float_accuracy=t.float_test_accuracy if t else None,
        import_notes=tuple(t.import_notes) if t else (),
    )


def _precisions(st: _Stages) -> tuple[PrecisionRow, ...]:
    q: QuantizeResult | None = st.result("quantize")
    return tuple(
        PrecisionRow(
            layer=row["layer"],
            kind=row["kind"],
            out=row.get("out"),
            **{role: row.get(key) for role, key in _ROW_KEYS.items()},
        )
        for row in (q.precisions if q else ())
    )


def _learned(st: _Stages) -> tuple[tuple[LearnedLayer, ...], dict]:
    """Per Dense layer of a learned-bit-width design: weight-bit histogram, pruned fraction, activation
    widths, EBOPs, and its RTL block's estimated and Yosys LUTs; plus the totals. Empty otherwise."""
    if not st.ran("quantize"):
        return (), {}
    try:
        stats = json.loads((st.folder("quantize") / LEARNED_BITS).read_text())
        rows = [r for r in stats["layers"] if isinstance(r, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return (), {}
    blocks: dict[str, dict] = {}  # graph layer -> its RTL block's figures
    rtl: RtlResult | None = st.result("rtl")
    for b in rtl.layers if rtl else ():
        for name in b.get("layers") or str(b.get("name", "")).split("+"):
            blocks.setdefault(name, {}).update(block=b.get("name", ""), est_lut=b.get("est_lut"))
    synth: SynthResult | None = st.result("synth")
    for b in synth.layers if synth else ():
        for name in str(b.get("layer", "")).split("+"):
            blocks.setdefault(name, {}).update(block=b.get("layer", ""), yosys_lut=b.get("lut"))
            if b.get("est_lut") is not None:
                blocks[name]["est_lut"] = b.get("est_lut")
    out = []
    for i, r in enumerate(rows):
        if r.get("kind") != "dense":
            continue
        nxt = rows[i + 1] if i + 1 < len(rows) else {}
        b = blocks.get(r["layer"], {})
        out.append(
            LearnedLayer(
                layer=r["layer"],
                weights=int(r.get("weights", 0)),
                nonzero=int(r.get("nonzero", 0)),
                pruned_fraction=float(r.get("pruned_fraction", 0.0)),
                mean_bits=_finite(r.get("mean_weight_bits_nonzero")),
                weight_bits={str(k): int(v) for k, v in (r.get("weight_bits_histogram") or {}).items()},
                in_width=r.get("in_width"),
                act_width=nxt.get("activation_width") if nxt.get("kind") == "relu" else None,
                act_bits={str(k): int(v) for k, v in (nxt.get("activation_bits_histogram") or {}).items()},
                ebops=r.get("ebops"),
                block=str(b.get("block", "")),
                est_lut=_finite(b.get("est_lut")),
                yosys_lut=_finite(b.get("yosys_lut")),
            )
        )
    sel = (stats.get("selection") or {}).get("selected") or {}
    settings = stats.get("settings") or {}
    totals = {
        "beta": settings.get("beta"),
        "ebops": stats.get("ebops"),
        "weights": stats.get("weights"),
        "nonzero_weights": stats.get("nonzero_weights"),
        "input_width": _input_width(stats),
        "selected_epoch": f"{sel.get('phase', '')} {sel.get('epoch', '')}".strip(),
        "selected_val_accuracy": sel.get("val_acc"),
    }
    return tuple(out), totals


def _input_width(stats: dict):
    """The input width of a learned design: ``"12 bits"``, or ``"2-9 bits per feature (mean 5.1)"``."""
    features = [int(t["width"]) for t in stats.get("input_features") or ()]
    if not features:
        width = (stats.get("input") or {}).get("width")
        return None if width is None else f"{width} bits"
    return f"{min(features)}-{max(features)} bits per feature (mean {sum(features) / len(features):.1f})"


def parse_type(text: str) -> tuple[bool, int, int, str, str] | None:
    """``"fixed<12,7> RND/SAT"`` -> ``(signed, width, frac, rounding, overflow)``; ``None`` if not that form."""
    m = _TYPE_RE.match(text or "")
    if not m:
        return None
    return m.group(1) == "fixed", int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)


def _modes(rows: tuple[PrecisionRow, ...]) -> tuple[ModeUse, ...]:
    """Which layer roles use which rounding/overflow mode. Layer inputs are the previous layer's
    outputs, so only the graph input's ``in`` is listed."""
    uses: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        for role in _ROLES:
            if role == "input" and i > 0 and row.kind != "input":
                continue
            value = getattr(row, role)
            parsed = parse_type(value) if value else None
            if parsed is None:
                continue
            label = row.layer if row.kind == "input" else f"{row.layer}.{role}"
            uses.setdefault(f"{parsed[3]}/{parsed[4]}", []).append(label)
    return tuple(ModeUse(mode, tuple(u)) for mode, u in sorted(uses.items()))


def _reference_arrays(st: _Stages) -> tuple[np.ndarray, np.ndarray] | None:
    d = st.folder("reference")
    try:
        ref = np.load(d / REF_OUTPUTS)
        labels = np.load(d / TEST_LABELS)
    except (OSError, ValueError):
        return None
    if ref.ndim != 2 or labels.ndim != 1 or len(ref) != len(labels):
        return None
    return ref, labels


def _reference_accuracy_on(n: int | None, st: _Stages, arrays) -> float | None:
    """The integer reference's accuracy on the first ``n`` test vectors (from its stored outputs)."""
    ref_r: ReferenceResult | None = st.result("reference")
    total = ref_r.vectors if ref_r else None
    int_acc = _finite(ref_r.int_accuracy) if ref_r else None
    if n is None or n <= 0:
        return None
    if arrays is not None:
        ref, labels = arrays
        if n > len(ref):
            return None
        if n == len(ref) and int_acc is not None:
            return int_acc
        from flow.ir.reference import classify

        return float(np.mean(classify(ref[:n]) == labels[:n]))
    return int_acc if n == total else None


def _accuracies(st: _Stages, arrays) -> tuple[Accuracy, ...]:
    ref: ReferenceResult | None = st.result("reference")
    train: TrainResult | None = st.result("train")
    data: DataResult | None = st.result("data")
    float_acc = _finite(ref.float_accuracy) if ref else None
    float_stage = "reference"
    if float_acc is None:
        float_acc, float_stage = (_finite(train.float_test_accuracy) if train else None), "train"
    test_n = data.counts.get("test") if data else None
    out = [
        Accuracy("float", "float model (PyTorch)", float_stage, st.status(float_stage), float_acc, test_n),
        Accuracy(
            "reference",
            "integer reference",
            "reference",
            st.status("reference"),
            _finite(ref.int_accuracy) if ref else None,
            ref.vectors if ref else None,
        ),
    ]
    for name, stage in (("hls4ml C-sim", "hls4ml"), ("RTL simulation", "sim")):
        r: Hls4mlResult | SimResult | None = st.result(stage)
        value, n = (_finite(r.accuracy), r.vectors) if r else (None, None)
        reference = _reference_accuracy_on(n, st, arrays)
        identical = None if value is None or reference is None else value == reference
        out.append(Accuracy(stage, name, stage, st.status(stage), value, n, reference, identical))
    return tuple(out)


def _check(name: str, stage: str, st: _Stages, vectors: int | None, mismatches: int | None, detail: str = "") -> Check:
    status = st.status(stage)
    if status != RAN:
        return Check(name, stage, status, vectors, mismatches, detail)
    return Check(name, stage, PASS if mismatches == 0 else FAIL, vectors, mismatches, detail)


def _checks(st: _Stages) -> tuple[Check, ...]:
    ref: ReferenceResult | None = st.result("reference")
    onnx: OnnxResult | None = st.result("onnx")
    hls: Hls4mlResult | None = st.result("hls4ml")
    sim: SimResult | None = st.result("sim")
    rtl: RtlResult | None = st.result("rtl")
    err = _finite(onnx.onnx_max_abs_err) if onnx else None
    quant: QuantizeResult | None = st.result("quantize")
    original = quant.original_check if quant is not None else None
    out = [
        *(  # an imported quantized model: the original file in its own runtime (flow.frontends.run)
            [
                _check(
                    f"original model ({original.get('runtime', 'qonnx')}) vs integer reference",
                    "quantize",
                    st,
                    original.get("vectors"),
                    original.get("mismatches"),
                    original.get("file", ""),
                )
            ]
            if original
            else []
        ),
        _check(
            "QAT model vs integer reference",
            "reference",
            st,
            ref.vectors if ref else None,
            ref.qat_vs_reference_mismatches if ref else None,
        ),
        _check(
            "QONNX vs integer reference",
            "onnx",
            st,
            onnx.qonnx_vectors if onnx else None,
            onnx.qonnx_mismatches if onnx else None,
            f"float ONNX vs PyTorch: max abs error {err:.3g}" if err is not None else "",
        ),
        _check(
            "hls4ml C-sim vs integer reference",
            "hls4ml",
            st,
            hls.vectors if hls else None,
            hls.mismatches if hls else None,
        ),
        _check(
            "RTL simulation vs integer reference",
            "sim",
            st,
            sim.vectors if sim else None,
            sim.mismatches if sim else None,
        ),
    ]
    corner_rows = (
        ("QAT model", "reference", ref, "corner_vectors", "qat_corner_mismatches"),
        ("QONNX", "onnx", onnx, "qonnx_corner_vectors", "qonnx_corner_mismatches"),
        ("hls4ml C-sim", "hls4ml", hls, "corner_vectors", "corner_mismatches"),
        ("RTL simulation", "sim", sim, "corner_vectors", "corner_mismatches"),
    )
    for name, stage, r, n_key, bad_key in corner_rows:
        if r is not None and getattr(r, bad_key) is not None:  # builds before corner vectors have none
            out.append(
                _check(
                    f"{name} vs integer reference (corner vectors)",
                    stage,
                    st,
                    getattr(r, n_key),
                    getattr(r, bad_key),
                    "saturation bounds and rounding ties (flow.check.corners); not part of accuracy",
                )
            )
    if hls is not None and hls.header_values is not None:
        out.append(
            Check(
                "hls4ml weight headers vs graph",
                "hls4ml",
                PASS,
                detail=f"{hls.header_values:,} values of firmware/weights/*.h equal to the graph; "
                "C-sim compiled from them",
            )
        )
    if sim is not None and sim.coverage:
        from flow.check.coverage import findings

        errors, warnings = findings(sim.coverage)
        out.append(
            Check(
                "coverage of reachable bounds and ties",
                "coverage",  # its own stage key: a warning here does not hold back a PASS verdict
                FAIL if errors else (PASS if not warnings else "warnings"),
                sim.vectors + (sim.corner_vectors or 0),
                detail="; ".join(errors + warnings)[:400]
                or "every reachable saturation/wrap bound and RND tie exercised",
            )
        )
    if rtl is None:
        out.append(Check("RTL lint", "rtl", st.status("rtl")))
    else:
        out.append(Check("RTL lint", "rtl", PASS if rtl.lint_clean else "warnings", detail=_text(rtl.lint, 200)))
    return tuple(out)


def _coverage(st: _Stages) -> tuple[CoverageRow, ...]:
    sim: SimResult | None = st.result("sim")
    rows = []
    for rec in sim.coverage if sim else ():
        try:
            ev = rec["events"]
            rows.append(
                CoverageRow(
                    layer=str(rec["layer"]),
                    kind=str(rec["kind"]),
                    mode=str(rec["mode"]),
                    neurons=int(rec["neurons"]),
                    hi_hit=int(rec["hi"]["hit"]),
                    hi_possible=int(rec["hi"]["possible"]),
                    hi_reachable=int(rec["hi"]["reachable"]),
                    lo_hit=int(rec["lo"]["hit"]),
                    lo_possible=int(rec["lo"]["possible"]),
                    lo_reachable=int(rec["lo"]["reachable"]),
                    ties_pos=int(rec["tie+"]["hit"]),
                    ties_neg=int(rec["tie-"]["hit"]),
                    saturations=int(ev["saturations"]),
                    wraps=int(ev["wraps"]),
                    accum_wraps=int(ev["accum_wraps"]),
                    ties=int(ev["ties"]),
                )
            )
        except (KeyError, TypeError, ValueError):  # a malformed record: shown as missing, not invented
            continue
    return tuple(rows)


def _timing(st: _Stages, target: TargetInfo) -> Timing:
    sim: SimResult | None = st.result("sim")
    synth: SynthResult | None = st.result("synth")
    cycles, ii = (sim.latency_cycles, sim.ii) if sim else (None, None)
    ns, mhz = target.clock_ns, target.clock_mhz
    return Timing(
        clock_mhz=mhz,
        clock_ns=ns,
        latency_cycles=cycles,
        latency_ns=cycles * ns if cycles is not None and ns is not None else None,
        ii=ii,
        throughput_mhz=mhz / ii if mhz is not None and ii else None,
        sim_vectors_per_s=_finite(sim.vectors_per_s) if sim else None,
        synth_latency_ns=_finite(synth.latency_ns) if synth else None,
        logic_depth=synth.depth if synth else None,
    )


def _resources(st: _Stages, target: TargetInfo) -> tuple[Resource, ...]:
    synth: SynthResult | None = st.result("synth")
    out = []
    for name, attr, total_attr in _RESOURCES:
        used = float(getattr(synth, attr)) if synth else None
        if used is not None and used == int(used):
            used = int(used)
        total = getattr(target, total_attr) if total_attr else None
        pct = 100.0 * used / total if used is not None and total else None
        out.append(Resource(name, used, total, pct))
    return tuple(out)


def _stages(st: _Stages) -> tuple[StageInfo, ...]:
    out = []
    for s in st.stages:
        i = st.index[s.name]
        r = st.result(s.name)
        if r is None:
            why = st.unreadable.get(s.name)
            out.append(StageInfo(i, s.name, NOT_RUN, note=f"results unreadable: {why}" if why else s.summary))
            continue
        m = st.manifests[s.name]
        seconds = m.get("seconds")
        started = m.get("started")
        out.append(
            StageInfo(
                i,
                s.name,
                RAN,
                float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else None,
                None if started is None else str(started),
                _text(r.headline, 300),
            )
        )
    return tuple(out)


def _tools(st: _Stages, extra: dict[str, str] | None) -> tuple[ToolVersion, ...]:
    seen: dict[tuple[str, str], list[str]] = {}
    for name, m in st.manifests.items():
        tools = m.get("tools")
        for tool, version in tools.items() if isinstance(tools, dict) else ():
            seen.setdefault((str(tool), str(version)), []).append(name)
    for tool, version in (extra or {}).items():
        seen.setdefault((str(tool), str(version)), []).append(REPORT_STAGE)
    synth: SynthResult | None = st.result("synth")
    hls: Hls4mlResult | None = st.result("hls4ml")
    for stage, value, label in (
        ("synth", synth.tool if synth else None, "synthesis tool"),
        ("hls4ml", hls.vendor if hls else None, "vendor HLS tool"),
    ):
        if value is not None:
            seen.setdefault((label, _text(value, 120)), []).append(stage)
    first = {"python": 0, "flow": 1}
    return tuple(
        ToolVersion(t, v, tuple(s))
        for (t, v), s in sorted(seen.items(), key=lambda kv: (first.get(kv[0][0], 2), kv[0]))
    )


def _details(st: _Stages) -> tuple[Detail, ...]:
    out = []
    for s in st.stages:
        for key, value in sorted(st.records.get(s.name, {}).items()):
            if key in _SHOWN.get(s.name, set()) or key == "headline":
                continue
            out.append(Detail(s.name, key, _text(value)))
    return tuple(out)


def _flags(st: _Stages, accuracies, checks, arrays) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    for c in checks:
        if c.status == FAIL:
            of = f" of {c.vectors:,}" if c.vectors is not None else ""
            if c.mismatches is None:
                flags.append(Flag("error", f"{c.name}: {c.detail}"))
            else:
                flags.append(Flag("error", f"{c.name}: {c.mismatches:,}{of} vectors MISMATCH"))
    for a in accuracies:
        if a.identical is False:
            flags.append(
                Flag(
                    "error",
                    f"{a.name} accuracy {a.value!r} differs from the integer reference's "
                    f"{a.reference!r} on the same {a.vectors:,} vectors",
                )
            )
        elif a.key in ("hls4ml", "sim") and a.status == RAN and a.identical is None:
            why = (
                "no accuracy recorded"
                if a.value is None
                else ("the reference's accuracy on those vectors is unknown (04_reference outputs missing?)")
            )
            flags.append(Flag("warning", f"{a.name} accuracy cannot be compared with the integer reference: {why}"))
    for name, why in st.unreadable.items():
        flags.append(Flag("warning", f"stage {name}: manifest results unreadable ({why}); shown as not run"))
    for name in ("reference", "hls4ml", "sim"):
        status = st.status(name)
        if status != RAN:
            what = {"reference": "integer reference", "hls4ml": "hls4ml C-sim", "sim": "RTL simulation"}[name]
            flags.append(Flag("warning", f"{what} {status}: bit-exactness against it is not shown"))
    for name in ("onnx", "synth"):
        if st.status(name) != RAN:
            flags.append(Flag("warning", f"stage {name} {st.status(name)}"))
    for c in checks:
        if c.status == "warnings":
            flags.append(Flag("warning", f"{c.name}: {c.detail}"))
    if st.ran("reference") and arrays is None:
        flags.append(Flag("warning", "04_reference/ref_outputs.npy or test_labels.npy missing: no plots"))
    flags.extend(_input_flags(st))
    return tuple(flags)


def _input_flags(st: _Stages) -> list[Flag]:
    """What the data and quantize stages found questionable in the inputs (they ran on anyway)."""
    flags: list[Flag] = []
    data: DataResult | None = st.result("data")
    if data is not None and data.dropped_nonfinite:
        flags.append(Flag("warning", f"{data.dropped_nonfinite:,} rows with NaN/inf values were dropped from the data"))
    if data is not None and data.small_test:
        flags.append(
            Flag("warning", f"certified on a small test set ({data.small_test}), allowed by --allow-small-test")
        )
    quant: QuantizeResult | None = st.result("quantize")
    for message in quant.warnings if quant is not None else ():
        flags.append(Flag("warning", f"precision: {message}"))
    return flags


def _verdict(st: _Stages, accuracies, checks) -> str:
    if any(c.status == FAIL for c in checks) or any(a.identical is False for a in accuracies):
        return FAIL
    exact = [a for a in accuracies if a.key in ("hls4ml", "sim")]
    ref = next(a for a in accuracies if a.key == "reference")
    needed = [c for c in checks if c.stage in ("reference", "hls4ml", "sim")]
    if ref.value is not None and all(a.identical for a in exact) and all(c.status == PASS for c in needed):
        return PASS
    return INCOMPLETE


def _target_from_name(name: str) -> TargetInfo:
    from flow.config.targets import TARGETS

    t = TARGETS.get(name)
    if t is None:
        return TargetInfo(name=name)
    return TargetInfo(name=t.name, part=t.part, luts=t.luts, ffs=t.ffs, dsps=t.dsps, brams=t.brams)


# -- entry point ----------------------------------------------------------------------------------------


def collect(
    root: Path,
    *,
    model: ModelInfo | None = None,
    target: TargetInfo | None = None,
    settings: tuple[Setting, ...] = (),
    tools: dict[str, str] | None = None,
    plot_dir: Path | None = None,
    stages: Sequence | None = None,
) -> Report:
    """The report of the build in ``root`` (``build/<model>/<target>``).

    ``model``/``target`` default to names taken from the folder (device totals from the built-in target
    of that name, if any; the clock stays unknown since a build may override it). ``tools`` adds
    versions of the report's own tools; with ``plot_dir`` (inside ``root``) the plots are drawn there
    and listed in the report. ``stages`` lists the build's stages in order (objects with ``name`` and
    ``summary``, such as the pipeline's); by default every stage that has a result class.
    """
    root = Path(root)
    st = _Stages(root, _DEFAULT_STAGES if stages is None else stages)
    model = model or ModelInfo(name=root.parent.name)
    target = target or _target_from_name(root.name)
    q: QuantizeResult | None = st.result("quantize")
    model = replace(model, quantized_params=q.params if q else None)
    if model.float_params is None:
        t: TrainResult | None = st.result("train")
        model = replace(model, float_params=t.params if t else None)
    arrays = _reference_arrays(st) if st.status("reference") == RAN else None
    ref: ReferenceResult | None = st.result("reference")
    accuracies = _accuracies(st, arrays)
    checks = _checks(st)
    precisions = _precisions(st)
    float_acc = accuracies[0].value
    int_acc = _finite(ref.int_accuracy) if ref else None
    seconds = [
        float(v)
        for v in (m.get("seconds") for m in st.manifests.values())
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    report = Report(
        model=model,
        target=target,
        settings=tuple(settings),
        verdict=_verdict(st, accuracies, checks),
        flags=_flags(st, accuracies, checks, arrays),
        data=_data(st),
        training=_training(st),
        precisions=precisions,
        modes=_modes(precisions),
        accuracies=accuracies,
        float_accuracy=float_acc,
        int_accuracy=int_acc,
        accuracy_drop=float_acc - int_acc if float_acc is not None and int_acc is not None else None,
        checks=checks,
        coverage=_coverage(st),
        corner_targets=dict(ref.corner_targets or {}) if ref else {},
        timing=_timing(st, target),
        resources=_resources(st, target),
        stages=_stages(st),
        build_seconds=sum(seconds) if seconds else None,
        tools=_tools(st, tools),
        details=_details(st),
    )
    learned_layers, learned = _learned(st)
    report = replace(report, learned_layers=learned_layers, learned=learned)
    if plot_dir is not None:
        from flow.report.figures import draw

        plots, classes = draw(report, st, arrays, Path(plot_dir), root)
        report = replace(report, plots=plots, classes=classes)
    return report
