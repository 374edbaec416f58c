"""OpenML fetch: cache and local paths work offline; the network is faked, errors are one line."""

from __future__ import annotations

import hashlib
import json
import urllib.error

import numpy as np
import pytest
from jsc_fixtures import make_frame, write_arff

from flow.data import fetch_openml
from flow.data import openml as om
from flow.errors import DataError


def _no_network(*_args, **_kwargs):
    raise urllib.error.URLError("Temporary failure in name resolution")


def test_offline_without_cache_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(om, "_get", _no_network)
    with pytest.raises(DataError) as info:
        fetch_openml(tmp_path / "cache")
    msg = str(info.value)
    assert "cannot download OpenML 42468" in msg and "offline?" in msg
    assert str(tmp_path / "cache") in msg and "flow data load PATH" in msg and "\n" not in msg


def test_arff_copied_into_cache_is_used_and_converted(tmp_path, monkeypatch):
    monkeypatch.setattr(om, "_get", _no_network)
    cache = tmp_path / "cache"
    cache.mkdir()
    write_arff(cache / "hls4ml_lhc_jets_hlf.arff", make_frame(40))
    ds = fetch_openml(cache)
    assert len(ds) == 40 and ds.source == "openml:42468" and ds.metadata["openml_id"] == 42468
    assert (cache / "hls4ml_lhc_jets_hlf.parquet").exists()
    (cache / "hls4ml_lhc_jets_hlf.arff").unlink()
    again = fetch_openml(cache)  # from the Parquet cache, no ARFF, no network
    np.testing.assert_array_equal(again.features, ds.features)
    np.testing.assert_array_equal(again.labels, ds.labels)


def test_download_checks_md5_and_caches(tmp_path, monkeypatch):
    path = tmp_path / "src.arff"
    write_arff(path, make_frame(30))
    body = path.read_bytes()
    url = "https://api.openml.org/data/v1/download/1/hls4ml_lhc_jets_hlf.arff"
    desc = {"data_set_description": {"file_id": "1", "url": url, "md5_checksum": hashlib.md5(body).hexdigest()}}
    calls = []

    def fake_get(u, timeout):
        calls.append(u)
        return json.dumps(desc).encode() if u == om.DESCRIPTION_URL else body

    monkeypatch.setattr(om, "_get", fake_get)
    ds = fetch_openml(tmp_path / "c1")
    assert len(ds) == 30 and calls == [om.DESCRIPTION_URL, url]
    desc["data_set_description"]["md5_checksum"] = "0" * 32
    with pytest.raises(DataError, match="md5 mismatch"):
        fetch_openml(tmp_path / "c2")


def test_default_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOW_CACHE_DIR", str(tmp_path / "x"))
    assert om.default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("FLOW_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert om.default_cache_dir() == tmp_path / "xdg" / "flow"
