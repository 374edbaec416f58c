"""The committed default dataset: size, balance, provenance, split, and the physics check."""

from __future__ import annotations

import numpy as np
import pytest

from flow.data import CLASS_NAMES, load_default, split
from flow.data.describe import MIN_TOP_IN_WINDOW, MIN_W_IN_WINDOW, physics_check, summarize
from flow.data.loaders import DEFAULT_PATH, REGENERATE_COMMAND


@pytest.fixture(scope="module")
def default():
    return load_default()


def test_default_file_is_large_balanced_and_small_on_disk(default):
    assert default.source == "default"
    assert len(default) >= 100_000
    counts = default.class_counts()
    assert set(counts.values()) == {len(default) // 5}
    assert np.isfinite(default.features).all()
    assert default.pt is not None and ((default.pt > 800) & (default.pt < 1600)).all()
    assert DEFAULT_PATH.stat().st_size < 10e6


def test_default_file_records_how_to_regenerate_it(default):
    meta = default.metadata
    assert meta["seed"] == 42 and meta["settings"]["n_jets"] == len(default)
    assert meta["command"] == REGENERATE_COMMAND
    assert (DEFAULT_PATH.parent / "README.md").read_text().count(REGENERATE_COMMAND) >= 1
    assert meta["versions"]["pythia8mc"] == "8.317.2" and meta["versions"]["fastjet"] == "3.5.2.0"


def test_default_split_is_the_documented_one(default):
    parts = split(default, seed=42)
    per_class = len(default) // 5
    for part, frac in ((parts.test, 0.15), (parts.val, 0.15)):
        assert part.class_counts() == {c: round(frac * per_class) for c in CLASS_NAMES}
    assert len(parts.train) == len(default) - len(parts.val) - len(parts.test)


def test_default_physics_mass_peaks(default):
    """At least 60% of W jets in 65-105 GeV and 50% of top jets in 140-200 GeV (groomed mass)."""
    check = physics_check(default)
    assert check.w_in_window >= MIN_W_IN_WINDOW, check
    assert check.top_in_window >= MIN_TOP_IN_WINDOW, check
    medians = {s.cls: s.mass_median for s in summarize(default)}
    assert 70 < medians["w"] < 85 < medians["z"] < 95 and 155 < medians["t"] < 180
    assert medians["q"] < 30 and medians["q"] < medians["g"]
