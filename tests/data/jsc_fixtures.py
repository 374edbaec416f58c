"""Helpers that build small fixture datasets (imported by conftest.py and the tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flow.data import CLASS_NAMES, FEATURE_NAMES


def make_frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    """A table with the 16 public columns (plausible positive values) and a string ``class`` column."""
    rng = np.random.default_rng(seed)
    data = {name: rng.uniform(0.01, 1.0, n) for name in FEATURE_NAMES}
    data["zlogz"] = -rng.uniform(1.0, 4.0, n)
    data["mass_mmdt"] = rng.uniform(0.0, 250.0, n)
    data["multiplicity"] = rng.integers(5, 120, n).astype(float)
    frame = pd.DataFrame(data)
    frame["class"] = [CLASS_NAMES[i % len(CLASS_NAMES)] for i in range(n)]
    return frame


def write_arff(path, frame: pd.DataFrame, *, nominal_order=("g", "q", "t", "w", "z")) -> None:
    """Write ``frame`` like the OpenML ARFF (numeric attributes, nominal ``class`` attribute)."""
    lines = ["% hls4ml_lhc_jets_hlf (fixture)", "@RELATION hls4ml_lhc_jets_hlf", ""]
    for name in FEATURE_NAMES:
        lines.append(f"@ATTRIBUTE {name} NUMERIC")
    lines.append("@ATTRIBUTE class {" + ",".join(nominal_order) + "}")
    lines += ["", "@DATA"]
    for row in frame.itertuples(index=False):
        values = ["?" if isinstance(v, float) and np.isnan(v) else repr(float(v)) for v in row[:-1]]
        lines.append(",".join(values) + "," + str(row[-1]))
    path.write_text("\n".join(lines) + "\n")
