"""`flow data load` and `flow data describe` through the typer app."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from flow.cli.data import app
from flow.data import load
from flow.errors import DataError

runner = CliRunner()


def test_load_prints_counts_and_converts(files, tmp_path):
    out = tmp_path / "copy.parquet"
    result = runner.invoke(app, ["load", str(files["arff"]), "--save", str(out)])
    assert result.exit_code == 0, result.output
    assert "50 jets" in result.output and "wrote" in result.output
    np.testing.assert_array_equal(load(out).labels, load(files["arff"]).labels)


def test_load_reports_dropped_rows_and_refuses_on_request(frame, tmp_path):
    frame.loc[1, "zlogz"] = np.nan
    path = tmp_path / "nan.csv"
    frame.to_csv(path, index=False)
    ok = runner.invoke(app, ["load", str(path)])
    assert ok.exit_code == 0 and "dropped 1 rows with NaN or inf" in ok.output
    bad = runner.invoke(app, ["load", str(path), "--refuse-nonfinite"])
    assert bad.exit_code != 0 and isinstance(bad.exception, DataError)


def test_load_needs_exactly_one_source(tmp_path):
    both = runner.invoke(app, ["load", str(tmp_path / "a.csv"), "--openml"])
    none = runner.invoke(app, ["load"])
    for r in (both, none):
        assert isinstance(r.exception, DataError) and "PATH or --openml" in str(r.exception)
    missing = runner.invoke(app, ["load", str(tmp_path / "missing.parquet")])
    assert isinstance(missing.exception, DataError) and "no such file" in str(missing.exception)


def test_describe_prints_summaries_and_writes_pngs(files, tmp_path):
    out_dir = tmp_path / "plots"
    result = runner.invoke(app, ["describe", str(files["parquet"]), "--out-dir", str(out_dir), "--bins", "10"])
    assert result.exit_code == 0, result.output
    assert "mass_mmdt" in result.output and "feature medians per class" in result.output
    pngs = sorted(p.name for p in out_dir.glob("*.png"))
    assert "features.png" in pngs and "hist_mass_mmdt.png" in pngs and len(pngs) == 17
    assert (out_dir / "features.png").read_bytes()[:4] == b"\x89PNG"
