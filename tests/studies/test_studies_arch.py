"""Architecture variables: BatchNorm on/off, hidden widths, depth (flow.studies.arch)."""

import pytest

from flow.config.zoo import get_model
from flow.errors import ConfigError
from flow.studies.arch import apply_arch, hidden_widths, network_text, parse_switch, parse_widths


def kinds(spec):
    return [(x.kind, x.out) for x in spec.layers]


def test_unchanged_without_variables():
    spec = get_model("jsc-small")
    assert apply_arch(spec) is spec


def test_batchnorm_off_and_on():
    small = get_model("jsc-small")
    off = apply_arch(small, batchnorm=False)
    assert [k for k, _ in kinds(off)] == ["dense", "relu", "dense", "relu", "dense"]
    assert off.n_params == small.n_params - 2 * (8 + 8)
    assert [x.name for x in off.layers] == ["fc1", "relu1", "fc2", "relu2", "fc3"]
    assert apply_arch(off, batchnorm=True).layers == small.layers  # back again, same names
    assert network_text(16, off.layers) == "16-8-8-5" and network_text(16, small.layers) == "16-8-8-5 BN"
    tiny = apply_arch(get_model("jsc-tiny"), batchnorm=False)  # its input BatchNorm goes too
    assert [k for k, _ in kinds(tiny)] == ["relu", "dense"]


def test_width_forms_and_depth():
    small = get_model("jsc-small")
    assert hidden_widths(apply_arch(small, width="32")) == (32, 32)
    assert hidden_widths(apply_arch(small, width="x0.5")) == (4, 4)
    assert hidden_widths(apply_arch(small, width="12-6")) == (12, 6)
    assert hidden_widths(apply_arch(small, width="12-6-3")) == (12, 6, 3)
    assert hidden_widths(apply_arch(small, depth=3)) == (8, 8, 8)
    assert hidden_widths(apply_arch(small, depth=1, width="16")) == (16,)
    medium = get_model("jsc-medium")
    assert hidden_widths(apply_arch(medium, depth=2)) == (64, 32)
    assert hidden_widths(apply_arch(medium, width="x2", depth=4)) == (128, 64, 64, 64)
    s = apply_arch(small, width="32", depth=3)
    assert s.n_params == 16 * 32 + 32 + 2 * (32 * 32 + 32) + 32 * 5 + 5 + 3 * 2 * 32
    assert s.layers[-1].out == 5 and s.layers[-1].name == "fc4"
    with pytest.raises(ConfigError, match="depth is 3"):
        apply_arch(small, width="8-8", depth=3)
    with pytest.raises(ConfigError, match="no hidden layer"):
        apply_arch(get_model("jsc-tiny"), depth=2)
    assert hidden_widths(apply_arch(get_model("jsc-tiny"), width="8", depth=2)) == (8, 8)


def test_parse():
    assert parse_widths("8, 16,x0.50,64-32-32") == ("8", "16", "x0.5", "64-32-32")
    assert parse_switch("on,off,on") == (True, False)
    for bad in ("0", "x0", "8-", "wide", "8..16"):
        with pytest.raises(ConfigError, match="--width"):
            parse_widths(bad)
    with pytest.raises(ConfigError, match="on or off"):
        parse_switch("maybe")
