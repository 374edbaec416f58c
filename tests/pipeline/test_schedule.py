"""The build schedule: needs-ordered, a background stage overlapping the main thread, failures."""

import dataclasses
import io
import threading
import time

import pytest
from rich.console import Console
from rich.progress import Progress

import flow.pipeline as pipeline
from flow.config.targets import get_target
from flow.pipeline import STAGES, BuildContext, BuildOptions, StageOutcome, _Schedule, execution_order
from flow.results import StageResult


def _names(stages):
    return [s.name for s in stages]


def test_execution_order_is_topological_and_starts_synth_early():
    order = execution_order(STAGES)
    done: set[str] = set()
    for s in order:
        assert set(s.needs) <= done, f"{s.name} before its needs"
        done.add(s.name)
    # rtl feeds the background synth stage, so it runs right after quantize, ahead of the checks
    assert _names(order)[:4] == ["data", "train", "quantize", "rtl"]
    assert order[-1].name == "report"


def test_execution_order_without_a_background_stage_is_stages_order():
    until_sim = STAGES[: pipeline.stage_index("sim") + 1]
    assert _names(execution_order(until_sim)) == _names(until_sim)


@dataclasses.dataclass(frozen=True)
class _Result(StageResult):
    headline: str = "fake"


class _Fake:
    """run_stage stand-in: sleeps per stage, records start/end times and threads, can fail."""

    def __init__(self, delays: dict[str, float], fail: str | None = None):
        self.delays, self.fail = delays, fail
        self.spans: dict[str, tuple[float, float]] = {}
        self.threads: dict[str, str] = {}
        self.seen_upstream: dict[str, set[str]] = {}

    def __call__(self, ctx, stage, upstream):
        t0 = time.perf_counter()
        self.threads[stage.name] = threading.current_thread().name
        self.seen_upstream[stage.name] = set(upstream)
        time.sleep(self.delays.get(stage.name, 0.0))
        self.spans[stage.name] = (t0, time.perf_counter())
        if stage.name == self.fail:
            raise RuntimeError(f"{stage.name} failed")
        return StageOutcome(stage.name, "ran", 0.0, _Result()), f"hash-{stage.name}"


def _schedule(tmp_path, stages):
    console = Console(file=io.StringIO())
    ctx = BuildContext(None, get_target("xcu250"), BuildOptions(), tmp_path, console, Progress(console=console))
    return _Schedule(ctx, stages, len(stages) - 1), console


def _stages(*names, background=()):
    by_name = {s.name: s for s in STAGES}
    return tuple(dataclasses.replace(by_name[n], background=n in background) for n in names)


def test_background_stage_overlaps_the_main_thread(tmp_path, monkeypatch):
    fake = _Fake({"synth": 0.6, "sim": 0.6})
    monkeypatch.setattr(pipeline, "run_stage", fake)
    names = ("data", "train", "quantize", "reference", "rtl", "sim", "synth")
    sched, console = _schedule(tmp_path, _stages(*names, background=("synth",)))
    outcomes = sched.all()
    assert [o.stage for o in outcomes] == list(names)  # STAGES order, whatever finished first
    (s0, s1), (y0, y1) = fake.spans["sim"], fake.spans["synth"]
    assert y0 < s1 and s0 < y1, "sim and synth did not overlap"
    assert fake.threads["synth"] != fake.threads["sim"] == threading.current_thread().name
    assert fake.spans["rtl"][1] <= y0  # started only once its needs were done
    assert fake.seen_upstream["synth"] == {"data", "train", "quantize", "rtl"}
    printed = console.file.getvalue()
    assert all(f" {n} " in printed for n in names)


def test_a_failing_background_stage_raises_after_the_main_stage_ends(tmp_path, monkeypatch):
    fake = _Fake({"synth": 0.1, "sim": 0.5}, fail="synth")
    monkeypatch.setattr(pipeline, "run_stage", fake)
    sched, _ = _schedule(tmp_path, _stages("quantize", "rtl", "sim", "synth", "report", background=("synth",)))
    with pytest.raises(RuntimeError, match="synth failed"):
        sched.all()
    assert "sim" in fake.spans  # the running main stage finished
    assert "report" not in fake.spans  # nothing after the failure started


def test_a_failing_main_stage_waits_for_the_background_stage(tmp_path, monkeypatch):
    fake = _Fake({"synth": 0.5}, fail="sim")
    monkeypatch.setattr(pipeline, "run_stage", fake)
    sched, _ = _schedule(tmp_path, _stages("quantize", "rtl", "sim", "synth", background=("synth",)))
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="sim failed"):
        sched.all()
    assert "synth" in fake.spans and fake.spans["synth"][1] <= time.perf_counter()
    assert time.perf_counter() - t0 >= 0.45  # it waited: no stage is left writing after the build returns
