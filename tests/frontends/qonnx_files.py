"""Small QONNX files written with onnx.helper: Quant on the input, the weights, the biases and the ReLU
output, as Brevitas exports them (Gemm with transB, ROUND = half to even), plus variations to refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DOMAIN = "qonnx.custom_op.general"


class Net:
    def __init__(self, batch="N"):
        self.nodes, self.inits, self.k = [], [], 0
        self.batch = batch

    def const(self, value, hint="c"):
        self.k += 1
        name = f"{hint}{self.k}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op, inputs, domain="", **attrs):
        self.k += 1
        out = f"{op.lower()}{self.k}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{self.k}", domain=domain, **attrs))
        return out

    def quant(self, x, scale, bits, signed=1, narrow=0, mode="ROUND", zeropt=0.0):
        args = [x, self.const(scale, "scale"), self.const(zeropt, "zp"), self.const(float(bits), "bits")]
        return self.node("Quant", args, domain=DOMAIN, signed=signed, narrow=narrow, rounding_mode=mode)

    def save(self, path: Path, out: str, n_in: int = 16, n_out: int = 5) -> Path:
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [self.batch, n_in])
        outp = helper.make_tensor_value_info(out, TensorProto.FLOAT, [self.batch, n_out])
        g = helper.make_graph(self.nodes, "net", [inp], [outp], initializer=self.inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1)])
        onnx.save(model, path)
        return Path(path)


def mlp(
    path: Path,
    *,
    hidden: int = 8,
    act_scale: float = 2.0**-4,
    relu_scale: float = 2.0**-3,
    zeropt: float = 0.0,
    middle: str | None = None,  # an op inserted after the ReLU (Tanh, Softmax)
    trailing: str | None = None,  # an op after the last Gemm (Softmax)
    float_bias: bool = False,
    seed: int = 0,
) -> Path:
    """input Quant(8) -> Gemm(Quant(W) 8-bit narrow, Quant(b) 16-bit) -> Relu -> Quant(8, unsigned) -> Gemm."""
    rng = np.random.default_rng(seed)
    n = Net()
    x = n.quant("input", act_scale, 8, zeropt=zeropt)
    w_scale = 2.0**-7
    for i, (n_in, n_out) in enumerate(((16, hidden), (hidden, 5))):
        in_scale = act_scale if i == 0 else relu_scale
        w = n.quant(n.const(rng.normal(0, 0.3, (n_out, n_in)), "w"), w_scale, 8, narrow=1)
        b_val = rng.normal(0, 0.2, n_out)
        b = n.const(b_val, "b") if float_bias else n.quant(n.const(b_val, "b"), in_scale * w_scale, 16)
        x = n.node("Gemm", [x, w, b], transB=1)
        if i == 0:
            x = n.node("Relu", [x])
            x = n.quant(x, relu_scale, 8, signed=0)
            if middle:
                x = n.node(middle, [x])
    if trailing:
        x = n.node(trailing, [x])
    return n.save(path, x)
