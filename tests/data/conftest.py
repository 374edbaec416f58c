"""Small fixture datasets for the data tests, written in every supported format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from jsc_fixtures import make_frame, write_arff

from flow.data import CLASS_NAMES, FEATURE_NAMES


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def files(tmp_path, frame):
    """The same 50 jets as ARFF, CSV, Parquet and npz (features/labels form)."""
    paths = {
        "arff": tmp_path / "jets.arff",
        "csv": tmp_path / "jets.csv",
        "parquet": tmp_path / "jets.parquet",
        "npz": tmp_path / "jets.npz",
    }
    write_arff(paths["arff"], frame)
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"])
    labels = np.array([CLASS_NAMES.index(c) for c in frame["class"]])
    np.savez(paths["npz"], features=frame[list(FEATURE_NAMES)].to_numpy(np.float32), labels=labels)
    return paths
