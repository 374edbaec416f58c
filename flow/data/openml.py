"""Fetch OpenML 42468 (``hls4ml_lhc_jets_hlf``) once and cache it as Parquet.

Offline machines: copy ``hls4ml_lhc_jets_hlf.arff`` (from https://www.openml.org/d/42468) into the cache
directory shown in the error message, or load any copy with ``flow data load PATH``.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from flow.data.dataset import JetDataset
from flow.data.io import write_dataset
from flow.data.loaders import load
from flow.errors import DataError

OPENML_ID = 42468
OPENML_NAME = "hls4ml_lhc_jets_hlf"
DESCRIPTION_URL = f"https://api.openml.org/api/v1/json/data/{OPENML_ID}"
TIMEOUT_S = 60.0


def default_cache_dir() -> Path:
    """``$FLOW_CACHE_DIR``, else ``$XDG_CACHE_HOME/flow``, else ``~/.cache/flow``."""
    if os.environ.get("FLOW_CACHE_DIR"):
        return Path(os.environ["FLOW_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flow"


def _dataset_dir(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir() / f"openml-{OPENML_ID}"


def _get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


def _download_arff(dest: Path, timeout: float) -> None:
    """Download the ARFF named in the OpenML description, check its md5, write ``dest`` atomically."""
    desc = json.loads(_get(DESCRIPTION_URL, timeout))["data_set_description"]
    url = desc.get("url") or f"https://api.openml.org/data/v1/download/{desc['file_id']}"
    data = _get(url, timeout)
    md5 = desc.get("md5_checksum")
    if md5 and hashlib.md5(data).hexdigest() != md5:
        raise DataError(f"download of {url} is corrupt (md5 mismatch); try again")
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def fetch_openml(cache_dir: str | Path | None = None, *, timeout: float = TIMEOUT_S) -> JetDataset:
    """OpenML ``hls4ml_lhc_jets_hlf`` as a :class:`JetDataset`, from the cache when possible.

    Order: the cached Parquet; else an ARFF already in the cache directory (copied there by hand on an
    offline machine); else download from OpenML. The ARFF is converted to Parquet once. ``cache_dir``
    is the directory holding the files (default ``~/.cache/flow/openml-42468``).
    """
    d = _dataset_dir(cache_dir)
    parquet = d / f"{OPENML_NAME}.parquet"
    if parquet.exists():
        ds = load(parquet)
        return JetDataset(ds.features, ds.labels, f"openml:{OPENML_ID}", ds.pt, ds.eta, ds.metadata)
    arff = next((p for p in (d / f"{OPENML_NAME}.arff", d / f"{OPENML_NAME}.arff.gz") if p.exists()), None)
    if arff is None:
        d.mkdir(parents=True, exist_ok=True)
        arff = d / f"{OPENML_NAME}.arff"
        try:
            _download_arff(arff, timeout)
        except (urllib.error.URLError, OSError, TimeoutError, ValueError, KeyError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DataError(
                f"cannot download OpenML {OPENML_ID} ({reason}); offline? copy {OPENML_NAME}.arff from "
                f"https://www.openml.org/d/{OPENML_ID} into {d}, or use `flow data load PATH`"
            ) from exc
    ds = load(arff)
    meta = {**ds.metadata, "openml_id": OPENML_ID, "openml_name": OPENML_NAME}
    write_dataset(parquet, ds.features, ds.labels, pt=ds.pt, eta=ds.eta, metadata=meta)
    return JetDataset(ds.features, ds.labels, f"openml:{OPENML_ID}", ds.pt, ds.eta, meta)
