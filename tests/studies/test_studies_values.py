import pytest

from flow.errors import ConfigError
from flow.studies.values import parse_values


def test_lists_and_ranges():
    assert parse_values("256,512, 1024", int, "b") == (256, 512, 1024)
    assert parse_values("1e-3,3e-3", float, "lr") == (0.001, 0.003)
    assert parse_values("4..8", int, "w") == (4, 5, 6, 7, 8)
    assert parse_values("2..8:2", int, "w") == (2, 4, 6, 8)
    assert parse_values("64..1024*4", int, "b") == (64, 256, 1024)
    assert parse_values("1e-4..1e-2*10", float, "lr") == (1e-4, 1e-3, 1e-2)
    assert parse_values("0.1..0.3:0.1", float, "lr") == (0.1, 0.2, 0.3)
    assert parse_values("4..6,8,4", int, "w") == (4, 5, 6, 8)  # unique, in order


def test_float_bits():
    assert parse_values("float,8,4", int, "w", allow_float=True) == (None, 8, 4)
    with pytest.raises(ConfigError, match="not a number"):
        parse_values("float,8", int, "--batch-size")


@pytest.mark.parametrize(
    "text, message",
    [
        ("8..4", "backwards"),
        ("1..4:0", "positive step"),
        ("1..8*1", "factor above 1"),
        ("0,4", "positive"),
        ("2.5", "whole number"),
        ("4,,8", "empty item"),
        ("1..5000", "more than"),
        ("10..100*1.5", "non-integer"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_values(text, int, "--x")
