"""Run an exploration: one float model, then one learned-bit-width build per beta, in parallel.

Every point is a normal build (:func:`flow.pipeline.run_build`) of the model with ``[quantization]
mode = "learned"`` and that beta, starting from one shared float checkpoint, in its own folder
``OUT/points/beta-<beta>/<model>/<target>/``; so every point is verified exactly as a build is, can be
opened in the design-review report, and an interrupted exploration resumes where it stopped (the stage
cache skips what is done). ``pareto.json``/``.md``/``.png`` are rewritten after every finished point.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import tempfile
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from flow.artifacts import FLOAT_MODEL, LEARNED_BITS, read_manifest, stage_folder_name
from flow.config.targets import Target
from flow.config.zoo import ModelSpec
from flow.explore.front import write_front
from flow.options import BuildOptions
from flow.pipeline import STAGE_NAMES, build_root, run_build

POINT_JSON = "point.json"
CHECKS = (
    ("reference", "qat_vs_reference_mismatches"),
    ("onnx", "qonnx_mismatches"),
    ("hls4ml", "mismatches"),
    ("sim", "mismatches"),
)


def point_name(beta: float, seed: int | None = None) -> str:
    return f"beta-{beta:.3g}" if seed is None else f"beta-{beta:.3g}-s{seed}"


def point_spec(spec: ModelSpec, beta: float, learned: dict | None = None, seed: int | None = None) -> ModelSpec:
    """``spec`` with ``mode = "learned"`` and this beta (over the spec's and the caller's learned keys), and
    this training seed if given."""
    keys = {**dict(spec.quant.learned), **(learned or {}), "beta": float(beta)}
    if seed is not None:
        keys["seed"] = int(seed)
    return replace(spec, quant=replace(spec.quant, mode_set="learned", learned=tuple(sorted(keys.items()))))


def _results(root: Path) -> dict[str, dict]:
    out = {}
    for i, name in enumerate(STAGE_NAMES):
        m = read_manifest(root / stage_folder_name(i + 1, name))
        if m and isinstance(m.get("results"), dict):
            out[name] = m["results"]
    return out


def read_point(root: Path) -> dict:
    """A point's record from its build folder's manifests (``verified`` only if every check ran and had
    0 mismatches, synthesis ran, and the design review, if it ran, passed)."""
    r = _results(root)
    checks = {f"{s}.{k}": r.get(s, {}).get(k) for s, k in CHECKS}
    review = r.get("report", {}).get("verdict")
    verified = all(v == 0 for v in checks.values()) and "synth" in r and review in (None, "pass")
    stats_path = root / stage_folder_name(STAGE_NAMES.index("quantize") + 1, "quantize") / LEARNED_BITS
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    synth, sim = r.get("synth", {}), r.get("sim", {})
    return {
        "accuracy": r.get("reference", {}).get("int_accuracy"),
        "lut": synth.get("lut"),
        "ff": synth.get("ff"),
        "dsp": synth.get("dsp"),
        "latency_cycles": sim.get("latency_cycles", synth.get("latency_cycles")),
        "verified": verified,
        "checks": checks,
        "review": review,
        "ebops": stats.get("ebops"),
        "lut_estimate": stats.get("lut_estimate"),
        "nonzero_weights": stats.get("nonzero_weights"),
        "weights": stats.get("weights"),
        "val_accuracy": (stats.get("selection") or {}).get("selected", {}).get("val_acc"),
        "seed": (stats.get("settings") or {}).get("seed"),
        "adder_levels": r.get("rtl", {}).get("adder_levels"),
        "clock_mhz": synth.get("clock_mhz"),
        # the rtl stage's own cost-model figure (its solved, scheduled blocks) when it ran, else ours
        "shiftadd_lut_estimate": r.get("rtl", {}).get("est_lut") or _shiftadd(root),
        "build": str(root),
    }


def _shiftadd(root: Path) -> int | None:
    """The shift-add cost model's LUT estimate of the point's graph (None if unavailable)."""
    from flow.artifacts import QUANT_GRAPH
    from flow.explore.estimate import shiftadd_lut
    from flow.ir.graph import QuantGraph

    path = root / stage_folder_name(STAGE_NAMES.index("quantize") + 1, "quantize") / QUANT_GRAPH
    try:
        est = shiftadd_lut(QuantGraph.load(path)) if path.is_file() else None
    except Exception:  # noqa: BLE001 - an estimate never fails a point
        return None
    return None if est is None else est["lut"]


def _build_point(spec: ModelSpec, target: Target, options: BuildOptions, folder: Path, name: str, beta) -> dict:
    """Build one point (in a worker process); never raises: a failure is a record with ``error``."""
    t0 = time.perf_counter()
    log = io.StringIO()
    root = build_root(folder, spec, target)
    console = Console(file=log, width=160)
    try:
        # Through synthesis first: every check of the point, and nothing after it can lose them.
        until = options.until or ("synth" if "synth" in STAGE_NAMES else None)
        outcomes = run_build(spec, target, replace(options, until=until), folder, console)
        ran = [o.stage for o in outcomes if o.status == "ran"]
        rec = {"name": name, "beta": beta, **read_point(root), "stages_ran": ran}
    except Exception as e:  # noqa: BLE001 - one failed point must not stop the exploration
        rec = {"name": name, "beta": beta, **read_point(root), "verified": False, "error": f"{type(e).__name__}: {e}"}
        (folder / "error.txt").write_text(traceback.format_exc())
    else:
        if options.until is None and until is not None:  # then the design review (report stage)
            try:
                outcomes = run_build(spec, target, options, folder, console)
                rec["stages_ran"] += [o.stage for o in outcomes if o.status == "ran" and o.stage not in ran]
            except Exception as e:  # noqa: BLE001 - the review's own failure is recorded, the checks stand
                rec["report_error"] = f"{type(e).__name__}: {e}"
                (folder / "error.txt").write_text(traceback.format_exc())
            review = read_point(root)
            rec["review"] = review["review"]
            rec["verified"] = rec["verified"] and review["verified"]
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    (folder / POINT_JSON).write_text(json.dumps(rec, indent=1))
    (folder / "build.log").write_text(log.getvalue())
    return rec


def build_point_remote(
    spec: ModelSpec, target: Target, options: BuildOptions, inputs: dict[str, bytes], name: str, beta
) -> dict:
    """One point on a cluster worker that shares no file system with the head: the float checkpoint (and
    a dataset file, if any) arrive as bytes, the point is built in a scratch folder, and the folder goes
    back as bytes (:func:`flow.studies.backends.pack_folder`) for the head to write where the local
    backend would have. Raises when the build failed, so the backend retries it."""
    from flow.studies.backends import pack_folder

    with tempfile.TemporaryDirectory(prefix="flow_point_") as tmp:
        tmp = Path(tmp)
        paths = {}
        for key, data in inputs.items():
            (tmp / key).write_bytes(data)
            paths[key] = tmp / key
        opts = replace(options, checkpoint=paths.get(FLOAT_MODEL), data=paths.get("data", options.data))
        folder = tmp / "point"
        rec = _build_point(spec, target, opts, folder, name, beta)
        if "error" in rec:
            raise RuntimeError(f"point {name}: {rec['error']}")
        return {"record": rec, "files": pack_folder(folder)}


def _explore_on_cluster(jobs_list, old, points, publish, console, options, target, backend, address, retries, jobs):
    """Run the points as tasks of ``backend`` (:func:`flow.studies.backends.run_tasks`); a point whose
    record is already in its folder is kept (an interrupted exploration resumes point by point)."""
    from flow.studies.backends import Task, make_backend, run_tasks, unpack_files

    todo = []
    for args in jobs_list:
        rec = old.get(args[4])
        if rec is not None and "error" not in rec:
            points.append(rec)
        else:
            todo.append(args)
    publish()
    inputs = {FLOAT_MODEL: Path(options.checkpoint).read_bytes()}
    if options.data is not None:
        inputs["data"] = Path(options.data).read_bytes()
    t0 = time.perf_counter()
    with make_backend(backend, address, workers=jobs) as be:
        shared = be.share(inputs)
        tasks = [Task(build_point_remote, (a[0], target, options, shared, a[4], a[5]), name=a[4]) for a in todo]

        def done(i: int, outcome) -> None:
            spec_i, folder, name, beta = todo[i][0], todo[i][3], todo[i][4], todo[i][5]
            if outcome.ok:
                rec = outcome.value["record"]
                unpack_files(folder, outcome.value["files"], last=[POINT_JSON])
                rec["build"] = str(build_root(folder, spec_i, target))  # where the head keeps it
                (folder / POINT_JSON).write_text(json.dumps(rec, indent=1))
            else:
                rec = {"name": name, "beta": beta, "verified": False, "error": outcome.error}
            points.append(rec)
            publish()
            status = "[green]verified[/]" if rec.get("verified") else f"[red]NOT verified[/] {rec.get('error', '')}"
            console.print(
                f"[{len(points)}/{len(jobs_list)}] {name:<14} LUT {rec.get('lut')}  {status} "
                f"(elapsed {time.perf_counter() - t0:.0f} s, on {outcome.node or '?'})"
            )

        run_tasks(tasks, be, retries=retries, on_done=done, total=len(tasks))
    publish()
    return points


def earlier_points(out: Path, names: set[str], spec: ModelSpec, target: Target, *, reread: bool) -> list[dict]:
    """Points that earlier explorations built into ``out`` and this one does not name (other betas or seeds):
    their ``point.json``, or with ``reread`` their build folders read again, so the front written covers
    every point in the folder."""
    recs = []
    for path in sorted((out / "points").glob(f"*/{POINT_JSON}")):
        name = path.parent.name
        if name in names:
            continue
        rec = json.loads(path.read_text())
        root = build_root(path.parent, spec, target)
        if reread and root.is_dir():
            rec = {**rec, **read_point(root)}
        recs.append(rec)
    return recs


def explore(
    spec: ModelSpec,
    target: Target,
    betas: list[float],
    out: Path,
    options: BuildOptions | None = None,
    *,
    jobs: int = 1,
    learned: dict | None = None,
    baseline: bool = False,
    references: list[dict] | None = None,
    console: Console | None = None,
    seeds: list[int] | None = None,
    build: bool = True,
    backend: str = "local",
    address: str | None = None,
    retries: int = 2,
) -> list[dict]:
    """Build every point (each beta, with each of ``seeds`` if given) and write the front into ``out``;
    returns the point records. ``build=False`` builds nothing: the records are read again from the point
    folders as they are (their stage manifests), and the front rewritten. The front also holds the points
    earlier explorations built into ``out`` under other betas or seeds (:func:`earlier_points`)."""
    console = console or Console()
    options = options or BuildOptions()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    references = list(references or [])
    meta = {"model": spec.name, "target": target.name, "betas": [float(b) for b in betas], "learned": learned or {}}
    if seeds:
        meta["seeds"] = [int(x) for x in seeds]
    # 1. one float model for every point
    base = out / "base"
    if options.checkpoint is None and build:
        console.print(f"[bold]explore[/] {spec.name}: float model (shared by every point)")
        run_build(spec, target, replace(options, until="train"), base, console)
        ckpt = build_root(base, spec, target) / stage_folder_name(2, "train") / FLOAT_MODEL
        options = replace(options, checkpoint=ckpt)
    todo = [
        (point_spec(spec, b, learned, seed), point_name(b, seed), float(b)) for b in betas for seed in (seeds or [None])
    ]
    jobs_list = [(s, target, options, out / "points" / name, name, b) for s, name, b in todo]
    if baseline:
        jobs_list.append((spec, target, options, out / "baseline", "uniform", None))
    points: list[dict] = []
    others = earlier_points(out, {args[4] for args in jobs_list}, spec, target, reread=not build)
    old = {}
    for args in jobs_list:
        p = args[3] / POINT_JSON
        if p.is_file():
            old[args[4]] = json.loads(p.read_text())

    def publish() -> None:
        pts = [p for p in points if p["name"] != "uniform"] + others
        refs = references + [
            {"name": "uniform (built)", "accuracy": p["accuracy"], "lut": p["lut"], "verified": p["verified"]}
            for p in points
            if p["name"] == "uniform" and p.get("lut")
        ]
        meta["finished"] = len(points)
        meta["total"] = len(jobs_list)
        write_front(out, meta, pts, refs)

    console.print(
        f"[bold]explore[/] {spec.name} -> {target.name}: {len(jobs_list)} points, {jobs} at a time "
        f"({len(old)} with earlier results; finished stages are skipped)"
        + (f"; {len(others)} more points in {out} from earlier runs go on the front too" if others else "")
    )
    t0 = time.perf_counter()
    if not build:
        for args in jobs_list:
            spec_i, folder, name, beta = args[0], args[3], args[4], args[5]
            root = build_root(folder, spec_i, target)
            if root.is_dir():
                rec = {**old.get(name, {}), "name": name, "beta": beta, **read_point(root)}
                if rec["verified"] and "error" in rec:  # raised after every check passed (kept as a note)
                    rec["report_error"] = rec.pop("error")
                points.append(rec)
        publish()
        console.print(f"[bold]explore[/]: {len(points)} of {len(jobs_list)} points read from their folders")
        return points
    if backend != "local" or address is not None:
        return _explore_on_cluster(
            jobs_list, old, points, publish, console, options, target, backend, address, retries, jobs
        )
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx) as pool:
        pending = {pool.submit(_build_point, *args): args[4] for args in jobs_list}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                pending.pop(fut)
                rec = fut.result()
                points.append(rec)
                publish()
                acc = "-" if rec.get("accuracy") is None else f"{100 * rec['accuracy']:.2f}%"
                status = "[green]verified[/]" if rec["verified"] else f"[red]NOT verified[/] {rec.get('error', '')}"
                console.print(
                    f"[{len(points)}/{len(jobs_list)}] {rec['name']:<14} acc {acc}  LUT {rec.get('lut')}  "
                    f"est {rec.get('lut_estimate')}  cycles {rec.get('latency_cycles')}  {status}  "
                    f"{rec['seconds']:.0f} s (elapsed {time.perf_counter() - t0:.0f} s)"
                )
    publish()
    return points
