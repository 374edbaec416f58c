"""RND_CONV (round half to even, QONNX ROUND, AP_RND_CONV) against hand-computed ties: the integer
reference (shift_round, requantize, quantize_float), the QAT fake quantizer and the QONNX export."""

from __future__ import annotations

import numpy as np
import torch

from flow.ir.fixed import FixedType, Rounding, quantize_float, requantize, shift_round
from flow.quantize.qat import fake_quantize

# codes with 2 fractional bits -> integer codes: x.5 goes to the even neighbour, others to the nearest
TIES = {2: 0, 6: 2, 10: 2, 14: 4, -2: 0, -6: -2, -10: -2, -14: -4}  # 0.5 1.5 2.5 3.5 and negatives
NOT_TIES = {1: 0, 3: 1, 5: 1, 7: 2, -1: 0, -3: -1, -5: -1, -7: -2}  # 0.25 0.75 1.25 1.75 ...


def test_shift_round_ties_to_even():
    codes = torch.tensor(list(TIES) + list(NOT_TIES))
    want = list(TIES.values()) + list(NOT_TIES.values())
    assert shift_round(codes, 2, Rounding.RND_CONV).tolist() == want
    # RND differs exactly on the odd ties' lower neighbours: 0.5 -> 1, 2.5 -> 3, -1.5 -> -1, -3.5 -> -3
    assert shift_round(torch.tensor([2, 10, -6, -14]), 2, Rounding.RND).tolist() == [1, 3, -1, -3]


def test_requantize_rounds_then_saturates():
    t = FixedType(3, 0, True, "RND_CONV", "SAT")  # codes -4..3
    assert requantize(torch.tensor([14, 10, -14, -18, 30]), 2, t).tolist() == [3, 2, -4, -4, 3]
    assert FixedType(8, 4, True, "RND_CONV", "SAT").describe() == "fixed<8,4> RND_CONV/SAT"
    assert FixedType.from_dict(FixedType(8, 4, True, "RND_CONV", "SAT").to_dict()).rounding is Rounding.RND_CONV


def test_quantize_float_and_fake_quantize_ties():
    t = FixedType(8, 0, True, "RND_CONV", "SAT")
    x = torch.tensor([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 0.49, 2.51], dtype=torch.float64)
    want = [0, 2, 2, 4, 0, -2, -2, -4, 0, 3]
    assert quantize_float(x, t).tolist() == want
    assert fake_quantize(x, t).tolist() == [float(v) for v in want]


def test_qonnx_export_executes_ties_to_even():
    from flow.export.qonnx_model import build_qonnx
    from flow.export.qonnx_run import run_qonnx
    from flow.ir.graph import QuantGraph, ReLU
    from flow.ir.reference import forward

    in_t = FixedType(8, 2, True, "TRN", "WRAP")
    for overflow in ("SAT", "WRAP"):
        out_t = FixedType(6, 0, False, "RND_CONV", overflow)
        g = QuantGraph("conv", in_t, (ReLU("relu", in_t, out_t, 8),), (), (), np.zeros(8), np.ones(8))
        codes = np.array([list(TIES)[:4] + list(NOT_TIES)[:4], [126, 122, 118, 114, 110, 50, 42, 38]], np.int64)
        ref = forward(g, torch.from_numpy(codes)).numpy()
        assert ref[0].tolist() == [0, 2, 2, 4, 0, 1, 1, 2]
        assert np.array_equal(run_qonnx(build_qonnx(g), g, codes), ref)
