"""Whole-build wall time from a trained checkpoint, and bit-exact verification speed, in one run.

    python bench/bench_build.py [--model jsc-medium] [--target xcu250] [--checkpoint CKPT] [--vectors N]

1. Trains a checkpoint first when none is given (not timed: the figure is "from a trained checkpoint").
2. Times ``flow build MODEL --checkpoint CKPT`` into a fresh folder, stage by stage: with empty
   tool caches (a Verilator model and Yosys results never built on this machine: the first build of new
   RTL), and with ``--warm`` again into another fresh folder with those caches warm (a rebuild of the
   same design). Verilator's runtime library, which does not depend on the design, is compiled once
   per machine by ``flow doctor --prepare`` (``scripts/setup.sh`` runs it); it is prepared, untimed,
   before the build, unless ``--fresh-machine`` empties its cache too and times that first build.
3. Prints, as ratios against peers measured in this same run:

   * RTL verification (cocotb + Verilator, vectors/s) against the PyTorch integer reference (vectors/s)
     and against hls4ml's C simulation (vectors/s) on the same vectors;
   * the whole build's wall time against hls4ml alone (convert + write + compile its C-sim, then
     simulate the same vectors): what a user spends today just to get an hls4ml C-sim, without RTL,
     a bit-exact check, synthesis or a report.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flow.config.targets import get_target  # noqa: E402
from flow.config.zoo import get_model  # noqa: E402
from flow.ir.graph import QuantGraph  # noqa: E402
from flow.ir.reference import forward  # noqa: E402
from flow.pipeline import BuildOptions, build_root, run_build  # noqa: E402
from flow.sim.build import prepare_runtime  # noqa: E402


def reference_rate(graph: QuantGraph, codes: np.ndarray, repeats: int = 3) -> float:
    """Vectors per second of the integer reference (best of ``repeats``)."""
    x = torch.from_numpy(codes)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        forward(graph, x)
        best = min(best, time.perf_counter() - t0)
    return len(codes) / best


def row(name: str, value: str, ratio: str = "") -> None:
    print(f"  {name:<52} {value:>16}  {ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="jsc-medium")
    ap.add_argument("--target", default="xcu250")
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--vectors", type=int, default=None, help="test vectors checked (default: all)")
    ap.add_argument("--warm", action="store_true", help="also time a second build with warm tool caches")
    ap.add_argument(
        "--fresh-machine",
        action="store_true",
        help="also empty the Verilator runtime cache (the first build on a machine never prepared)",
    )
    args = ap.parse_args()
    spec, target = get_model(args.model), get_target(args.target)

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint
        if ckpt is None:
            print(f"training a {spec.name} checkpoint first (not timed) ...")
            run_build(spec, target, BuildOptions(until="train"), Path(tmp) / "ckpt")
            ckpt = build_root(Path(tmp) / "ckpt", spec, target) / "02_train" / "float_model.pt"
        os.environ["FLOW_SIM_CACHE"] = str(Path(tmp) / "verilator-cache")
        if args.fresh_machine:
            os.environ["FLOW_SIM_RUNTIME_CACHE"] = str(Path(tmp) / "verilator-runtime")
        else:
            prepare_runtime()  # what flow doctor --prepare did at set-up; not timed
        os.environ["FLOW_SYNTH_CACHE"] = str(Path(tmp) / "yosys-cache")
        walls, runs = {}, {}
        runtime = "fresh machine" if args.fresh_machine else "runtime prepared"
        labels = ("empty tool caches", "warm tool caches") if args.warm else ("empty tool caches",)
        for label in labels:
            out = Path(tmp) / label.replace(" ", "-")
            t0 = time.perf_counter()
            runs[label] = run_build(spec, target, BuildOptions(checkpoint=ckpt, vectors=args.vectors), out)
            walls[label] = time.perf_counter() - t0
        outcomes = runs["empty tool caches"]
        root = build_root(out, spec, target)
        graph = QuantGraph.load(root / "03_quantize" / "quant_graph.json")
        codes = np.load(root / "04_reference" / "test_codes.npy")[: args.vectors]

    results = {o.stage: o.results for o in outcomes}
    seconds = {o.stage: o.seconds for o in outcomes}
    sim, hls, synth = results.get("sim"), results.get("hls4ml"), results.get("synth")
    ref_rate = reference_rate(graph, codes)
    rtl_rate = getattr(sim, "vectors_per_s", None)
    csim_rate = getattr(hls, "csim_vectors_per_s", None)
    hls_alone = seconds.get("hls4ml", float("nan"))

    print(
        f"\n{spec.name} -> {target.name}: {len(codes):,} test vectors, build from a checkpoint "
        f"(Verilator runtime: {runtime}; {os.cpu_count()} cores)\n"
    )
    for label, outs in runs.items():
        print(f"  stage times, {label}:", ", ".join(f"{o.stage} {o.seconds:.1f} s" for o in outs))
    for label, wall in walls.items():
        row(
            f"whole build, wall time, {label}",
            f"{wall:.1f} s",
            f"{wall / hls_alone:.1f}x hls4ml alone ({hls_alone:.1f} s)",
        )
    row("integer reference (PyTorch int64), vectors/s", f"{ref_rate:,.0f}", "1.00 (peer)")
    if csim_rate:
        row("hls4ml C-sim, vectors/s", f"{csim_rate:,.0f}", f"{csim_rate / ref_rate:.3f}x reference")
    if rtl_rate:
        extra = f", {rtl_rate / csim_rate:.1f}x hls4ml C-sim" if csim_rate else ""
        row(
            "RTL verified in cocotb + Verilator, vectors/s",
            f"{rtl_rate:,.0f}",
            f"{rtl_rate / ref_rate:.3f}x reference{extra}",
        )
        inner = getattr(sim, "sim_vectors_per_s", None)
        if inner:
            row("  of which inside the simulator, vectors/s", f"{inner:,.0f}", f"{inner / ref_rate:.3f}x reference")
        print(
            "  (on a test set this small the ~1 s cocotb start-up dominates the end-to-end rate; "
            "bench_rtl.py measures the streaming rate on 200,000 vectors)"
        )
    if synth is not None:
        yosys_cpu = synth.options.get("yosys_seconds_total")
        row(
            "synthesis (Yosys per block, in parallel), empty cache",
            f"{seconds.get('synth', 0):.1f} s",
            f"Yosys {yosys_cpu} s summed over blocks; LUT {synth.lut:,}, FF {synth.ff:,}, DSP {synth.dsp}",
        )
    if sim is not None:
        row("Verilator build of the harness, empty cache", f"{sim.build_seconds:.1f} s")
    print(
        f"\n  mismatches: hls4ml {getattr(hls, 'mismatches', None)}, RTL {getattr(sim, 'mismatches', None)}; "
        f"latency {getattr(sim, 'latency_cycles', None)} cycles, II {getattr(sim, 'ii', None)}"
    )


if __name__ == "__main__":
    main()
