"""Sound incremental builds: a stage reruns exactly when something it can execute or read changed.

jsc-tiny is built up to the RTL simulation once (one epoch, a small dataset, 64 vectors), with the
code hashes computed over a copy of the ``flow`` package (``flow.sources.PACKAGE_ROOT`` points at
it), so a test can edit a template or a module of the copy and never touches the repository. The
code that runs is the real package; what is tested is which stages the edit makes rerun.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

import flow.sources as sources
from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.errors import FlowError
from flow.pipeline import (
    STAGE_NAMES,
    STAGES,
    BuildContext,
    BuildOptions,
    Stage,
    UndeclaredStageError,
    build_root,
    run_build,
    run_stage,
    stage_context,
)
from flow.results import ReferenceResult, ResultsError, SimResult, TrainResult

pytestmark = pytest.mark.slow

UNTIL = "sim"
BUILT = STAGE_NAMES[: STAGE_NAMES.index(UNTIL) + 1]


@pytest.fixture(scope="module")
def build(jets_npz, tmp_path_factory):
    pkg = tmp_path_factory.mktemp("pkg") / "flow"
    shutil.copytree(sources.PACKAGE_ROOT, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("build")
    spec = get_model("jsc-tiny")
    spec = replace(spec, train=replace(spec.train, epochs=1, qat_epochs=1))
    target = get_target("xcu250")
    options = BuildOptions(data=jets_npz, vectors=64, until=UNTIL, allow_small_test=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sources, "PACKAGE_ROOT", pkg)
        sources.direct_imports.cache_clear()
        first = run_build(spec, target, options, out)
        yield pkg, out, spec, target, options, first
    sources.direct_imports.cache_clear()


def _rerun(build, **changes) -> dict[str, str]:
    _, out, spec, target, options, _ = build
    sources.direct_imports.cache_clear()  # an edit may change what a module imports
    return {o.stage: o.status for o in run_build(spec, target, replace(options, **changes), out)}


def _edit(path, line: str) -> None:
    path.write_text(path.read_text() + line)


def _ran(statuses: dict[str, str]) -> set[str]:
    return {s for s, status in statuses.items() if status == "ran"}


def test_first_build_ran_every_stage(build):
    *_, first = build
    assert [(o.stage, o.status) for o in first] == [(s, "ran") for s in BUILT]
    sim = next(o for o in first if o.stage == "sim").results
    assert isinstance(sim, SimResult) and sim.mismatches == 0 and sim.vectors == 64


def test_unchanged_rerun_skips_everything(build):
    assert _ran(_rerun(build)) == set()


def test_editing_an_unrelated_file_reruns_nothing(build):
    pkg = build[0]
    _edit(pkg / "data" / "describe.py", "\n# an unrelated edit\n")
    docs = pkg.parent / "docs" / "rtl.md"  # beside the package, as in the repository
    docs.parent.mkdir(exist_ok=True)
    docs.write_text("edited\n")
    assert _ran(_rerun(build)) == set()


def test_editing_the_harness_template_reruns_rtl_and_sim(build):
    pkg = build[0]
    _edit(pkg / "rtl" / "templates" / "harness.v.j2", "\n{# an edit of the simulation harness #}\n")
    assert _ran(_rerun(build)) == {"rtl", "sim"}
    assert _ran(_rerun(build)) == set()  # and then it is up to date again


def test_editing_a_module_loaded_by_name_reruns_sim_only(build):
    """cocotb imports flow.sim.cocotb_bench from a string: it is in the sim stage's closure."""
    pkg = build[0]
    _edit(pkg / "sim" / "cocotb_bench.py", "\n# edited\n")
    assert _ran(_rerun(build)) == {"sim"}


def test_until_and_force(build):
    statuses = _rerun(build, until="reference")
    assert list(statuses) == list(STAGE_NAMES[:4]) and _ran(statuses) == set()
    assert _ran(_rerun(build, until="train", force=True)) == {"data", "train"}
    assert _ran(_rerun(build, until="train")) == set()


def test_results_read_back_typed(build):
    _, out, spec, target, options, _ = build
    root = build_root(out, spec, target)
    ctx = BuildContext(spec, target, options, root).for_stage(STAGES[STAGE_NAMES.index("report")])
    assert isinstance(ctx.results("sim"), SimResult) and isinstance(ctx.results("train"), TrainResult)
    record = json.loads((ctx.dir("sim") / "manifest.json").read_text())["results"]
    assert record["type"] == "SimResult" and record["vectors"] == ctx.results("sim").vectors
    with pytest.raises(ResultsError, match="has not run"):
        ctx.results("synth")


# -- needs are enforced -----------------------------------------------------------------------------


def _stage(name: str) -> Stage:
    return STAGES[STAGE_NAMES.index(name)]


def test_a_stage_opens_only_its_needs(tmp_path):
    ctx = stage_context(tmp_path, "m")
    ctx.dir("synth")
    ctx.dir("data")  # a context outside a build opens anything
    rtl = ctx.for_stage(_stage("rtl"))
    assert rtl.dir("rtl").is_dir() and rtl.dir("quantize").is_dir()
    with pytest.raises(UndeclaredStageError, match="'rtl' reads the folder of stage 'reference'"):
        rtl.dir("reference")
    with pytest.raises(UndeclaredStageError, match="results of stage 'train'"):
        rtl.results("train")
    assert issubclass(UndeclaredStageError, FlowError)


def test_an_undeclared_read_fails_the_stage(tmp_path, monkeypatch):
    """A stage whose code reads a folder its entry does not list fails, rather than hashing too little."""

    def sneaky(ctx):
        (ctx.dir("reference") / "ref_outputs.npy").exists()
        raise AssertionError("not reached")

    stage = Stage("rtl", "rtl", (), ("quantize",))
    monkeypatch.setattr(Stage, "function", lambda self: sneaky)
    ctx = BuildContext(get_model("jsc-tiny"), get_target("xcu250"), BuildOptions(), tmp_path)
    with pytest.raises(UndeclaredStageError, match="not in its needs \\(quantize\\)"):
        run_stage(ctx, stage, {"quantize": "h"})


def test_a_stage_must_return_its_result_class(tmp_path, monkeypatch):
    wrong = ReferenceResult(
        vectors=1,
        float_accuracy=1.0,
        int_accuracy=1.0,
        qat_vs_reference_mismatches=0,
        accuracy_drop=0.0,
        headline="",
    )
    monkeypatch.setattr(Stage, "function", lambda self: lambda ctx: wrong)
    ctx = BuildContext(get_model("jsc-tiny"), get_target("xcu250"), BuildOptions(), tmp_path)
    with pytest.raises(ResultsError, match="returned a ReferenceResult, not a DataResult"):
        run_stage(ctx, _stage("data"), {})
    monkeypatch.setattr(Stage, "function", lambda self: lambda ctx: {"headline": "a dict"})
    with pytest.raises(ResultsError, match="returned a dict"):
        run_stage(ctx, _stage("data"), {})
