"""Shared fixtures: a small, learnable JSC-shaped dataset that needs no generator."""

from pathlib import Path

import numpy as np
import pytest


def make_jets(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five Gaussian classes in 16 features with JSC-like scales (masses ~100, ratios ~0.1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    centers = rng.normal(size=(5, 16))
    scales = np.array([1, 0.2, 0.1, 0.05, 0.3, 0.2, 2, 3, 1, 1, 0.1, 0.1, 0.2, 0.3, 60, 30])
    x = (centers[y] + rng.normal(size=(n, 16)) * 0.9) * scales + scales
    return x.astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="session")
def jets_npz(tmp_path_factory) -> Path:
    x, y = make_jets()
    path = tmp_path_factory.mktemp("data") / "jets.npz"
    np.savez(path, features=x, labels=y)
    return path
