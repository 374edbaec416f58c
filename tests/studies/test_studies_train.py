"""`flow train`: the run folder, its checkpoints, and that a checkpoint feeds `flow build`."""

import csv
import json
import re

import torch

from flow.errors import ConfigError
from flow.train.fit import evaluate
from flow.train.model import load_float_model, read_checkpoint

FILES = (
    "settings.json",
    "history.csv",
    "history.json",
    "best.pt",
    "last.pt",
    "metrics.json",
    "curves.png",
    "confusion.png",
    "roc.png",
    "embedding.png",
)


def test_cli_train_writes_run_folder(cli_run):
    out, res = cli_run
    for f in FILES:
        assert (out / f).is_file(), f
    assert re.search(r"float +2  loss [0-9.]+ / [0-9.]+  acc", res.output)  # live per-epoch lines
    assert "flow build jsc-small --checkpoint" in res.output
    rows = list(csv.DictReader((out / "history.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"phase", "train_loss", "val_loss", "train_acc", "val_acc"} <= set(rows[0])
    assert json.loads((out / "history.json").read_text())[1]["epoch"] == 2
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["auc"]) == {"g", "q", "w", "z", "t"} and all(0.5 < v <= 1 for v in m["auc"].values())
    assert m["test_acc"] > 0.5  # the synthetic classes are learnable
    settings = json.loads((out / "settings.json").read_text())
    assert settings["train"]["batch_size"] == 64 and settings["data"]["split_seed"] == 42


def test_checkpoints_best_and_last(trained, small, data):
    out, result = trained
    best, last = read_checkpoint(out / "best.pt"), read_checkpoint(out / "last.pt")
    assert best["epoch"] == result.best_epoch and last["epoch"] == 2
    model = load_float_model(out / "best.pt", small)
    _, val, _ = data.arrays(best["input_mean"], best["input_std"])
    assert abs(evaluate(model, val)[1] - result.best_val_acc) < 1e-9
    _, acc_last = evaluate(load_float_model(out / "last.pt", small), val)
    assert abs(acc_last - result.last_val_acc) < 1e-9


def test_same_seed_same_weights(small, data, tmp_path):
    from flow.studies.run import train_float

    a, b = train_float(small, data), train_float(small, data)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])


def test_checkpoint_feeds_flow_build(cli_run, csv_path, tmp_path):
    """The pipeline's train stage takes the checkpoint as is; quantization runs from it."""
    from dataclasses import replace

    from flow.config.targets import get_target
    from flow.config.zoo import get_model
    from flow.pipeline import BuildOptions, run_build

    out, _ = cli_run
    spec = get_model("jsc-small")
    spec = replace(spec, train=replace(spec.train, qat_epochs=1))
    outcomes = run_build(
        spec, get_target("xcu250"), BuildOptions(data=csv_path, checkpoint=out / "best.pt", until="quantize"), tmp_path
    )
    assert [o.stage for o in outcomes] == ["data", "train", "quantize"]
    assert outcomes[1].results.checkpoint == str(out / "best.pt")
    assert outcomes[1].results.epochs == 0  # not retrained


def test_cli_train_errors(cli, csv_path, tmp_path):
    res = cli(["train", "jsc-small", "--data", str(tmp_path / "none.csv")])
    assert isinstance(res.exception, ConfigError) and "--data: file not found" in str(res.exception)
    res = cli(["train", "jsc-small", "--data", str(csv_path), "--batch-size", "1"])
    assert isinstance(res.exception, ConfigError) and "batch size" in str(res.exception)
    res = cli(["train", "jsc-small", "--config", str(tmp_path / "missing.toml")])
    assert isinstance(res.exception, ConfigError)
