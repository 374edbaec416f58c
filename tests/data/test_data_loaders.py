"""The loader on small fixtures in each format, and every error path."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from jsc_fixtures import make_frame, write_arff

from flow.data import CLASS_NAMES, FEATURE_NAMES, JetDataset, load
from flow.data.io import write_dataset
from flow.errors import DataError, FlowError


def _expected(frame):
    return frame[list(FEATURE_NAMES)].to_numpy(np.float32), np.array([CLASS_NAMES.index(c) for c in frame["class"]])


@pytest.mark.parametrize("fmt", ["arff", "csv", "parquet", "npz"])
def test_each_format_loads_the_same_jets(files, frame, fmt):
    ds = load(files[fmt])
    x, y = _expected(frame)
    assert isinstance(ds, JetDataset)
    assert len(ds) == 50 and ds.features.shape == (50, 16)
    assert ds.features.dtype == np.float32 and ds.labels.dtype == np.int64
    np.testing.assert_allclose(ds.features, x, rtol=1e-6)
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.metadata["dropped_nonfinite"] == 0
    assert ds.source == str(files[fmt])


def test_column_order_case_and_prefix_do_not_matter(tmp_path, frame):
    shuffled = frame[list(reversed(frame.columns))]
    renamed = shuffled.rename(columns={c: ("j_" + c if c != "class" else "CLASS") for c in shuffled.columns})
    renamed = renamed.rename(columns={"j_mass_mmdt": "MASS_MMDT"})
    renamed["CLASS"] = renamed["CLASS"].str.upper()
    path = tmp_path / "renamed.csv"
    renamed.to_csv(path, index=False)
    ds = load(path)
    np.testing.assert_allclose(ds.features, _expected(frame)[0], rtol=1e-6)
    np.testing.assert_array_equal(ds.labels, _expected(frame)[1])


def test_integer_labels_one_hot_and_kinematics(tmp_path, frame):
    x, y = _expected(frame)
    ints = frame.assign(**{"class": y, "pt": np.linspace(800, 1600, 50), "eta": np.zeros(50)})
    ints.to_parquet(tmp_path / "ints.parquet")
    ds = load(tmp_path / "ints.parquet")
    np.testing.assert_array_equal(ds.labels, y)
    assert ds.pt is not None and ds.pt[0] == pytest.approx(800) and ds.eta is not None
    onehot = frame.drop(columns="class").rename(columns=lambda c: "j_" + c)
    for i, c in enumerate(CLASS_NAMES):
        onehot[f"j_{c}"] = (y == i).astype(int)
    onehot.to_csv(tmp_path / "onehot.csv", index=False)
    np.testing.assert_array_equal(load(tmp_path / "onehot.csv").labels, y)


def test_npz_column_form_feature_names_and_gzip(tmp_path, frame):
    x, y = _expected(frame)
    cols = {n: frame[n].to_numpy() for n in FEATURE_NAMES}
    np.savez(tmp_path / "cols.npz", **cols, **{"class": frame["class"].to_numpy().astype(str)})
    np.testing.assert_array_equal(load(tmp_path / "cols.npz").labels, y)
    order = list(reversed(FEATURE_NAMES))
    np.savez(tmp_path / "named.npz", X=x[:, ::-1], y=y, feature_names=np.array(order))
    np.testing.assert_allclose(load(tmp_path / "named.npz").features, x)
    with gzip.open(tmp_path / "jets.csv.gz", "wt") as fh:
        frame.to_csv(fh, index=False)
    assert len(load(tmp_path / "jets.csv.gz")) == 50


def test_flow_writer_round_trip_keeps_metadata(tmp_path, frame):
    x, y = _expected(frame)
    for name in ("rt.parquet", "rt.npz"):
        write_dataset(tmp_path / name, x, y, pt=np.full(50, 1000.0), eta=np.zeros(50), metadata={"seed": 7})
        ds = load(tmp_path / name)
        np.testing.assert_array_equal(ds.features, x)
        np.testing.assert_array_equal(ds.labels, y)
        assert ds.metadata["seed"] == 7 and ds.pt is not None


def test_nonfinite_rows_dropped_with_count_or_refused(tmp_path, frame):
    bad = frame.copy()
    bad.loc[3, "c2_b1_mmdt"] = np.nan
    bad.loc[7, "mass_mmdt"] = np.inf
    bad.loc[9, "zlogz"] = -np.inf
    for path in (tmp_path / "bad.csv", tmp_path / "bad.parquet"):
        bad.to_csv(path, index=False) if path.suffix == ".csv" else bad.to_parquet(path)
        ds = load(path)
        assert len(ds) == 47 and ds.metadata["dropped_nonfinite"] == 3
        assert np.isfinite(ds.features).all()
        with pytest.raises(DataError, match=r"3 of 50 rows have NaN or inf.*c2_b1_mmdt"):
            load(path, on_nonfinite="refuse")
    write_arff(tmp_path / "bad.arff", bad.replace([np.inf, -np.inf], np.nan))
    assert load(tmp_path / "bad.arff").metadata["dropped_nonfinite"] == 3


def test_missing_label_counts_as_a_bad_row(tmp_path, frame):
    bad = frame.copy()
    bad.loc[0, "class"] = None
    bad.to_parquet(tmp_path / "nolabel.parquet")
    assert load(tmp_path / "nolabel.parquet").metadata["dropped_nonfinite"] == 1
    with pytest.raises(DataError, match="1 rows have no class label"):
        load(tmp_path / "nolabel.parquet", on_nonfinite="refuse")


# ------------------------------------------------------------------------------------------ error paths


def _err(path, match, **kw):
    with pytest.raises(DataError, match=match) as info:
        load(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg and isinstance(info.value, FlowError)
    return msg


def test_error_missing_file_directory_and_suffix(tmp_path):
    _err(tmp_path / "nope.parquet", "no such file")
    (tmp_path / "dir.csv").mkdir()
    _err(tmp_path / "dir.csv", "is a directory")
    (tmp_path / "jets.txt").write_text("x")
    _err(tmp_path / "jets.txt", r"unknown file type '\.txt'.*\.arff, \.csv, \.parquet or \.npz")
    with pytest.raises(DataError, match="on_nonfinite"):
        load(tmp_path / "x.csv", on_nonfinite="ignore")


def test_error_missing_columns_and_labels(tmp_path, frame):
    frame.drop(columns=["d2_b1_mmdt", "multiplicity"]).to_csv(tmp_path / "cols.csv", index=False)
    _err(tmp_path / "cols.csv", "missing feature columns d2_b1_mmdt, multiplicity; expected the 16 columns")
    frame.drop(columns=["class"]).to_csv(tmp_path / "nolab.csv", index=False)
    _err(tmp_path / "nolab.csv", "no label column")
    frame.assign(**{"class": ["x", "g"] * 25}).to_csv(tmp_path / "lab.csv", index=False)
    _err(tmp_path / "lab.csv", r"unknown class labels 'x'; expected g, q, w, z, t")
    frame.assign(**{"class": [7] * 50}).to_csv(tmp_path / "int.csv", index=False)
    _err(tmp_path / "int.csv", r"label values 7 are not classes")
    dup = frame.assign(j_zlogz=frame["zlogz"])
    dup.to_csv(tmp_path / "dup.csv", index=False)
    _err(tmp_path / "dup.csv", "both mean 'zlogz'")
    oh = frame.drop(columns="class")
    for c in CLASS_NAMES:
        oh[f"j_{c}"] = 1
    oh.to_csv(tmp_path / "oh.csv", index=False)
    _err(tmp_path / "oh.csv", "exactly one 1 per row")


def test_error_bad_values(tmp_path, frame):
    bad = frame.astype({"mass_mmdt": object})
    bad.loc[4, "mass_mmdt"] = "heavy"
    bad.to_csv(tmp_path / "text.csv", index=False)
    _err(tmp_path / "text.csv", r"column 'mass_mmdt' has a non-numeric value 'heavy' \(row 5\)")
    frame.iloc[:0].to_csv(tmp_path / "header_only.csv", index=False)
    _err(tmp_path / "header_only.csv", "no rows")
    (tmp_path / "empty.csv").write_text("")
    _err(tmp_path / "empty.csv", "empty")
    everything_nan = frame.copy()
    everything_nan["zlogz"] = np.nan
    everything_nan.to_parquet(tmp_path / "nan.parquet")
    _err(tmp_path / "nan.parquet", "no jets left")


def test_error_corrupt_files(tmp_path):
    for name in ("bad.parquet", "bad.npz"):
        (tmp_path / name).write_bytes(b"this is not the format it claims")
        _err(tmp_path / name, "not a readable")
    (tmp_path / "bad.arff").write_text("hello,world\n1,2\n")
    _err(tmp_path / "bad.arff", "not an ARFF file")
    (tmp_path / "nodata.arff").write_text("@relation x\n@attribute a numeric\n")
    _err(tmp_path / "nodata.arff", "no @data section")
    (tmp_path / "attr.arff").write_text("@relation x\n@attribute\n@data\n")
    _err(tmp_path / "attr.arff", "malformed ARFF attribute")
    (tmp_path / "jets.csv").write_bytes(b"\xff\xfe\x00garbage\x00\x01")
    _err(tmp_path / "jets.csv", "not a readable csv file")


def test_error_npz_shapes(tmp_path):
    np.savez(tmp_path / "shape.npz", features=np.zeros((4, 15)), labels=np.zeros(4, int))
    _err(tmp_path / "shape.npz", r"must be \[N, 16\], got shape \(4, 15\)")
    np.savez(tmp_path / "nolabels.npz", features=np.zeros((4, 16)))
    _err(tmp_path / "nolabels.npz", "no 'labels' array")
    np.savez(tmp_path / "count.npz", features=np.zeros((4, 16)), labels=np.zeros(3, int))
    _err(tmp_path / "count.npz", "3 labels for 4 feature rows")
    np.savez(
        tmp_path / "names.npz", features=np.zeros((4, 16)), labels=np.zeros(4, int), feature_names=np.array(["a"] * 16)
    )
    _err(tmp_path / "names.npz", "feature_names lack")
    obj = np.empty((2, 16), dtype=object)
    np.savez(tmp_path / "pickled.npz", features=obj, labels=np.zeros(2, int))
    _err(tmp_path / "pickled.npz", "not a readable npz file|not numeric")


def test_hdf5_needs_h5py_or_reads_logicnets_layout(tmp_path, frame):
    path = tmp_path / "processed-pythia82-lhc13-all-pt1-50k-r1_h022_e0175_t220_nonu_truth.z"
    try:
        import h5py
    except ImportError:
        path.write_bytes(b"\x89HDF\r\n")
        _err(path, r"needs h5py \(pip install h5py\)")
        return
    table = frame.drop(columns="class").rename(columns=lambda c: "j_" + c)
    for c in CLASS_NAMES:
        table[f"j_{c}"] = (frame["class"] == c).astype(np.int32)
    with h5py.File(path, "w") as fh:
        fh["t_allpar_new"] = table.to_records(index=False)
    np.testing.assert_array_equal(load(path).labels, _expected(frame)[1])


def test_dataset_checks_its_arrays():
    x = np.zeros((3, 16), np.float32)
    with pytest.raises(DataError, match="3 labels|labels"):
        JetDataset(x, np.zeros(2, np.int64), "t")
    with pytest.raises(DataError, match=r"\[N, 16\]"):
        JetDataset(np.zeros((3, 4), np.float32), np.zeros(3, np.int64), "t")
    ds = JetDataset(x, np.array([0, 4, 4]), "t")
    assert ds.class_counts() == {"g": 1, "q": 0, "w": 0, "z": 0, "t": 2}
    assert ds.column("mass_mmdt").shape == (3,)
    with pytest.raises(DataError, match="no column"):
        ds.column("tau21")


def test_schema_names():
    assert len(FEATURE_NAMES) == 16 and FEATURE_NAMES[0] == "zlogz" and FEATURE_NAMES[-1] == "multiplicity"
    assert FEATURE_NAMES[14] == "mass_mmdt" and CLASS_NAMES == ("g", "q", "w", "z", "t")
    assert len(set(FEATURE_NAMES)) == 16
    assert make_frame(5).shape == (5, 17)
    assert isinstance(pd.DataFrame(), pd.DataFrame)
