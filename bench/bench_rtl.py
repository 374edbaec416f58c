"""Benchmark: vectors verified per second by cocotb + Verilator (harness-streamed, every output word
compared with the integer reference), against two peers measured in the same run:

* per-cycle cocotb driving of the same Verilator build (the classic cocotb testbench style), and
* the integer reference itself in PyTorch (what produces the expected values).

    python bench/bench_rtl.py                       # jsc-medium-sized 16-64-32-32-5, 100k vectors
    python bench/bench_rtl.py --vectors 200000 --fresh   # also time a cold Verilator build

Prints one table and the ratios; exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flow.ir.fixed import FixedType  # noqa: E402
from flow.ir.reference import forward  # noqa: E402
from flow.ir.synthetic import random_codes, random_graph  # noqa: E402
from flow.rtl.generate import build_design  # noqa: E402
from flow.sim.simulate import harness_build, simulate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16-64-32-32-5", help="layer widths (default: jsc-medium)")
    ap.add_argument("--vectors", type=int, default=100_000, help="vectors for the streamed run")
    ap.add_argument("--peer-vectors", type=int, default=10_000, help="vectors for per-cycle cocotb driving")
    ap.add_argument("--input-bits", type=int, default=14)
    ap.add_argument("--weight-bits", type=int, default=8)
    ap.add_argument("--fresh", action="store_true", help="build in an empty cache (times a cold build)")
    args = ap.parse_args(argv)

    sizes = tuple(int(s) for s in args.sizes.split("-"))
    graph = random_graph(
        sizes,
        seed=0,
        weight_bits=args.weight_bits,
        name="bench",
        input_type=FixedType(args.input_bits, args.input_bits - 6, True, "RND", "SAT"),
    )
    n_mult = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    codes = random_codes(graph, args.vectors, seed=1)
    design = build_design(graph)
    print(
        f"network {args.sizes} ({n_mult} constant multipliers), inputs {graph.input_type.describe()}, "
        f"latency {design.latency} cycles"
    )

    cache = tempfile.TemporaryDirectory(prefix="flow_bench_cache_") if args.fresh else None
    cache_dir = Path(cache.name) if cache else None
    t0 = time.perf_counter()
    build = harness_build(design, cache_dir=cache_dir)
    build_s = time.perf_counter() - t0
    print(f"Verilator build: {build_s:.1f} s ({'reused from cache' if build.cached else 'built now'})")

    t0 = time.perf_counter()
    expected = forward(graph, torch.from_numpy(codes)).numpy()
    ref_s = time.perf_counter() - t0

    stream = simulate(graph, codes, expected=expected, design=design, cache_dir=cache_dir)
    peer_codes = codes[: args.peer_vectors]
    drive = simulate(
        graph, peer_codes, expected=expected[: args.peer_vectors], design=design, mode="drive", cache_dir=cache_dir
    )
    if cache:
        cache.cleanup()

    rows = [
        ("cocotb+Verilator, streamed harness (end to end)", stream.vectors, stream.run_seconds),
        ("  of which inside the simulator", stream.vectors, stream.vectors / stream.sim_vectors_per_s),
        ("cocotb+Verilator, per-cycle cocotb driving", drive.vectors, drive.run_seconds),
        ("integer reference, PyTorch int64 (peer)", len(codes), ref_s),
    ]
    print(f"\n{'what':52s} {'vectors':>9s} {'seconds':>9s} {'vectors/s':>11s}")
    for name, n, s in rows:
        print(f"{name:52s} {n:9d} {s:9.2f} {n / s:11,.0f}")
    print(
        f"\nall {stream.vectors} streamed outputs equal the reference (mismatches {stream.mismatches}), "
        f"latency {stream.latency_cycles} cycles, II {stream.ii}, {stream.gaps} gaps in valid-in"
    )
    print(f"ratio streamed / per-cycle cocotb : {stream.vectors_per_s / drive.vectors_per_s:8.1f}x")
    print(f"ratio streamed / PyTorch reference: {stream.vectors_per_s / (len(codes) / ref_s):8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
