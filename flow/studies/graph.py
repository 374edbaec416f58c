"""``flow analyze graph``: the traced float graph as a table, with each node's precision.

The float model is traced with ``torch.fx.symbolic_trace`` and its shapes filled in by ``ShapeProp``.
Precision comes from one of three sources, most concrete last:

* the resolved quantization config (built-in < default < type rule < name rule; ``frac`` may be ``auto``),
* a float model and calibration data: :func:`flow.quantize.assign_types.assign_types` fixes every ``auto``,
* a quantized graph (``quant_graph.json`` from ``flow build`` or ``flow quantize``).

A BatchNorm folded into the Linear before it has no precision of its own ("folded into fc1").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from flow.config.quant import BUILTIN, graph_input_spec, layer_quant
from flow.config.zoo import ModelSpec
from flow.ir.fixed import FixedType
from flow.ir.graph import QuantGraph
from flow.quantize.assign_types import assign_types
from flow.quantize.fold_batchnorm import fold_batchnorm
from flow.quantize.qat import LayerTypes, layer_types
from flow.train.model import build_float_model


def short(desc: str) -> str:
    """A type description without the flow's default modes (``RND/SAT``)."""
    return desc.replace(" RND/SAT", "")


def trace(model: nn.Module, inputs: int, batch: int = 2) -> fx.GraphModule:
    """fx-trace ``model`` (in eval mode) and record every node's output shape and dtype."""
    gm = fx.symbolic_trace(model.eval())
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(batch, inputs))
    return gm


def folded_into(spec: ModelSpec) -> dict[str, str]:
    """BatchNorm name -> the Linear it folds into (as :func:`fold_batchnorm` decides)."""
    kept = {layer.name for layer in fold_batchnorm(build_float_model(spec).eval())}
    out, last_linear = {}, None
    for layer in spec.layers:
        if layer.kind == "dense":
            last_linear = layer.name
        elif layer.name not in kept:
            out[layer.name] = last_linear
        if layer.kind != "dense" and layer.name in kept:
            last_linear = None
    return out


def describe_types(t: LayerTypes) -> str:
    """``w fixed<8,6> b fixed<16,10> -> fixed<16,9>`` for a Linear, likewise scale/shift, output only."""
    return _roles_text({f.name: getattr(t, f.name) for f in fields(t) if f.name != "out"}) + short(t.out.describe())


_ABBREV = {"weight": "w", "bias": "b"}


def _roles_text(types: dict) -> str:
    """``w fixed<8,6> b fixed<16,10> -> `` for the parameter types of a layer (empty without any)."""
    return "".join(f"{_ABBREV.get(role, role)} {short(t.describe())} " for role, t in types.items()) + (
        "-> " if types else ""
    )


@dataclass(frozen=True)
class Precisions:
    """Precision text for the graph input, each layer kept in hardware, and the output."""

    source: str
    input: str
    layers: dict[str, str] = field(default_factory=dict)
    output: str = ""


def config_precisions(spec: ModelSpec) -> Precisions:
    """From the resolved config alone (``auto`` fractional bits are fixed at quantization)."""
    folded = folded_into(spec)
    layers, output = {}, ""
    for layer in spec.layers:
        if layer.name in folded:
            continue
        q = layer_quant(spec.quant, layer.name, layer.kind)
        if layer.kind == "argmax":
            layers[layer.name] = output = "class index"
            continue
        roles = {r: getattr(q, r) for r in BUILTIN.get(layer.kind, {}) if r not in ("input", "output")}
        layers[layer.name] = _roles_text(roles) + short(q.output.describe())
        output = short(q.output.describe())
    return Precisions(
        "config (auto = fractional bits chosen from observed ranges at quantization)",
        short(graph_input_spec(spec.quant).describe()),
        layers,
        output,
    )


def types_precisions(source: str, input_type: FixedType, named: list[tuple[str, LayerTypes]]) -> Precisions:
    layers = {name: describe_types(t) for name, t in named}
    return Precisions(source, short(input_type.describe()), layers, short(named[-1][1].out.describe()))


def calibrated_precisions(spec: ModelSpec, model: nn.Sequential, calib: torch.Tensor) -> Precisions:
    """``assign_types`` on the folded model with calibration inputs (standardized features)."""
    folded = fold_batchnorm(model.eval())
    input_type, types = assign_types(folded, spec.quant, calib)
    return types_precisions(
        "config resolved on the checkpoint and training data",
        input_type,
        [(f.name, t) for f, t in zip(folded, types, strict=True)],
    )


def graph_precisions(graph: QuantGraph, source: str = "quantized graph") -> Precisions:
    return types_precisions(
        source, graph.input_type, [(layer.name, t) for layer, t in zip(graph.layers, layer_types(graph), strict=True)]
    )


@dataclass(frozen=True)
class GraphRow:
    node: str
    op: str  # placeholder, get_attr, call_module, call_function, call_method, output
    target: str
    module: str  # e.g. Linear(16 -> 64); "" when not a module call
    shape: str  # N = the batch dimension
    dtype: str
    precision: str


def module_text(m: nn.Module) -> str:
    if isinstance(m, nn.Linear):
        return f"Linear({m.in_features} -> {m.out_features})"
    if isinstance(m, nn.BatchNorm1d):
        return f"BatchNorm1d({m.num_features})"
    return type(m).__name__


def _shape(node: fx.Node) -> tuple[str, str]:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return "-", "-"
    dims = ["N" if i == 0 else str(d) for i, d in enumerate(meta.shape)]
    return f"({', '.join(dims)})", str(meta.dtype).removeprefix("torch.")


def graph_rows(
    spec: ModelSpec,
    precisions: Precisions | None = None,
    model: nn.Module | None = None,
) -> list[GraphRow]:
    """One row per fx node of the float model of ``spec``."""
    model = model if model is not None else build_float_model(spec)
    precisions = precisions or config_precisions(spec)
    folded = folded_into(spec)
    gm = trace(model, spec.inputs)
    modules = dict(gm.named_modules())
    rows = []
    for node in gm.graph.nodes:
        shape, dtype = _shape(node)
        module, precision = "", "-"
        if node.op == "placeholder":
            precision = precisions.input
        elif node.op == "output":
            precision = precisions.output
        elif node.op == "call_module":
            module = module_text(modules[node.target])
            precision = (
                f"folded into {folded[node.target]}"
                if node.target in folded
                else precisions.layers.get(node.target, "-")
            )
        target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
        rows.append(GraphRow(node.name, node.op, target, module, shape, dtype, precision))
    return rows
