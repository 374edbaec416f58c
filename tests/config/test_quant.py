import pytest

from flow.config.quant import QuantConfig, TypeSpec, graph_input_spec, layer_quant, parse_quant_config
from flow.config.zoo import get_model, spec_from_toml
from flow.errors import ConfigError
from flow.ir.fixed import Overflow, Rounding


def test_builtin_defaults():
    q = layer_quant(QuantConfig(), "fc1", "dense")
    assert q.weight.width == 8 and q.weight.frac is None
    assert q.output.rounding is Rounding.RND and q.output.overflow is Overflow.SAT
    assert layer_quant(QuantConfig(), "relu1", "relu").output.signed is False
    assert graph_input_spec(QuantConfig()).width == 12


def test_by_type_then_by_name_layering():
    base = parse_quant_config({"quantization": {"by": "type", "linear": {"weight": {"width": 6, "frac": 4}}}})
    over = parse_quant_config({"quantization": {"by": "name", "fc2": {"weight": {"width": 4}}}})
    q = base.merged_with(over)
    assert layer_quant(q, "fc1", "dense").weight == TypeSpec(6, 4, None, Rounding.RND, Overflow.SAT)
    assert layer_quant(q, "fc2", "dense").weight.width == 4
    assert layer_quant(q, "fc2", "dense").weight.frac == 4  # kept from the type rule, key by key


def test_default_section_and_input():
    q = parse_quant_config(
        {
            "quantization": {
                "input": {"width": 10, "frac": 6},
                "default": {"output": {"width": 9, "rounding": "trn", "overflow": "wrap"}},
            }
        }
    )
    assert graph_input_spec(q).frac == 6
    out = layer_quant(q, "relu1", "relu").output
    assert out.width == 9 and out.rounding is Rounding.TRN and out.overflow is Overflow.WRAP


def test_mase_by_type_form():
    doc = {
        "passes": {
            "quantize": {
                "by": "type",
                "default": {
                    "config": {
                        "name": "integer",
                        "data_in_width": 8,
                        "data_in_frac_width": 4,
                        "weight_width": 6,
                        "weight_frac_width": 3,
                        "bias_width": 8,
                        "bias_frac_width": 4,
                    }
                },
            }
        }
    }
    q = parse_quant_config(doc)
    lq = layer_quant(q, "fc1", "dense")
    assert (lq.input.width, lq.input.frac) == (8, 4)
    assert (lq.weight.width, lq.weight.frac) == (6, 3)
    assert (lq.bias.width, lq.bias.frac) == (8, 4)


@pytest.mark.parametrize(
    "doc, words",
    [
        ({"quantization": {"by": "size"}}, "by must be"),
        ({"quantization": {"conv": {"weight": {"width": 8}}}}, "unknown layer type 'conv'"),
        ({"quantization": {"linear": {"wieght": {"width": 8}}}}, "unknown role 'wieght'"),
        ({"quantization": {"linear": {"weight": {"frac": 3}}}}, "missing 'width'"),
        ({"quantization": {"linear": {"weight": {"width": -2}}}}, "width must be a positive"),
        ({"quantization": {"linear": {"weight": {"width": 8, "frac": "x"}}}}, "frac must be"),
        ({"quantization": {"linear": {"weight": {"width": 8, "rounding": "ROUND"}}}}, "rounding is TRN|RND"),
        ({"quantization": {"linear": {"weight": {"width": 8, "bits": 3}}}}, "unknown key"),
        ({"quantization": {"linear": {"weight": {"width": 99}}}}, "1..62"),
        ({"passes": {"quantize": {"default": {"config": {"name": "minifloat"}}}}}, "only integer"),
    ],
)
def test_config_errors_say_what_is_wrong(doc, words):
    with pytest.raises(ConfigError, match=words.replace("|", r"\|").replace("(", r"\(")):
        parse_quant_config(doc)


def test_by_name_rule_for_unknown_layer_is_refused():
    doc = {
        "name": "m",
        "layers": [{"type": "linear", "out": 5}],
        "quantization": {"by": "name", "fc9": {"weight": {"width": 4}}},
    }
    with pytest.raises(ConfigError, match="unknown layer 'fc9'"):
        spec_from_toml(doc, "m.toml")


def test_zoo_parameter_counts():
    assert get_model("jsc-tiny").n_params == 117
    medium = get_model("jsc-medium").n_params
    assert get_model("jsc-large").n_params >= 4 * medium
    assert len([layer for layer in get_model("jsc-large").layers if layer.kind == "dense"]) >= 6
