"""`flow quantize`: config forms, node-by-node changes, PTQ and QAT, and the grid check."""

import copy
import json

import numpy as np
import pytest
import torch

from flow.errors import ConfigError, MismatchError
from flow.ir.fixed import FixedType
from flow.studies.quant import check_values, grid_checks, quantize_checkpoint, verify_grid


@pytest.fixture(scope="module")
def qrun(trained, small, data):
    out, _ = trained
    return quantize_checkpoint(small, data, out / "best.pt", qat_epochs=1)


def test_grid_check_passes_on_a_quantized_model(qrun):
    checks = grid_checks(qrun.quantized.model, qrun.graph)
    assert [(c.layer, c.role) for c in checks][:2] == [("fc1", "weight"), ("fc1", "bias")]
    assert all(c.ok for c in checks) and sum(c.count for c in checks) == qrun.graph.n_params
    verify_grid(checks)


def test_grid_check_fails_off_the_grid():
    t = FixedType(8, 4, True)
    assert check_values("fc1", "weight", np.array([0.5, -0.25, 7.9375]), t).ok
    bad = check_values("fc1", "weight", np.array([0.5, 0.3]), t)  # 0.3 * 16 = 4.8 LSBs
    assert bad.off_grid == 1 and not bad.ok and "element 1" in bad.first_bad
    with pytest.raises(MismatchError, match="fc1.weight"):
        verify_grid([bad])
    assert check_values("fc1", "weight", np.array([8.0]), t).out_of_range == 1  # max is 127/16
    half_lsb = np.nextafter(0.5, 1.0)  # the smallest step off a grid point
    assert check_values("fc1", "weight", np.array([half_lsb]), t).off_grid == 1


def test_grid_check_catches_a_graph_that_differs(qrun):
    graph = copy.deepcopy(qrun.graph)
    graph.layers[0].weight[0, 0] += 1  # one code changed behind the QAT model's back
    bad = [c for c in grid_checks(qrun.quantized.model, graph) if not c.ok]
    assert [(c.layer, c.role, c.mismatched) for c in bad] == [("fc1", "weight", 1)]


def test_node_changes(qrun, data):
    from flow.studies.quant import node_changes

    _, val, _ = data.arrays(qrun.mean, qrun.std)
    rows = {c.node: c for c in node_changes(qrun, val.x)}
    assert rows["bn1"].status == "folded" and rows["bn1"].after == "folded into fc1"
    assert rows["fc1"].status == "quantized" and "(absorbs bn1)" in rows["fc1"].after
    assert rows["fc1"].max_abs_err is None  # the pre-BatchNorm value does not exist in hardware
    assert rows["bn1"].max_abs_err is not None and rows["relu1"].after.startswith("relu: ufixed<12,")
    assert rows["output"].rel_err < 0.5


def write(tmp_path, text):
    p = tmp_path / "q.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "config, expect",
    [
        ('[quantization]\nby = "type"\nlinear = { weight = { width = 5 } }', ["w fixed<5,", "dense"]),
        ('[quantization]\nby = "name"\nfc2 = { weight = { width = 4, frac = 2 } }', ["w fixed<4,2>"]),
        (
            '[passes.quantize]\nby = "type"\n[passes.quantize.default.config]\nname = "integer"\n'
            "data_in_width = 8\ndata_in_frac_width = 4\nweight_width = 6\nweight_frac_width = 4\n"
            "bias_width = 8\nbias_frac_width = 4",
            ["w fixed<6,4> b fixed<8,4>", "fixed<8,4>"],
        ),
    ],
)
def test_cli_quantize_config_forms(cli, cli_run, csv_path, tmp_path, config, expect):
    out, _ = cli_run
    res = cli(
        [
            "quantize",
            "jsc-small",
            "--config",
            str(write(tmp_path, config)),
            "--checkpoint",
            str(out / "best.pt"),
            "--data",
            str(csv_path),
            "--qat-epochs",
            "0",
            "--out",
            str(tmp_path / "q"),
        ]
    )
    assert res.exit_code == 0, res.output
    for text in expect + ["folded into fc1", "all on their fixed-point grids", "post-training quantization"]:
        assert text in res.output, text
    report = json.loads((tmp_path / "q" / "report.json").read_text())
    assert report["grid_ok"] and report["qat_epochs"] == 0
    for f in ("quant_graph.json", "qat_model.pt", "changes.md", "changes.csv", "grid.csv", "history.csv"):
        assert (tmp_path / "q" / f).is_file(), f


def test_cli_quantize_trains_then_qat(cli, csv_path, tmp_path):
    res = cli(
        [
            "quantize",
            "jsc-tiny",
            "--data",
            str(csv_path),
            "--epochs",
            "1",
            "--qat-epochs",
            "1",
            "--out",
            str(tmp_path / "q"),
        ]
    )
    assert res.exit_code == 0, res.output
    assert "1 QAT epochs" in res.output and "scale fixed<12," in res.output  # jsc-tiny's unfoldable BN
    assert json.loads((tmp_path / "q" / "report.json").read_text())["qat_epochs"] == 1


@pytest.mark.parametrize(
    "config, message",
    [
        ('[quantization]\nby = "name"\nfc7 = { weight = { width = 4 } }', "unknown layer 'fc7'"),
        ('[quantization]\nby = "type"\nconv = { weight = { width = 4 } }', "unknown layer type 'conv'"),
        ('[quantization]\nlinear = { weight = { width = 4, frac = "half" } }', "frac must be an integer"),
    ],
)
def test_cli_quantize_config_errors(cli, tmp_path, config, message):
    res = cli(["quantize", "jsc-small", "--config", str(write(tmp_path, config))])
    assert isinstance(res.exception, ConfigError) and message in str(res.exception)


def test_cli_quantize_fails_when_a_weight_is_off_grid(cli, cli_run, csv_path, tmp_path, monkeypatch):
    import flow.studies.quant as quant

    real = quant.quantized_parameters

    def nudged(qmodel):
        params = real(qmodel)
        layer, role, v, t = params[0]
        v = v.clone()
        v.view(-1)[0] += 2.0 ** (-t.frac - 1)  # half an LSB off the grid
        return [(layer, role, v, t), *params[1:]]

    monkeypatch.setattr(quant, "quantized_parameters", nudged)
    out, _ = cli_run
    res = cli(
        [
            "quantize",
            "jsc-small",
            "--checkpoint",
            str(out / "best.pt"),
            "--data",
            str(csv_path),
            "--qat-epochs",
            "0",
            "--out",
            str(tmp_path / "q"),
        ]
    )
    assert isinstance(res.exception, MismatchError) and "fc1.weight" in str(res.exception)
    assert "off the grid" in str(res.exception)
    assert not json.loads((tmp_path / "q" / "report.json").read_text())["grid_ok"]


def test_quantized_model_matches_reference(qrun, data):
    """The integer-reference accuracy the sweep reports is the QAT model's (evaluated in float64)."""
    from flow.ir.fixed import dequantize
    from flow.ir.reference import encode_inputs, forward

    codes = encode_inputs(qrun.graph, data.val.x)
    ref = forward(qrun.graph, codes).numpy()
    q = copy.deepcopy(qrun.quantized.model).double().eval()
    with torch.no_grad():
        out = q(dequantize(codes, qrun.graph.input_type)) * 2.0**qrun.graph.output_type.frac
    assert np.array_equal(out.round().long().numpy(), ref)
    assert qrun.int_val_acc == pytest.approx(float(np.mean(ref.argmax(1) == data.val.y)))
