"""The QAT model in float64 equals the integer reference exactly, scaled by 2**frac."""

import numpy as np
import pytest
import torch

from flow.config.zoo import get_model
from flow.ir.fixed import FixedType, dequantize, quantize_float
from flow.ir.reference import encode_inputs, forward
from flow.quantize.qat import fake_quantize
from flow.quantize.quantize_model import quantize_model
from flow.train.fit import Arrays, fit, standardization
from flow.train.model import build_float_model


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    x = rng.normal(size=(n, 16)) * 3 + y[:, None] * rng.normal(size=16)[None] + 2
    return x.astype(np.float32), y


@pytest.mark.parametrize(
    "t",
    [FixedType(6, 2, True, "RND", "SAT"), FixedType(6, 2, True, "TRN", "WRAP"), FixedType(5, 3, False, "RND", "SAT")],
)
def test_fake_quantize_equals_integer_quantizer(t):
    x = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    assert torch.equal(fake_quantize(x, t), dequantize(quantize_float(x, t), t))


def test_fake_quantize_passes_gradient_straight_through():
    x = torch.tensor([0.3, -1.2], requires_grad=True)
    fake_quantize(x, FixedType(8, 2)).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name", ["jsc-tiny", "jsc-small"])
def test_qat_model_equals_reference_exactly(name):
    spec = get_model(name)
    x, y = _data()
    mean, std = standardization(x[:2000])
    train, val = Arrays.of(x[:2000], y[:2000], mean, std), Arrays.of(x[2000:], y[2000:], mean, std)
    torch.manual_seed(0)
    model = build_float_model(spec)
    fit(model, train, val, phase="float", epochs=2, lr=1e-2, settings=spec.train)
    q = quantize_model(
        model,
        spec,
        train,
        val,
        mean=mean,
        std=std,
        class_names=tuple("gqwzt"),
        feature_names=tuple(f"f{i}" for i in range(16)),
        qat_epochs=1,
    )
    if name == "jsc-tiny":
        assert [layer.kind for layer in q.graph.layers] == ["scaleshift", "relu", "dense"]
    else:
        assert "scaleshift" not in [layer.kind for layer in q.graph.layers]  # every BN folded
    codes = encode_inputs(q.graph, x[2000:])
    ref = forward(q.graph, codes)
    with torch.no_grad():
        scaled = q.model.double().eval()(dequantize(codes, q.graph.input_type)) * 2.0**q.graph.output_type.frac
    assert torch.equal(scaled, scaled.round())
    assert torch.equal(scaled.to(torch.int64), ref)


def test_auto_frac_fits_the_largest_magnitude():
    from flow.config.quant import TypeSpec

    assert TypeSpec(8).resolve(3.2) == FixedType(8, 5, True, "RND", "SAT")  # 2 int bits + sign
    assert TypeSpec(8).resolve(4.0).frac == 4  # 4.0 needs 3 integer bits
    assert TypeSpec(8, signed=False).resolve(3.2).frac == 6


def test_mase_data_in_sets_every_activation_boundary():
    from flow.config.quant import parse_quant_config
    from flow.quantize.assign_types import assign_types
    from flow.quantize.fold_batchnorm import fold_batchnorm

    doc = {
        "passes": {
            "quantize": {
                "by": "type",
                "default": {
                    "config": {
                        "name": "integer",
                        "data_in_width": 10,
                        "data_in_frac_width": 5,
                        "weight_width": 6,
                        "weight_frac_width": 4,
                        "bias_width": 8,
                        "bias_frac_width": 4,
                    }
                },
            }
        }
    }
    model = build_float_model(get_model("jsc-small")).eval()
    input_type, types = assign_types(fold_batchnorm(model), parse_quant_config(doc), torch.randn(100, 16))
    assert (input_type.width, input_type.frac) == (10, 5)
    # every layer output feeding another layer is the data_in type; the last keeps its own
    assert [(t.out.width, t.out.frac) for t in types[:-1]] == [(10, 5)] * (len(types) - 1)
    assert all((t.weight.width, t.weight.frac) == (6, 4) for t in types if hasattr(t, "weight"))
