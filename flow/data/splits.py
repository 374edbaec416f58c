"""Deterministic stratified train/validation/test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flow.data.dataset import JetDataset
from flow.data.schema import CLASS_NAMES
from flow.errors import DataError


@dataclass(frozen=True, eq=False)
class Split:
    """Three disjoint parts of one dataset and the seed that made them."""

    train: JetDataset
    val: JetDataset
    test: JetDataset
    seed: int


def split_indices(labels: np.ndarray, *, seed: int = 42, val: float = 0.15, test: float = 0.15):
    """(train, val, test) row indices, each sorted ascending.

    For each class c in CLASS_NAMES order, its rows are permuted with ``numpy.random.default_rng(seed)``
    (one generator shared across classes, used in that order); the first round(test * n_c) go to test,
    the next round(val * n_c) to val, the rest to train. The result depends only on the labels and
    the seed.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise DataError(f"split fractions need 0 <= val, test and val + test < 1, got val={val}, test={test}")
    rng = np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for c in range(len(CLASS_NAMES)):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        idx = rng.permutation(idx)
        n_test = int(round(test * len(idx)))
        n_val = int(round(val * len(idx)))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)


def split(ds: JetDataset, *, seed: int = 42, val: float = 0.15, test: float = 0.15) -> Split:
    """Stratified split of ``ds`` into train/val/test (see :func:`split_indices`)."""
    tr, va, te = split_indices(ds.labels, seed=seed, val=val, test=test)
    if len(tr) == 0:
        raise DataError(f"{ds.source}: too few jets ({len(ds)}) to split")
    return Split(
        train=ds.subset(tr, f"{ds.source}[train]"),
        val=ds.subset(va, f"{ds.source}[val]"),
        test=ds.subset(te, f"{ds.source}[test]"),
        seed=seed,
    )
