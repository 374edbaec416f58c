"""Per-epoch training records written as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from flow.artifacts import HISTORY_CSV, HISTORY_JSON


def write_history(folder: Path, history: list[dict]) -> None:
    """``history.json`` and ``history.csv`` (one row per epoch) in ``folder``."""
    folder = Path(folder)
    (folder / HISTORY_JSON).write_text(json.dumps(history, indent=1))
    with open(folder / HISTORY_CSV, "w", newline="") as f:
        if history:
            w = csv.DictWriter(f, fieldnames=list(history[0]))
            w.writeheader()
            w.writerows(history)
