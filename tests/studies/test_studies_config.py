"""Study --config files: [train] and quantization by layer type, by layer name, and MASE's form."""

import pytest

from flow.config.quant import layer_quant
from flow.config.zoo import get_model
from flow.errors import ConfigError
from flow.studies.settings import apply_study_config, bit_width_config, with_quant, with_train


def write(tmp_path, text):
    p = tmp_path / "q.toml"
    p.write_text(text)
    return p


def test_by_type_and_train(tmp_path):
    p = write(
        tmp_path,
        """
[train]
epochs = 3
lr = 0.01
[quantization]
by = "type"
linear = { weight = { width = 6, frac = 4 }, output = { width = 10 } }
relu = { output = { width = 7 } }
""",
    )
    spec = apply_study_config(p, get_model("jsc-small"))
    assert (spec.train.epochs, spec.train.lr) == (3, 0.01)
    for name in ("fc1", "fc3"):
        q = layer_quant(spec.quant, name, "dense")
        assert (q.weight.width, q.weight.frac, q.output.width) == (6, 4, 10)
    assert layer_quant(spec.quant, "relu2", "relu").output.width == 7


def test_by_name_overrides_one_layer(tmp_path):
    p = write(
        tmp_path,
        """
[quantization]
by = "name"
fc2 = { weight = { width = 4 } }
""",
    )
    spec = apply_study_config(p, get_model("jsc-small"))
    assert layer_quant(spec.quant, "fc2", "dense").weight.width == 4
    assert layer_quant(spec.quant, "fc1", "dense").weight.width == 8  # built-in default untouched


def test_mase_form(tmp_path):
    p = write(
        tmp_path,
        """
[passes.quantize]
by = "type"
[passes.quantize.default.config]
name = "integer"
data_in_width = 8
data_in_frac_width = 4
weight_width = 6
weight_frac_width = 3
bias_width = 8
bias_frac_width = 4
""",
    )
    spec = apply_study_config(p, get_model("jsc-tiny"))
    q = layer_quant(spec.quant, "fc1", "dense")
    assert (q.weight.width, q.weight.frac, q.bias.width, q.bias.frac, q.input.width) == (6, 3, 8, 4, 8)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[quantization]\nby = "name"\nfc9 = { weight = { width = 4 } }', "unknown layer 'fc9'"),
        ('[quantization]\nby = "type"\nfc1 = { weight = { width = 4 } }', "unknown layer type 'fc1'"),
        ('[quantization]\nby = "layer"', 'by must be "type" or "name"'),
        ("[quantization]\nlinear = { weight = { bits = 4 } }", "unknown key"),
        ("[quantization]\nlinear = { weight = { width = 0 } }", "width must be a positive integer"),
        ("[quantization]\nlinear = { gain = { width = 4 } }", "unknown role 'gain'"),
        ('[passes.quantize.default.config]\nname = "float"', "only integer"),
        ('[train]\nepochs = "ten"', "epochs must be int"),
        ("[train]\nspeed = 3", "unknown \\[train\\] key"),
        ("[model]\nx = 1", "unknown section"),
        ("not toml ===", "not valid TOML"),
    ],
)
def test_config_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        apply_study_config(write(tmp_path, text), get_model("jsc-small"))


def test_bit_width_config_wins_over_type_rules(tmp_path):
    p = write(tmp_path, '[quantization]\nby = "type"\nlinear = { weight = { width = 6 } }')
    spec = apply_study_config(p, get_model("jsc-tiny"))
    spec = with_quant(spec, bit_width_config(spec, 3, 9))
    assert layer_quant(spec.quant, "fc1", "dense").weight.width == 3
    assert layer_quant(spec.quant, "bn1", "batchnorm").scale.width == 3
    assert layer_quant(spec.quant, "relu1", "relu").output.width == 9
    assert dict(spec.quant.graph_input)["width"] == 9
    with pytest.raises(ConfigError, match="2..32"):
        bit_width_config(spec, 1, None)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"batch_size": 1}, "at least 2"),
        ({"lr": 0.0}, "positive"),
        ({"epochs": 0}, "at least 1"),
        ({"optimizer": "lion"}, "unknown optimizer"),
        ({"qat_epochs": -1}, "QAT epochs"),
    ],
)
def test_train_option_errors(kw, message):
    with pytest.raises(ConfigError, match=message):
        with_train(get_model("jsc-small"), **kw)
