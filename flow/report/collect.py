"""Build a :class:`~flow.report.model.Report` from a build folder's stage manifests and files.

Defensive by design: a stage that did not run, or whose results record lacks a key, shows as
"not run"/"n/a"; a value of the wrong type is treated as missing. Nothing is invented: derived numbers
(latency in ns, utilization, the reference's accuracy on a subset of vectors) are computed only from
recorded ones.

The bit-exact stages (hls4ml C-sim, RTL simulation) may check only the first ``vectors`` test vectors
(``flow build --vectors N``); their accuracy is then compared with the integer reference's accuracy on
those same first N vectors, recomputed from ``04_reference/ref_outputs.npy`` and ``test_labels.npy``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from flow.pipeline import STAGES, read_manifest
from flow.report.model import (
    FAIL,
    INCOMPLETE,
    NOT_RUN,
    PASS,
    RAN,
    SKIPPED,
    Accuracy,
    Check,
    DataInfo,
    Detail,
    Flag,
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

REPORT_STAGE = "report"

# Keys of each stage's results that a section of the report shows; every other key goes to Details.
_SHOWN: dict[str, set[str]] = {
    "data": {"source", "jets", "split_seed", "counts", "class_counts", "feature_names", "class_names"},
    "train": {"params", "epochs", "best_val_accuracy", "float_test_accuracy", "samples_per_s", "checkpoint"},
    "quantize": {"precisions", "qat_epochs", "best_qat_val_accuracy", "params"},
    "reference": {"vectors", "float_accuracy", "int_accuracy", "qat_vs_reference_mismatches", "accuracy_drop"},
    "onnx": {"onnx_max_abs_err", "qonnx_vectors", "qonnx_mismatches"},
    "hls4ml": {"vectors", "mismatches", "accuracy", "vendor"},
    "rtl": {"lint"},
    "sim": {"vectors", "mismatches", "latency_cycles", "ii", "vectors_per_s", "accuracy"},
    "synth": {
        "lut",
        "luts",
        "ff",
        "ffs",
        "carry",
        "dsp",
        "dsps",
        "bram",
        "brams",
        "bram36",
        "latency_ns",
        "depth",
        "tool",
    },
}
# Resource name -> accepted keys in the synth results, and the Target attribute holding the device total.
_RESOURCES = (
    ("LUT", ("lut", "luts"), "luts"),
    ("FF", ("ff", "ffs"), "ffs"),
    ("CARRY", ("carry", "carry4", "carry8"), None),
    ("DSP", ("dsp", "dsps"), "dsps"),
    ("BRAM", ("bram", "brams", "bram36"), "brams"),
)
_TYPE_RE = re.compile(r"^\s*(u?fixed)<\s*(-?\d+)\s*,\s*(-?\d+)\s*>\s*(\w+)\s*/\s*(\w+)\s*$")
_ROLES = ("input", "weight", "bias", "accum", "scale", "shift", "out")
_CLEAN_LINT = (True, 0, "clean", "ok", "pass", "passed", "none")


# -- tolerant readers -------------------------------------------------------------------------------


def _int(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, list | tuple | set | dict):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) and f == int(f) else None


def _count(v: Any) -> int | None:
    """A mismatch count: an integer, or the length of a list of mismatching vectors."""
    if isinstance(v, list | tuple):
        return len(v)
    return _int(v)


def _float(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


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


def stage_folder(root: Path, name: str) -> Path:
    """``root/NN_name`` without creating it (unlike ``BuildContext.dir``)."""
    index = [s.name for s in STAGES].index(name)
    return Path(root) / f"{index + 1:02d}_{name}"


class _Stages:
    """The manifests of a build's stages, read once."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifests: dict[str, dict | None] = {}
        for s in STAGES:
            if s.name != REPORT_STAGE:
                self.manifests[s.name] = read_manifest(stage_folder(self.root, s.name))

    def results(self, name: str) -> dict:
        m = self.manifests.get(name)
        r = m.get("results") if isinstance(m, dict) else None
        return r if isinstance(r, dict) else {}

    def status(self, name: str) -> str:
        m = self.manifests.get(name)
        if not isinstance(m, dict):
            return NOT_RUN
        return SKIPPED if self.results(name).get("skipped") else RAN

    def ran(self, name: str) -> bool:
        return self.status(name) == RAN

    def folder(self, name: str) -> Path:
        return stage_folder(self.root, name)


# -- context helpers (used by the report stage) --------------------------------------------------------


def model_info(spec) -> ModelInfo:
    """From a :class:`flow.config.zoo.ModelSpec`."""
    widths = [str(spec.inputs)] + [str(layer.out) for layer in spec.layers if layer.kind == "linear"]
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
    r = st.results("data")
    counts = r.get("counts") if isinstance(r.get("counts"), dict) else {}
    cc = r.get("class_counts") if isinstance(r.get("class_counts"), dict) else {}
    return DataInfo(
        source=_str(r.get("source")),
        jets=_int(r.get("jets")),
        split_seed=_int(r.get("split_seed")),
        train=_int(counts.get("train")),
        val=_int(counts.get("val")),
        test=_int(counts.get("test")),
        class_counts={str(k): v for k, v in ((k, _int(v)) for k, v in cc.items()) if v is not None},
        class_names=tuple(str(c) for c in r.get("class_names") or ()),
        feature_names=tuple(str(c) for c in r.get("feature_names") or ()),
    )


def _training(st: _Stages) -> TrainingInfo:
    t, q = st.results("train"), st.results("quantize")
    return TrainingInfo(
        epochs=_int(t.get("epochs")),
        qat_epochs=_int(q.get("qat_epochs")),
        best_val_accuracy=_float(t.get("best_val_accuracy")),
        best_qat_val_accuracy=_float(q.get("best_qat_val_accuracy")),
        samples_per_s=_float(t.get("samples_per_s")),
        checkpoint=_str(t.get("checkpoint")),
    )


def _precisions(st: _Stages) -> tuple[PrecisionRow, ...]:
    rows = st.results("quantize").get("precisions")
    out = []
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, dict):
            continue
        out.append(
            PrecisionRow(
                layer=str(row.get("layer", "?")),
                kind=str(row.get("kind", "?")),
                input=_str(row.get("in", row.get("input"))),
                **{k: _str(row.get(k)) for k in _ROLES if k != "input"},
            )
        )
    return tuple(out)


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
        ref = np.load(d / "ref_outputs.npy")
        labels = np.load(d / "test_labels.npy")
    except (OSError, ValueError):
        return None
    if ref.ndim != 2 or labels.ndim != 1 or len(ref) != len(labels):
        return None
    return ref, labels


def _reference_accuracy_on(n: int | None, st: _Stages, arrays) -> float | None:
    """The integer reference's accuracy on the first ``n`` test vectors (from its stored outputs)."""
    ref_r = st.results("reference")
    total, int_acc = _int(ref_r.get("vectors")), _float(ref_r.get("int_accuracy"))
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
    ref, train, data = st.results("reference"), st.results("train"), st.results("data")
    float_acc = _float(ref.get("float_accuracy"))
    float_stage = "reference"
    if float_acc is None:
        float_acc, float_stage = _float(train.get("float_test_accuracy")), "train"
    test_n = _int((data.get("counts") or {}).get("test")) if isinstance(data.get("counts"), dict) else None
    out = [
        Accuracy("float", "float model (PyTorch)", float_stage, st.status(float_stage), float_acc, test_n),
        Accuracy(
            "reference",
            "integer reference",
            "reference",
            st.status("reference"),
            _float(ref.get("int_accuracy")),
            _int(ref.get("vectors")),
        ),
    ]
    for name, stage in (("hls4ml C-sim", "hls4ml"), ("RTL simulation", "sim")):
        r = st.results(stage)
        value, n = _float(r.get("accuracy")), _int(r.get("vectors"))
        reference = _reference_accuracy_on(n, st, arrays)
        identical = None if value is None or reference is None else value == reference
        out.append(Accuracy(stage, name, stage, st.status(stage), value, n, reference, identical))
    return tuple(out)


def _check(name: str, stage: str, st: _Stages, vectors: Any, mismatches: Any, detail: str = "") -> Check:
    status = st.status(stage)
    n, m = _int(vectors), _count(mismatches)
    if status != RAN:
        return Check(name, stage, status, n, m, detail or st.results(stage).get("skipped", "") or "")
    verdict = "n/a" if m is None else (PASS if m == 0 else FAIL)
    return Check(name, stage, verdict, n, m, detail)


def _checks(st: _Stages) -> tuple[Check, ...]:
    ref, onnx, hls, sim, rtl = (st.results(s) for s in ("reference", "onnx", "hls4ml", "sim", "rtl"))
    err = _float(onnx.get("onnx_max_abs_err"))
    out = [
        _check(
            "QAT model vs integer reference",
            "reference",
            st,
            ref.get("vectors"),
            ref.get("qat_vs_reference_mismatches"),
        ),
        _check(
            "QONNX vs integer reference",
            "onnx",
            st,
            onnx.get("qonnx_vectors"),
            onnx.get("qonnx_mismatches"),
            f"float ONNX vs PyTorch: max abs error {err:.3g}" if err is not None else "",
        ),
        _check("hls4ml C-sim vs integer reference", "hls4ml", st, hls.get("vectors"), hls.get("mismatches")),
        _check("RTL simulation vs integer reference", "sim", st, sim.get("vectors"), sim.get("mismatches")),
    ]
    lint = rtl.get("lint")
    if st.status("rtl") != RAN:
        out.append(Check("RTL lint", "rtl", st.status("rtl")))
    elif lint is None:
        out.append(Check("RTL lint", "rtl", "n/a"))
    else:
        clean = (
            lint in ([], {})
            or (isinstance(lint, str) and lint.strip().lower() in _CLEAN_LINT)
            or (not isinstance(lint, str | list | dict) and lint in _CLEAN_LINT)
        )
        out.append(Check("RTL lint", "rtl", PASS if clean else "warnings", detail=_text(lint, 200)))
    return tuple(out)


def _timing(st: _Stages, target: TargetInfo) -> Timing:
    sim, synth = st.results("sim"), st.results("synth")
    cycles, ii = _int(sim.get("latency_cycles")), _int(sim.get("ii"))
    ns, mhz = target.clock_ns, target.clock_mhz
    return Timing(
        clock_mhz=mhz,
        clock_ns=ns,
        latency_cycles=cycles,
        latency_ns=cycles * ns if cycles is not None and ns is not None else None,
        ii=ii,
        throughput_mhz=mhz / ii if mhz is not None and ii else None,
        sim_vectors_per_s=_float(sim.get("vectors_per_s")),
        synth_latency_ns=_float(synth.get("latency_ns")),
        logic_depth=_int(synth.get("depth")),
    )


def _resources(st: _Stages, target: TargetInfo) -> tuple[Resource, ...]:
    r = st.results("synth")
    out = []
    for name, keys, total_attr in _RESOURCES:
        used = next((_float(r[k]) for k in keys if k in r and _float(r[k]) is not None), None)
        if used is not None and used == int(used):
            used = int(used)
        total = getattr(target, total_attr) if total_attr else None
        pct = 100.0 * used / total if used is not None and total else None
        out.append(Resource(name, used, total, pct))
    return tuple(out)


def _stages(st: _Stages) -> tuple[StageInfo, ...]:
    out = []
    for i, s in enumerate(STAGES, start=1):
        if s.name == REPORT_STAGE:
            continue
        m = st.manifests.get(s.name)
        if not isinstance(m, dict):
            out.append(StageInfo(i, s.name, NOT_RUN, note=s.summary))
            continue
        r = st.results(s.name)
        out.append(
            StageInfo(
                i,
                s.name,
                st.status(s.name),
                _float(m.get("seconds")),
                _str(m.get("started")),
                _text(r.get("headline", ""), 300),
                _text(r.get("skipped", ""), 300),
            )
        )
    return tuple(out)


def _tools(st: _Stages, extra: dict[str, str] | None) -> tuple[ToolVersion, ...]:
    seen: dict[tuple[str, str], list[str]] = {}
    for name, m in st.manifests.items():
        tools = m.get("tools") if isinstance(m, dict) else None
        for tool, version in (tools or {}).items() if isinstance(tools, dict) else ():
            seen.setdefault((str(tool), str(version)), []).append(name)
    for tool, version in (extra or {}).items():
        seen.setdefault((str(tool), str(version)), []).append(REPORT_STAGE)
    for stage, key, label in (("synth", "tool", "synthesis tool"), ("hls4ml", "vendor", "vendor HLS tool")):
        v = st.results(stage).get(key)
        if v is not None and st.ran(stage):
            seen.setdefault((label, _text(v, 120)), []).append(stage)
    first = {"python": 0, "flow": 1}
    return tuple(
        ToolVersion(t, v, tuple(s))
        for (t, v), s in sorted(seen.items(), key=lambda kv: (first.get(kv[0][0], 2), kv[0]))
    )


def _details(st: _Stages) -> tuple[Detail, ...]:
    out = []
    for s in STAGES:
        if s.name == REPORT_STAGE:
            continue
        for key, value in sorted(st.results(s.name).items()):
            if key in _SHOWN.get(s.name, set()) or key in ("headline", "skipped"):
                continue
            out.append(Detail(s.name, key, _text(value)))
    return tuple(out)


def _flags(st: _Stages, accuracies, checks, arrays) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    for c in checks:
        if c.status == FAIL:
            of = f" of {c.vectors:,}" if c.vectors is not None else ""
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
        elif c.status == "n/a" and c.stage != "rtl":
            flags.append(Flag("warning", f"{c.name}: stage ran but recorded no mismatch count"))
    if st.ran("reference") and arrays is None:
        flags.append(Flag("warning", "04_reference/ref_outputs.npy or test_labels.npy missing: no plots"))
    return tuple(flags)


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
) -> Report:
    """The report of the build in ``root`` (``build/<model>/<target>``).

    ``model``/``target`` default to names taken from the folder (device totals from the built-in target
    of that name, if any; the clock stays unknown since a build may override it). ``tools`` adds
    versions of the report's own tools; with ``plot_dir`` (inside ``root``) the plots are drawn there
    and listed in the report.
    """
    root = Path(root)
    st = _Stages(root)
    model = model or ModelInfo(name=root.parent.name)
    target = target or _target_from_name(root.name)
    q = st.results("quantize")
    model = replace(model, quantized_params=_int(q.get("params")))
    if model.float_params is None:
        model = replace(model, float_params=_int(st.results("train").get("params")))
    arrays = _reference_arrays(st) if st.status("reference") == RAN else None
    ref = st.results("reference")
    accuracies = _accuracies(st, arrays)
    checks = _checks(st)
    precisions = _precisions(st)
    float_acc = accuracies[0].value
    int_acc = _float(ref.get("int_accuracy"))
    seconds = [
        s for s in (_float(m.get("seconds")) for m in st.manifests.values() if isinstance(m, dict)) if s is not None
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
        timing=_timing(st, target),
        resources=_resources(st, target),
        stages=_stages(st),
        build_seconds=sum(seconds) if seconds else None,
        tools=_tools(st, tools),
        details=_details(st),
    )
    if plot_dir is not None:
        from flow.report.figures import draw

        plots, classes = draw(report, st, arrays, Path(plot_dir), root)
        report = replace(report, plots=plots, classes=classes)
    return report
