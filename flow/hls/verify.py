"""Read the C++ hls4ml wrote and check it computes our graph: layers, kernels and every type.

hls4ml runs optimizer passes between the config and the code (fusing BatchNorm into Dense,
removing "no-op" BatchNorms, inferring ``auto`` precisions, appending nothing or a softmax ...).
Rather than trust the config, this module parses what will be compiled and synthesized:

* ``firmware/<project>.cpp``: one kernel call per layer,
  ``nnet::<kernel><in_t, out_t, config>(...); // name``, in graph order, chained (each call reads the
  previous call's output type), and nothing else;
* ``firmware/parameters.h``: each layer's config struct (``weight_t``/``bias_t``/``accum_t``/``scale_t``
  typedefs, the plain ``nnet::product::mult`` product, the Latency dense kernel, reuse factor 1);
* ``firmware/defines.h``: the ``typedef ap_[u]fixed<...> name;`` of every type used above, read back
  with :func:`flow.hls.precision.parse_ap_type` and compared with the graph's FixedTypes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flow.errors import ToolError
from flow.hls.precision import NO_ARGMAX, hls_name, layer_roles, parse_ap_type
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift
from flow.registry import KindTable, Unsupported

_CALL_RE = re.compile(r"nnet::(\w+)<\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*>\([^;]*\);\s*//\s*(\S+)")
_STRUCT_RE = re.compile(r"struct\s+(\w+)\s*:\s*nnet::\w+\s*\{(.*?)\n\};", re.DOTALL)
_TYPEDEF_RE = re.compile(r"^\s*typedef\s+(.+?)\s+(\w+)\s*;", re.MULTILINE)
_CONFIG_ROLE = {"weight": "weight_t", "bias": "bias_t", "accum": "accum_t", "scale": "scale_t"}


@dataclass(frozen=True)
class KernelCall:
    kernel: str
    in_t: str
    out_t: str
    config: str
    name: str


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise ToolError(f"hls4ml did not write {path}: {e}") from None


def kernel_calls(top_cpp: str) -> list[KernelCall]:
    return [KernelCall(*m.groups()) for m in _CALL_RE.finditer(top_cpp)]


def _fail(what: str) -> None:
    raise ToolError(f"generated hls4ml code does not match the graph: {what}")


def _check_type(where: str, typename: str, typedefs: dict[str, str], expected) -> None:
    if typename not in typedefs:
        _fail(f"{where}: type {typename} has no typedef in defines.h")
    got = parse_ap_type(typedefs[typename])
    if got != expected:
        _fail(f"{where}: {typename} is {typedefs[typename]}, expected {expected.describe()}")


def _check_config(layer: Layer, body: str, typedefs: dict[str, str]) -> None:
    local = {alias: target for target, alias in _TYPEDEF_RE.findall(body)}  # accum_t -> fc1_accum_t
    for role, t in layer_roles(layer).items():
        if role == "result":
            continue
        _check_type(f"layer {layer.name!r} {role}", local.get(_CONFIG_ROLE[role], "<missing>"), typedefs, t)
    READ_BACK[layer].config(layer, body)


def _dense_config(layer: Dense, body: str) -> None:
    if "nnet::product::mult<" not in body:
        _fail(f"layer {layer.name!r} does not use the plain nnet::product::mult product")
    if "nnet::DenseLatency" not in body or not re.search(r"reuse_factor = 1;", body):
        _fail(f"layer {layer.name!r} is not the Latency dense kernel with reuse factor 1")


def _normalize_config(layer: ScaleShift, body: str) -> None:
    if "nnet::product::mult<" not in body:
        _fail(f"layer {layer.name!r} does not use the plain nnet::product::mult product")


@dataclass(frozen=True)
class KernelCheck:
    """What the generated C++ of one layer kind must contain."""

    kernel: str  # the nnet:: function the top calls
    config: Callable[[Layer, str], None]  # extra checks of its config struct


READ_BACK = KindTable(
    "hls4ml read-back check",
    LAYER_CLASSES,
    {
        Dense: KernelCheck("dense", _dense_config),
        ScaleShift: KernelCheck("normalize", _normalize_config),
        ReLU: KernelCheck("relu", lambda layer, body: None),
        ArgMax: Unsupported(NO_ARGMAX),
    },
)


def check_project(project_dir: Path, project_name: str, graph: QuantGraph) -> None:
    """Raise ToolError unless the written project computes ``graph`` with exactly its types."""
    fw = Path(project_dir) / "firmware"
    calls = kernel_calls(_read(fw / f"{project_name}.cpp"))
    typedefs = {name: text for text, name in _TYPEDEF_RE.findall(_read(fw / "defines.h"))}
    configs = dict(_STRUCT_RE.findall(_read(fw / "parameters.h")))
    got = [(c.name, c.kernel) for c in calls]
    want = [(hls_name(layer.name), READ_BACK[layer].kernel) for layer in graph.layers]
    if got != want:
        _fail(f"kernel calls {got} != expected {want} (a layer was fused, removed or added)")
    prev_t, prev_type = None, graph.input_type
    for layer, call in zip(graph.layers, calls, strict=True):
        if prev_t is not None and call.in_t != prev_t:
            _fail(f"layer {layer.name!r} reads {call.in_t}, but the previous layer writes {prev_t}")
        _check_type(f"input of layer {layer.name!r}", call.in_t, typedefs, prev_type)
        _check_type(f"layer {layer.name!r} result", call.out_t, typedefs, layer.out_type)
        if call.config not in configs:
            _fail(f"layer {layer.name!r}: config struct {call.config} missing from parameters.h")
        _check_config(layer, configs[call.config], typedefs)
        prev_t, prev_type = call.out_t, layer.out_type
