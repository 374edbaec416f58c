"""Differential fuzzing: random networks x random precisions x corner inputs, through every back end.

    python bench/fuzz.py --networks N [--seed S] [--start I] [--batch B] [--random R] [--jobs J]
                         [--no-hls] [--out DIR]

Network ``I`` of seed ``S`` is drawn from ``numpy.random.default_rng([S, I])`` (so any one network
is reproduced by ``--seed S --start I --networks 1``): an optional ScaleShift (+ ReLU) in front, 1-3
Dense layers with ReLUs between them, an optional ArgMax at the end; widths 2-8; weights of 2-8 bits;
every requantizer's width, frac, rounding (RND/TRN) and overflow (SAT/WRAP) drawn at random;
accumulators exact or 1-6 bits too narrow (they wrap); signed or unsigned inputs; about one network in
four with per-feature input types (:func:`flow.ir.synthetic.random_feature_types` inside a SAT container
of random rounding; drawn from ``default_rng([S, I, 1])``, so the other networks are unchanged). Inputs: the corner
vectors of :func:`flow.check.corners.generate_corners` (every reachable bound and tie searched through
the reference) plus ``R`` uniform random full-range rows. Every output code must equal
:func:`flow.ir.reference.forward`'s, through

* QONNX: the model of :func:`flow.export.qonnx_model.build_qonnx`, executed by qonnx;
* hls4ml: the project of :func:`flow.hls.project.build_project` (C-sim compiled from the weight
  headers), on the part hls4ml builds (a trailing ArgMax is left out, as in the flow);
* RTL: the design of :func:`flow.rtl.generate.build_design` (shift-add), ``B`` networks per Icarus
  compile and run, one testbench streaming all of them in lockstep with random gaps after a
  one-cycle reset taken with in_valid high; outputs and their latency are checked.

A mismatch (or a back end failing on a valid graph) saves a reproducer in ``OUT/net<I>/``: the
graph JSON, the input codes, the reference outputs, the error and the command. Exit 1 on any mismatch.
A network whose types the hls4ml back end refuses (:class:`~flow.errors.UnsupportedTypeError`, e.g. a
result type hls4ml's C-sim cannot round to) is reported as "refused by hls4ml: <reason>", not as a
failure; QONNX and RTL still check it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from flow.ir.features import port_width, to_port
from flow.ir.fixed import FixedType
from flow.ir.graph import ArgMax, Dense, QuantGraph, ReLU, ScaleShift, exact_accum_type, graph_from_dict, index_type
from flow.ir.reference import forward
from flow.ir.synthetic import random_feature_types


def _act(rng: np.random.Generator, signed: bool = True) -> FixedType:
    w = int(rng.integers(3 if signed else 2, 17))
    frac = int(rng.integers(-2, w + 3))
    rnd = "RND" if rng.random() < 0.5 else "TRN"
    ovf = "SAT" if rng.random() < 0.6 else "WRAP"
    return FixedType(w, frac, signed, rnd, ovf)


def random_network(seed: int, index: int) -> QuantGraph:
    """Network ``index`` of ``seed`` (see the module docstring)."""
    rng = np.random.default_rng([seed, index])
    n_in = int(rng.integers(2, 9))
    in_signed = rng.random() < 0.7
    x_t = FixedType(int(rng.integers(3, 13)), int(rng.integers(0, 9)), bool(in_signed), "TRN", "WRAP")
    # about one network in four gets per-feature input types (a separate stream: the others stay as they were)
    side = np.random.default_rng([seed, index, 1])
    feature_types = ()
    if side.random() < 0.25:
        x_t = dataclasses.replace(x_t, rounding=side.choice(["TRN", "RND", "RND_CONV"]), overflow="SAT")
        feature_types = random_feature_types(x_t, n_in, side)
    input_type = x_t
    layers: list = []
    n = n_in
    if rng.random() < 0.35:
        s_t = FixedType(int(rng.integers(2, 9)), int(rng.integers(0, 7)), True)
        t_t = FixedType(int(rng.integers(4, 13)), int(rng.integers(0, 8)), True)
        # the shift is added at the product's binary point: its frac may not exceed it
        t_t = dataclasses.replace(t_t, frac=min(t_t.frac, x_t.frac + s_t.frac))
        out = _act(rng)
        layers.append(
            ScaleShift(
                "bn0",
                x_t,
                s_t,
                t_t,
                out,
                rng.integers(s_t.min_code, s_t.max_code + 1, n),
                rng.integers(t_t.min_code, t_t.max_code + 1, n),
            )
        )
        x_t = out
        if rng.random() < 0.7:
            r_t = dataclasses.replace(_act(rng, signed=False), signed=False)
            layers.append(ReLU("relu0", x_t, r_t, n))
            x_t = r_t
    depth = int(rng.integers(1, 4))
    for i in range(1, depth + 1):
        n_out = int(rng.integers(2, 9)) if i < depth else int(rng.integers(2, 6))
        wb = int(rng.choice([2, 2, 3, 4, 6, 8]))
        w_t = FixedType(wb, int(rng.integers(-1, wb + 3)), True)
        b_t = FixedType(int(rng.integers(2, 17)), 0, True)
        pf = x_t.frac + w_t.frac  # the bias is added at the product's binary point
        b_t = dataclasses.replace(b_t, frac=int(rng.integers(min(-2, pf), pf + 1)))
        w = rng.integers(w_t.min_code, w_t.max_code + 1, (n_out, n))
        if rng.random() < 0.2:
            w[rng.random(w.shape) < 0.4] = 0
        b = rng.integers(b_t.min_code, b_t.max_code + 1, n_out)
        acc = exact_accum_type(x_t, w, w_t, b, b_t)
        if rng.random() < 0.3:
            acc = dataclasses.replace(acc, width=max(2, acc.width - int(rng.integers(1, 7))))
        out = _act(rng)
        layers.append(Dense(f"fc{i}", x_t, w_t, b_t, acc, out, w, b))
        x_t, n = out, n_out
        if i < depth:
            r_t = dataclasses.replace(_act(rng, signed=False), signed=False)
            layers.append(ReLU(f"relu{i}", x_t, r_t, n))
            x_t = r_t
    if rng.random() < 0.25:
        layers.append(ArgMax("argmax", x_t, index_type(n), n))
    return QuantGraph(
        f"fz{index}",
        input_type,
        tuple(layers),
        tuple(f"c{i}" for i in range(layers[-1].n_out)),
        tuple(f"f{i}" for i in range(n_in)),
        np.zeros(n_in),
        np.ones(n_in),
        feature_types,
    )


def network_codes(graph: QuantGraph, seed: int, index: int, random: int) -> np.ndarray:
    from flow.check.corners import generate_corners
    from flow.ir.synthetic import random_codes

    corners = generate_corners(graph, seed=index, random=16, sweeps=3).codes
    rows = random_codes(graph, random, seed=seed * 1_000_003 + index)
    return np.concatenate([corners, rows]).astype(np.int64)


# --------------------------------------------------------------------------------- back ends


def check_qonnx_net(graph: QuantGraph, codes: np.ndarray, ref: np.ndarray) -> None:
    from flow.export.qonnx_model import build_qonnx
    from flow.export.qonnx_run import check_qonnx

    check_qonnx(build_qonnx(graph), graph, codes, ref)


def check_hls_net(graph: QuantGraph, codes: np.ndarray, work: Path) -> None:
    from flow.config.targets import get_target
    from flow.hls.csim import check_csim
    from flow.hls.project import build_project, hls_graph

    hgraph, _ = hls_graph(graph)
    ref = forward(hgraph, torch.from_numpy(codes)).numpy()
    project = build_project(hgraph, work, get_target("xcu250"), project_name=graph.name)
    check_csim(project, codes, ref)


def _hls_one(work: str) -> None:
    """``--hls-worker WORK``: check one network (``WORK/graph.json``, ``WORK/codes.npy``); writes
    ``WORK/result.json``: ``{"error": ..., "refused": ...}`` (both null: equal; ``refused``: the back
    end's UnsupportedTypeError). Run as its own process, so a crashing C-sim is a finding, not the end
    of the run."""
    from flow.errors import UnsupportedTypeError

    w = Path(work)
    graph = graph_from_dict(json.loads((w / "graph.json").read_text()))
    result = {"error": None, "refused": None}
    try:
        check_hls_net(graph, np.load(w / "codes.npy"), w / "project")
    except UnsupportedTypeError as e:  # a typed refusal of the graph's types, before any compile
        result["refused"] = str(e)
    except Exception as e:  # any other failure of a back end on a valid graph is a finding
        result["error"] = f"{type(e).__name__}: {e}"
    (w / "result.json").write_text(json.dumps(result))


def _hls_worker(args: tuple) -> tuple[int, str | None, str | None]:
    """(index, error or None, refusal reason or None) of one network's hls4ml check."""
    graph_json, codes, work, index = args
    w = Path(work)
    w.mkdir(parents=True, exist_ok=True)
    (w / "graph.json").write_text(graph_json)
    np.save(w / "codes.npy", codes)
    proc = subprocess.run([sys.executable, __file__, "--hls-worker", str(w)], capture_output=True, text=True)
    res = w / "result.json"
    refused = None
    if proc.returncode != 0 or not res.is_file():
        err = f"hls4ml check process died (exit {proc.returncode}): {(proc.stdout + proc.stderr).strip()[-600:]}"
    else:
        result = json.loads(res.read_text())
        err, refused = result["error"], result["refused"]
    shutil.rmtree(w, ignore_errors=True)
    return index, err, refused


def _tb(nets: list[dict], n_vec: int, flags: np.ndarray, out_path: Path) -> str:
    lines = [
        "`timescale 1ns / 1ps",
        "module fuzz_tb;",
        "    reg clk = 1'b0;",
        "    reg rst = 1'b0;",
        "    reg in_valid = 1'b0;",
    ]
    lines.append("    reg cap = 1'b0;")
    lines.append("    integer cycle = 0;")
    lines.append("    integer k = 0;")
    lines.append("    integer fout;")
    n_cycles = len(flags)
    lines.append(f"    reg flags [0:{n_cycles - 1}];")
    for j, net in enumerate(nets):
        ib, ob = net["in_bits"], net["out_bits"]
        lines += [
            f"    reg [{ib - 1}:0] mem{j} [0:{n_vec - 1}];",
            f"    reg [{ib - 1}:0] in{j} = {{{ib}{{1'b1}}}};",
            f"    wire [{ob - 1}:0] out{j};",
            f"    wire ov{j};",
            f"    {net['top']} dut{j} (.clk(clk), .rst(rst), .in_valid(in_valid), .in_data(in{j}),"
            f" .out_valid(ov{j}), .out_data(out{j}));",
        ]
    lines.append("    initial begin")
    lines.append(f'        fout = $fopen("{out_path}", "w");')
    lines.append(f'        $readmemb("{out_path.parent / "flags.txt"}", flags);')
    for j, net in enumerate(nets):
        lines.append(f'        $readmemh("{net["stim"]}", mem{j});')
    max_lat = max(net["latency"] for net in nets)
    lines += [
        "        in_valid = 1'b1;  // fill every valid pipeline, then a one-cycle reset with in_valid high",
        f"        repeat ({max_lat + 1}) begin #5 clk = 1'b1; #5 clk = 1'b0; end",
        "        rst = 1'b1;",
        "        #5 clk = 1'b1; #5 clk = 1'b0;",
        "        rst = 1'b0;",
        "        cap = 1'b1;",
        "        k = 0;",
        f"        for (cycle = 0; cycle < {n_cycles + max_lat + 4}; cycle = cycle + 1) begin",
        f"            in_valid = (cycle < {n_cycles}) ? flags[cycle] : 1'b0;",
    ]
    for j in range(len(nets)):
        lines.append(f"            in{j} = (cycle < {n_cycles} && flags[cycle]) ? mem{j}[k] : ~in{j};")
    lines += [
        "            #5 clk = 1'b1;",
        f"            if (cycle < {n_cycles} && flags[cycle]) k = k + 1;",
        "            #5 clk = 1'b0;",
        "        end",
        "        $fclose(fout);",
        "        $finish;",
        "    end",
    ]
    for j in range(len(nets)):
        lines.append(
            f'    always @(posedge clk) if (cap && ov{j} === 1\'b1) $fwrite(fout, "{j} %0d %h\\n", cycle, out{j});'
        )
    lines += ["endmodule", ""]
    return "\n".join(lines)


def check_rtl_batch(
    items: list[tuple[int, QuantGraph, np.ndarray, np.ndarray]], work: Path, seed: int
) -> dict[int, str]:
    """Simulate several networks in one Icarus run; returns {index: error} for the failing ones."""
    from flow.rtl.generate import build_design
    from flow.sim.check import valid_pattern
    from flow.sim.codec import pack_bytes

    work.mkdir(parents=True, exist_ok=True)
    errors: dict[int, str] = {}
    files: dict[str, str] = {}
    nets = []
    n_vec = max(len(c) for _, _, c, _ in items)
    for index, graph, codes, _ref in items:
        try:
            design = build_design(graph)
        except Exception as e:
            errors[index] = f"RTL generation failed: {type(e).__name__}: {e}"
            continue
        for rel in design.sources:
            if rel not in files:
                files[rel] = design.files[rel]
        # pad to the batch's vector count with repeats (a network's own rows only)
        pad = codes[np.arange(n_vec) % len(codes)]
        words = pack_bytes(to_port(graph, pad), port_width(graph))
        stim = work / f"{design.top}.hex"
        stim.write_text("".join(w.tobytes().hex() + "\n" for w in words))
        nets.append(
            {
                "index": index,
                "top": design.top,
                "in_bits": design.in_bits,
                "out_bits": design.out_bits,
                "latency": design.latency,
                "stim": stim,
                "graph": graph,
                "ref": forward(graph, torch.from_numpy(pad)).numpy(),
            }
        )
    if not nets:
        return errors
    flags = valid_pattern(n_vec, "gaps", seed)
    (work / "flags.txt").write_text("".join(f"{int(f)}\n" for f in flags))
    out = work / "out.txt"
    tb = work / "fuzz_tb.v"
    tb.write_text(_tb(nets, n_vec, flags, out))
    srcs = []
    for rel, text in files.items():
        (work / rel).write_text(text)
        srcs.append(str(work / rel))
    comp = subprocess.run(
        ["iverilog", "-g2012", "-o", str(work / "sim.vvp"), "-s", "fuzz_tb", *srcs, str(tb)],
        capture_output=True,
        text=True,
    )
    if comp.returncode != 0:
        if len(items) > 1:  # isolate the network(s) whose Verilog does not compile: one run each
            for k, item in enumerate(items):
                errors.update(check_rtl_batch([item], work / f"single{k}", seed))
            return errors
        msg = (comp.stdout + comp.stderr)[-800:]
        return {**errors, **{net["index"]: f"iverilog failed: {msg}" for net in nets}}
    run = subprocess.run(["vvp", "-n", str(work / "sim.vvp")], capture_output=True, text=True)
    if run.returncode != 0 or not out.is_file():
        return {**errors, **{net["index"]: f"vvp failed: {run.stdout[-400:]}{run.stderr[-400:]}" for net in nets}}
    per: dict[int, list[tuple[int, str]]] = {j: [] for j in range(len(nets))}
    for line in out.read_text().split("\n"):
        if line:
            j, cyc, word = line.split()
            per[int(j)].append((int(cyc), word))
    in_cycles = np.nonzero(flags)[0]
    from flow.sim.codec import unpack_hex

    for j, net in enumerate(nets):
        g = net["graph"]
        got_rows = per[j]
        if len(got_rows) != n_vec:
            errors[net["index"]] = f"RTL handshake: {n_vec} valid inputs but {len(got_rows)} valid outputs"
            continue
        lat = np.array([c for c, _ in got_rows]) - in_cycles
        if (lat != net["latency"]).any():
            errors[net["index"]] = f"RTL latency: observed {sorted(set(lat.tolist()))[:5]}, expected {net['latency']}"
            continue
        got = unpack_hex([w for _, w in got_rows], g.n_outputs, g.output_type.width, g.output_type.signed)
        bad = np.nonzero((got != net["ref"]).any(axis=1))[0]
        if len(bad):
            r = int(bad[0])
            errors[net["index"]] = (
                f"RTL differs on {len(bad)} of {n_vec} vectors; first vector {r % len(items[0][2])}: "
                f"expected {net['ref'][r].tolist()}, got {got[r].tolist()}"
            )
    return errors


# --------------------------------------------------------------------------------- driver


def save_reproducer(out: Path, seed: int, index: int, graph: QuantGraph, codes: np.ndarray, errs: dict) -> Path:
    d = out / f"net{index}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "graph.json").write_text(graph.to_json())
    np.save(d / "codes.npy", codes)
    np.save(d / "ref.npy", forward(graph, torch.from_numpy(codes)).numpy())
    (d / "error.txt").write_text("\n".join(f"{k}: {v}" for k, v in errs.items()) + "\n")
    (d / "command.txt").write_text(f"python bench/fuzz.py --seed {seed} --start {index} --networks 1\n")
    return d


def _save_all(a, nets: dict, failures: dict) -> None:
    for i, errs in failures.items():
        g, codes, _ = nets[i]
        save_reproducer(a.out, a.seed, i, g, codes, errs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="index of the first network")
    ap.add_argument("--batch", type=int, default=25, help="networks per Icarus compile and run")
    ap.add_argument("--random", type=int, default=48, help="uniform random rows per network besides the corners")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel hls4ml compiles")
    ap.add_argument("--no-hls", action="store_true", help="skip hls4ml (C-sim is the slow back end)")
    ap.add_argument("--hls-every", type=int, default=1, help="hls4ml on every K-th network only (default 1: all)")
    ap.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where reproducers go")
    ap.add_argument("--hls-worker", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.hls_worker:
        _hls_one(a.hls_worker)
        return 0

    t0 = time.perf_counter()
    indices = range(a.start, a.start + a.networks)
    nets: dict[int, tuple[QuantGraph, np.ndarray, np.ndarray]] = {}
    failures: dict[int, dict[str, str]] = {}
    refused: dict[int, str] = {}  # refused by the hls4ml back end (a typed refusal, not a failure)
    vectors = 0
    t_ref = time.perf_counter()
    for i in indices:
        g = random_network(a.seed, i)
        codes = network_codes(g, a.seed, i, a.random)
        nets[i] = (g, codes, forward(g, torch.from_numpy(codes)).numpy())
        vectors += len(codes)
    t_ref = time.perf_counter() - t_ref
    print(f"{len(nets)} networks, {vectors:,} vectors (corners + {a.random} random each), in {t_ref:.1f} s")

    t_q = time.perf_counter()
    for i, (g, codes, ref) in nets.items():
        try:
            check_qonnx_net(g, codes, ref)
        except Exception as e:
            failures.setdefault(i, {})["qonnx"] = f"{type(e).__name__}: {e}"
    t_q = time.perf_counter() - t_q
    print(f"QONNX: {sum('qonnx' in f for f in failures.values())} failing, {t_q:.1f} s")
    _save_all(a, nets, failures)

    t_r = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flow_fuzz_") as tmp:
        keys = list(nets)
        for b in range(0, len(keys), a.batch):
            chunk = [(i, *nets[i]) for i in keys[b : b + a.batch]]
            try:
                errs = check_rtl_batch(chunk, Path(tmp) / f"rtl{b}", a.seed + b)
            except Exception as e:
                errs = {i: f"RTL batch failed: {type(e).__name__}: {e}" for i, *_ in chunk}
                traceback.print_exc()
            for i, e in errs.items():
                failures.setdefault(i, {})["rtl"] = e
            _save_all(a, nets, failures)
        t_r = time.perf_counter() - t_r
        print(
            f"RTL (Icarus, {a.batch} networks per run): "
            f"{sum('rtl' in f for f in failures.values())} failing, {t_r:.1f} s"
        )

        t_h = time.perf_counter()
        if not a.no_hls:
            jobs = [
                (g.to_json(), codes, str(Path(tmp) / f"hls{i}"), i)
                for i, (g, codes, _) in nets.items()
                if (i - a.start) % a.hls_every == 0
            ]
            done = 0
            with ThreadPoolExecutor(max_workers=a.jobs) as pool:
                for i, err, why in pool.map(_hls_worker, jobs):
                    done += 1
                    if why:
                        refused[i] = why
                    if err:
                        failures.setdefault(i, {})["hls4ml"] = err
                        _save_all(a, nets, failures)
                    if done % 50 == 0:
                        print(f"  hls4ml {done}/{len(jobs)} ({time.perf_counter() - t_h:.0f} s)", flush=True)
        t_h = time.perf_counter() - t_h
        n_hls = 0 if a.no_hls else len(jobs)
        print(
            f"hls4ml C-sim on {n_hls} networks: {sum('hls4ml' in f for f in failures.values())} failing, "
            f"{len(refused)} refused by hls4ml, {t_h:.1f} s"
        )

    for i, why in sorted(refused.items()):
        print(f"network {i}: refused by hls4ml: {why}")

    for i, errs in sorted(failures.items()):
        g, codes, _ = nets[i]
        d = save_reproducer(a.out, a.seed, i, g, codes, errs)
        print(f"network {i}: " + "; ".join(f"{k}: {v.splitlines()[0][:200]}" for k, v in errs.items()) + f" -> {d}")
    wall = time.perf_counter() - t0
    backends = "reference, QONNX, RTL" + ("" if a.no_hls else f", hls4ml C-sim ({n_hls} of them)")
    print(
        f"fuzz: {len(nets)} networks, {vectors:,} vectors through {backends}: {len(failures)} with a mismatch"
        + (f", {len(refused)} refused by hls4ml" if refused else "")
        + f"; {wall:.0f} s wall"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
