"""Read a QONNX or float ONNX file into flow's layers: an integer :class:`~flow.ir.graph.QuantGraph`
when the file carries ``Quant`` nodes, else a float ``nn.Sequential`` that flow quantizes itself.

The file is first put through qonnx's cleanup passes (``cleanup_model``: shape inference, constant
folding that keeps ``Quant`` nodes, unique names) with the batch fixed to 1. Then the chain of nodes
from the graph input is walked, one op at a time:

* ``Gemm`` (``transB`` 0 or 1, ``alpha = beta = 1``, ``transA = 0``) or ``MatMul`` with a constant
  weight, then an ``Add`` of a constant vector: a dense layer. ``Relu``: a ReLU.
* ``Quant`` on a constant (weight, bias, scale, shift): evaluated with qonnx's own ``int_quant``; the
  values divided by the scale are the integer codes (checked to be integers), the bit width and signedness
  give the parameter's :class:`~flow.ir.fixed.FixedType`.
* ``Quant`` on an activation (the input or a layer output): ``FixedType(bitwidth, -log2(scale), signed,
  rounding, SAT)`` with ``ROUND``/``HALF_EVEN`` -> ``RND_CONV`` and ``FLOOR`` -> ``TRN`` (``Add`` of half
  the Quant's scale before a ``FLOOR`` Quant is ``RND``: flow's own QONNX export). The scale must be one
  power of two, the zero point 0, ``narrow`` 0; anything else is refused in one line naming the node.
* ``Mul`` then ``Add`` by constant vectors: a per-feature scale-and-shift (flow's ScaleShift).
* ``BatchNormalization``: folded by flow in a float file; in a quantized file only where its scale and
  shift are fixed-point values (then a ScaleShift), else refused.
* ``Identity``, ``Flatten``, ``Reshape`` (to ``[batch, n]``), ``Cast`` to a float type: no-ops.
* A trailing ``Softmax``/``LogSoftmax``/``Sigmoid`` is dropped with a note (the argmax is unchanged);
  one with anything after it is refused.

A dense layer whose output is not quantized (a ``Relu`` follows, or it is the last layer) keeps the
exact accumulator (:func:`flow.ir.graph.exact_accum_type`), as the file's float execution does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, Rounding, bits_for_range

SUPPORTED = (
    "Gemm, MatMul + Add, Relu, BatchNormalization, Quant (power-of-two scale, zero point 0), Mul + Add by "
    "constants, Identity/Flatten/Reshape/Cast, and a trailing Softmax/Sigmoid"
)
TRAILING = ("Softmax", "LogSoftmax", "Sigmoid")
NOOPS = ("Identity", "Flatten", "Reshape", "Cast", "Dropout")
ROUNDING = {"ROUND": Rounding.RND_CONV, "HALF_EVEN": Rounding.RND_CONV, "FLOOR": Rounding.TRN}
# A dense layer's input when the file quantizes no input: standardized features within +-16.
DEFAULT_INPUT = FixedType(12, 7, True, "RND_CONV", "SAT")
PARAM_ROUNDING = Rounding.RND  # constants are exact codes: their type's rounding never acts


class ImportError_(ConfigError):
    """A model file flow cannot import as it is (one line: file, node, op, what would work)."""


def refuse(path, node, what: str) -> ImportError_:
    name = node.name or (node.output[0] if node.output else "?")
    orig = name
    if node.doc_string.startswith("flow-orig:"):  # the name in the file, before qonnx's cleanup renamed it
        orig = node.doc_string.removeprefix("flow-orig:").split("|out:")[0]
    return ImportError_(f"{path}: node {orig!r} (op {node.op_type}): {what}")


@dataclass
class Param:
    """A constant: float values, and when a Quant produced it, its integer codes and type."""

    values: np.ndarray
    codes: np.ndarray | None = None
    t: FixedType | None = None

    def map(self, f) -> Param:
        """The same constant with ``f`` (a reshape or transpose) applied to its values and codes."""
        return Param(f(self.values), None if self.codes is None else f(self.codes), self.t)

    def flat(self) -> Param:
        return self.map(lambda a: a.reshape(-1))


@dataclass
class Step:
    """One layer read from the file, before the types are chained."""

    kind: str  # dense, relu, scaleshift, batchnorm
    name: str
    weight: Param | None = None  # dense: [out, in]; scaleshift: scale
    bias: Param | None = None  # dense bias; scaleshift shift
    out: FixedType | None = None  # the Quant on its output (None: exact)
    bn: dict | None = None  # float BatchNormalization parameters


@dataclass
class Parsed:
    """What the walk found: the input type (a Quant on the input), the layers, notes."""

    input_type: FixedType | None
    steps: list[Step]
    quantized: bool
    notes: list[str] = field(default_factory=list)
    input_name: str = ""
    input_elem: int = 1
    scores_tensor: str = ""  # the tensor holding the scores (before a dropped trailing Softmax)
    metadata: dict = field(default_factory=dict)


def _pow2_exp(path, node, scale: np.ndarray) -> int:
    s = np.asarray(scale, dtype=np.float64).ravel()
    if s.size == 0 or not np.all(s == s[0]):
        raise refuse(
            path, node, "per-channel scales; use one per-tensor power-of-two scale (Brevitas: *FixedPoint quantizers)"
        )
    v = float(s[0])
    m, e = math.frexp(v) if v > 0 else (0.0, 0)
    if v <= 0 or m != 0.5:
        raise refuse(
            path,
            node,
            f"scale {v!r} is not a power of two; use a power-of-two scale (Brevitas: *FixedPoint quantizers, "
            "QKeras: alpha=1 / po2 scales)",
        )
    return -(e - 1)  # v == 2**(e-1) == 2**-frac


def _quant_attrs(node) -> dict:
    from onnx import helper

    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    mode = a.get("rounding_mode", b"ROUND")
    return {
        "signed": int(a.get("signed", 1)),
        "narrow": int(a.get("narrow", 0)),
        "mode": (mode.decode() if isinstance(mode, bytes) else str(mode)).upper(),
    }


class _Walker:
    def __init__(self, model, path):
        self.m = model
        self.path = path
        g = model.graph
        self.inits = {t.name: t for t in g.initializer}
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in g.output}

    def const(self, name: str) -> Param | None:
        """The value of a constant tensor (an initializer, or a Quant/Identity/Transpose of constants)."""
        from onnx import helper, numpy_helper

        if name in self.inits:
            return Param(numpy_helper.to_array(self.inits[name]).astype(np.float64))
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type in ("Identity", "Cast"):
            return self.const(node.input[0])
        if node.op_type == "Transpose":
            p = self.const(node.input[0])
            if p is None:
                return None
            perm = [helper.get_attribute_value(a) for a in node.attribute if a.name == "perm"]
            ax = perm[0] if perm else None
            return Param(
                np.transpose(p.values, ax),
                None if p.codes is None else np.transpose(p.codes, ax),
                p.t,
            )
        if node.op_type == "Quant":
            args = [self.const(i) for i in node.input]
            if any(a is None for a in args):
                return None
            return self.param_quant(node, *args)
        return None

    def param_quant(self, node, x: Param, scale: Param, zeropt: Param, bits: Param) -> Param:
        from qonnx.custom_op.general.intquant import int_quant

        a = _quant_attrs(node)
        frac = _pow2_exp(self.path, node, scale.values)
        if np.any(zeropt.values != 0):
            raise refuse(self.path, node, "non-zero zero point; use a symmetric quantizer (zero point 0)")
        width = int(np.asarray(bits.values).ravel()[0])
        if width != np.asarray(bits.values).ravel()[0] or width < 1:
            raise refuse(self.path, node, f"bit width {bits.values} is not a positive integer")
        vals = int_quant(
            x.values.astype(np.float32),
            scale.values.astype(np.float32),
            zeropt.values.astype(np.float32),
            np.asarray(bits.values, dtype=np.float32),
            a["signed"],
            a["narrow"],
            a["mode"],
        ).astype(np.float64)
        codes = vals * 2.0**frac
        if np.any(codes != np.round(codes)):
            raise refuse(self.path, node, "Quant output is not on its scale's grid")
        signed = bool(a["signed"])
        if signed and width < 2:
            raise refuse(self.path, node, "1-bit signed (bipolar) quantization; use at least 2 bits")
        t = FixedType(width, frac, signed, PARAM_ROUNDING, "SAT")
        return Param(vals, codes.astype(np.int64), t)

    def act_type(self, node, half_added: bool) -> FixedType:
        a = _quant_attrs(node)
        args = [self.const(i) for i in node.input[1:]]
        if any(x is None for x in args):
            raise refuse(self.path, node, "scale, zero point and bit width must be constants")
        scale, zeropt, bits = args
        frac = _pow2_exp(self.path, node, scale.values)
        if np.any(zeropt.values != 0):
            raise refuse(self.path, node, "non-zero zero point; use a symmetric quantizer (zero point 0)")
        width = float(np.asarray(bits.values).ravel()[0])
        if width != int(width) or width < 1:
            raise refuse(self.path, node, f"bit width {width} is not a positive integer")
        if a["narrow"]:
            raise refuse(
                self.path, node, "narrow range on an activation ([-2^(n-1)+1, 2^(n-1)-1]); use narrow_range=False"
            )
        mode = a["mode"]
        if half_added:
            if mode != "FLOOR":
                raise refuse(self.path, node, "an Add of half an LSB before a Quant that does not FLOOR")
            rounding = Rounding.RND
        elif mode in ROUNDING:
            rounding = ROUNDING[mode]
        else:
            raise refuse(
                self.path,
                node,
                f"rounding mode {mode}; flow maps ROUND/HALF_EVEN (to RND_CONV) and FLOOR (to TRN) exactly",
            )
        if a["signed"] and int(width) < 2:
            raise refuse(self.path, node, "1-bit signed (bipolar) activations; use at least 2 bits")
        return FixedType(int(width), frac, bool(a["signed"]), rounding, "SAT")

    def next_node(self, tensor: str):
        """The one node reading ``tensor`` (None at the graph output)."""
        users = self.consumers.get(tensor, [])
        if len(users) > 1:
            raise refuse(
                self.path, users[1], "the network is not a chain (a tensor has two readers); flow imports MLPs"
            )
        return users[0] if users else None

    def data_input(self, node, tensor: str) -> tuple[str, Param | None]:
        """For a binary op reading ``tensor``: the other operand as a constant."""
        others = [i for i in node.input if i != tensor]
        if len(others) != 1:
            raise refuse(self.path, node, "both operands come from the data path; flow imports MLPs")
        return others[0], self.const(others[0])


def _layer_names(steps: list[Step]) -> None:
    counts: dict[str, int] = {}
    default = {"dense": "fc", "relu": "relu", "scaleshift": "bn", "batchnorm": "bn"}
    taken = {s.name for s in steps if s.name}
    for s in steps:
        if not s.name:
            while True:
                counts[s.kind] = counts.get(s.kind, 0) + 1
                cand = f"{default[s.kind]}{counts[s.kind]}"
                if cand not in taken:
                    break
            s.name = cand
            taken.add(cand)


def _flow_name(walker: _Walker, tensor: str) -> str:
    """The layer name when the tensor is flow's own ``<layer>_out`` (recorded before cleanup renamed it)."""
    node = walker.producer.get(tensor)
    orig = node.doc_string if node is not None else ""
    out = orig.split("|out:", 1)[1] if "|out:" in orig else ""
    return out.removesuffix("_out") if out.endswith("_out") and out != "x_quant" else ""


def walk(model, path) -> Parsed:
    """Walk the cleaned model from its input to its output (see the module docstring)."""
    from onnx import helper

    w = _Walker(model, path)
    g = model.graph
    inputs = [i for i in g.input if i.name not in w.inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise ImportError_(
            f"{path}: {len(inputs)} inputs and {len(g.output)} outputs; flow imports one input, one output"
        )
    tensor = inputs[0].name
    parsed = Parsed(None, [], False, input_name=tensor, input_elem=inputs[0].type.tensor_type.elem_type)
    steps = parsed.steps
    half: float | None = None  # an Add of a constant scalar waiting for a FLOOR Quant (flow's RND)
    while True:
        node = w.next_node(tensor)
        if node is None:
            break
        op = node.op_type
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if op in NOOPS:
            if op == "Cast" and attrs.get("to") not in (1, 10, 11, 16):
                raise refuse(path, node, "Cast to a non-float type")
            tensor = node.output[0]
            continue
        if op in TRAILING:
            after = w.next_node(node.output[0])
            if after is not None or node.output[0] not in w.outputs:
                raise refuse(
                    path,
                    node,
                    f"{op} in the middle of the network; flow drops only a trailing {'/'.join(TRAILING)} "
                    "(it does not change the argmax)",
                )
            parsed.notes.append(f"trailing {op} (node {node.name!r}) dropped: the scores before it are the outputs")
            break
        if op == "Quant":
            if node.input[0] != tensor:
                raise refuse(path, node, "a Quant whose data input is not the data path")
            t = w.act_type(node, half is not None)
            if half is not None and half != 2.0 ** -(t.frac + 1):
                raise refuse(path, node, f"the Add before this FLOOR Quant adds {half}, not half its LSB")
            half = None
            parsed.quantized = True
            if not steps:
                if parsed.input_type is not None:
                    raise refuse(path, node, "two Quant nodes in a row on the input")
                parsed.input_type = t
            elif steps[-1].out is None:
                steps[-1].out = t
                steps[-1].name = steps[-1].name or _flow_name(w, node.output[0])
            else:
                raise refuse(path, node, "two Quant nodes in a row; quantize each tensor once")
            tensor = node.output[0]
            continue
        if half is not None:
            raise refuse(path, node, "an Add of a constant not followed by a FLOOR Quant (no layer to put it in)")
        if op in ("Gemm", "MatMul"):
            if op == "Gemm":
                if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                    raise refuse(path, node, "Gemm with transA or alpha/beta != 1; export a plain Linear")
                if node.input[0] != tensor:
                    raise refuse(path, node, "the data path must be the first Gemm input")
                wp = w.const(node.input[1])
                if wp is None:
                    raise refuse(path, node, "the weight is not a constant")
                trans = attrs.get("transB", 0)
                wp = wp if trans else wp.map(np.transpose)
                bp = w.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
                if len(node.input) > 2 and node.input[2] and bp is None:
                    raise refuse(path, node, "the bias is not a constant")
            else:
                if node.input[0] != tensor:
                    raise refuse(path, node, "the data path must be the first MatMul input (x @ W)")
                wp = w.const(node.input[1])
                if wp is None or wp.values.ndim != 2:
                    raise refuse(path, node, "the weight is not a constant matrix")
                wp = wp.map(np.transpose)
                bp = None
            steps.append(Step("dense", "", wp, bp))
            tensor = node.output[0]
            continue
        if op == "Add":
            other, c = w.data_input(node, tensor)
            if c is None:
                raise refuse(path, node, "adds a tensor that is not a constant (residual connections are not imported)")
            nxt = w.next_node(node.output[0])
            is_half = False
            if c.codes is None and c.values.size == 1 and nxt is not None and nxt.op_type == "Quant":
                sc = w.const(nxt.input[1])
                is_half = (
                    _quant_attrs(nxt)["mode"] == "FLOOR"
                    and sc is not None
                    and sc.values.size == 1
                    and float(c.values.ravel()[0]) == float(sc.values.ravel()[0]) / 2
                )
            if is_half:
                half = float(c.values.ravel()[0])
            elif (
                steps and steps[-1].kind in ("dense", "scaleshift") and steps[-1].bias is None and steps[-1].out is None
            ):
                steps[-1].bias = c.flat()
            else:
                raise refuse(path, node, "an Add of a constant that is not a bias (after MatMul/Mul) nor half an LSB")
            tensor = node.output[0]
            continue
        if op == "Mul":
            other, c = w.data_input(node, tensor)
            if c is None:
                raise refuse(path, node, "multiplies by a tensor that is not a constant")
            steps.append(Step("scaleshift", "", c.flat()))
            tensor = node.output[0]
            continue
        if op == "Relu":
            steps.append(Step("relu", ""))
            tensor = node.output[0]
            continue
        if op == "BatchNormalization":
            vals = [w.const(i) for i in node.input[1:5]]
            if any(v is None for v in vals):
                raise refuse(path, node, "BatchNormalization parameters must be constants")
            gamma, beta, mean, var = (v.values.reshape(-1) for v in vals)
            eps = float(attrs.get("epsilon", 1e-5))
            steps.append(Step("batchnorm", "", bn={"gamma": gamma, "beta": beta, "mean": mean, "var": var, "eps": eps}))
            tensor = node.output[0]
            continue
        raise refuse(path, node, f"unsupported op; flow imports {SUPPORTED}")
    if half is not None:
        raise ImportError_(f"{path}: an Add of a constant at the end of the network with no Quant after it")
    if not steps or not any(s.kind == "dense" for s in steps):
        raise ImportError_(f"{path}: no dense layer (Gemm or MatMul) found")
    parsed.scores_tensor = tensor
    parsed.metadata = {p.key: p.value for p in model.metadata_props}
    return parsed


def load_clean(path: Path):
    """The file as a qonnx ModelWrapper after qonnx's cleanup (batch 1), original node names kept in
    ``doc_string`` (``flow-orig:<name>|out:<first output>``) for the refusal messages."""
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    from flow.frontends.run import with_batch

    try:
        proto = onnx.load(str(path))
    except Exception as e:  # noqa: BLE001 - any parse failure: not an ONNX file
        raise ImportError_(f"{path}: not a readable ONNX file ({e})") from None
    opsets = {o.domain or "ai.onnx": o.version for o in proto.opset_import}
    if opsets.get("ai.onnx", 0) < 9:
        raise ImportError_(f"{path}: ONNX opset {opsets.get('ai.onnx')}; flow imports opset 9 and later")
    for node in proto.graph.node:
        if (
            node.op_type in ("Quant", "BipolarQuant", "Trunc")
            and node.domain not in ("", "qonnx.custom_op.general")
            and not node.domain.startswith(("finn", "qonnx"))
        ):
            raise refuse(path, node, f"custom op of domain {node.domain!r}")
        if node.op_type == "Quant" and node.domain in ("", "onnx.brevitas", "finn.custom_op.general"):
            node.domain = "qonnx.custom_op.general"
        node.doc_string = f"flow-orig:{node.name or node.output[0]}|out:{node.output[0] if node.output else ''}"
    proto = with_batch(proto, 1)
    try:
        model = cleanup_model(ModelWrapper(proto))
    except Exception as e:  # noqa: BLE001 - qonnx's passes fail in many ways on odd files
        raise ImportError_(f"{path}: qonnx cleanup failed ({type(e).__name__}: {e})") from None
    return model.model


def exact_type(lo: int, hi: int, frac: int, signed: bool = True) -> FixedType:
    return FixedType(bits_for_range(min(lo, 0) if signed else lo, hi, signed), frac, signed, "TRN", "WRAP")
