"""Model TOML files are strict at every level: a misspelled section or key is one line naming the file,
the key and the known ones, never a build with the defaults (issue 10 item 7)."""

import pytest

from flow.config.zoo import get_model
from flow.errors import ConfigError

HEAD = 'name = "net"\n'
LAYERS = '[[layers]]\ntype = "dense"\nout = 5\n'


@pytest.mark.parametrize(
    "text, words",
    [
        (HEAD + LAYERS + '[quantisation]\nby = "type"\n', "unknown top-level section or key 'quantisation'"),
        (HEAD + "clases = 7\n" + LAYERS, "unknown top-level section or key 'clases'"),
        (HEAD + '[[layers]]\ntype = "dense"\nout = 5\nactivation = "sigmoid"\n', "unknown key in layer 0"),
        (HEAD + LAYERS + "[train]\nepoch = 3\n", "unknown [train] key 'epoch'"),
        (HEAD + LAYERS + "[quantization.dense]\nweights = { width = 4 }\n", "unknown role 'weights'"),
        (HEAD + LAYERS + "[quantization.dense]\nweight = { width = 4, fracs = 2 }\n", "unknown key(s) ['fracs']"),
        (HEAD + LAYERS + "[quantization.conv]\nweight = { width = 4 }\n", "unknown layer type 'conv'"),
        (HEAD + LAYERS + "[passes.quantise]\nby = 'type'\n", "unknown [passes] section 'quantise'"),
        (
            HEAD + LAYERS + "[passes.quantize.default.config]\nname = 'integer'\nweight_widht = 4\n",
            "unknown MASE key(s) ['weight_widht']",
        ),
        (
            HEAD + LAYERS + "[quantization]\nby = 'type'\n[passes.quantize]\nby = 'type'\n",
            "both [quantization] and [passes.quantize]",
        ),
        (HEAD + 'inputs = "sixteen"\n' + LAYERS, "inputs must be a positive integer"),
    ],
)
def test_unknown_or_bad_keys_are_errors(tmp_path, text, words):
    path = tmp_path / "net.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        get_model(str(path))
    msg = str(e.value)
    assert words in msg and str(path) in msg and "\n" not in msg


def test_error_lists_the_known_keys(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(HEAD + "clases = 7\n" + LAYERS)
    with pytest.raises(ConfigError, match="known: name, description, inputs, classes, layers, train"):
        get_model(str(path))


def test_the_zoo_files_are_accepted():
    for name in ("jsc-tiny", "jsc-small", "jsc-medium", "jsc-large"):
        assert get_model(name).layers


def test_train_floats_are_floats(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(HEAD + LAYERS + "[train]\nlr = 1\n")
    assert isinstance(get_model(str(path)).train.lr, float)
