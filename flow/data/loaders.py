"""Read jet datasets from the forms people have them: OpenML ARFF, CSV, Parquet, npz (and the
LogicNets/MASE HDF5 ``.z`` file when h5py is installed).

Columns are matched by the public names (case-insensitive, an optional ``j_`` prefix allowed), the label
comes from a ``class`` column (g/q/w/z/t, or 0..4 in :data:`CLASS_NAMES` order) or from one-hot
``j_g .. j_t`` columns. Every problem raises :class:`flow.errors.DataError` with one actionable line.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from flow.data.dataset import JetDataset, make_dataset
from flow.data.io import METADATA_KEY
from flow.data.schema import (
    CLASS_ALIASES,
    CLASS_NAMES,
    FEATURE_NAMES,
    KINEMATIC_COLUMNS,
    LABEL_ALIASES,
    ONE_HOT_COLUMNS,
    canonical_column,
)
from flow.errors import DataError

SUFFIXES = {
    ".arff": "arff",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npz": "npz",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".z": "hdf5",
}

DEFAULT_PATH = Path(__file__).parent / "default" / "jsc-default.parquet"
REGENERATE_COMMAND = (
    "flow data generate --jets 100000 --seed 42 --workers 2 --out flow/data/default/jsc-default.parquet"
)
_EXPECTED = f"expected the 16 columns {', '.join(FEATURE_NAMES)} and a 'class' column (g,q,w,z,t)"


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    fmt = SUFFIXES.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise DataError(f"{path}: unknown file type {path.suffix or '(none)'!r}; use .arff, .csv, .parquet or .npz")
    return fmt


def load(path: str | Path, *, on_nonfinite: str = "drop") -> JetDataset:
    """Load a dataset by file suffix (``.arff``, ``.csv``, ``.parquet``/``.pq``, ``.npz``; ``.csv.gz`` and
    ``.arff.gz`` too; ``.h5``/``.z`` with h5py).

    Rows with NaN or inf features are dropped and counted in ``metadata["dropped_nonfinite"]``
    (``on_nonfinite="drop"``) or make the load fail (``"refuse"``).
    """
    if on_nonfinite not in ("drop", "refuse"):
        raise DataError(f"on_nonfinite must be 'drop' or 'refuse', not {on_nonfinite!r}")
    path = Path(path)
    fmt = _format_of(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, give a data file")
    reader = {"arff": _read_arff, "csv": _read_csv, "parquet": _read_parquet, "hdf5": _read_hdf5}
    try:
        if fmt == "npz":
            return _read_npz(path, on_nonfinite)
        frame, meta = reader[fmt](path)
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable {fmt} file ({first})") from exc
    meta = {**meta, "format": fmt, "file": str(path)}
    return from_frame(frame, str(path), metadata=meta, on_nonfinite=on_nonfinite)


def load_default() -> JetDataset:
    """The generated dataset committed with flow (``flow/data/default/jsc-default.parquet``)."""
    if not DEFAULT_PATH.exists():
        raise DataError(f"the default dataset {DEFAULT_PATH} is missing; regenerate it with: {REGENERATE_COMMAND}")
    ds = load(DEFAULT_PATH, on_nonfinite="refuse")
    return JetDataset(ds.features, ds.labels, "default", ds.pt, ds.eta, ds.metadata)


# ---------------------------------------------------------------------------------------------- frames


def _labels_from_values(values: pd.Series, source: str) -> np.ndarray:
    """Map label values (g/q/w/z/t in any case, or integers 0..4) to float label indices (NaN if missing)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(dtype=np.float64)
        present = ~np.isnan(v)
        bad = present & ((v != np.round(v)) | (v < 0) | (v >= len(CLASS_NAMES)))
        if bad.any():
            shown = ", ".join(f"{x:g}" for x in pd.unique(v[bad])[:5])
            raise DataError(
                f"{source}: label values {shown} are not classes; use g,q,w,z,t or 0..{len(CLASS_NAMES) - 1}"
            )
        return v
    text = values.astype("string").str.strip().str.strip("'\"").str.lower()
    mapped = text.map(CLASS_ALIASES, na_action="ignore")
    bad = text.notna() & mapped.isna()
    if bad.any():
        shown = ", ".join(repr(x) for x in pd.unique(text[bad])[:5])
        raise DataError(f"{source}: unknown class labels {shown}; expected {', '.join(CLASS_NAMES)}")
    return mapped.to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric(frame: pd.DataFrame, col: str, name: str, source: str) -> np.ndarray:
    raw = frame[col]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype=np.float64, na_value=np.nan)
    num = pd.to_numeric(raw, errors="coerce")
    text = raw.astype("string").str.strip().str.lower()
    allowed = text.isna() | text.isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity", "?", ""])
    bad = num.isna() & ~allowed
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: column {name!r} has a non-numeric value {raw.iloc[row]!r} (row {row + 1})")
    text_inf = {"inf": np.inf, "+inf": np.inf, "infinity": np.inf, "-inf": -np.inf, "-infinity": -np.inf}
    out = num.to_numpy(dtype=np.float64, na_value=np.nan)
    for word, value in text_inf.items():
        out[(text == word).fillna(False).to_numpy()] = value
    return out


def from_frame(
    frame: pd.DataFrame, source: str, *, metadata: dict | None = None, on_nonfinite: str = "drop"
) -> JetDataset:
    """Validate a table with the public column names and turn it into a :class:`JetDataset`."""
    columns: dict[str, str] = {}
    for col in frame.columns:
        key = canonical_column(col)
        if key in columns:
            raise DataError(f"{source}: columns {columns[key]!r} and {col!r} both mean {key!r}")
        columns[key] = col
    missing = [f for f in FEATURE_NAMES if f not in columns]
    if missing:
        raise DataError(f"{source}: missing feature columns {', '.join(missing)}; {_EXPECTED}")
    if len(frame) == 0:
        raise DataError(f"{source}: the file has no rows")
    label_col = next((columns[a] for a in LABEL_ALIASES if a in columns), None)
    if label_col is not None:
        labels = _labels_from_values(frame[label_col], source)
    elif all(c in columns for c in ONE_HOT_COLUMNS):
        onehot = np.stack([_numeric(frame, columns[c], c, source) for c in ONE_HOT_COLUMNS], axis=1)
        ok = np.isfinite(onehot).all(axis=1)
        if not ((onehot[ok] == 0) | (onehot[ok] == 1)).all() or (onehot[ok].sum(axis=1) != 1).any():
            raise DataError(f"{source}: one-hot columns {', '.join(ONE_HOT_COLUMNS)} must have exactly one 1 per row")
        labels = np.where(ok, np.argmax(np.nan_to_num(onehot), axis=1), np.nan)
    else:
        raise DataError(f"{source}: no label column; {_EXPECTED}")
    features = np.stack([_numeric(frame, columns[f], f, source) for f in FEATURE_NAMES], axis=1)
    kin = {k: _numeric(frame, columns[k], k, source) if k in columns else None for k in KINEMATIC_COLUMNS}
    return _finish(features, labels, source, kin, metadata, on_nonfinite)


def _finish(features, labels, source, kin, metadata, on_nonfinite) -> JetDataset:
    """Rows with a missing label count as non-finite rows; then hand over to make_dataset."""
    labels = np.asarray(labels, dtype=np.float64)
    no_label = np.isnan(labels)
    if no_label.any():
        if on_nonfinite == "refuse":
            raise DataError(
                f"{source}: {int(no_label.sum())} rows have no class label; "
                "use on_nonfinite='drop' (CLI: --drop-nonfinite) to drop them"
            )
        features = features.copy()
        features[no_label] = np.nan  # dropped and counted with the non-finite rows
    y = np.where(no_label, 0, labels).astype(np.int64)
    return make_dataset(
        features, y, source, pt=kin.get("pt"), eta=kin.get("eta"), metadata=metadata, on_nonfinite=on_nonfinite
    )


# --------------------------------------------------------------------------------------------- readers


def _open_text(path: Path):
    if path.suffix.lower() == ".gz":
        import gzip

        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict]:
    try:
        frame = pd.read_csv(path, skipinitialspace=True, comment=None, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from exc
    # A CSV with the pandas index written as first column: drop it.
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first.startswith("Unnamed: 0") or first == "":
        frame = frame.drop(columns=frame.columns[0])
    return frame, {}


_ATTRIBUTE = re.compile(r"@attribute\s+('(?:[^']|\\')*'|\"[^\"]*\"|\S+)\s+(.+)$", re.IGNORECASE)


def _read_arff(path: Path) -> tuple[pd.DataFrame, dict]:
    """ARFF: the header is parsed here and the dense @data section by pandas (fast for 830k rows);
    anything pandas cannot read (sparse rows, odd quoting) goes through liac-arff."""
    names: list[str] = []
    relation = None
    with _open_text(path) as fh:
        for line in fh:
            s = line.strip()
            low = s.lower()
            if not s or s.startswith("%"):
                continue
            if low.startswith("@relation"):
                relation = s.split(None, 1)[1].strip("'\"") if len(s.split(None, 1)) > 1 else ""
            elif low.startswith("@attribute"):
                m = _ATTRIBUTE.match(s)
                if not m:
                    raise DataError(f"{path}: malformed ARFF attribute line {s[:60]!r}")
                names.append(m.group(1).strip("'\""))
            elif low.startswith("@data"):
                break
            else:
                raise DataError(f"{path}: not an ARFF file (unexpected header line {s[:60]!r})")
        else:
            raise DataError(f"{path}: not an ARFF file (no @data section)")
        body = fh.read()
    if not names:
        raise DataError(f"{path}: ARFF header declares no attributes")
    meta = {"arff_relation": relation}
    if body.lstrip().startswith("{"):
        return _read_arff_liac(path), meta
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            names=names,
            header=None,
            comment="%",
            quotechar="'",
            skipinitialspace=True,
            na_values=["?"],
            keep_default_na=True,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError):
        return _read_arff_liac(path), meta
    return frame, meta


def _read_arff_liac(path: Path) -> pd.DataFrame:
    import arff

    try:
        with _open_text(path) as fh:
            data = arff.load(fh)
    except arff.ArffException as exc:
        raise DataError(f"{path}: not a readable ARFF file ({exc})") from exc
    names = [a[0] for a in data["attributes"]]
    return pd.DataFrame(data["data"], columns=names)


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from exc
    meta = {}
    raw = (table.schema.metadata or {}).get(METADATA_KEY.encode())
    if raw:
        try:
            meta = json.loads(raw)
        except ValueError:
            meta = {}
    return table.to_pandas(), meta


def _read_npz(path: Path, on_nonfinite: str) -> JetDataset:
    """npz with ``features`` [N, 16] (or ``X``) and ``labels`` (or ``y``), optional ``feature_names``,
    ``pt``, ``eta``, ``metadata``; or one array per column named like the CSV columns."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable npz file ({str(exc).splitlines()[0]})") from exc
    with z:
        keys = set(z.files)
        meta: dict = {}
        if "metadata" in keys:
            try:
                meta = json.loads(str(z["metadata"]))
            except ValueError:
                meta = {}
        meta.update({"format": "npz", "file": str(path)})
        fkey = next((k for k in ("features", "X", "x") if k in keys), None)
        if fkey is None:
            frame = pd.DataFrame({k: z[k] for k in z.files if z[k].ndim == 1})
            return from_frame(frame, str(path), metadata=meta, on_nonfinite=on_nonfinite)
        lkey = next((k for k in ("labels", "y", "class", "label") if k in keys), None)
        if lkey is None:
            raise DataError(f"{path}: npz has {fkey!r} but no 'labels' array")
        feats = z[fkey]
        if feats.ndim != 2 or feats.shape[1] != len(FEATURE_NAMES):
            raise DataError(f"{path}: {fkey!r} must be [N, {len(FEATURE_NAMES)}], got shape {feats.shape}")
        if "feature_names" in keys:
            names = [canonical_column(n) for n in z["feature_names"].tolist()]
            missing = [f for f in FEATURE_NAMES if f not in names]
            if missing or len(names) != feats.shape[1]:
                raise DataError(f"{path}: feature_names lack {', '.join(missing) or 'nothing'}; {_EXPECTED}")
            feats = feats[:, [names.index(f) for f in FEATURE_NAMES]]
        try:
            feats = feats.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: {fkey!r} is not numeric ({exc})") from exc
        raw_labels = z[lkey]
        if raw_labels.ndim == 2 and raw_labels.shape[1] == len(CLASS_NAMES):
            raw_labels = np.argmax(raw_labels, axis=1)  # one-hot
        if raw_labels.shape != (feats.shape[0],):
            raise DataError(f"{path}: {raw_labels.shape[0]} labels for {feats.shape[0]} feature rows")
        labels = _labels_from_values(pd.Series(raw_labels), str(path))
        kin = {k: z[k].astype(np.float64) if k in keys else None for k in KINEMATIC_COLUMNS}
    return _finish(feats, labels, str(path), kin, meta, on_nonfinite)


def _read_hdf5(path: Path) -> tuple[pd.DataFrame, dict]:
    """The LogicNets/MASE file: a structured array (``t_allpar_new``) with ``j_``-prefixed columns."""
    try:
        import h5py
    except ImportError as exc:
        raise DataError(
            f"{path}: reading HDF5 (.h5/.z) files needs h5py (pip install h5py), "
            "or convert the file to Parquet/CSV first"
        ) from exc
    try:
        with h5py.File(path, "r") as fh:
            candidates = [k for k in fh if isinstance(fh[k], h5py.Dataset) and fh[k].dtype.names]
            if not candidates:
                raise DataError(f"{path}: HDF5 file has no table (structured dataset) of jets")
            key = "t_allpar_new" if "t_allpar_new" in candidates else candidates[0]
            return pd.DataFrame(fh[key][()]), {"hdf5_dataset": key}
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({exc})") from exc
