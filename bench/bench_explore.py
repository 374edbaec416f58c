"""Benchmark of flow explore: wall time per point and the LUT estimates against Yosys.

    python bench/bench_explore.py [--model jsc-small] [--betas 1e-5,1e-4] [--epochs 60] [--out DIR]

Runs the exploration serially (one job) and prints, per point, its seconds, accuracy, Yosys LUT, the
EBOPs estimate and the shift-add cost model's estimate with their errors against Yosys.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.explore.run import explore


def _err(est, lut) -> str:
    return "-" if not (est and lut) else f"{100 * (est - lut) / lut:+.0f}%"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="jsc-small")
    ap.add_argument("--target", default="xcu250")
    ap.add_argument("--betas", default="1e-5,1e-4")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", type=Path, default=Path("bench-explore"))
    a = ap.parse_args()
    t0 = time.perf_counter()
    betas = [float(b) for b in a.betas.split(",")]
    points = explore(get_model(a.model), get_target(a.target), betas, a.out, jobs=1, learned={"epochs": a.epochs})
    print(f"\n{'point':<14} {'s':>6} {'acc':>7} {'LUT':>7} {'EBOPs':>7} {'err':>6} {'shift-add':>9} {'err':>6} ok")
    for p in sorted(points, key=lambda p: p.get("lut") or 0):
        lut, sa, eb = p.get("lut"), p.get("shiftadd_lut_estimate"), p.get("ebops")
        acc = "-" if p.get("accuracy") is None else f"{100 * p['accuracy']:.2f}"
        print(
            f"{p['name']:<14} {p['seconds']:>6.0f} {acc:>7} {lut or '-':>7} {eb or '-':>7} {_err(eb, lut):>6} "
            f"{sa or '-':>9} {_err(sa, lut):>6} {p['verified']}"
        )
    print(f"total {time.perf_counter() - t0:.0f} s for {len(points)} points")


if __name__ == "__main__":
    main()
