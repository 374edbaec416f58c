"""The data a study runs on: one train/val/test split of the jet dataset, raw and standardized.

Every study (train, sweep, analyze, quantize, baseline) reads the same split as ``flow build``:
:func:`flow.data.split` with ``seed`` (default 42). Standardization comes from the training split
(:func:`flow.train.fit.standardization`) and travels with checkpoints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flow.train.fit import Arrays, standardization


@dataclass(frozen=True, eq=False)
class Part:
    """Raw float32 features ``[N, F]`` and int64 labels ``[N]`` of one split."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, eq=False)
class StudyData:
    """A split of the dataset with its names and where it came from."""

    train: Part
    val: Part
    test: Part
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    source: str
    split_seed: int = 42

    def standardization(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and std of the training split (float64)."""
        return standardization(self.train.x)

    def arrays(self, mean: np.ndarray, std: np.ndarray) -> tuple[Arrays, Arrays, Arrays]:
        """Standardized train, val and test tensors."""
        return tuple(Arrays.of(p.x, p.y, mean, std) for p in (self.train, self.val, self.test))

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def fingerprint(self) -> str:
        """Short hash of the split's contents: a sweep folder is only resumed on the same data."""
        h = hashlib.sha256()
        for p in (self.train, self.val, self.test):
            h.update(np.ascontiguousarray(p.x).tobytes())
            h.update(np.ascontiguousarray(p.y).tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> dict:
        return {
            "source": self.source,
            "split_seed": self.split_seed,
            "counts": self.counts(),
            "fingerprint": self.fingerprint(),
        }


def load_study_data(path: Path | None = None, split_seed: int = 42) -> StudyData:
    """The dataset at ``path`` (any format :func:`flow.data.load` reads) or the built-in default, split."""
    from flow.data import CLASS_NAMES, FEATURE_NAMES, load, load_default, split

    ds = load(Path(path)) if path is not None else load_default()
    parts = split(ds, seed=split_seed)
    return StudyData(
        *(
            Part(np.asarray(p.features, dtype=np.float32), np.asarray(p.labels, dtype=np.int64))
            for p in (parts.train, parts.val, parts.test)
        ),
        class_names=tuple(CLASS_NAMES),
        feature_names=tuple(FEATURE_NAMES),
        source=str(ds.source),
        split_seed=split_seed,
    )


def synthetic_data(n: int = 3000, *, seed: int = 0, features: int = 16, classes: int = 5) -> StudyData:
    """A small learnable stand-in (Gaussian classes with shifted means, heavy-tailed scales), split
    60/20/20: for tests and for benchmarks when no dataset is at hand."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(0.0, 1.0, (classes, features))
    scale = np.exp(rng.normal(0.0, 1.0, features))  # features of very different magnitudes, like the JSC set
    x = ((centers[y] + rng.normal(0.0, 1.2, (n, features))) * scale + 3 * scale).astype(np.float32)
    a, b = int(0.6 * n), int(0.8 * n)
    return StudyData(
        Part(x[:a], y[:a]),
        Part(x[a:b], y[a:b]),
        Part(x[b:], y[b:]),
        class_names=tuple("gqwzt"[:classes]) if classes <= 5 else tuple(f"c{i}" for i in range(classes)),
        feature_names=tuple(f"f{i}" for i in range(features)),
        source=f"synthetic(n={n}, seed={seed})",
        split_seed=seed,
    )
