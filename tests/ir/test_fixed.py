"""Hand-computed cases of the fixed-point semantics (rounding, saturation, wrap, negatives)."""

import pytest
import torch

from flow.errors import ConfigError
from flow.ir.fixed import FixedType, apply_overflow, bits_for_range, quantize_float, requantize, shift_round

T = torch.tensor


def codes(*v):
    return T(v, dtype=torch.int64)


def test_ranges_signed_and_unsigned():
    s, u = FixedType(8, 4, True), FixedType(8, 4, False)
    assert (s.min_code, s.max_code, s.integer) == (-128, 127, 4)
    assert (u.min_code, u.max_code) == (0, 255)
    assert s.min_value == -8.0 and s.max_value == 127 / 16


def test_truncation_is_floor_also_for_negatives():
    # 2 fractional bits dropped: 5/4 -> 1, -5/4 -> -2 (floor, not toward zero), -4/4 -> -1
    assert shift_round(codes(5, -5, -4, 3, -1), 2, "TRN").tolist() == [1, -2, -1, 0, -1]


def test_rnd_rounds_half_toward_plus_infinity():
    # x/4 for x = 2 (0.5), -2 (-0.5), 6 (1.5), -6 (-1.5), 1 (0.25), -3 (-0.75)
    out = shift_round(codes(2, -2, 6, -6, 1, -3), 2, FixedType(8, 0).with_modes("RND", "WRAP").rounding)
    assert out.tolist() == [1, 0, 2, -1, 0, -1]


def test_negative_shift_appends_zeros():
    assert shift_round(codes(3, -3), -2, "TRN").tolist() == [12, -12]


def test_saturation_clamps_both_ends():
    t = FixedType(4, 0, True, "TRN", "SAT")
    assert apply_overflow(codes(-9, -8, 7, 8, 100), t).tolist() == [-8, -8, 7, 7, 7]
    u = FixedType(4, 0, False, "TRN", "SAT")
    assert apply_overflow(codes(-1, 0, 15, 16), u).tolist() == [0, 0, 15, 15]


def test_wrap_keeps_low_bits_twos_complement():
    t = FixedType(4, 0, True, "TRN", "WRAP")
    # 8 -> -8, 9 -> -7, -9 -> 7, 23 -> 7 (23 = 16 + 7), -17 -> -1
    assert apply_overflow(codes(8, 9, -9, 23, -17), t).tolist() == [-8, -7, 7, 7, -1]
    u = FixedType(4, 0, False, "TRN", "WRAP")
    assert apply_overflow(codes(16, 17, -1), u).tolist() == [0, 1, 15]


def test_round_then_overflow_like_ap_fixed():
    # 127.5 in fixed<8,1> RND/SAT: rounds to 128 then saturates to 127; with WRAP becomes -128.
    x = codes(255)  # 127.5 with 1 fractional bit
    assert requantize(x, 1, FixedType(8, 0, True, "RND", "SAT")).tolist() == [127]
    assert requantize(x, 1, FixedType(8, 0, True, "RND", "WRAP")).tolist() == [-128]
    assert requantize(x, 1, FixedType(8, 0, True, "TRN", "WRAP")).tolist() == [127]


def test_quantize_float_matches_the_integer_definition():
    t = FixedType(6, 2, True, "RND", "SAT")  # range [-8, 7.75], lsb 0.25
    x = T([0.125, -0.125, 0.3, -0.38, 100.0, -100.0, 7.8], dtype=torch.float64)
    assert quantize_float(x, t).tolist() == [1, 0, 1, -2, 31, -32, 31]
    trn = FixedType(6, 2, True, "TRN", "WRAP")
    assert quantize_float(T([0.2, -0.2, 8.0]), trn).tolist() == [0, -1, -32]


def test_bits_for_range():
    assert bits_for_range(-128, 127, True) == 8
    assert bits_for_range(-129, 0, True) == 9
    assert bits_for_range(0, 255, False) == 8


@pytest.mark.parametrize("width", [0, 63])
def test_width_limits(width):
    with pytest.raises(ConfigError):
        FixedType(width, 0)


def test_bad_mode_is_refused():
    with pytest.raises(ValueError):
        FixedType(8, 2, True, "ROUND", "SAT")
