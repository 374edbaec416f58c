"""``flow check BUILD_DIR`` on a jsc-tiny build: passes untouched, fails on one changed RTL parameter or
constant and on a one-LSB change in an hls4ml weight header; the build's mismatch counts are computed."""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest
import torch

from flow.artifacts import CORNER_CODES, QUANT_GRAPH, REF_OUTPUTS, TEST_CODES
from flow.check.corners import HIT, generate_corners
from flow.cli import main
from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.ir.graph import QuantGraph
from flow.ir.reference import forward
from flow.pipeline import BuildOptions, build_root, run_build
from flow.results import to_record

pytestmark = pytest.mark.slow
VECTORS = 1500


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    pytest.importorskip("hls4ml")
    out = tmp_path_factory.mktemp("build")
    spec, target = get_model("jsc-tiny"), get_target("xcu250")
    outcomes = run_build(spec, target, BuildOptions(vectors=VECTORS, until="sim"), out)
    return build_root(out, spec, target), {o.stage: to_record(o.results) for o in outcomes}


def _check(root, capsys, *extra) -> tuple[int, str]:
    argv = ["flow", "check", str(root), "--vectors", str(VECTORS), *extra]
    old = sys.argv
    sys.argv = argv
    try:
        main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def _copy(build, tmp_path):
    root, _ = build
    dest = tmp_path / root.name
    shutil.copytree(root, dest)
    return dest


def test_build_records_corner_checks_and_coverage(build):
    root, results = build
    ref = results["reference"]
    assert ref["corner_vectors"] > 0 and ref["qat_corner_mismatches"] == 0
    for stage, key in (("onnx", "qonnx_corner_vectors"), ("hls4ml", "corner_vectors"), ("sim", "corner_vectors")):
        assert results[stage][key] == ref["corner_vectors"], stage
    assert results["hls4ml"]["header_values"] == 117  # every weight, bias, scale and shift of jsc-tiny
    cov = {c["layer"]: c for c in results["sim"]["coverage"]}
    assert cov["fc1"]["hi"]["hit"] == cov["fc1"]["neurons"] == cov["fc1"]["lo"]["hit"]
    # bn1 and relu1 cannot saturate (their output types hold every value they can compute): proven
    assert cov["bn1"]["hi"]["possible"] == cov["relu1"]["hi"]["possible"] == 0


def test_corner_vectors_catch_sat_to_wrap_where_the_test_set_does_not(build):
    root, _ = build
    g = QuantGraph.load(root / "03_quantize" / QUANT_GRAPH)
    test = np.load(root / "04_reference" / TEST_CODES)
    corners = np.load(root / "04_reference" / CORNER_CODES)
    assert np.array_equal(corners, generate_corners(g, seed=0).codes)  # deterministic for the seed
    fc1 = g.layers[-1]
    t = fc1.out_type
    wrap = type(fc1)(**{**fc1.__dict__, "out_type": t.with_modes(t.rounding, "WRAP")})
    mutant = type(g)(**{**g.__dict__, "layers": (*g.layers[:-1], wrap)})
    run = lambda graph, x: forward(graph, torch.from_numpy(x)).numpy()  # noqa: E731
    assert np.array_equal(run(mutant, test), np.load(root / "04_reference" / REF_OUTPUTS))  # survives real data
    assert (run(mutant, corners) != run(g, corners)).any()  # caught by the corner vectors


def test_flow_check_passes_on_the_untouched_build(build, capsys):
    root, _ = build
    code, out = _check(root, capsys)
    assert code == 0, out
    assert "all 3 checks pass" in out and "corner vectors" in out


def test_flow_check_fails_on_sat_to_wrap_in_one_rtl_requantizer(build, tmp_path, capsys, verilator):
    root = _copy(build, tmp_path)
    path = root / "07_rtl" / "jsc_tiny_fc1.v"
    text = path.read_text()
    # The shift-add output stage of neuron 0 clamps (SAT) with hi0/lo0; drop the clamp (WRAP).
    sat = re.compile(r"(q0 = )hi0 \? [^:;]+ : lo0 \? [^:;]+ : (r0\[[^\]]+\]);")
    assert sat.search(text), "no saturating output stage for neuron 0"
    path.write_text(sat.sub(r"\1\2;", text, count=1))
    code, out = _check(root, capsys, "--only", "rtl")
    assert code == 1
    assert "[corner vectors]" in out and "'fc1'" in out and "expected" in out and "got" in out


def test_flow_check_fails_on_one_changed_rtl_constant(build, tmp_path, capsys, verilator):
    root = _copy(build, tmp_path)
    path = root / "07_rtl" / "jsc_tiny_fc1.v"
    text = path.read_text()
    # Neuron 0's output stage adds one constant (bias and rounding) above the dropped low bits (their
    # carry is a comparison): flip the lowest constant bit that survives the shift.
    m = re.search(r"m0_h = (\d+)'d(\d+) [+-]", text)
    assert m, "no constant found in neuron 0's output stage"
    flipped = (int(m.group(2)) ^ 1) % (1 << int(m.group(1)))
    path.write_text(text[: m.start(2)] + str(flipped) + text[m.end(2) :])
    code, out = _check(root, capsys, "--only", "rtl")
    assert code == 1 and "differs from the integer reference" in out and "'fc1'" in out


def test_flow_check_fails_on_one_lsb_in_an_hls4ml_weight_header(build, tmp_path, capsys):
    root = _copy(build, tmp_path)
    path = root / "06_hls4ml" / "project" / "firmware" / "weights" / "w4.h"
    text = path.read_text()
    m = re.search(r"=\s*\{\s*(-?\d+\.\d+)", text)
    g = QuantGraph.load(root / "03_quantize" / QUANT_GRAPH)
    lsb = 2.0 ** -g.layers[-1].weight_type.frac
    new = f"{float(m.group(1)) + lsb:.6f}"
    path.write_text(text[: m.start(1)] + new + text[m.end(1) :])
    code, out = _check(root, capsys, "--only", "hls4ml")
    assert code == 1 and "w4.h" in out and "index 0" in out, out


def test_every_reachable_target_is_hit_on_jsc_tiny(build):
    root, _ = build
    g = QuantGraph.load(root / "03_quantize" / QUANT_GRAPH)
    cs = generate_corners(g, seed=0)
    assert cs.count("not found") == 0
    assert {t.event for t in cs.targets if t.status == HIT and t.layer == "fc1"} == {"hi", "lo", "tie+", "tie-"}
