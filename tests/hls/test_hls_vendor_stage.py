"""Vendor-tool handling (without the tools) and the hls4ml stage wired to the session project."""

import numpy as np
import pytest

from flow.config.targets import get_target
from flow.errors import MismatchError, ToolError
from flow.hls import vendor
from flow.pipeline import stage_context

CSYNTH = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <UserAssignments><TargetClockPeriod>5.00</TargetClockPeriod></UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><EstimatedClockPeriod>4.112</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <Best-caseLatency>9</Best-caseLatency><Worst-caseLatency>9</Worst-caseLatency>
      <Interval-min>1</Interval-min><Interval-max>1</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>0</BRAM_18K><DSP48E>12</DSP48E><FF>3101</FF><LUT>25321</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>5376</BRAM_18K><DSP48E>12288</DSP48E><FF>3456000</FF><LUT>1728000</LUT>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""


def test_no_tool_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert vendor.find_tool("Vitis") is None and vendor.find_tool("Vivado") is None


def test_parse_csynth_report(tmp_path):
    assert vendor.parse_csynth(tmp_path, "myproject") is None
    d = tmp_path / "myproject_prj" / "solution1" / "syn" / "report"
    d.mkdir(parents=True)
    (d / "myproject_csynth.xml").write_text(CSYNTH)
    r = vendor.parse_csynth(tmp_path, "myproject")
    assert r["clock_target_ns"] == 5 and r["clock_estimated_ns"] == 4.112
    assert r["latency_cycles"] == [9, 9] and r["interval_cycles"] == [1, 1]
    assert r["resources"] == {"BRAM_18K": 0, "DSP": 12, "FF": 3101, "LUT": 25321, "URAM": 0}
    assert r["available"]["LUT"] == 1728000


def test_parse_vendor_csim_maps_printed_values_to_codes(tmp_path, graph):
    assert vendor.parse_vendor_csim(tmp_path, graph.output_type) is None
    (tmp_path / "tb_data").mkdir()
    (tmp_path / "tb_data" / "csim_results.log").write_text("1.5 -0.015625 511.984 \n-512 0 0\n")
    codes = vendor.parse_vendor_csim(tmp_path, graph.output_type)  # frac 6
    assert codes.tolist() == [[96, -1, 32767], [-32768, 0, 0]]


def test_run_build_reports_failure_and_success(tmp_path):
    (tmp_path / "build.sh").write_text("echo compiling; echo 'ERROR: [HLS 200-70] bad' >&2; exit 3\n")
    with pytest.raises(ToolError, match=r"(?s)exit 3.*ERROR: \[HLS 200-70\]"):
        vendor.run_build(tmp_path)
    (tmp_path / "build.sh").write_text("echo fine\n")
    assert "fine" in vendor.run_build(tmp_path).read_text()


def test_unknown_backend_is_a_config_error(tmp_path, graph):
    from flow.errors import ConfigError
    from flow.hls.project import convert

    with pytest.raises(ConfigError, match="Vitis, Vivado"):
        convert(graph, tmp_path, get_target("xcu250"), backend="Quartus")


def test_testbench_files_are_exact(project, codes, ref):
    from flow.hls.project import write_testbench

    write_testbench(project, codes[:5], ref[:5])
    rows = (project.project_dir / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    got = np.array([[float(v) for v in r.split()] for r in rows]) * 2.0**project.graph.input_type.frac
    assert np.array_equal(got, codes[:5])


@pytest.fixture
def ctx(tmp_path, graph, codes, ref, project, monkeypatch):
    import flow.stages.hls4ml as stage

    c = stage_context(tmp_path, "mixed-model", vectors=5000)
    graph.save(c.dir("quantize") / "quant_graph.json")
    np.save(c.dir("reference") / "test_codes.npy", codes)
    np.save(c.dir("reference") / "ref_outputs.npy", ref)
    np.save(c.dir("reference") / "test_labels.npy", np.argmax(ref, axis=1))
    monkeypatch.setattr(stage, "build_project", lambda *a, **k: project)  # reuse the compiled project
    monkeypatch.setenv("PATH", "")  # no vendor tool
    return c


def test_stage_results(ctx):
    import json

    from flow.results import to_record
    from flow.stages.hls4ml import run

    r = run(ctx)
    assert r.vectors == 5000 and r.mismatches == 0 and r.accuracy == 1.0
    assert r.vendor == "not found" and r.part == "xcu250-figd2104-2L-e"
    assert r.precisions["fc2"]["accum"] == "ap_fixed<11,3,AP_TRN,AP_WRAP>"
    json.dumps(to_record(r))


def test_stage_fails_on_a_wrong_reference(ctx):
    from flow.stages.hls4ml import run

    ref = np.load(ctx.dir("reference") / "ref_outputs.npy")
    ref[123, 2] += 1
    np.save(ctx.dir("reference") / "ref_outputs.npy", ref)
    with pytest.raises(MismatchError, match="vector 123"):
        run(ctx)


def test_vendor_csim_found_in_the_tool_build_folder(tmp_path, graph):
    d = tmp_path / "myproject_prj" / "solution1" / "csim" / "build" / "tb_data"
    d.mkdir(parents=True)
    (d / "csim_results.log").write_text("0.25 \n")
    assert vendor.parse_vendor_csim(tmp_path, graph.output_type).tolist() == [[16]]


def test_hls4ml_would_delete_an_identity_scaleshift_without_the_guard(graph, tmp_path):
    """Canary: hls4ml's remove_nop_batch_normalization is why flow switches that pass off."""
    import hls4ml

    from flow.hls.project import convert, hls_config
    from flow.hls.torch_model import to_torch

    module = to_torch(graph)
    cfg = hls_config(graph, module, "Vitis")
    convert_torch = hls4ml.converters.convert_from_pytorch_model
    bare = convert_torch(
        module, output_dir=str(tmp_path / "bare"), backend="Vitis", hls_config=cfg, io_type="io_parallel"
    )
    assert "bn_nop" not in [layer.name for layer in bare.get_layers()]
    guarded = convert(graph, tmp_path / "guarded", get_target("xcu250")).hls_model
    assert "bn_nop" in [layer.name for layer in guarded.get_layers()]
