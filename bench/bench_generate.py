"""Generation speed of `flow data generate` (Pythia 8 + FastJet contrib) in jets/s on this machine.

    python bench/bench_generate.py [--jets 4000] [--workers 2] [--single-jets 2000]

* flow: the default settings (all five classes, 500-jet chunks) on ``--workers`` processes, end to end
  (worker start-up, Pythia initialisation per chunk, writing the file). The bar is 200 jets/s on 2 cores.
* peer: the same generator on one worker, measured in the same run; the ratio is the parallel speed-up.
* facts sheet: 122 jets/s per core for an equal class mix with another implementation (one core), so
  ``--workers`` cores would give 122 x workers.

Also printed: jets per worker-CPU-second and the share of the cores the workers actually got; the
per-CPU rate does not depend on other load on the machine, the wall rates do.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flow.data.generate import GeneratorSettings  # noqa: E402
from flow.data.generate.runner import generate  # noqa: E402

FACTS_JETS_PER_S_PER_CORE = 122.0
BAR_JETS_PER_S = 200.0


def measure(n_jets: int, workers: int, seed: int) -> tuple[float, float, float]:
    """(wall jets/s, jets per worker-CPU-second, share of the workers' cores they got) of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        meta = generate(GeneratorSettings(n_jets=n_jets, seed=seed), Path(tmp) / "bench.parquet", workers=workers)
        wall = time.perf_counter() - t0
    cpu = max(meta["run"]["worker_cpu_seconds"], 1e-9)
    return n_jets / wall, n_jets / cpu, cpu / (wall * workers)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jets", type=int, default=4000, help="jets for the parallel run")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--single-jets", type=int, default=2000, help="jets for the one-worker peer run")
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min) before the runs")
    rate, per_cpu, share = measure(a.jets, a.workers, a.seed)
    print(
        f"flow ({a.workers} workers, {a.jets} jets): {rate:7.1f} jets/s   ({per_cpu:.1f} jets per worker-CPU-s; "
        f"the workers got {share:.0%} of {a.workers} cores)"
    )
    single, single_cpu, single_share = measure(a.single_jets, 1, a.seed + 1)
    print(
        f"peer (1 worker, {a.single_jets} jets):  {single:7.1f} jets/s   ({single_cpu:.1f} jets per CPU-s; "
        f"it got {single_share:.0%} of a core)"
    )
    facts = FACTS_JETS_PER_S_PER_CORE * a.workers
    print(f"ratio vs 1 worker (same run):         {rate / single:5.2f}x")
    print(
        f"ratio vs facts sheet ({FACTS_JETS_PER_S_PER_CORE:.0f}/s/core x {a.workers} = {facts:.0f}/s): "
        f"{rate / facts:5.2f}x  (per CPU-second: {per_cpu / FACTS_JETS_PER_S_PER_CORE:.2f}x)"
    )
    print(f"{a.workers} dedicated cores at the measured per-CPU rate: {per_cpu * a.workers:.0f} jets/s")
    verdict = "PASS" if rate >= BAR_JETS_PER_S else "BELOW"
    print(
        f"bar {BAR_JETS_PER_S:.0f} jets/s on {a.workers} cores: {verdict} ({rate:.1f} jets/s); "
        f"load average now {os.getloadavg()[0]:.2f}"
    )
    if share < 0.9:
        print(
            f"note: other processes took {1 - share:.0%} of the cores during the parallel run; "
            "the wall-clock rates understate the generator"
        )


if __name__ == "__main__":
    main()
