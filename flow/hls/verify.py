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
  with :func:`flow.hls.precision.parse_ap_type` and compared with the graph's FixedTypes;
* :func:`check_weight_headers`: every value of every ``firmware/weights/*.h`` array a kernel call passes,
  parsed exactly (decimal -> ``Fraction``) and compared code by code with the graph's weights. The C
  simulation reads the ``.txt`` copies (and is checked against the reference on every vector);
  synthesis reads the headers, so they are checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from flow.errors import MismatchError, ToolError
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
    top = _read(fw / f"{project_name}.cpp")
    calls = kernel_calls(top)
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


# -- the weight headers synthesis reads -----------------------------------------------------------------

_ARGS_RE = re.compile(r"nnet::\w+<[^>]*>\(([^;]*)\);\s*//\s*(\S+)")
_ARRAY_RE = re.compile(r"(\w+)\s+(\w+)\s*\[\s*(\d+)\s*\]\s*=\s*\{([^}]*)\}\s*;")


def _dense_arrays(layer: Dense) -> list[tuple[str, np.ndarray, object]]:
    # hls4ml's dense kernels index w[i * n_out + o] for input i, output o: the flat array is weight.T
    return [("weight", layer.weight.T.reshape(-1), layer.weight_type), ("bias", layer.bias, layer.bias_type)]


def _scale_shift_arrays(layer: ScaleShift) -> list[tuple[str, np.ndarray, object]]:
    return [("scale", layer.scale, layer.scale_type), ("shift", layer.shift, layer.shift_type)]


# The weight arrays each kernel call passes after its input and output, in order: (role, codes, type).
WEIGHT_ARRAYS = KindTable(
    "hls4ml weight headers",
    LAYER_CLASSES,
    {
        Dense: _dense_arrays,
        ScaleShift: _scale_shift_arrays,
        ReLU: lambda layer: [],
        ArgMax: Unsupported(NO_ARGMAX),
    },
)


def _header_codes(path: Path, name: str, t) -> np.ndarray:
    text = _read(path)
    arrays = {m.group(2): m for m in _ARRAY_RE.finditer(text)}
    if name not in arrays:
        raise MismatchError(f"{path}: no initialized array {name}[...] (synthesis would have no weights)")
    m = arrays[name]
    values = [v.strip() for v in m.group(4).split(",") if v.strip()]
    if len(values) != int(m.group(3)):
        raise MismatchError(f"{path}: {name} declares {m.group(3)} values but lists {len(values)}")
    codes = []
    for k, v in enumerate(values):
        try:
            q = Fraction(v) * Fraction(2) ** t.frac
        except (ValueError, ZeroDivisionError):
            raise MismatchError(f"{path}: {name}[{k}] = {v!r} is not a number") from None
        if q.denominator != 1:
            raise MismatchError(f"{path}: {name}[{k}] = {v} is not a value of {t.describe()}")
        codes.append(int(q))
    return np.array(codes, dtype=object)


def check_weight_headers(project_dir: Path, project_name: str, graph: QuantGraph) -> int:
    """Compare every value of the weight headers the kernels use with the graph, code by code; returns the
    number of values compared. :class:`MismatchError` names the file, the index and both values."""
    fw = Path(project_dir) / "firmware"
    calls = {
        name: [a.strip() for a in args.split(",")] for args, name in _ARGS_RE.findall(_read(fw / f"{project_name}.cpp"))
    }
    compared = 0
    for layer in graph.layers:
        arrays = WEIGHT_ARRAYS[layer](layer)
        args = calls.get(hls_name(layer.name))
        if args is None:
            _fail(f"no kernel call for layer {layer.name!r}")
        names = args[2:]
        if len(names) != len(arrays):
            _fail(f"layer {layer.name!r} passes {names}, expected {len(arrays)} weight arrays")
        for var, (role, want, t) in zip(names, arrays, strict=True):
            path = fw / "weights" / f"{var}.h"
            got = _header_codes(path, var, t)
            want = np.asarray(want, dtype=np.int64).reshape(-1)
            if len(got) != len(want):
                raise MismatchError(f"{path}: {len(got)} values, layer {layer.name!r} {role} has {len(want)}")
            bad = np.flatnonzero(got.astype(np.int64) != want)
            if len(bad):
                k = int(bad[0])
                raise MismatchError(
                    f"hls4ml weight header {path.name} differs from layer {layer.name!r} {role} in {len(bad)} of "
                    f"{len(want)} values; first at index {k}: header code {int(got[k])}, graph code {int(want[k])}"
                )
            compared += len(want)
    return compared
