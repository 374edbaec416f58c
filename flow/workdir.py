"""A working folder that is either the caller's (kept) or a temporary one (removed afterwards)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def work_folder(work_dir: str | Path | None, prefix: str) -> Iterator[Path]:
    """``work_dir`` (created if needed, left in place) or a fresh temporary folder deleted on exit."""
    if work_dir is not None:
        path = Path(work_dir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
