"""hls4ml C simulation == integer reference, bit for bit (one compiled project for the session)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from flow.compare import to_values
from flow.errors import MismatchError, ToolError
from flow.hls.csim import check_csim, run_csim
from flow.hls.verify import kernel_calls
from flow.ir.graph import QuantGraph
from flow.ir.reference import forward


def test_csim_equals_reference_on_every_vector(project, codes, ref):
    got = check_csim(project, codes, ref)
    assert got.dtype == np.int64 and (got == ref).all()
    out_t = project.graph.output_type
    assert (ref == out_t.max_code).any() and (ref == out_t.min_code).any()  # saturating corners included


def test_threaded_driver_equals_hls4ml_predict(project, codes):
    x = to_values(codes[:300], project.graph.input_type)
    via_hls4ml = project.hls_model.predict(x)
    assert np.array_equal(
        run_csim(project, codes[:300], threads=3), (via_hls4ml * 2.0**project.graph.output_type.frac).astype(np.int64)
    )


def test_every_layer_survives_hls4ml_optimizers(project, graph):
    calls = kernel_calls((project.project_dir / "firmware" / "myproject.cpp").read_text())
    assert [c.name for c in calls] == [layer.name for layer in graph.layers]  # incl. the identity ScaleShift
    assert [c.kernel for c in calls][-1] == "dense"  # no softmax appended
    from hls4ml.model.flow import get_flow

    assert "remove_nop_batch_normalization" in get_flow("optimize").optimizers  # restored afterwards


def test_project_has_build_scripts_and_part(project):
    d = project.project_dir
    assert "xcu250-figd2104-2L-e" in (d / "project.tcl").read_text()
    assert (d / "build_prj.tcl").is_file()
    opts = (d / "build_opt.tcl").read_text()
    assert "synth      1" in opts and "cosim      0" in opts
    sh = (d / "build.sh").read_text()
    assert "vitis-run" in sh and "vitis_hls" in sh and (d / "build.sh").stat().st_mode & 0o111


def test_precisions_reported_per_layer(project):
    p = project.precisions
    assert p["x"] == {"result": "ap_fixed<10,4,AP_RND,AP_SAT>"}
    assert p["fc2"]["accum"] == "ap_fixed<11,3,AP_TRN,AP_WRAP>"
    assert p["fc2"]["weight"] == "ap_fixed<5,-1,AP_TRN,AP_WRAP>"
    assert p["bn_nop"] == {
        "scale": "ap_fixed<4,2,AP_TRN,AP_WRAP>",
        "bias": "ap_fixed<6,3,AP_TRN,AP_WRAP>",
        "result": "ap_fixed<6,4,AP_RND,AP_SAT>",
    }


def test_mismatch_names_vector_and_first_bad_layer(project, graph, codes):
    fc2 = graph.layer("fc2")
    w = fc2.weight.copy()
    w[0, 0] = w[0, 0] + 1 if w[0, 0] < fc2.weight_type.max_code else w[0, 0] - 1
    layers = tuple(replace(layer, weight=w) if layer is fc2 else layer for layer in graph.layers)
    other = QuantGraph(
        graph.name, graph.input_type, layers, graph.class_names, graph.feature_names, graph.input_mean, graph.input_std
    )
    other_ref = forward(other, torch.from_numpy(codes[:2000])).numpy()
    with pytest.raises(MismatchError, match=r"vector \d+.*first differing layer 'fc2'"):
        check_csim(replace(project, graph=other), codes[:2000], other_ref)


def test_uncompiled_project_is_a_tool_error(project, codes):
    with pytest.raises(ToolError, match="not compiled"):
        run_csim(replace(project, library=None), codes[:1])


def test_wrong_input_width_is_a_tool_error(project):
    from flow.hls.csim import run_csim_values

    with pytest.raises(ToolError, match=r"\[N, 16\]"):
        run_csim_values(project, np.zeros((2, 3)))
