"""Stage 01: load the dataset (the built-in default unless ``--data``), split it by seed.

Writes ``split.npz`` (raw float32 features ``X_train/X_val/X_test``, int64 labels ``y_*``) and
``dataset.json`` (source, counts, feature and class names, split seed, rows dropped for NaN/inf values,
the test set's class counts and, when it is too small to certify, why and whether that was allowed).
"""

from __future__ import annotations

import json

import numpy as np

from flow.artifacts import DATASET, SPLIT
from flow.data import CLASS_NAMES, FEATURE_NAMES, load, load_default, split
from flow.errors import DataError
from flow.options import MIN_TEST_CLASSES, MIN_TEST_VECTORS
from flow.results import DataResult


def small_test_reason(test_class_counts: dict[str, int]) -> str | None:
    """Why a test set with these class counts is too small to certify a design, or None."""
    n = sum(test_class_counts.values())
    classes = [c for c, k in test_class_counts.items() if k > 0]
    why = []
    if n < MIN_TEST_VECTORS:
        why.append(f"{n:,} test vectors (fewer than {MIN_TEST_VECTORS:,})")
    if len(classes) < MIN_TEST_CLASSES:
        why.append(f"{len(classes)} class(es) in the test set ({', '.join(classes) or 'none'})")
    return " and ".join(why) or None


def run(ctx) -> DataResult:
    opts = ctx.options
    ds = load(opts.data) if opts.data else load_default()
    parts = split(ds, seed=opts.split_seed)
    if len(parts.test) == 0:
        raise DataError(f"{ds.source}: {len(ds)} jets leave no test vectors after the split; use more data")
    out = ctx.dir("data")
    np.savez_compressed(
        out / SPLIT,
        **{f"X_{k}": getattr(parts, k).features.astype(np.float32) for k in ("train", "val", "test")},
        **{f"y_{k}": getattr(parts, k).labels.astype(np.int64) for k in ("train", "val", "test")},
    )
    counts = {k: len(getattr(parts, k)) for k in ("train", "val", "test")}
    test_class_counts = {c: int((parts.test.labels == i).sum()) for i, c in enumerate(CLASS_NAMES)}
    small = small_test_reason(test_class_counts)
    dropped = int(ds.metadata.get("dropped_nonfinite", 0))
    info = {
        "source": ds.source,
        "jets": len(ds),
        "split_seed": opts.split_seed,
        "counts": counts,
        "class_counts": {c: int((ds.labels == i).sum()) for i, c in enumerate(CLASS_NAMES)},
        "test_class_counts": test_class_counts,
        "dropped_nonfinite": dropped,
        "small_test": small,
        "small_test_allowed": bool(small and opts.allow_small_test),
        "feature_names": list(FEATURE_NAMES),
        "class_names": list(CLASS_NAMES),
    }
    (out / DATASET).write_text(json.dumps(info, indent=1))
    dropped_note = f" ({dropped:,} rows with NaN/inf dropped)" if dropped else ""
    return DataResult(
        source=info["source"],
        jets=info["jets"],
        split_seed=info["split_seed"],
        counts=counts,
        class_counts=info["class_counts"],
        feature_names=tuple(FEATURE_NAMES),
        class_names=tuple(CLASS_NAMES),
        dropped_nonfinite=dropped,
        test_class_counts=test_class_counts,
        small_test=small,
        small_test_allowed=info["small_test_allowed"],
        headline=f"{len(ds):,} jets from {ds.source}: "
        f"{counts['train']:,} train / {counts['val']:,} val / {counts['test']:,} test{dropped_note}",
    )


def load_split(ctx) -> dict[str, np.ndarray]:
    """The arrays written by this stage."""
    with np.load(ctx.dir("data") / SPLIT) as z:
        return {k: z[k] for k in z.files}
