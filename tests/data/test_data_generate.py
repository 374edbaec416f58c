"""The generator on a few dozen jets: classes, finite features, seeds, 1 vs 2 workers, resume, CLI."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from flow.cli.data import app
from flow.data import CLASS_NAMES, load
from flow.data.generate import GeneratorSettings, JetSettings
from flow.data.generate.runner import generate, parts_dir, plan
from flow.errors import DataError

SETTINGS = GeneratorSettings(n_jets=20, seed=7, chunk_jets=2)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "jets.parquet"
    meta = generate(SETTINGS, out, workers=1, keep_parts=True)
    return out, meta


def test_jets_are_balanced_finite_and_in_the_window(first_run):
    out, meta = first_run
    ds = load(out, on_nonfinite="refuse")
    assert len(ds) == 20 and ds.class_counts() == {c: 4 for c in CLASS_NAMES}
    assert np.isfinite(ds.features).all() and ds.features.dtype == np.float32
    assert ((ds.pt > 800) & (ds.pt < 1600)).all() and (np.abs(ds.eta) < 2.5).all()
    assert (ds.column("multiplicity") >= 2).all()
    assert ds.metadata["seed"] == 7 and ds.metadata["counts"] == {c: 4 for c in CLASS_NAMES}
    assert ds.metadata["settings"]["jets"]["pt_min"] == 800.0
    assert ds.metadata["versions"]["pythia8mc"] and ds.metadata["versions"]["fastjet"]
    assert ds.metadata["command"].startswith("flow data generate --jets 20 --seed 7 --chunk-jets 2")
    assert meta["statistics"]["w"]["events"] > 0


def _per_class(ds, cls):
    sel = ds.labels == CLASS_NAMES.index(cls)
    return ds.features[sel], ds.pt[sel]


def test_same_seed_same_jets_with_two_workers_via_cli(first_run, tmp_path):
    """Two workers, and only W and Z: the W and Z jets are those of the one-worker run with all classes
    (chunks depend on (seed, class, index) only)."""
    out, _ = first_run
    other = tmp_path / "two.parquet"
    args = ["generate", "--jets", "8", "--classes", "w,z", "--seed", "7", "--chunk-jets", "2", "--workers", "2"]
    result = CliRunner().invoke(app, [*args, "--out", str(other)])
    assert result.exit_code == 0, result.output
    assert "jets/s" in result.output and "W jets with 65 < mass_mmdt < 105 GeV" in result.output
    a, b = load(out), load(other)
    assert b.class_counts() == {"g": 0, "q": 0, "w": 4, "z": 4, "t": 0}
    for cls in ("w", "z"):
        for x, y in zip(_per_class(a, cls), _per_class(b, cls), strict=True):
            np.testing.assert_array_equal(x, y)
    assert not parts_dir(other).exists()


def test_interrupted_run_resumes_from_its_chunks(first_run, tmp_path):
    out, _ = first_run
    resumed = tmp_path / "resumed.parquet"
    shutil.copytree(parts_dir(out), parts_dir(resumed))
    chunks = sorted(parts_dir(resumed).glob("*.npz"))
    assert len(chunks) == len(plan(SETTINGS)) == 10
    for c in chunks[:2]:
        c.unlink()
    meta = generate(SETTINGS, resumed, workers=1)
    assert meta["run"]["jets_resumed"] == 16 and meta["run"]["jets_generated_this_run"] == 4
    np.testing.assert_array_equal(load(resumed).features, load(out).features)


def test_another_seed_gives_other_jets(first_run, tmp_path):
    out, _ = first_run
    meta = generate(GeneratorSettings(n_jets=2, seed=8, chunk_jets=2, classes=("w",)), tmp_path / "w8.npz")
    assert meta["counts"] == {"w": 2}
    w8 = load(tmp_path / "w8.npz").features
    assert w8.shape == (2, 16) and not np.array_equal(w8, _per_class(load(out), "w")[0][:2])


def test_settings_are_validated(tmp_path, first_run):
    with pytest.raises(DataError, match="--jets must be at least 1"):
        GeneratorSettings(n_jets=0)
    with pytest.raises(DataError, match="unknown class 'h'"):
        GeneratorSettings(n_jets=5, classes=("w", "h"))
    with pytest.raises(DataError, match="repeats"):
        GeneratorSettings(n_jets=5, classes=("w", "w"))
    with pytest.raises(DataError, match="pT window"):
        GeneratorSettings(n_jets=5, jets=JetSettings(pt_min=900, pt_max=800))
    with pytest.raises(DataError, match=r"\.parquet or \.npz"):
        generate(GeneratorSettings(n_jets=5), tmp_path / "x.csv")
    with pytest.raises(DataError, match="--workers"):
        generate(GeneratorSettings(n_jets=5), tmp_path / "x.npz", workers=0)
    # Chunks of another run are never mixed in.
    out, _ = first_run
    with pytest.raises(DataError, match="other settings; rerun with --fresh"):
        generate(GeneratorSettings(n_jets=20, seed=8, chunk_jets=2), out)
    assert GeneratorSettings(n_jets=7, classes=("g", "t")).jets_per_class() == {"g": 4, "t": 3}
    rec = SETTINGS.to_record()
    assert GeneratorSettings.from_record(rec) == SETTINGS


def test_cli_reports_bad_options_as_data_errors(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--jets", "10", "--classes", "w,x", "--out", str(tmp_path / "a.npz")])
    assert result.exit_code != 0 and isinstance(result.exception, DataError)
    assert "unknown class 'x'" in str(result.exception)
