"""Stratified, deterministic train/val/test split."""

from __future__ import annotations

import numpy as np
import pytest

from flow.data import JetDataset, Split, split
from flow.data.splits import split_indices
from flow.errors import DataError


def _ds(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return JetDataset(rng.normal(size=(n, 16)).astype(np.float32), rng.integers(0, 5, n), "fixture")


def test_split_is_disjoint_complete_stratified_and_deterministic():
    ds = _ds()
    s = split(ds, seed=42)
    assert isinstance(s, Split) and s.seed == 42
    tr, va, te = split_indices(ds.labels, seed=42)
    assert len(np.intersect1d(tr, va)) == len(np.intersect1d(tr, te)) == len(np.intersect1d(va, te)) == 0
    assert len(tr) + len(va) + len(te) == len(ds)
    for c in range(5):
        n_c = int((ds.labels == c).sum())
        assert int((s.test.labels == c).sum()) == round(0.15 * n_c)
        assert int((s.val.labels == c).sum()) == round(0.15 * n_c)
    again = split(ds, seed=42)
    np.testing.assert_array_equal(again.test.features, s.test.features)
    np.testing.assert_array_equal(again.train.labels, s.train.labels)
    other = split_indices(ds.labels, seed=43)
    assert not np.array_equal(other[2], te)
    assert s.train.source == "fixture[train]"


def test_split_fractions_and_errors():
    ds = _ds(200)
    s = split(ds, seed=1, val=0.0, test=0.5)
    assert len(s.val) == 0 and abs(len(s.test) - 100) <= 3
    with pytest.raises(DataError, match="val \\+ test < 1"):
        split(ds, val=0.5, test=0.5)
    with pytest.raises(DataError, match="too few jets"):
        split(_ds(2), val=0.3, test=0.6)
