"""Area of flow's shift-add RTL against da4ml's RTL of the same integer design, same Yosys command.

    python bench/bench_area.py [BUILD_DIR | MODEL] [--target xcu250] [--adder-levels K | --latency N]
                               [--vectors N] [--cache] [--jobs J]

``BUILD_DIR`` is a build folder (``build/jsc-medium/xcu250``: its quantized graph, its test vectors
and the RTL settings its rtl stage recorded); ``MODEL`` (default ``jsc-medium``) is built first
through the reference stage into ``build/``. Then, per block of flow's design (a Dense or
ScaleShift with its ReLU fused in):

1. flow: the block as ``flow build`` writes it (:func:`flow.rtl.build_design`).
2. da4ml 0.6.0 (the peer, pinned in pyproject.toml): the same layer traced with da4ml's own
   operations (``x @ W.T + c`` over the same input box, its ``quantize(..., RND/TRN, SAT/WRAP)`` and
   ``relu`` for the output stage), pipelined by da4ml with the smallest latency cutoff that gives the
   same number of stages as flow's block, written by da4ml's ``RTLModel``. Its output is checked
   against flow's integer reference on the build's test vectors (propagated through the reference to
   the block's input) with da4ml's own interpreter; any difference fails the benchmark.
3. Both are synthesized with the same Yosys script (``flow.synth.yosys``: ``synth_xilinx -family
   <target family> -noiopad -noclkbuf -flatten -nowidelut``, one run per block), fresh (no result
   cache unless ``--cache``), so the Yosys time is measured too.

Prints LUT, FF, carry, DSP, latency and Yosys time for both, per block and in total, and the ratios
flow / da4ml. da4ml's per-layer modules register their inputs as well (in a chained network that
register is the previous block's output register): its FF column includes them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flow.config.targets import get_target  # noqa: E402
from flow.ir.graph import QuantGraph  # noqa: E402
from flow.ir.reference import run_layer  # noqa: E402
from flow.rtl.generate import (  # noqa: E402
    RtlSettings,  # noqa: E402
    build_design,
    load_design,
)
from flow.synth.yosys import _Job, _run_job, _summary  # noqa: E402
from flow.tools import find_yosys  # noqa: E402


def da4ml_block(plan_layers, problem, n_stages: int, work: Path, x: np.ndarray, ref: np.ndarray) -> dict:
    """da4ml's RTL of one block and the check of its output against the reference."""
    from da4ml.codegen import RTLModel
    from da4ml.trace import FixedVariableArray, comb_trace, to_pipeline

    head = plan_layers[0]
    if any(problem.wraps):
        raise SystemExit(f"{head.name}: wrapping accumulators are not benchmarked")
    lo, hi = np.array(problem.in_lo, float), np.array(problem.in_hi, float)
    xin = FixedVariableArray.from_lhs(lo, hi, np.ones(len(lo)))
    acc = xin @ problem.weight.T.astype(np.float64) + np.array(problem.consts, dtype=np.float64)
    t = head.out_type
    s1 = head.product_frac - t.frac
    y = acc.quantize(int(t.signed), t.width - int(t.signed) + s1, -s1, str(t.overflow), str(t.rounding))
    s = s1
    if len(plan_layers) > 1:
        relu = plan_layers[1]
        s = s1 + relu.in_type.frac - relu.out_type.frac
        r = relu.out_type
        y = y.relu().quantize(int(r.signed), r.width - int(r.signed) + s, -s, str(r.overflow), str(r.rounding))
    comb = comb_trace(xin, y)
    got = np.round(np.asarray(comb.predict(x.astype(np.float64))) / 2.0**s).astype(np.int64)
    mismatches = int((got != ref).sum())
    for cut in range(1, 64):
        pipe = to_pipeline(comb, cut, retiming=True, verbose=False)
        if len(pipe.solutions) <= n_stages:
            break
    name = f"da4ml_{head.name}"
    RTLModel(pipe, name, work / name, latency_cutoff=cut, print_latency=False).write()
    src = work / name / "src"
    files = [f for f in sorted(src.glob("*.v")) if not f.name.endswith("_wrapper.v")]
    import da4ml.codegen.rtl.verilog as dv

    lib = Path(dv.__file__).parent / "source"
    files += [f for f in sorted(lib.glob("*.v")) if f.name != "lookup_table.v"]
    return {
        "mismatches": mismatches,
        "values": int(ref.size),
        "cutoff": cut,
        "stages": len(pipe.solutions),
        "files": files,
        "top": name,
    }


def yosys_run(label: str, module: str, files: list[Path], family: str, work: Path, cache: Path | None) -> dict:
    """One Yosys run of ``module`` from ``files`` with flow's synthesis script."""
    src = work / f"src_{label}"
    src.mkdir(parents=True, exist_ok=True)
    rels = []
    for f in files:
        (src / f.name).write_text(f.read_text())
        rels.append(f.name)
    yosys = find_yosys()
    job = _Job(label, module, tuple(rels), (), 1, 0)
    logs = work / f"logs_{label}"
    logs.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    r = _run_job(job, family, True, src, logs, yosys.argv, f"{yosys.version} {yosys.source}", cache)
    return {**_summary(r.cells), "seconds": r.seconds if not r.cached else 0.0, "wall": time.perf_counter() - t0}


def _row(keys, name: str, cycles: int, ours: dict, peer: dict, peer_cycles: int, mismatches: int) -> None:
    """One line of the per-block table: our figures, da4ml's, the LUT ratio."""
    print(
        f"  {name:<12} {cycles:>3} | "
        + " ".join(f"{int(ours[k]):>7,}" for k in keys)
        + f" {ours['seconds']:>8.1f} |       "
        + " ".join(f"{int(peer[k]):>7,}" for k in keys)
        + f" {peer['seconds']:>8.1f} {peer_cycles:>3} {mismatches:>5} | {ours['lut'] / peer['lut']:.3f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default="jsc-medium", help="build folder or model (default jsc-medium)")
    ap.add_argument("--target", default="xcu250")
    ap.add_argument("--out", default="build", help="where a MODEL is built (through the reference stage)")
    ap.add_argument("--adder-levels", type=int, default=None)
    ap.add_argument("--latency", type=int, default=None)
    ap.add_argument("--hard-dc", type=int, default=None, help="da4ml CMVM depth constraint of flow's solve")
    ap.add_argument("--vectors", type=int, default=None, help="test vectors for the da4ml check (default: all)")
    ap.add_argument("--cache", action="store_true", help="reuse cached Yosys results (default: fresh runs)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    target = get_target(args.target)
    root = Path(args.build)
    if not root.is_dir():
        subprocess.run(
            ["flow", "build", args.build, "--target", args.target, "--out", args.out, "--until", "reference"],
            check=True,
        )
        root = Path(args.out) / args.build / args.target
    graph = QuantGraph.load(root / "03_quantize" / "quant_graph.json")
    codes = np.load(root / "04_reference" / "test_codes.npy")[: args.vectors]
    if args.adder_levels or args.latency or args.hard_dc is not None:
        kw = {"adder_levels": args.adder_levels, "latency": args.latency}
        if args.hard_dc is not None:
            kw["hard_dc"] = args.hard_dc
        design = build_design(graph, top=graph.name, settings=RtlSettings(**kw))
    elif (root / "07_rtl").is_dir():
        design = load_design(root / "07_rtl", graph, top=graph.name)
    else:
        design = build_design(graph, top=graph.name)
    if design.settings is None or design.settings.arithmetic != "shiftadd":
        raise SystemExit("bench_area compares the shift-add design; this build uses another arithmetic")
    from flow.rtl.generate import plan_blocks

    plans, levels = plan_blocks(graph, design.settings)
    cache = None
    if args.cache:
        from flow.synth.yosys import cache_root

        cache = cache_root()
    x = torch.from_numpy(codes)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_area_") as tmp:
        work = Path(tmp)
        (work / "flow").mkdir()
        lib = {p: design.files[p] for p in design.sources if p.startswith("flow_")}
        for p, text in lib.items():
            (work / "flow" / p).write_text(text)
        tasks = []
        for plan, block in zip(plans, design.layers, strict=True):
            layers = plan.layers
            xin = x
            for layer in layers:
                x = run_layer(layer, x)
            if not hasattr(plan, "problem"):
                print(f"  {block.name}: not a shift-add block, skipped")
                continue
            t0 = time.perf_counter()
            peer = da4ml_block(layers, plan.problem, block.latency, work, xin.numpy(), x.numpy())
            peer["trace_s"] = time.perf_counter() - t0
            if peer["mismatches"]:
                raise SystemExit(f"da4ml's {block.name} differs from the reference in {peer['mismatches']} values")
            ours = work / "flow" / block.file
            ours.write_text(design.files[block.file])
            mine = [ours, *(work / "flow" / p for p in lib)]
            tasks.append((block, peer, mine))
        fam = target.yosys_family
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futs = []
            for block, peer, mine in tasks:
                futs.append(pool.submit(yosys_run, f"flow_{block.inst}", block.module, mine, fam, work, cache))
                futs.append(pool.submit(yosys_run, f"da4ml_{block.inst}", peer["top"], peer["files"], fam, work, cache))
            res = [f.result() for f in futs]
        for k, (block, peer, _) in enumerate(tasks):
            rows.append((block, peer, res[2 * k], res[2 * k + 1]))

    keys = ("lut", "ff", "carry", "dsp")
    print(
        f"\n{graph.name} -> {target.name} ({target.yosys_family}), {design.adder_levels} adder levels per stage, "
        f"flow {design.latency} cycles; da4ml check on {len(codes):,} test vectors\n"
    )
    head = f"  {'block':<12} {'cyc':>3} | " + " ".join(f"{k:>7}" for k in keys) + f" {'yosys s':>8} | da4ml "
    print(head + " ".join(f"{k:>7}" for k in keys) + f" {'yosys s':>8} {'cyc':>3} {'mism':>5} | LUT ratio")
    tot_f = dict.fromkeys((*keys, "seconds"), 0.0)
    tot_d = dict.fromkeys((*keys, "seconds"), 0.0)
    cyc_f = cyc_d = 0
    for block, peer, f, d in rows:
        for k in tot_f:
            tot_f[k] += f[k]
            tot_d[k] += d[k]
        cyc_f += block.latency
        cyc_d += peer["stages"]
        _row(keys, block.name, block.latency, f, d, peer["stages"], peer["mismatches"])
    _row(keys, "total", cyc_f, tot_f, tot_d, cyc_d, sum(peer["mismatches"] for _, peer, _, _ in rows))
    print("\n  ratios flow / da4ml (same weights, same cycles per block, same Yosys command):")
    for k in ("lut", "ff", "carry"):
        print(f"    {k:<8} {tot_f[k] / tot_d[k]:.3f}x" if tot_d[k] else f"    {k:<8} -")
    print(f"    dsp      {int(tot_f['dsp'])} vs {int(tot_d['dsp'])}")
    print(f"    latency  {cyc_f} vs {cyc_d} cycles")
    if tot_d["seconds"]:
        print(
            f"    Yosys CPU time {tot_f['seconds']:.1f} s vs {tot_d['seconds']:.1f} s: "
            f"{tot_f['seconds'] / tot_d['seconds']:.3f}x"
        )


if __name__ == "__main__":
    main()
