"""The integer reference on hand-computed layers."""

import numpy as np
import pytest
import torch

from flow.errors import ConfigError
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type
from flow.ir.reference import classify, dense, encode_inputs, forward, relu, scale_shift
from flow.ir.synthetic import random_codes, random_graph

I8 = FixedType(8, 2, True, "TRN", "WRAP")  # inputs: lsb 1/4
W4 = FixedType(4, 1, True)  # weights: lsb 1/2
B8 = FixedType(8, 2, True)  # bias: lsb 1/4


def make_dense(out_t, w, b):
    w, b = np.asarray(w), np.asarray(b)
    return Dense("fc", I8, W4, B8, exact_accum_type(I8, w, W4, b, B8), out_t, w, b)


def test_dense_exact_sum_with_bias_alignment():
    # x = [1.0, -0.75] (codes 4, -3), w = [[1.5, -1.0]] (codes 3, -2), b = 0.5 (code 2)
    # y = 1.5 + 0.75 + 0.5 = 2.75; acc frac = 3, so acc code = 22, bias code 2 << 1 = 4
    layer = make_dense(FixedType(16, 3, True), [[3, -2]], [2])
    assert dense(layer, torch.tensor([[4, -3]])).tolist() == [[22]]


def test_dense_requantize_truncates_negative_toward_minus_infinity():
    # y = -0.375 (acc code -3 at frac 3) into frac 1 TRN: floor(-0.75) = -1 (i.e. -0.5)
    layer = make_dense(FixedType(8, 1, True, "TRN", "WRAP"), [[1, 0]], [0])
    assert dense(layer, torch.tensor([[-3, 0]])).tolist() == [[-1]]
    rnd = make_dense(FixedType(8, 1, True, "RND", "WRAP"), [[1, 0]], [0])
    assert dense(rnd, torch.tensor([[-3, 0]])).tolist() == [[-1]]  # floor(-0.75 + 0.5) = -1
    assert dense(rnd, torch.tensor([[-2, 0]])).tolist() == [[0]]  # y = -0.25 = -0.5 lsb: floor(0) = 0


def test_dense_saturates_and_wraps():
    # x = 31.75 (code 127) times w = 3.5 (code 7): 111.125 -> out fixed<8,0>: SAT 127 / WRAP 111
    sat = make_dense(FixedType(8, 0, True, "TRN", "SAT"), [[7, 7]], [0])
    wrap = make_dense(FixedType(8, 0, True, "TRN", "WRAP"), [[7, 7]], [0])
    x = torch.tensor([[127, 127]])  # y = 222.25
    assert dense(sat, x).tolist() == [[127]]
    assert dense(wrap, x).tolist() == [[222 - 256]]
    xn = torch.tensor([[-128, -128]])  # y = -32 * 3.5 * 2 = -224
    assert dense(sat, xn).tolist() == [[-128]]
    assert dense(wrap, xn).tolist() == [[-224 + 256]]


def test_relu_zeroes_negatives_and_requantizes():
    layer = ReLU("r", I8, FixedType(4, 1, False, "RND", "SAT"), 4)
    # values -1, 0.25, 0.75, 20 -> 0, round(0.5)=0.5 (code 1), 1.0 (code 2), saturate 7.5 (15)
    assert relu(layer, torch.tensor([[-4, 1, 3, 80]])).tolist() == [[0, 1, 2, 15]]


def test_scale_shift_full_precision_then_requantize():
    # x = -1.5 (code -6), s = 0.75 (code 3 @ frac 2), t = 0.5 (code 2 @ frac 2)
    # y = -1.125 + 0.5 = -0.625; product frac 4: -10; to frac 2 TRN: floor(-2.5) = -3
    layer = ScaleShift(
        "bn",
        I8,
        FixedType(6, 2, True),
        FixedType(6, 2, True),
        FixedType(8, 2, True, "TRN", "SAT"),
        np.array([3]),
        np.array([2]),
    )
    assert scale_shift(layer, torch.tensor([[-6]])).tolist() == [[-3]]


def test_exact_accumulator_never_wraps_on_corners():
    g = random_graph((16, 8, 5), seed=3, weight_bits=8)
    x = torch.from_numpy(random_codes(g, 200, seed=1))
    for layer in g.layers:
        if isinstance(layer, Dense):
            w = torch.from_numpy(layer.weight)
            raw = x @ w.T + (torch.from_numpy(layer.bias) << layer.bias_shift)
            t = layer.accum_type
            assert int(raw.min()) >= t.min_code and int(raw.max()) <= t.max_code
        x = forward(QuantGraph("one", layer.in_type, (layer,), ("a",), ("f",), np.zeros(1), np.ones(1)), x)


def test_encode_inputs_standardizes_then_quantizes():
    g = random_graph((2, 2), seed=0)
    g = QuantGraph(
        g.name, g.input_type, g.layers, g.class_names, g.feature_names, np.array([1.0, -1.0]), np.array([2.0, 0.5])
    )
    # (3 - 1)/2 = 1.0 -> 64 at frac 6; (-1.25 + 1)/0.5 = -0.5 -> -32
    assert encode_inputs(g, np.array([[3.0, -1.25]])).tolist() == [[64, -32]]


def test_classify_first_maximum_wins():
    assert classify(np.array([[1, 3, 3], [5, 5, 0]])).tolist() == [1, 0]


def test_graph_type_chain_is_checked():
    g = random_graph((4, 3, 2))
    bad = (g.layers[1],) + g.layers  # ReLU input type does not match the graph input
    with pytest.raises(ConfigError):
        QuantGraph("bad", FixedType(5, 1), bad, g.class_names, g.feature_names, g.input_mean, g.input_std)


def test_json_round_trip_preserves_outputs(tmp_path):
    g = random_graph((16, 8, 5), seed=7, scale_shift=True)
    g.save(tmp_path / "g.json")
    g2 = QuantGraph.load(tmp_path / "g.json")
    x = torch.from_numpy(random_codes(g, 64))
    assert torch.equal(forward(g, x), forward(g2, x))
