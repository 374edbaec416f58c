"""Whole networks in cocotb + Verilator against the integer reference, bit for bit.

Small random graphs (16-8-5, with and without ScaleShift) whose activations saturate a lot, fed
with corner inputs (all-min, all-max) and random codes through a valid pattern with gaps and
bursts; the per-cycle cocotb driver on the same build; and the proof that the check has teeth:
one weight constant changed in the generated Verilog makes it fail, naming the layer.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from flow.errors import MismatchError
from flow.ir.reference import forward
from flow.ir.synthetic import random_codes, random_graph
from flow.rtl.generate import build_design
from flow.sim.simulate import simulate

N = 600


@pytest.fixture(scope="module")
def net():
    return random_graph((16, 8, 5), seed=11, name="net-a")


@pytest.mark.parametrize(
    ("scale_shift", "arithmetic"),
    [(False, "shiftadd"), (True, "shiftadd"), (True, "dsp")],
    ids=["plain", "scaleshift", "scaleshift-dsp"],
)
def test_network_matches_reference(scale_shift, arithmetic, verilator, tmp_path):
    g = random_graph((16, 8, 5), seed=11, scale_shift=scale_shift, name="net-a")
    codes = random_codes(g, N, seed=5)
    expected = forward(g, torch.from_numpy(codes)).numpy()
    t = g.output_type
    # The data really exercise saturation at both ends of the output range.
    assert (expected == t.max_code).any() and (expected == t.min_code).any()
    design = build_design(g, arithmetic=arithmetic)
    r = simulate(g, codes, expected=expected, design=design, work_dir=tmp_path)
    assert r.mismatches == 0 and r.vectors == N
    assert r.latency_cycles == design.latency and r.ii == 1
    assert r.gaps > 0 and r.cycles > N
    assert np.array_equal(r.outputs, expected)


def test_vectors_limit_and_burst(net, verilator, tmp_path):
    codes = random_codes(net, 200, seed=1)
    r = simulate(net, codes, vectors=50, pattern="burst", work_dir=tmp_path)
    assert r.vectors == 50 and r.cycles == 50 and r.gaps == 0 and r.ii == 1


def test_per_cycle_cocotb_driver(net, verilator, tmp_path):
    codes = random_codes(net, 80, seed=2)
    r = simulate(net, codes, mode="drive", work_dir=tmp_path)
    assert r.mismatches == 0 and r.mode == "drive" and r.ii == 1
    assert r.latency_cycles == build_design(net).latency


@pytest.mark.parametrize("arithmetic", ["shiftadd", "dsp"])
def test_changed_weight_constant_fails_and_names_the_layer(net, arithmetic, verilator, tmp_path):
    design = build_design(net, arithmetic=arithmetic)
    files = dict(design.files)
    path = "net_a_fc2.v"
    text = files[path]
    if arithmetic == "dsp":  # change the first multiplier constant of neuron 0 by one
        m = re.search(r"(s0_n0_g0 <= .*?\* \d+'s?d)(\d+)", text)
    else:  # turn the first shift-add adder into a subtractor
        m = re.search(r"wire \[\d+:0\] n\d+(?:_h)? = \S+ (\+) ", text)
    assert m, "no weight constant found"
    new = str(int(m.group(2)) + 1) if arithmetic == "dsp" else "-"
    group = 2 if arithmetic == "dsp" else 1
    files[path] = text[: m.start(group)] + new + text[m.end(group) :]
    codes = random_codes(net, 300, seed=3)
    with pytest.raises(MismatchError) as info:
        simulate(net, codes, design=design, files=files, work_dir=tmp_path)
    msg = str(info.value)
    assert "vector" in msg and "expected" in msg and "got" in msg
    assert "'fc2'" in msg, msg


def test_wrong_expected_values_are_reported(net, verilator, tmp_path):
    codes = random_codes(net, 40, seed=4)
    expected = forward(net, torch.from_numpy(codes)).numpy()
    expected[7, 2] += 1
    with pytest.raises(MismatchError, match=r"vector 7, output 2"):
        simulate(net, codes, expected=expected, work_dir=tmp_path, localize=False)
