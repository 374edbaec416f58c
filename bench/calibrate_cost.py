"""Fit the shift-add cost model's coefficients (``flow.rtl.shiftadd.cost.COEF``) to Yosys.

    python bench/calibrate_cost.py [GRAPH.json ...] [--random N] [--jobs J]

Blocks: those of ``N`` random networks (default 20, as ``tests/rtl/test_cost_model.py`` draws them)
and of every given quantized graph (a build's ``03_quantize/quant_graph.json``, e.g. the points of
``flow explore``). Each design is synthesized with the synth stage's Yosys command (results cached by
the synthesis cache, so a rerun is fast). Prints the current coefficients' error per design, the
least-squares fit of relative error over all blocks of at least 50 LUTs (non-negative, by
coordinate descent), and that fit's error per design. The coefficients in ``cost.py`` are then set
by hand from the printed fit, so the fit is reviewable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flow.config.targets import get_target  # noqa: E402
from flow.ir.graph import QuantGraph  # noqa: E402
from flow.rtl.generate import build_design, plan_blocks  # noqa: E402
from flow.rtl.shiftadd.cost import COEF, features  # noqa: E402
from flow.synth import synthesize  # noqa: E402

MIN_LUT = 50


def random_designs(n: int) -> list[tuple[str, QuantGraph]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "rtl"))
    from test_cost_model import random_design

    return [(f"random-{s}", random_design(s)) for s in range(n)]


def block_rows(name: str, graph: QuantGraph, work: Path, jobs: int) -> list[tuple[str, dict, int]]:
    design = build_design(graph)
    plans, _ = plan_blocks(graph, design.settings)
    graphs = [p.graph for p in plans if hasattr(p, "graph")]
    synth = synthesize(design, get_target("xcu250"), work_dir=work / name, jobs=jobs)
    luts = {r.layer: sum(n for c, n in r.cells.items() if c.startswith("LUT") or c == "INV") for r in synth.layers}
    names = [b.name for b in design.layers if "est_lut" in b.info]
    return [(f"{name}/{b}", features(g), luts[b]) for b, g in zip(names, graphs, strict=True)]


def fit(rows: list[tuple[str, dict, int]], keys: list[str]) -> dict[str, float]:
    """Non-negative least squares of the relative error (rows weighted by 1 / Yosys LUT)."""
    a = np.array([[f[k] / y for k in keys] for _, f, y in rows], dtype=float)
    b = np.ones(len(rows))
    c = np.array([COEF.get(k, 0.0) for k in keys])
    for _ in range(2000):
        for j in range(len(keys)):
            r = b - a @ c + a[:, j] * c[j]
            den = a[:, j] @ a[:, j]
            c[j] = max(0.0, (a[:, j] @ r) / den) if den else 0.0
    return {k: round(float(v), 3) for k, v in zip(keys, c, strict=True)}


def report(rows, coef: dict[str, float], title: str) -> None:
    print(f"\n{title}: {coef}")
    designs: dict[str, list[float]] = {}
    for name, f, y in rows:
        designs.setdefault(name.split("/")[0], [0.0, 0.0])
        e = sum(c * f[k] for k, c in coef.items())
        designs[name.split("/")[0]][0] += e
        designs[name.split("/")[0]][1] += y
    errs = [(e - y) / y for e, y in designs.values()]
    for d, (e, y) in designs.items():
        print(f"  {d:40s} est {e:8.0f}  Yosys {y:6.0f}  {(e - y) / y:+.1%}")
    print(f"  per design: mean |error| {np.mean(np.abs(errs)):.1%}, worst {max(errs, key=abs):+.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graphs", nargs="*", type=Path)
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args(argv)
    designs = random_designs(args.random)
    for p in args.graphs:
        designs.append((f"{p.parents[3].name}:{p.parents[2].name}", QuantGraph.load(p)))
    rows = []
    with tempfile.TemporaryDirectory(prefix="flow_calibrate_") as tmp:
        for name, g in designs:
            rows += block_rows(name, g, Path(tmp), args.jobs or 1)
            print(f"synthesized {name}", flush=True)
    rows = [r for r in rows if r[2] >= MIN_LUT]
    report(rows, dict(COEF), "current coefficients")
    report(rows, fit(rows, list(COEF)), "fitted coefficients")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
