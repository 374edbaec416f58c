"""`flow sweep --backend ray` on a real Ray cluster on 127.0.0.1 (a head and one worker node, each a
separate `ray start` process): the same runs, bit for bit, as the local backend; a worker node killed
mid-sweep and the sweep still completes on the head."""

import csv
import json
import threading
import time

import pytest

ray = pytest.importorskip("ray")

from flow.studies.backends import RayBackend  # noqa: E402
from flow.studies.data import synthetic_data  # noqa: E402
from flow.studies.ray_local import LocalCluster, loopback_driver  # noqa: E402
from flow.studies.sweep import SweepGrid, SweepSettings, run_sweep  # noqa: E402
from tests.studies.helpers import sweep_args  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(workers=1, cpus=1) as c, loopback_driver(c):
        yield c


def _sweep_args(csv_path, out, *extra):
    return sweep_args(
        csv_path,
        out,
        "--weight-bits",
        "float,6",  # 2 x 2: two float runs, each quantized once from its checkpoint (sent as bytes)
        "--epochs",
        "2",
        "--qat-epochs",
        "0",
        "--seed",
        "7",
        "--plots-per-run",
        "--embedding",
        "pca",
        *extra,
    )


VOLATILE = {"seconds", "samples_per_s"}  # wall-clock figures: the only fields allowed to differ


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def test_ray_sweep_equals_local_bit_for_bit(cluster, cli, csv_path, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    res = cli(_sweep_args(csv_path, local, "--backend", "local", "--workers", "1"))
    assert res.exit_code == 0, res.output
    res = cli(_sweep_args(csv_path, remote, "--backend", "ray", "--address", cluster.address))
    assert res.exit_code == 0, res.output
    assert "backend: the Ray cluster at 127.0.0.1" in res.output and "2 nodes, 2 CPUs" in res.output
    assert "sweep complete" in res.output and "(4 runs now, 0 done before)" in res.output

    def files(root):
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    assert files(local) == files(remote)  # same folder: JSONs, checkpoints, plots, tables, index.html
    accs = {}
    for root in (local, remote):
        rows = list(csv.DictReader((root / "runs.csv").read_text().splitlines()))
        accs[root] = {r["key"]: r["val_acc"] for r in rows}  # repr of the float: bit for bit
    assert len(accs[local]) == 4 and accs[local] == accs[remote]
    for rel in files(local):
        if rel.endswith(".json") and rel != "sweep.json":
            a, b = (json.loads((root / rel).read_text()) for root in (local, remote))
            assert _stable(a) == _stable(b), rel  # every metric and every epoch's history, exactly
        if rel.endswith(".pt"):
            assert (local / rel).read_bytes() == (remote / rel).read_bytes(), rel  # the same weights
    # resume: the same command on the other backend finds every run finished
    res = cli(_sweep_args(csv_path, remote, "--backend", "local", "--workers", "1"))
    assert res.exit_code == 0 and "(0 runs now, 4 done before)" in res.output


def test_worker_node_dies_mid_sweep(cluster, tmp_path):
    data = synthetic_data(6000, seed=11)  # runs of about 2 s each, so the kill lands mid-run
    from flow.config.zoo import get_model
    from flow.studies.settings import with_train

    spec = with_train(get_model("jsc-small"), epochs=15, batch_size=64, lr=1e-2)
    settings = SweepSettings(SweepGrid(batch_size=(64, 96), lr=(0.01, 0.02), epochs=(15,)), seed=3)
    backend = RayBackend(cluster.address)
    result: dict = {}

    def sweep():
        try:
            result["r"] = run_sweep(spec, data, settings, tmp_path / "sw", backend=backend)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            result["e"] = e

    with backend:
        head = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])
        t = threading.Thread(target=sweep)
        t.start()
        end = time.monotonic() + 60
        while ray.available_resources().get("CPU", 0) > 0:  # both nodes busy: one run is on the worker
            assert time.monotonic() < end and t.is_alive(), result
            time.sleep(0.05)
        cluster.kill(cluster.workers[0])
        t.join(120)
        assert not t.is_alive()
    if "e" in result:
        raise result["e"]
    r = result["r"]
    assert not r.failed and r.ran == 4 and len(r.runs) == 4
    assert set(r.nodes.values()) == {head}  # the run lost with the worker node was rerun on the head
    assert not (tmp_path / "sw" / "failed.json").exists()
    assert len(list((tmp_path / "sw" / "float").glob("*.json"))) == 4
