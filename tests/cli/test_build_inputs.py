"""Inputs that used to be taken silently or crash with a traceback: each is one line and exit 1, or a
recorded, printed warning (issue 10 item 7). Small data (tests/conftest.py ``jets_npz``), early ``--until``."""

import hashlib
import json
import zipfile

import numpy as np
import pytest

from flow.config.zoo import get_model
from flow.train.model import build_float_model, save_float_model
from tests.cli.helpers import one_line_error
from tests.conftest import make_jets

FAST = "[train]\nepochs = 1\nqat_epochs = 1\n"


@pytest.fixture
def fast(tmp_path):
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST)
    return cfg


def root(out, model="jsc-tiny"):
    return out / model / "xcu250"


def results(out, stage, model="jsc-tiny"):
    (m,) = root(out, model).glob(f"*_{stage}/manifest.json")
    return json.loads(m.read_text())["results"]


def checkpoint(path, model):
    spec = get_model(model)
    save_float_model(path, spec, build_float_model(spec), np.zeros(spec.inputs), np.ones(spec.inputs))
    return path


def npz(path, x, y):
    np.savez(path, features=x, labels=y)
    return path


# -- model / data / checkpoint --------------------------------------------------------------------------


def test_model_inputs_do_not_match_the_data(cli, tmp_path, jets_npz):
    net = tmp_path / "net.toml"
    net.write_text('name = "net"\ninputs = 15\n[[layers]]\ntype = "dense"\nout = 5\n')
    r = cli("build", net, "--data", jets_npz, "--until", "train", "--out", tmp_path / "b")
    one_line_error(r, "model 'net' has inputs = 15 but the data has 16 features")


def test_model_classes_do_not_match_the_data(cli, tmp_path, jets_npz):
    net = tmp_path / "net.toml"
    net.write_text('name = "net"\nclasses = 7\n[[layers]]\ntype = "dense"\nout = 7\n')
    r = cli("build", net, "--data", jets_npz, "--until", "train", "--out", tmp_path / "b")
    one_line_error(r, "model 'net' has classes = 7 but the data has 5 classes")


def test_checkpoint_of_another_model(cli, tmp_path, jets_npz):
    ckpt = checkpoint(tmp_path / "small.pt", "jsc-small")
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--checkpoint", ckpt, "--until", "train", "--out", tmp_path / "b")
    one_line_error(r, "checkpoint of model 'jsc-small'")
    assert "does not fit model 'jsc-tiny'" in r.stderr


def test_corrupt_checkpoint_fails_its_crc(cli, tmp_path, jets_npz):
    ckpt = checkpoint(tmp_path / "tiny.pt", "jsc-tiny")
    with zipfile.ZipFile(ckpt) as z:  # overwrite one byte inside the largest member's data
        info = max(z.infolist(), key=lambda i: i.file_size)
    data = bytearray(ckpt.read_bytes())
    with open(ckpt, "rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
    at = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    data[at] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--checkpoint", ckpt, "--until", "train", "--out", tmp_path / "b")
    one_line_error(r, "corrupt checkpoint")
    assert "fails its CRC check" in r.stderr


def test_checkpoint_that_is_not_a_zip(cli, tmp_path, jets_npz):
    ckpt = tmp_path / "junk.pt"
    ckpt.write_bytes(b"not a checkpoint at all" * 10)
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--checkpoint", ckpt, "--until", "train", "--out", tmp_path / "b")
    one_line_error(r, "not a readable checkpoint")


def test_checkpoint_sha256_is_recorded(cli, tmp_path, jets_npz):
    ckpt = checkpoint(tmp_path / "tiny.pt", "jsc-tiny")
    out = tmp_path / "b"
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--checkpoint", ckpt, "--until", "train", "--out", out)
    assert r.returncode == 0, r.stderr
    assert results(out, "train")["checkpoint_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()


# -- --out ------------------------------------------------------------------------------------------------


def test_out_is_a_file(cli, tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    one_line_error(cli("build", "jsc-tiny", "--out", f), f"--out: {f} is not a folder")


def test_out_below_a_file(cli, tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    one_line_error(cli("build", "jsc-tiny", "--out", f / "sub"), f"({f} is a file)")


def test_out_where_nothing_can_be_written(cli):
    one_line_error(cli("build", "jsc-tiny", "--out", "/proc/flow-build"), "--out: cannot create /proc/flow-build")


# -- the data ---------------------------------------------------------------------------------------------


def test_small_test_set_is_refused(cli, tmp_path, jets_npz):
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--until", "reference", "--out", tmp_path / "b")
    one_line_error(r, "refusing to certify on 450 test vectors (fewer than 1,000)")
    assert "--allow-small-test" in r.stderr
    assert not list(root(tmp_path / "b").glob("02_train/manifest.json"))  # refused before training


def test_one_class_is_refused(cli, tmp_path):
    x, _ = make_jets(8000)
    data = npz(tmp_path / "one.npz", x, np.zeros(len(x), np.int64))
    r = cli("build", "jsc-tiny", "--data", data, "--until", "reference", "--out", tmp_path / "b")
    one_line_error(r, "1 class(es) in the test set (g)")


def test_small_test_set_allowed_is_recorded(cli, tmp_path, jets_npz, fast):
    out = tmp_path / "b"
    args = ("build", "jsc-tiny", "--data", jets_npz, "--until", "reference", "--out", out, "--config", fast)
    r = cli(*args, "--allow-small-test")
    assert r.returncode == 0, r.stderr
    assert "warning: certifying on 450 test vectors" in r.stderr
    data = results(out, "data")
    assert data["small_test"] == "450 test vectors (fewer than 1,000)" and data["small_test_allowed"] is True
    assert json.loads((root(out) / "01_data" / "dataset.json").read_text())["small_test_allowed"] is True
    # the same build without the option is refused again, although every stage is up to date
    one_line_error(cli(*args), "refusing to certify")


def test_nonfinite_rows_are_counted(cli, tmp_path):
    x, y = make_jets(3000)
    x[:7, 3] = np.nan
    x[7:10, 0] = np.inf
    out = tmp_path / "b"
    r = cli("build", "jsc-tiny", "--data", npz(tmp_path / "nan.npz", x, y), "--until", "data", "--out", out)
    assert r.returncode == 0, r.stderr
    assert results(out, "data")["dropped_nonfinite"] == 10 and results(out, "data")["jets"] == 2990
    assert json.loads((root(out) / "01_data" / "dataset.json").read_text())["dropped_nonfinite"] == 10
    assert "10 rows with NaN/inf dropped" in r.stdout


# -- precisions -------------------------------------------------------------------------------------------


def test_degenerate_precisions_warn_and_are_recorded(cli, tmp_path, jets_npz):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(FAST + "[quantization.dense]\nweight = { width = 4, frac = -8 }\n")
    out = tmp_path / "b"
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--until", "quantize", "--out", out, "--config", cfg)
    assert r.returncode == 0, r.stderr
    warnings = results(out, "quantize")["warnings"]
    assert "layer 'fc1' weight: frac -8 outside 0..4 (fixed<4,-8> RND/SAT)" in warnings
    assert any(w.startswith("layer 'fc1': every weight code is 0") for w in warnings), warnings
    assert all(f"warning: {w}" in r.stderr for w in warnings), r.stderr


def test_unsigned_output_on_negative_values_warns(cli, tmp_path, jets_npz):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(FAST + "[quantization.dense]\noutput = { width = 16, signed = false }\n")
    out = tmp_path / "b"
    r = cli("build", "jsc-tiny", "--data", jets_npz, "--until", "quantize", "--out", out, "--config", cfg)
    assert r.returncode == 0, r.stderr
    (w,) = [w for w in results(out, "quantize")["warnings"] if "unsigned" in w]
    assert w.startswith("layer 'fc1' output: unsigned type ufixed<16,") and "clamped to 0" in w
    assert "warning: layer 'fc1' output: unsigned type" in r.stderr
