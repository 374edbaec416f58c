"""Degenerate precisions are found and named, one line each (flow.config.degenerate)."""

from dataclasses import replace

import numpy as np
import torch

from flow.config.degenerate import degenerate_precisions
from flow.config.quant import parse_quant_config
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, exact_accum_type
from flow.ir.synthetic import random_graph
from flow.quantize.fold_batchnorm import FloatLinear


def features(n: int = 500, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 16)) * 2


def with_layer(graph, i, layer):
    layers = list(graph.layers)
    layers[i] = layer
    return replace(graph, layers=tuple(layers))


def test_a_healthy_graph_has_no_warnings():
    assert degenerate_precisions(random_graph(), features()) == ()


def test_every_weight_zero_is_a_constant_layer():
    g = random_graph()
    fc1 = g.layers[0]
    g = with_layer(g, 0, replace(fc1, weight=np.zeros_like(fc1.weight)))
    warnings = degenerate_precisions(g, features())
    assert len(warnings) == 1, warnings
    assert "layer 'fc1': every weight code is 0" in warnings[0] and "constant" in warnings[0]


def test_an_output_range_that_collapses_is_flagged():
    g = random_graph(sizes=(16, 5))
    tiny = FixedType(2, -20, True, "RND", "SAT")  # LSB 2**20: every value rounds to 0
    g = replace(g, layers=(replace(g.layers[0], out_type=tiny),))
    (w,) = degenerate_precisions(g, features())
    assert "layer 'fc1': output is the same on all 500 test vectors" in w and "collapsed" in w


def test_unsigned_output_on_a_negative_value():
    g = random_graph(sizes=(16, 5))
    fc1 = g.layers[0]
    g = replace(g, layers=(replace(fc1, out_type=FixedType(10, 5, False, "RND", "SAT")),))
    (w,) = degenerate_precisions(g, features())
    assert "layer 'fc1' output: unsigned type ufixed<10,5>" in w and "clamped to 0" in w


def test_unsigned_graph_input_on_negative_features():
    g = random_graph()
    u = FixedType(10, 6, False, "RND", "SAT")
    fc1 = g.layers[0]
    g = replace(g, input_type=u, layers=(replace(fc1, in_type=u, accum_type=_acc(fc1, u)), *g.layers[1:]))
    warnings = degenerate_precisions(g, features())
    assert any(w.startswith("graph input: unsigned type ufixed<10,6>") for w in warnings), warnings


def test_unsigned_weight_type_on_negative_weights():
    g = random_graph(sizes=(16, 5))
    fc1 = g.layers[0]
    w_t = FixedType(6, 4, False)
    w = np.abs(fc1.weight).clip(0, w_t.max_code)
    g = replace(
        g, layers=(Dense("fc1", fc1.in_type, w_t, fc1.bias_type, _acc(fc1, None, w, w_t), fc1.out_type, w, fc1.bias),)
    )
    folded = (FloatLinear("fc1", torch.full((5, 16), -0.1), torch.zeros(5)),)
    warnings = degenerate_precisions(g, features(), folded=folded)
    assert any("layer 'fc1' weight: unsigned type ufixed<6,4>" in x and "80 of 80" in x for x in warnings), warnings


def test_explicit_frac_outside_the_width(tmp_path):
    g = random_graph(sizes=(16, 5))
    fc1 = g.layers[0]
    w_t = FixedType(6, 9, True)
    g = replace(
        g,
        layers=(
            Dense(
                "fc1",
                fc1.in_type,
                w_t,
                fc1.bias_type,
                _acc(fc1, None, fc1.weight, w_t),
                fc1.out_type,
                fc1.weight,
                fc1.bias,
            ),
        ),
    )
    quant = parse_quant_config({"quantization": {"dense": {"weight": {"width": 6, "frac": 9}}}})
    warnings = degenerate_precisions(g, features(), quant=quant)
    assert "layer 'fc1' weight: frac 9 outside 0..6 (fixed<6,9> TRN/WRAP)" in warnings
    # the same type chosen by frac = "auto" is not flagged
    assert not any("outside" in w for w in degenerate_precisions(g, features(), quant=parse_quant_config({})))


def _acc(layer, in_type=None, w=None, w_t=None):
    return exact_accum_type(
        in_type or layer.in_type,
        layer.weight if w is None else w,
        w_t or layer.weight_type,
        layer.bias,
        layer.bias_type,
    )
