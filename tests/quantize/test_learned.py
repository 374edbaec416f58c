"""Learned bit widths: the trainable quantizer's forward is flow's integer quantizer exactly, its surrogate
gradient is HGQ's, and a trained model converts into an integer graph that the integer reference and the
existing QAT model reproduce bit for bit, with pruned weights as code 0 and per-weight trailing zeros."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from flow.config.quant import LEARNED_KEYS, parse_quant_config
from flow.config.zoo import get_model
from flow.errors import ConfigError
from flow.ir.fixed import FixedType, dequantize, quantize_float
from flow.ir.graph import Dense
from flow.ir.reference import encode_inputs, forward
from flow.quantize.fold_batchnorm import fold_batchnorm
from flow.quantize.learned.cost import ebops, nsd, significant_bits
from flow.quantize.learned.model import LearnedModel
from flow.quantize.learned.quantize import bit_stats, build_learned_model, quantize_learned, to_quant_model
from flow.quantize.learned.quantizer import LN2, learned_quantize
from flow.quantize.learned.settings import LearnedSettings
from flow.quantize.learned.train import model_ebops
from flow.quantize.qat import to_graph
from flow.train.fit import Arrays, standardization
from flow.train.model import build_float_model
from tests.conftest import make_jets


@pytest.mark.parametrize("frac", [-3, 0, 2, 5])
@pytest.mark.parametrize("width", [2, 3, 6, 9])
@pytest.mark.parametrize("signed", [True, False])
def test_forward_equals_integer_quantizer(frac, width, signed):
    x = torch.linspace(-40, 40, 20001, dtype=torch.float64)
    t = FixedType(width, frac, signed, "RND", "SAT")
    f = torch.tensor(frac + 0.3, dtype=torch.float64)  # rounds to frac
    y = learned_quantize(x, f, torch.tensor(float(width), dtype=torch.float64), signed)
    assert torch.equal(y, dequantize(quantize_float(x, t), t))


def test_per_element_bits_and_pruning():
    w = torch.tensor([0.7, -0.3, 0.05, 1.9], dtype=torch.float64)
    fr = torch.tensor([3.0, 1.0, 2.0, 0.0], dtype=torch.float64)
    width = torch.tensor([5.0, 3.0, 1.0, 3.0], dtype=torch.float64)  # width 1 signed: pruned
    y = learned_quantize(w, fr, width, True)
    for i in range(3):
        if width[i] >= 2:
            t = FixedType(int(width[i]), int(fr[i]), True, "RND", "SAT")
            assert y[i] == dequantize(quantize_float(w[i : i + 1], t), t)[0]
    assert y[2] == 0


def test_surrogate_gradient_is_minus_ln2_times_error():
    x = torch.tensor([0.3, -1.26, 2.1], requires_grad=True)
    f = torch.tensor(2.0, requires_grad=True)
    y = learned_quantize(x, f, torch.tensor(8.0), True)
    y.sum().backward()
    delta = (y - x).detach()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    assert torch.allclose(f.grad, -LN2 * delta.sum())


def test_config_mode_learned_parses_and_validates():
    q = parse_quant_config({"quantization": {"mode": "learned", "learned": {"beta": 1e-5, "epochs": 3}}})
    assert q.mode == "learned"
    s = LearnedSettings.from_config(q)
    assert (s.beta, s.epochs) == (1e-5, 3)
    assert set(LEARNED_KEYS) == set(LearnedSettings.__dataclass_fields__)
    assert parse_quant_config({}).mode == "uniform"
    merged = q.merged_with(parse_quant_config({"quantization": {"learned": {"beta": 2e-5}}}))
    assert merged.mode == "learned" and dict(merged.learned) == {"beta": 2e-5, "epochs": 3}
    with pytest.raises(ConfigError, match="mode"):
        parse_quant_config({"quantization": {"mode": "hgq"}})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_quant_config({"quantization": {"learned": {"betta": 1.0}}})
    with pytest.raises(ConfigError, match="wrong type"):
        parse_quant_config({"quantization": {"learned": {"epochs": 1.5}}})
    assert (s.input_granularity, s.activation_granularity) == ("feature", "layer")
    with pytest.raises(ConfigError, match="input_granularity"):
        LearnedSettings(input_granularity="neuron")
    with pytest.raises(ConfigError, match="activation_granularity"):
        LearnedSettings(activation_granularity="weight")


def test_beta_schedule_warms_up_and_ramps():
    s = LearnedSettings(beta=1e-5, epochs=20, warmup_epochs=2, ramp_epochs=4)
    assert s.beta_at(1) == s.beta_at(2) == 0
    assert 0 < s.beta_at(3) < s.beta_at(5) < s.beta
    assert s.beta_at(6) == s.beta_at(20) == 1e-5


def test_cost_helpers():
    codes = np.array([0, 1, -2, 3, 12, -7, 255])
    assert significant_bits(codes).tolist() == [0, 1, 1, 2, 2, 3, 8]
    assert nsd(codes).tolist() == [0, 1, 1, 2, 2, 2, 2]  # 7 = 8 - 1, 255 = 256 - 1


def _trained(name="jsc-small", epochs=4, beta=2e-4, extra=()):
    torch.manual_seed(0)
    spec = get_model(name)
    spec = replace(
        spec,
        quant=replace(
            spec.quant,
            mode_set="learned",
            learned=(
                ("beta", beta),
                ("epochs", epochs),
                ("warmup_epochs", 1),
                ("ramp_epochs", 1),
                ("finetune_epochs", 1),
                ("batch_size", 256),
                ("init_weight_bits", 6),
                *extra,
            ),
        ),
    )
    x, y = make_jets(2000)
    mean, std = standardization(x)
    data = Arrays.of(x, y, mean, std)
    fm = build_float_model(spec).eval()
    q = quantize_learned(
        fm,
        spec,
        data,
        data,
        mean=mean,
        std=std,
        class_names=tuple("gqwzt"),
        feature_names=tuple(f"f{i}" for i in range(16)),
    )
    return spec, q, x, mean, std


def test_trained_model_converts_exactly():
    spec, q, x, mean, std = _trained(extra=(("activation_granularity", "neuron"),))
    codes = encode_inputs(q.graph, x)
    ref = forward(q.graph, codes)
    out_t = q.graph.output_type
    # the learned model itself (float64, eval) and the existing QAT model both equal the reference
    learned = q.learned.double().eval()
    qmodel = q.model.double().eval()
    with torch.no_grad():
        a = learned(dequantize(codes, q.graph.input_type)) * 2.0**out_t.frac
        b = qmodel(dequantize(codes, q.graph.input_type)) * 2.0**out_t.frac
    assert torch.equal(a, ref.double()) and torch.equal(b, ref.double())
    # per-weight fractional bits show as trailing zeros of codes of the layer's one weight type (with the
    # power-of-two row/column scales of per-neuron activation bits moving them)
    dense = [layer for layer in q.graph.layers if isinstance(layer, Dense)]
    scales = q.learned.design_scales()
    assert any(row.dim() and len(set(row.tolist())) > 1 for _, _, row in scales)  # per-neuron bits differ
    for layer, d, (_, col, row) in zip(dense, q.learned.dense, scales, strict=True):
        r = row[:, None] if row.dim() else row
        fr = (d.w_frac() - col - r).expand_as(d.weight).numpy().astype(int)
        w = layer.weight
        nz = w != 0
        shift = layer.weight_type.frac - fr
        assert ((w[nz] % (2 ** shift[nz])) == 0).all()
    assert q.stats["ebops"] == ebops(q.graph) == model_ebops(q.learned.float())
    assert q.stats["nonzero_weights"] < q.stats["weights"]  # something was pruned at this beta
    # one type per input feature (the default granularity), each inside the container input type
    types = q.graph.input_types
    assert len(types) == 16 and len({(t.width, t.frac) for t in types}) > 1
    assert q.graph.input_type.frac == max(t.frac for t in types)


def test_one_type_per_layer_converts_exactly_too():
    extra = (("input_granularity", "layer"),)  # and the default: one type per ReLU
    spec, q, x, mean, std = _trained(epochs=2, extra=extra)
    assert q.graph.input_types == ()
    assert all(not row.dim() for _, _, row in q.learned.design_scales())
    codes = encode_inputs(q.graph, x)
    with torch.no_grad():
        a = q.learned.double().eval()(dequantize(codes, q.graph.input_type)) * 2.0**q.graph.output_type.frac
    assert torch.equal(a, forward(q.graph, codes).double())


def test_graph_roundtrips_through_to_graph():
    spec, q, x, mean, std = _trained(epochs=2)
    g2 = to_graph(to_quant_model(q.learned), spec.name, mean, std, q.graph.class_names, q.graph.feature_names)
    assert g2.input_types == q.graph.input_types and g2.input_type == q.graph.input_type
    for a, b in zip(g2.layers, q.graph.layers, strict=True):
        if isinstance(a, Dense):
            assert np.array_equal(a.weight, b.weight) and a.weight_type == b.weight_type
    stats = bit_stats(q.graph)
    assert [r["layer"] for r in stats["layers"]] == [layer.name for layer in q.graph.layers]


def test_unsupported_chain_is_refused():
    spec = get_model("jsc-tiny")  # input BatchNorm -> ScaleShift
    with pytest.raises(ConfigError, match="learned"):
        LearnedModel(fold_batchnorm(build_float_model(spec).eval()))
    with pytest.raises(ConfigError, match="learned"):
        build_learned_model(build_float_model(spec), spec, LearnedSettings())
