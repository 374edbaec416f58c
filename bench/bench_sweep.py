"""Wall time of one sweep on the local process pool and on a local Ray cluster, and the ratio.

    python bench/bench_sweep.py                       # jsc-small, 2 x 2 grid, 5 epochs, built-in data
    python bench/bench_sweep.py --model jsc-medium --epochs 10 --cpus 2

The Ray cluster is real and on 127.0.0.1 only: a head and one worker node started with ``ray start``
(``flow.studies.ray_local``), ``--cpus`` CPUs in all (half per node), stopped at the end by process-group
id. Both backends run the same runs with the same seeds into fresh folders; the per-run accuracies are
checked equal. The Ray time includes connecting and shipping the data, not starting the cluster (timed
separately).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from flow.config.zoo import get_model
from flow.studies.backends import LocalPool, RayBackend
from flow.studies.data import load_study_data
from flow.studies.ray_local import LocalCluster, loopback_driver
from flow.studies.settings import with_train
from flow.studies.sweep import SweepGrid, SweepSettings, run_sweep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="jsc-small")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=2, help="local pool workers = Ray CPUs (split over 2 nodes)")
    a = ap.parse_args()

    data = load_study_data()
    spec = with_train(get_model(a.model), epochs=a.epochs)
    grid = SweepGrid(batch_size=(256, 512), lr=(1e-3, 1e-2), epochs=(a.epochs,))
    settings = SweepSettings(grid, seed=1, workers=a.cpus)
    c = data.counts()
    print(
        f"{a.model}: 2 x 2 sweep, {a.epochs} epochs, {c['train']:,} training jets; {a.cpus} CPUs "
        f"(machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})"
    )
    times, accs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = run_sweep(spec, data, settings, Path(tmp) / "local", backend=LocalPool(a.cpus))
        times["local pool"] = time.perf_counter() - t0
        accs["local pool"] = _accs(r.out)
        print(f"  local pool ({a.cpus} processes): {times['local pool']:.1f} s")

        per_node = max(1, a.cpus // 2)
        t0 = time.perf_counter()
        with LocalCluster(workers=1, cpus=per_node) as cluster, loopback_driver(cluster):
            up = time.perf_counter() - t0
            print(f"  Ray cluster up (head + 1 worker node, {per_node} CPU each): {up:.1f} s (not counted)")
            t0 = time.perf_counter()
            with RayBackend(cluster.address) as backend:
                r = run_sweep(spec, data, settings, Path(tmp) / "ray", backend=backend)
            times["ray"] = time.perf_counter() - t0
            accs["ray"] = _accs(r.out)
        print(f"  Ray ({2 * per_node} CPUs on 2 nodes): {times['ray']:.1f} s")
    same = accs["local pool"] == accs["ray"]
    print(
        f"ratio Ray / local: {times['ray'] / times['local pool']:.2f}; "
        f"per-run accuracies {'identical' if same else 'DIFFERENT'}"
    )
    if not same:
        raise SystemExit(1)


def _accs(out: Path) -> dict[str, str]:
    return {r["key"]: r["val_acc"] for r in csv.DictReader((out / "runs.csv").read_text().splitlines())}


if __name__ == "__main__":
    main()
