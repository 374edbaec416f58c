"""Command lines shared by the sweep tests."""

from __future__ import annotations


def sweep_args(csv_path, out, *options: str) -> list[str]:
    """``flow sweep jsc-small`` on ``csv_path`` over batch sizes 64 and 128 at lr 0.01, with ``options``,
    writing into ``out`` (``--out`` last, so a test can swap the tail)."""
    return [
        "sweep",
        "jsc-small",
        "--data",
        str(csv_path),
        "--batch-size",
        "64,128",
        "--lr",
        "0.01",
        *options,
        "--out",
        str(out),
    ]
