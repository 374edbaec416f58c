"""The in-memory dataset: 16 features, labels 0..4 and optional jet pT and eta."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flow.data.schema import CLASS_NAMES, FEATURE_NAMES
from flow.errors import DataError


@dataclass(frozen=True, eq=False)
class JetDataset:
    """Jets as arrays.

    ``features`` is float32 [N, 16] with columns in :data:`FEATURE_NAMES` order, ``labels`` is int64 [N]
    with values 0..4 indexing :data:`CLASS_NAMES`, ``pt``/``eta`` are float32 [N] when known.
    """

    features: np.ndarray
    labels: np.ndarray
    source: str
    pt: np.ndarray | None = None
    eta: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        f, y = self.features, self.labels
        if f.ndim != 2 or f.shape[1] != len(FEATURE_NAMES):
            raise DataError(f"{self.source}: features must be [N, {len(FEATURE_NAMES)}], got {f.shape}")
        if y.shape != (f.shape[0],):
            raise DataError(f"{self.source}: {y.shape[0]} labels for {f.shape[0]} feature rows")
        for name in ("pt", "eta"):
            v = getattr(self, name)
            if v is not None and v.shape != (f.shape[0],):
                raise DataError(f"{self.source}: {name} has {v.shape[0]} rows, features {f.shape[0]}")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self) -> dict[str, int]:
        """Number of jets per class name, in :data:`CLASS_NAMES` order."""
        counts = np.bincount(self.labels, minlength=len(CLASS_NAMES))
        return {c: int(n) for c, n in zip(CLASS_NAMES, counts, strict=True)}

    def subset(self, index: np.ndarray, source: str | None = None) -> JetDataset:
        """The rows ``index`` (an integer or boolean array) as a new dataset sharing the metadata."""
        return JetDataset(
            features=self.features[index],
            labels=self.labels[index],
            source=source or self.source,
            pt=None if self.pt is None else self.pt[index],
            eta=None if self.eta is None else self.eta[index],
            metadata=dict(self.metadata),
        )

    def column(self, name: str) -> np.ndarray:
        """One feature column (or ``pt``/``eta``) by name."""
        if name in FEATURE_NAMES:
            return self.features[:, FEATURE_NAMES.index(name)]
        if name in ("pt", "eta") and getattr(self, name) is not None:
            return getattr(self, name)
        raise DataError(f"{self.source}: no column {name!r}; features are {', '.join(FEATURE_NAMES)}")


def make_dataset(
    features: np.ndarray,
    labels: np.ndarray,
    source: str,
    *,
    pt: np.ndarray | None = None,
    eta: np.ndarray | None = None,
    metadata: dict | None = None,
    on_nonfinite: str = "drop",
) -> JetDataset:
    """Build a :class:`JetDataset` from raw arrays, converting dtypes and handling NaN/inf rows.

    Rows whose features (or pT/eta) are NaN or infinite are dropped and counted in
    ``metadata["dropped_nonfinite"]`` when ``on_nonfinite="drop"``; with ``"refuse"`` they raise.
    """
    if on_nonfinite not in ("drop", "refuse"):
        raise DataError(f"on_nonfinite must be 'drop' or 'refuse', not {on_nonfinite!r}")
    meta = dict(metadata or {})
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise DataError(f"{source}: labels must be integers 0..{len(CLASS_NAMES) - 1}")
    y = y.astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() >= len(CLASS_NAMES)):
        bad = sorted({int(v) for v in np.unique(y) if not 0 <= v < len(CLASS_NAMES)})[:5]
        raise DataError(f"{source}: labels {bad} outside 0..{len(CLASS_NAMES) - 1} ({', '.join(CLASS_NAMES)})")
    extra = {k: None if v is None else np.asarray(v, dtype=np.float64) for k, v in (("pt", pt), ("eta", eta))}
    if f.ndim != 2 or f.shape[1] != len(FEATURE_NAMES):
        raise DataError(f"{source}: features must be [N, {len(FEATURE_NAMES)}], got shape {f.shape}")
    finite = np.isfinite(f).all(axis=1)
    for v in extra.values():
        if v is not None and v.shape == finite.shape:
            finite &= np.isfinite(v)
    n_bad = int((~finite).sum())
    if n_bad:
        if on_nonfinite == "refuse":
            cols = [FEATURE_NAMES[i] for i in np.flatnonzero(~np.isfinite(f).all(axis=0))]
            where = f" (columns {', '.join(cols)})" if cols else ""
            raise DataError(
                f"{source}: {n_bad} of {len(finite)} rows have NaN or inf values{where}; "
                "use on_nonfinite='drop' (CLI: --drop-nonfinite) to drop them"
            )
        f, y = f[finite], y[finite]
        extra = {k: None if v is None else v[finite] for k, v in extra.items()}
    meta["dropped_nonfinite"] = n_bad
    if len(y) == 0:
        raise DataError(f"{source}: no jets left to use (file empty or every row non-finite)")
    return JetDataset(
        features=np.ascontiguousarray(f, dtype=np.float32),
        labels=y,
        source=source,
        pt=None if extra["pt"] is None else extra["pt"].astype(np.float32),
        eta=None if extra["eta"] is None else extra["eta"].astype(np.float32),
        metadata=meta,
    )
