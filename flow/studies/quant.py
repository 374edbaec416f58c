"""``flow quantize``: apply a precision config, say what changed, compare the graphs, check the grid.

:func:`quantize_float_model` runs :func:`flow.quantize.quantize_model.quantize_model` (fold BatchNorm, assign types,
QAT for ``qat_epochs``: 0 is post-training quantization) and measures the float model and the
integer reference on the validation split. Then:

* :func:`node_changes` -- every node of the traced float graph next to what it became: quantized
  (and to which types), folded into a Linear, or unchanged; with the error at that point of the
  dataflow (the quantized model's value against the float model's, on validation inputs).
* :func:`grid_checks` -- every quantized parameter (the values the QAT model computes with) must lie on
  its fixed-point grid: ``value * 2**frac`` an integer code inside the type's range, equal to the
  code the integer graph holds. :func:`verify_grid` raises :class:`~flow.errors.MismatchError` otherwise.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flow.artifacts import QAT_MODEL, QUANT_GRAPH
from flow.config.zoo import ModelSpec
from flow.errors import MismatchError
from flow.ir.fixed import FixedType
from flow.ir.graph import QuantGraph, layer_arrays
from flow.ir.reference import classify, predict
from flow.quantize.fold_batchnorm import PARAM_ROLES
from flow.quantize.qat import QuantModel, fake_quantize, fake_quantize_features, layer_types
from flow.quantize.quantize_model import Quantized, quantize_model
from flow.studies.data import StudyData
from flow.studies.graph import describe_types, folded_into, module_text, short, trace
from flow.train.fit import Progress, evaluate
from flow.train.history import write_history
from flow.train.model import load_float_model, read_checkpoint


def int_accuracy(graph: QuantGraph, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the integer reference on raw features ``x``."""
    return float(np.mean(classify(predict(graph, x)) == y)) if len(y) else 0.0


@dataclass(frozen=True, eq=False)
class QuantRun:
    """A float model, its quantized form, and both validation accuracies."""

    spec: ModelSpec
    float_model: nn.Sequential
    mean: np.ndarray
    std: np.ndarray
    quantized: Quantized
    float_val_acc: float
    int_val_acc: float

    @property
    def graph(self) -> QuantGraph:
        return self.quantized.graph

    def types_summary(self) -> dict[str, str]:
        out = {"input": short(self.graph.input_type.describe())}
        for layer, t in zip(self.graph.layers, layer_types(self.graph), strict=True):
            out[layer.name] = describe_types(t)
        return out


def quantize_float_model(
    spec: ModelSpec,
    data: StudyData,
    float_model: nn.Sequential,
    mean: np.ndarray,
    std: np.ndarray,
    qat_epochs: int | None = None,
    on_epoch: Progress | None = None,
) -> QuantRun:
    """Quantize with ``spec.quant`` (QAT epochs: ``qat_epochs``, default the model's) and measure."""
    train, val, _ = data.arrays(mean, std)
    _, float_acc = evaluate(float_model, val)
    q = quantize_model(
        float_model,
        spec,
        train,
        val,
        mean=mean,
        std=std,
        class_names=data.class_names,
        feature_names=data.feature_names,
        qat_epochs=qat_epochs,
        on_epoch=on_epoch,
    )
    return QuantRun(spec, float_model.eval(), mean, std, q, float_acc, int_accuracy(q.graph, data.val.x, data.val.y))


def quantize_checkpoint(
    spec: ModelSpec, data: StudyData, path: Path, qat_epochs: int | None = None, on_epoch: Progress | None = None
) -> QuantRun:
    """:func:`quantize_float_model` on a ``flow train`` checkpoint (its own standardization)."""
    ckpt = read_checkpoint(path)
    model = load_float_model(path, spec)
    return quantize_float_model(spec, data, model, ckpt["input_mean"], ckpt["input_std"], qat_epochs, on_epoch)


# -- node by node ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeChange:
    node: str
    op: str
    before: str  # the float node: module and dtype
    after: str  # what it became: types, "folded into fc1", or "unchanged"
    status: str  # "quantized", "folded", "unchanged"
    max_abs_err: float | None  # quantized vs float value at this point of the dataflow (validation inputs)
    rel_err: float | None  # max_abs_err / max |float value|


@torch.no_grad()
def _float_values(model: nn.Sequential, x: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {"input": x}
    for name, module in model.named_children():
        x = module(x)
        out[name] = x
    return out


@torch.no_grad()
def _quant_values(qmodel: QuantModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    q = copy.deepcopy(qmodel).double().eval()
    x = fake_quantize_features(x.double(), q.input_type, q.feature_types)
    out = {"input": x}
    for layer in q.layers:
        x = layer(x)
        out[layer.name] = x
    return out


def node_changes(run: QuantRun, x: torch.Tensor) -> list[NodeChange]:
    """Every node of the float graph next to its quantized counterpart (see the module docstring);
    ``x``: standardized validation features."""
    spec, graph = run.spec, run.graph
    folded = folded_into(spec)
    absorbs: dict[str, list[str]] = {}
    for bn, lin in folded.items():
        absorbs.setdefault(lin, []).append(bn)
    types = {layer.name: describe_types(t) for layer, t in zip(graph.layers, layer_types(graph), strict=True)}
    # float value name -> the quantized layer whose output is the same point of the dataflow
    counterpart = {"input": "input"}
    for layer in graph.layers:
        counterpart[absorbs[layer.name][-1] if layer.name in absorbs else layer.name] = layer.name
    counterpart["output"] = graph.layers[-1].name
    fv = _float_values(run.float_model, x.float())
    fv["output"] = fv[spec.layers[-1].name]
    qv = _quant_values(run.quantized.model, x)
    gm = trace(run.float_model, spec.inputs)
    modules = dict(gm.named_modules())
    rows = []
    for node in gm.graph.nodes:
        point = {"placeholder": "input", "output": "output"}.get(node.op, str(node.target))
        before = f"{module_text(modules[node.target])} float32" if node.op == "call_module" else "float32"
        if point in folded:
            after, status = f"folded into {folded[point]}", "folded"
        elif point in ("input", "output"):
            t = graph.input_type if point == "input" else graph.output_type
            after, status = short(t.describe()), "quantized"
        elif point in types:
            extra = f" (absorbs {', '.join(absorbs[point])})" if point in absorbs else ""
            after, status = f"{graph.layer(point).kind}: {types[point]}{extra}", "quantized"
        else:
            after, status = "unchanged", "unchanged"
        err = rel = None
        if point in counterpart and point in fv:
            f, q = fv[point].double(), qv[counterpart[point]]
            err = float((f - q).abs().max()) if f.numel() else 0.0
            rel = err / max(float(f.abs().max()), 1e-30) if f.numel() else 0.0
        rows.append(NodeChange(node.name, node.op, before, after, status, err, rel))
    return rows


# -- the grid check --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCheck:
    """One quantized parameter tensor checked against its type."""

    layer: str
    role: str
    type: str
    count: int
    off_grid: int  # value * 2**frac is not an integer
    out_of_range: int  # the code is outside the type's range
    mismatched: int  # the code differs from the integer graph's
    first_bad: str = ""

    @property
    def ok(self) -> bool:
        return self.off_grid == 0 and self.out_of_range == 0 and self.mismatched == 0


def check_values(
    layer: str, role: str, values: torch.Tensor | np.ndarray, t: FixedType, codes: np.ndarray | None = None
) -> GridCheck:
    """Check real ``values`` against the grid of ``t`` (and against integer ``codes`` when given)."""
    v = torch.as_tensor(np.asarray(values, dtype=np.float64)).flatten()
    scaled = v * (2.0**t.frac)  # exact: a power-of-two scale of a float64
    off = scaled != torch.round(scaled)
    rng = (scaled < t.min_code) | (scaled > t.max_code)
    bad_code = torch.zeros_like(off)
    if codes is not None:
        c = torch.as_tensor(np.asarray(codes, dtype=np.int64)).flatten()
        bad_code = (torch.round(scaled) != c.double()) | off
    first = ""
    for name, mask in (("off the grid", off), ("out of range", rng), ("differs from the graph's code", bad_code)):
        if bool(mask.any()):
            i = int(torch.nonzero(mask)[0])
            first = f"element {i} = {float(v[i])!r} ({float(scaled[i])!r} LSBs) is {name}"
            break
    return GridCheck(
        layer, role, short(t.describe()), int(v.numel()), int(off.sum()), int(rng.sum()), int(bad_code.sum()), first
    )


@torch.no_grad()
def quantized_parameters(qmodel: QuantModel) -> list[tuple[str, str, torch.Tensor, FixedType]]:
    """``(layer, role, values, type)`` of every parameter as the QAT model computes with it."""
    out = []
    for m in qmodel.layers:
        for role in PARAM_ROLES[type(m.folded())]:
            t = getattr(m.types, role)
            out.append((m.name, role, fake_quantize(getattr(m, role).detach().double(), t), t))
    return out


def graph_codes(graph: QuantGraph) -> dict[tuple[str, str], np.ndarray]:
    return {(layer.name, role): codes for layer in graph.layers for role, codes in layer_arrays(layer).items()}


def grid_checks(qmodel: QuantModel, graph: QuantGraph | None = None) -> list[GridCheck]:
    """Check every quantized parameter of ``qmodel`` (and that ``graph`` holds the same codes)."""
    codes = graph_codes(graph) if graph is not None else {}
    return [
        check_values(layer, role, v.numpy(), t, codes.get((layer, role)))
        for layer, role, v, t in quantized_parameters(qmodel)
    ]


def verify_grid(checks: list[GridCheck]) -> None:
    """Raise :class:`MismatchError` naming the first parameter off its grid."""
    bad = [c for c in checks if not c.ok]
    if bad:
        c = bad[0]
        raise MismatchError(
            f"{len(bad)} quantized parameter tensor(s) not on their fixed-point grid; first: "
            f"{c.layer}.{c.role} ({c.type}): {c.first_bad}"
        )


# -- the report folder -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class QuantizeReport:
    run: QuantRun
    changes: tuple[NodeChange, ...]
    grid: tuple[GridCheck, ...]

    @property
    def grid_ok(self) -> bool:
        return all(c.ok for c in self.grid)

    def summary(self) -> dict:
        r = self.run
        return {
            "model": r.spec.name,
            "qat_epochs": len(r.quantized.history),
            "float_val_acc": r.float_val_acc,
            "int_val_acc": r.int_val_acc,
            "accuracy_drop": r.float_val_acc - r.int_val_acc,
            "params": r.graph.n_params,
            "grid_ok": self.grid_ok,
            "types": r.types_summary(),
        }


def quantize_report(run: QuantRun, data: StudyData, out: Path) -> QuantizeReport:
    """Compare, check, and write ``quant_graph.json``, ``qat_model.pt``, ``changes.md``/``.csv``,
    ``grid.csv``, ``history.*`` (QAT) and ``report.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _, val, _ = data.arrays(run.mean, run.std)
    report = QuantizeReport(run, tuple(node_changes(run, val.x)), tuple(grid_checks(run.quantized.model, run.graph)))
    run.graph.save(out / QUANT_GRAPH)
    torch.save(run.quantized.model.state_dict(), out / QAT_MODEL)
    write_history(out, [h.as_dict() for h in run.quantized.history])
    _write_rows(out / "changes.csv", [asdict(c) for c in report.changes])
    _write_rows(out / "grid.csv", [{**asdict(c), "ok": c.ok} for c in report.grid])
    lines = [
        f"# Quantization of {run.spec.name}",
        "",
        f"Validation accuracy: float {run.float_val_acc:.4f}, integer reference {run.int_val_acc:.4f} "
        f"(drop {run.float_val_acc - run.int_val_acc:+.4f}); QAT epochs {len(run.quantized.history)}.",
        "",
        "| node | op | before | after | max abs err | rel err |",
        "|---|---|---|---|---|---|",
    ]
    for c in report.changes:
        err = "-" if c.max_abs_err is None else f"{c.max_abs_err:.3g}"
        rel = "-" if c.rel_err is None else f"{c.rel_err:.2%}"
        lines.append(f"| {c.node} | {c.op} | {c.before} | {c.after} | {err} | {rel} |")
    lines += ["", f"Grid check: {'every quantized parameter is on its grid' if report.grid_ok else 'FAILED'}."]
    (out / "changes.md").write_text("\n".join(lines) + "\n")
    (out / "report.json").write_text(json.dumps(report.summary(), indent=1))
    return report


def _write_rows(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        if rows:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
