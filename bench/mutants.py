"""Mutation testing of the RTL check on a build: every mutant class, kill ratio per class.

    python bench/mutants.py BUILD_DIR [--per-class N] [--seed S] [--classes a,b] [--vectors N] [--json FILE]

BUILD_DIR is a ``flow build ... --until rtl`` (or later) folder, e.g. ``build/jsc-tiny/xcu250``. Each
mutant (``flow.check.mutants``) is one fault in a copy of ``07_rtl``; it is run through the RTL check
(``flow.check.rtl.check_rtl_files``: corner vectors, then the test vectors) with random register
initialization. Exit 1 when a non-equivalent mutant survives or a mutant fails to build.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from flow.check.mutants import CLASSES, kill_table, run_mutants


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build_dir", type=Path)
    ap.add_argument("--per-class", type=int, default=6, help="sites per mutant class (default 6)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--vectors", type=int, default=None, help="test vectors (default: all; corners always)")
    ap.add_argument("--json", type=Path, default=None, help="write every mutant's result here")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    results = run_mutants(
        a.build_dir,
        per_class=a.per_class,
        seed=a.seed,
        classes=tuple(c for c in a.classes.split(",") if c),
        vectors=a.vectors,
        echo=print,
    )
    rows = kill_table(results)
    print(f"\n{'class':16s} {'mutants':>7s} {'killed':>6s} {'survived':>8s} {'equiv':>5s} {'error':>5s}  kill ratio")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['killed']}/{r['mutants'] - r['equivalent']} = {r['ratio']:.0%}"
        print(
            f"{r['class']:16s} {r['mutants']:7d} {r['killed']:6d} {r['survived']:8d} {r['equivalent']:5d} "
            f"{r['error']:5d}  {ratio}"
        )
    killed = sum(r["killed"] for r in rows)
    live = sum(r["mutants"] - r["equivalent"] for r in rows)
    print(
        f"total: {killed}/{live} non-equivalent mutants killed; "
        f"{len(results)} mutants in {time.perf_counter() - t0:.0f} s"
    )
    if a.json:
        a.json.write_text(json.dumps({"table": rows, "mutants": [r.to_dict() for r in results]}, indent=1))
    return 0 if all(r["survived"] == 0 and r["error"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
