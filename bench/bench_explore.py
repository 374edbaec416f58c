"""Benchmark of flow explore: wall time per point and the LUT estimates against Yosys.

    python bench/bench_explore.py [--model jsc-small] [--betas 1e-5,1e-4] [--epochs 60] [--out DIR]
    python bench/bench_explore.py --from explore/jsc-medium/xcu250     # figures of a finished exploration

Runs the exploration serially (one job), or reads the ``pareto.json`` of one that ran (``--from``), and
prints, per point, its wall time, accuracy, Yosys LUT, the EBOPs estimate and the shift-add cost model's
estimate with their errors against Yosys, then the errors summarized (mean absolute, worst) over the
points and over the RTL blocks (``09_synth/synth.json``: the cost model per block against Yosys).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _err(est, lut) -> float | None:
    return None if not (est and lut) else (est - lut) / lut


def _pct(e: float | None) -> str:
    return "-" if e is None else f"{100 * e:+.1f}%"


def _summary(name: str, errs: list[float]) -> str:
    if not errs:
        return f"{name}: no data"
    mae = sum(abs(e) for e in errs) / len(errs)
    worst = max(errs, key=abs)
    return f"{name}: mean |error| {100 * mae:.1f}%, worst {100 * worst:+.1f}% over {len(errs)}"


def block_errors(points: list[dict]) -> list[float]:
    """(cost model - Yosys) / Yosys per RTL block of every point that was synthesized."""
    out = []
    for p in points:
        root = Path(p.get("build") or "")
        for synth in root.glob("09_synth/manifest.json"):
            layers = (json.loads(synth.read_text()).get("results") or {}).get("layers") or []
            out += [e for b in layers if (e := _err(b.get("est_lut"), b.get("lut"))) is not None]
    return out


def report(points: list[dict], total: float | None = None) -> None:
    print(
        f"\n{'point':<16} {'s':>6} {'acc':>7} {'LUT':>7} {'FF':>6} {'cyc':>4} {'EBOPs':>7} {'err':>7} "
        f"{'shift-add':>9} {'err':>7} ok"
    )
    eb_errs, sa_errs = [], []
    for p in sorted(points, key=lambda p: p.get("lut") or 0):
        lut, sa, eb = p.get("lut"), p.get("shiftadd_lut_estimate"), p.get("ebops")
        acc = "-" if p.get("accuracy") is None else f"{100 * p['accuracy']:.2f}"
        e1, e2 = _err(eb, lut), _err(sa, lut)
        eb_errs += [e1] if e1 is not None else []
        sa_errs += [e2] if e2 is not None else []
        print(
            f"{p['name']:<16} {p.get('seconds') or 0:>6.0f} {acc:>7} {lut or '-':>7} {p.get('ff') or '-':>6} "
            f"{p.get('latency_cycles') or '-':>4} {eb or '-':>7} {_pct(e1):>7} {sa or '-':>9} {_pct(e2):>7} "
            f"{p.get('verified')}"
        )
    secs = [p["seconds"] for p in points if p.get("seconds")]
    if secs:
        print(f"wall time per point: mean {sum(secs) / len(secs):.0f} s, min {min(secs):.0f} s, max {max(secs):.0f} s")
    print(_summary("EBOPs vs Yosys LUT (per design)", eb_errs))
    print(_summary("shift-add cost model vs Yosys LUT (per design)", sa_errs))
    print(_summary("shift-add cost model vs Yosys LUT (per RTL block)", block_errors(points)))
    if total is not None:
        print(f"total {total:.0f} s for {len(points)} points")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="jsc-small")
    ap.add_argument("--target", default="xcu250")
    ap.add_argument("--betas", default="1e-5,1e-4")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", type=Path, default=Path("bench-explore"))
    ap.add_argument("--from", dest="source", type=Path, help="an exploration folder (its pareto.json) to report on")
    a = ap.parse_args()
    if a.source is not None:
        doc = json.loads((a.source / "pareto.json").read_text())
        print(f"{a.source / 'pareto.json'}: {doc['model']} on {doc['target']}, {len(doc['points'])} points")
        report(doc["points"])
        return
    from flow.config.targets import get_target
    from flow.config.zoo import get_model
    from flow.explore.run import explore

    t0 = time.perf_counter()
    betas = [float(b) for b in a.betas.split(",")]
    points = explore(get_model(a.model), get_target(a.target), betas, a.out, jobs=1, learned={"epochs": a.epochs})
    report(points, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
