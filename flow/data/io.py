"""Writing datasets: Parquet (zstd, float32, byte-stream-split) or npz, with a JSON metadata record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from flow.data.schema import CLASS_NAMES, FEATURE_NAMES, LABEL_COLUMN
from flow.errors import DataError

#: Key of the JSON metadata record in the Parquet schema metadata and in npz files.
METADATA_KEY = "flow"


def write_dataset(
    path: str | Path,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    pt: np.ndarray | None = None,
    eta: np.ndarray | None = None,
    metadata: dict | None = None,
) -> Path:
    """Write a dataset by suffix (``.parquet`` or ``.npz``), atomically.

    Parquet columns: the 16 features (float32), ``class`` (g/q/w/z/t, dictionary-encoded), ``pt`` and
    ``eta`` (float32, when given); the metadata record is JSON under the schema key ``flow``.
    npz arrays: ``features`` [N, 16], ``labels``, ``pt``, ``eta``, ``feature_names``, ``class_names``
    and ``metadata`` (a JSON string).
    """
    path = Path(path)
    meta = json.dumps(metadata or {}, sort_keys=True, default=str)
    features = np.asarray(features, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    tmp = path.with_name(path.name + ".tmp" + path.suffix)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = {name: pa.array(features[:, i]) for i, name in enumerate(FEATURE_NAMES)}
        cols[LABEL_COLUMN] = pa.DictionaryArray.from_arrays(
            pa.array(labels.astype(np.int8)), pa.array(list(CLASS_NAMES))
        )
        for name, v in (("pt", pt), ("eta", eta)):
            if v is not None:
                cols[name] = pa.array(np.asarray(v, dtype=np.float32))
        table = pa.table(cols).replace_schema_metadata({METADATA_KEY: meta})
        floats = [n for n in cols if n != LABEL_COLUMN]
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=19,
            use_byte_stream_split=floats,
            use_dictionary=[LABEL_COLUMN],
        )
    elif path.suffix == ".npz":
        arrays = {
            "features": features,
            "labels": labels,
            "feature_names": np.array(FEATURE_NAMES),
            "class_names": np.array(CLASS_NAMES),
            "metadata": np.array(meta),
        }
        if pt is not None:
            arrays["pt"] = np.asarray(pt, dtype=np.float32)
        if eta is not None:
            arrays["eta"] = np.asarray(eta, dtype=np.float32)
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    else:
        raise DataError(f"cannot write {path.name!r}: use a .parquet or .npz file name")
    os.replace(tmp, path)
    return path
