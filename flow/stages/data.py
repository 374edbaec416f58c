"""Stage 01: load the dataset (the built-in default unless ``--data``), split it by seed.

Writes ``split.npz`` (raw float32 features ``X_train/X_val/X_test``, int64 labels ``y_*``) and
``dataset.json`` (source, counts, feature and class names, split seed).
"""

from __future__ import annotations

import json

import numpy as np

from flow.artifacts import DATASET, SPLIT
from flow.data import CLASS_NAMES, FEATURE_NAMES, load, load_default, split
from flow.results import DataResult


def run(ctx) -> DataResult:
    opts = ctx.options
    ds = load(opts.data) if opts.data else load_default()
    parts = split(ds, seed=opts.split_seed)
    out = ctx.dir("data")
    np.savez_compressed(
        out / SPLIT,
        **{f"X_{k}": getattr(parts, k).features.astype(np.float32) for k in ("train", "val", "test")},
        **{f"y_{k}": getattr(parts, k).labels.astype(np.int64) for k in ("train", "val", "test")},
    )
    counts = {k: len(getattr(parts, k)) for k in ("train", "val", "test")}
    info = {
        "source": ds.source,
        "jets": len(ds),
        "split_seed": opts.split_seed,
        "counts": counts,
        "class_counts": {c: int((ds.labels == i).sum()) for i, c in enumerate(CLASS_NAMES)},
        "feature_names": list(FEATURE_NAMES),
        "class_names": list(CLASS_NAMES),
    }
    (out / DATASET).write_text(json.dumps(info, indent=1))
    return DataResult(
        source=info["source"],
        jets=info["jets"],
        split_seed=info["split_seed"],
        counts=counts,
        class_counts=info["class_counts"],
        feature_names=tuple(FEATURE_NAMES),
        class_names=tuple(CLASS_NAMES),
        headline=f"{len(ds):,} jets from {ds.source}: "
        f"{counts['train']:,} train / {counts['val']:,} val / {counts['test']:,} test",
    )


def load_split(ctx) -> dict[str, np.ndarray]:
    """The arrays written by this stage."""
    with np.load(ctx.dir("data") / SPLIT) as z:
        return {k: z[k] for k in z.files}
