"""`flow baseline`: gradient-boosted trees on the same split."""

import json

from flow.studies.baseline import BaselineSettings, baseline_metrics


def test_baseline_metrics(data):
    r = baseline_metrics(data, BaselineSettings(max_iter=30))
    assert r.val_acc > 0.5 and r.test_acc > 0.5 and 1 <= r.iterations <= 30
    assert set(r.auc) == set(data.class_names) and all(0.5 < a <= 1 for a in r.auc.values())


def test_cli_baseline(cli, csv_path, tmp_path):
    res = cli(["baseline", "--data", str(csv_path), "--max-iter", "20", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "HistGradientBoostingClassifier" in res.output and "test acc" in res.output
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["data"]["split_seed"] == 42 and m["test_acc"] > 0.5
    assert (tmp_path / "confusion.png").is_file() and (tmp_path / "roc.png").is_file()
    res = cli(["baseline", "--data", str(csv_path), "--max-iter", "0"])
    assert res.exit_code != 0
