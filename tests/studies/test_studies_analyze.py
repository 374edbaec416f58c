"""`flow analyze graph` and `flow analyze stats`."""

import json

import pytest

from flow.config.zoo import get_model
from flow.errors import ConfigError
from flow.studies.graph import config_precisions, graph_rows
from flow.studies.stats import integer_bits, profile


def test_graph_rows_jsc_tiny():
    rows = graph_rows(get_model("jsc-tiny"))
    assert [(r.node, r.op, r.shape) for r in rows] == [
        ("input_1", "placeholder", "(N, 16)"),
        ("bn1", "call_module", "(N, 16)"),
        ("relu1", "call_module", "(N, 16)"),
        ("fc1", "call_module", "(N, 5)"),
        ("output", "output", "(N, 5)"),
    ]
    prec = {r.node: r.precision for r in rows}
    # jsc-tiny's input BatchNorm cannot fold: it keeps scale/shift types
    assert prec["bn1"].startswith("scale fixed<12,auto> shift fixed<16,auto>")
    assert prec["fc1"] == "w fixed<8,auto> b fixed<16,auto> -> fixed<16,auto>"
    assert prec["relu1"] == "ufixed<12,auto>" and prec["input_1"] == "fixed<12,auto>"


def test_cli_graph_config_and_folding(cli, tmp_path):
    cfg = tmp_path / "q.toml"
    cfg.write_text('[quantization]\nby = "name"\nfc2 = { weight = { width = 5, frac = 3 } }\n')
    res = cli(["analyze", "graph", "jsc-medium", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    for text in (
        "placeholder",
        "call_module",
        "output",
        "Linear(16 -> 64)",
        "(N, 64)",
        "folded into fc1",
        "w fixed<5,3>",
        "12 nodes",
    ):
        assert text in res.output, text


def test_cli_graph_checkpoint_and_quant_graph(cli, cli_run, csv_path, tmp_path):
    out, _ = cli_run
    res = cli(["analyze", "graph", "jsc-small", "--checkpoint", str(out / "best.pt"), "--data", str(csv_path)])
    assert res.exit_code == 0, res.output
    assert "auto" not in res.output.split("precision from")[1].split("\n", 2)[2]  # every frac resolved
    qdir = tmp_path / "q"
    assert (
        cli(
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
                str(qdir),
            ]
        ).exit_code
        == 0
    )
    res = cli(["analyze", "graph", "jsc-small", "--quant-graph", str(qdir / "quant_graph.json")])
    assert res.exit_code == 0 and "quantized graph" in res.output and "w fixed<8," in res.output
    res = cli(["analyze", "graph", "jsc-tiny", "--checkpoint", str(out / "best.pt"), "--data", str(csv_path)])
    assert isinstance(res.exception, ConfigError) and "checkpoint of 'jsc-small'" in str(res.exception)


def test_integer_bits():
    assert integer_bits(0.9, True) == 1 and integer_bits(0.9, False) == 0
    assert integer_bits(1.0, True) == 2  # 1.0 itself must fit: the largest code of fixed<W,W-1> is below 1
    assert integer_bits(3.5, True) == 3 and integer_bits(3.5, False) == 2
    assert integer_bits(0.1, True) == -2


def test_profile_numbers(trained, small, data):
    from flow.train.model import load_float_model

    out, _ = trained
    model = load_float_model(out / "best.pt", small)
    mean, std = data.standardization()
    train, _, _ = data.arrays(mean, std)
    p = profile(small, model, train.x, batches=2, batch_size=100)
    assert p.samples == 200
    w = next(x for x in p.weights if (x.layer, x.param) == ("fc1", "weight"))
    v = model.fc1.weight.detach().double()
    assert abs(w.mean - float(v.mean())) < 1e-12 and abs(w.var - float(v.var(unbiased=False))) < 1e-12
    assert [h.layer for h in p.hardware] == ["fc1", "fc1", "fc2", "fc2", "fc3", "fc3"]  # BNs folded
    acts = {a.value: a for a in p.activations}
    assert acts["relu1"].min == 0 and acts["relu1"].suggested.startswith("ufixed<12,")
    assert acts["fc1"].suggested.startswith("- (not in hardware")
    assert acts["bn1"].range == pytest.approx(acts["bn1"].max - acts["bn1"].min)


def test_cli_stats_fresh_and_trained(cli, cli_run, csv_path, tmp_path):
    out, _ = cli_run
    res = cli(["analyze", "stats", "jsc-small", "--data", str(csv_path), "--batches", "2"])
    assert res.exit_code == 0, res.output
    assert "fresh (untrained) model" in res.output and "variance" in res.output and "suggested" in res.output
    js = tmp_path / "p.json"
    res = cli(
        [
            "analyze",
            "stats",
            "jsc-small",
            "--data",
            str(csv_path),
            "--checkpoint",
            str(out / "best.pt"),
            "--json",
            str(js),
        ]
    )
    assert res.exit_code == 0 and "checkpoint" in res.output
    prof = json.loads(js.read_text())
    assert {a["value"] for a in prof["activations"]} >= {"input", "fc1", "bn1", "relu1", "fc3"}


def test_config_precisions_output():
    assert config_precisions(get_model("jsc-small")).output == "fixed<16,auto>"
