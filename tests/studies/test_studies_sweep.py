"""`flow sweep`: grid, repeats, table and plots, resume, bit widths, the process pool."""

import csv
import json

import pytest

from flow.errors import ConfigError
from flow.studies.sweep import SweepGrid, SweepSettings, run_sweep
from tests.studies.helpers import sweep_args


def grid_settings(**kw):
    base = {"batch_size": (64, 128), "lr": (0.01,), "epochs": (1,), "repeats": 2}
    base.update(kw)
    return SweepSettings(SweepGrid(**base), seed=7, qat_epochs=0, workers=1)


def test_sweep_table_plots_and_resume(small, data, tmp_path):
    settings = grid_settings()
    seen = []
    r = run_sweep(small, data, settings, tmp_path, lambda res, skipped: seen.append(skipped))
    assert (r.ran, r.skipped) == (4, 0) and seen == [False] * 4
    assert len(r.rows) == 2 and all(row["n"] == 2 for row in r.rows)
    assert sum(row["best"] for row in r.rows) == 1
    row = r.rows[0]
    assert row["val_acc_min"] <= row["val_acc_mean"] <= row["val_acc_max"] and row["val_acc_std"] >= 0
    for f in ("results.md", "results.csv", "runs.csv", "sweep.json", "acc_vs_batch_size.png"):
        assert (tmp_path / f).is_file(), f
    assert not (tmp_path / "acc_vs_lr.png").exists()  # only swept variables get a plot
    md = (tmp_path / "results.md").read_text()
    assert "**" in md  # the best row
    plain = md.replace("**", "")
    assert "| 64 | 0.01 | 1 | float | float | 16-8-8-5 BN | 285 | 2 |" in plain
    assert "| 128 | 0.01 | 1 | float | float | 16-8-8-5 BN | 285 | 2 |" in plain
    assert (tmp_path / "curves_batch_size.png").is_file() and (tmp_path / "train_acc_vs_steps.png").is_file()
    assert (tmp_path / "index.html").is_file()
    runs = list(csv.DictReader((tmp_path / "runs.csv").read_text().splitlines()))
    assert sorted(int(x["seed"]) for x in runs) == [7, 7, 8, 8]
    # a rerun skips everything; an interrupted run (its JSON missing) is the only one redone
    again = run_sweep(small, data, settings, tmp_path)
    assert (again.ran, again.skipped) == (0, 4)
    assert [x["val_acc_mean"] for x in again.rows] == [x["val_acc_mean"] for x in r.rows]
    (tmp_path / "float" / "bs128_lr0.01_ep1_s8.json").unlink()
    (tmp_path / "float" / "bs64_lr0.01_ep1_s7.json").write_text('{"torn')  # a crash mid-write
    third = run_sweep(small, data, settings, tmp_path)
    assert (third.ran, third.skipped) == (2, 2)
    assert [x["val_acc_mean"] for x in third.rows] == [x["val_acc_mean"] for x in r.rows]  # seeded: same


def test_sweep_folder_must_match(small, data, tmp_path):
    run_sweep(small, data, grid_settings(batch_size=(64,), repeats=1), tmp_path)
    with pytest.raises(ConfigError, match="different"):
        run_sweep(small, data, SweepSettings(SweepGrid((64,), (0.01,), (1,)), qat_epochs=3, workers=1), tmp_path)
    # a larger grid over the same settings reuses the finished run
    r = run_sweep(small, data, grid_settings(batch_size=(64,), lr=(0.01, 0.02), repeats=1), tmp_path)
    assert (r.ran, r.skipped) == (1, 1)


def test_bit_width_sweep(small, data, tmp_path):
    settings = grid_settings(batch_size=(64,), weight_bits=(None, 6, 3), act_bits=(8,), repeats=1)
    r = run_sweep(small, data, settings, tmp_path)
    assert r.ran == 4  # one float run shared by three quantized points
    assert len(list((tmp_path / "float").glob("*.json"))) == 1
    quant = [x for x in r.runs if x["kind"] == "quantized"]
    assert len(quant) == 3 and all(0 <= x["int_val_acc"] <= 1 for x in quant)
    w3 = next(x for x in quant if x["point"]["weight_bits"] == 3)
    assert w3["types"]["fc1"].startswith("w fixed<3,") and w3["types"]["input"].startswith("fixed<8,")
    assert (tmp_path / "acc_vs_weight_bits.png").is_file()
    md = (tmp_path / "results.md").read_text()
    assert "| 64 | 0.01 | 1 | model | 8 | 16-8-8-5 BN | 285 |" in md.replace("**", "") and "drop" in md


def test_sweep_errors(small, data, tmp_path):
    with pytest.raises(ConfigError, match="repeats"):
        SweepGrid((64,), (0.01,), (1,), repeats=0)
    with pytest.raises(ConfigError, match="2..32"):
        run_sweep(small, data, grid_settings(weight_bits=(1,)), tmp_path)


def test_cli_sweep_in_a_process_pool(cli, csv_path, tmp_path):
    out = tmp_path / "sw"
    args = sweep_args(csv_path, out, "--epochs", "1", "--repeats", "2", "--workers", "2")
    res = cli(args)
    assert res.exit_code == 0, res.output
    assert "4 runs" in res.output and "sweep complete" in res.output and "± " in res.output
    assert len(list((out / "float").glob("*.json"))) == 4
    assert json.loads((out / "sweep.json").read_text())["grid"]["batch_size"] == [64, 128]
    res = cli(args)
    assert "4 runs were finished before" in res.output and "(0 runs now, 4 done before)" in res.output
    res = cli(args[:-2] + ["--epochs", "0..2"])
    assert isinstance(res.exception, ConfigError) and "positive" in str(res.exception)


def test_default_folder_and_data_identity(small, data, tmp_path):
    from dataclasses import replace

    from flow.studies.data import synthetic_data
    from flow.studies.sweep import default_out

    settings = grid_settings(batch_size=(64,), repeats=1)
    assert default_out(small, settings, data) == default_out(small, settings, data)  # same command, same folder
    assert default_out(small, settings, data).parent.as_posix() == "runs/jsc-small"
    assert default_out(small, settings, synthetic_data(300, seed=9)) != default_out(small, settings, data)
    run_sweep(small, data, settings, tmp_path)
    moved = replace(data, source="the same file by another path")
    assert run_sweep(small, moved, settings, tmp_path).skipped == 1  # identity is the contents, not the path
    with pytest.raises(ConfigError, match="data"):
        run_sweep(small, synthetic_data(300, seed=9), settings, tmp_path)
