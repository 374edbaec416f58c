"""Vivado out-of-context flow (``flow.synth.vivado``): the Tcl script, the report parsers and the
runner, without Vivado (a stand-in executable) and, where Vivado is installed, with it.

The reports in ``vivado_reports/`` follow Vivado 2023.2/2024.1's ``report_utilization`` (UltraScale+
post-route, 7-series post-synthesis) and ``report_timing_summary`` (met and failing) layouts.
"""

from __future__ import annotations

import math
import stat
from pathlib import Path

import pytest

from flow.errors import ConfigError, ToolError
from flow.synth.vivado import (
    find_vivado,
    parse_timing_summary,
    parse_utilization,
    run_vivado,
    vivado_script,
)

REPORTS = Path(__file__).parent / "vivado_reports"
PART = "xcu250-figd2104-2L-e"


def _report(name: str) -> str:
    return (REPORTS / name).read_text()


@pytest.fixture(scope="module")
def design():
    from flow.ir.synthetic import random_graph
    from flow.rtl.generate import build_design

    return build_design(random_graph((4, 3, 2), seed=2, name="viv-net"))


# ------------------------------------------------------------------------------- utilization


def test_utilization_ultrascale_routed():
    u = parse_utilization(_report("utilization_xcu250_routed.rpt"))
    assert (u["lut"], u["ff"], u["carry"], u["dsp"], u["bram"]) == (61873, 24987, 3118, 7, 0.5)
    assert (u["lut_logic"], u["lut_memory"], u["uram"], u["f7_mux"]) == (61841, 32, 0, 12)
    assert u["util_pct"]["lut"] == 3.58 and u["util_pct"]["ff"] == 0.72 and u["util_pct"]["carry"] == 1.44
    assert u["util_pct"]["lut_memory"] == 0.01  # "<0.01"
    assert u["available"]["lut"] == 1728000 and u["available"]["dsp"] == 12288 and u["available"]["bram"] == 2688
    assert u["sites"]["LUT as Shift Register"]["used"] == 32
    assert u["sites"]["LUT as Shift Register"]["available"] is None  # blank cell
    assert u["sites"]["RAMB36/FIFO"]["used"] == 0  # trailing '*' removed
    assert u["primitives"]["CARRY8"] == 3118 and u["primitives"]["DSP48E2"] == 7
    assert (u["design"], u["device"], u["state"]) == ("jsc_medium", PART, "Routed")
    assert u["tool"].startswith("Vivado v.2023.2")


def test_utilization_7series_synthesized():
    u = parse_utilization(_report("utilization_xc7z020_synth.rpt"))
    # "Slice LUTs*" (post-synthesis estimate) is read as lut; CARRY4 comes from the primitives table.
    assert (u["lut"], u["ff"], u["carry"], u["dsp"], u["bram"]) == (2231, 512, 341, 36, 0)
    assert u["util_pct"]["dsp"] == 16.36 and u["available"]["lut"] == 53200
    assert u["state"] == "Synthesized" and u["device"] == "xc7z020clg400-1"


def test_utilization_ignores_per_slr_tables():
    """Tables headed 'Site Type' without Used/Available columns (per-SLR) never give the totals."""
    slr = """
+----------------------------+-------+------+--------+--------+
|          Site Type         |  SLR0 | SLR1 | SLR0 % | SLR1 % |
+----------------------------+-------+------+--------+--------+
| CLB LUTs                   | 99999 |    0 |  14.31 |   0.00 |
| DSPs                       |   555 |    0 |   0.23 |   0.00 |
+----------------------------+-------+------+--------+--------+
"""
    u = parse_utilization(slr + _report("utilization_xcu250_routed.rpt"))
    assert (u["lut"], u["dsp"]) == (61873, 7)


def test_utilization_without_table_is_an_error():
    with pytest.raises(ToolError, match="Site Type"):
        parse_utilization("ERROR: [Common 17-53] User Exception: No open design.\n")


# ------------------------------------------------------------------------------------ timing


def test_timing_met():
    t = parse_timing_summary(_report("timing_summary_met.rpt"))
    assert (t["wns"], t["tns"], t["whs"], t["ths"], t["wpws"]) == (0.412, 0.0, 0.021, 0.0, 2.225)
    assert (t["tns_failing_endpoints"], t["tns_total_endpoints"], t["tpws_total_endpoints"]) == (0, 41512, 25019)
    assert t["failing_endpoints"] == 0 and t["met"] is True
    assert t["clocks"] == {"clk": 5.0} and t["period_ns"] == 5.0
    assert t["fmax_mhz"] == pytest.approx(1000.0 / (5.0 - 0.412))
    assert t["design"] == "jsc_medium" and t["state"] == "Routed"


def test_timing_failed():
    t = parse_timing_summary(_report("timing_summary_failed.rpt"), period_ns=99.0)
    assert (t["wns"], t["tns"], t["tns_failing_endpoints"]) == (-0.318, -4.871, 37)
    assert t["failing_endpoints"] == 37 and t["met"] is False
    # The period comes from the report's Clock Summary, not from the argument.
    assert t["period_ns"] == 3.333
    assert t["fmax_mhz"] == pytest.approx(1000.0 / (3.333 + 0.318))
    assert t["fmax_mhz"] < 300.0


def test_timing_without_clock_summary_uses_the_given_period():
    text = _report("timing_summary_met.rpt")
    text = text[: text.index("| Clock Summary")]
    t = parse_timing_summary(text, period_ns=4.0)
    assert t["clocks"] == {} and t["period_ns"] == 4.0
    assert t["fmax_mhz"] == pytest.approx(1000.0 / (4.0 - 0.412))
    assert parse_timing_summary(text)["fmax_mhz"] is None


def test_timing_no_paths():
    """No constrained paths: Vivado prints inf slacks and NA pulse widths; no Fmax."""
    text = _report("timing_summary_met.rpt")
    row = next(ln for ln in text.splitlines() if ln.strip().startswith("0.412"))
    cells = ["inf", "0.000", "0", "0", "inf", "0.000", "0", "0", "NA", "NA", "NA", "NA"]
    text = text.replace(row, "    " + "  ".join(f"{c:>10}" for c in cells), 1)
    t = parse_timing_summary(text)
    assert math.isinf(t["wns"]) and t["wpws"] is None and t["fmax_mhz"] is None
    assert t["failing_endpoints"] == 0


def test_timing_without_summary_is_an_error():
    with pytest.raises(ToolError, match="Design Timing Summary"):
        parse_timing_summary(_report("utilization_xcu250_routed.rpt"))


# ------------------------------------------------------------------------------------ script


def test_script_part_period_and_steps(design):
    s = vivado_script(design, PART, 200.0)
    assert "create_clock -period 5.000 -name clk [get_ports clk]" in s
    assert f"synth_design -top {{{design.top}}} -part {PART} -mode out_of_context" in s
    steps = ["read_verilog", "read_xdc", "synth_design", "opt_design", "place_design", "route_design"]
    positions = [s.index(step) for step in steps]
    assert positions == sorted(positions)
    assert s.index("route_design") < s.index("report_utilization -file [file join $report_dir utilization.rpt]")
    assert "report_timing_summary" in s and "-file [file join $report_dir timing_summary.rpt]" in s
    reads = [ln for ln in s.splitlines() if ln.startswith("read_verilog")]
    assert reads == [f"read_verilog [file join $rtl_dir {{{src}}}]" for src in design.sources]
    assert "create_clock -period 3.333 " in vivado_script(design, "xc7z020clg400-1", 300.0)
    assert "-part xc7z020clg400-1 " in vivado_script(design, "xc7z020clg400-1", 100.0)
    assert "set_input_delay" not in vivado_script(design, PART, 200.0, io_delay_ns=None)
    assert vivado_script(design, PART, 200.0) == s  # deterministic


@pytest.mark.parametrize("bad", [dict(clock_mhz=0.0), dict(clock_mhz=float("nan")), dict(part="xcu250 ; exit")])
def test_script_refuses_bad_arguments(design, bad):
    args = {"part": PART, "clock_mhz": 200.0, **bad}
    with pytest.raises(ConfigError):
        vivado_script(design, args["part"], args["clock_mhz"])


def test_script_is_valid_tcl(design, tmp_path):
    """Source the script in a Tcl interpreter with Vivado's commands stubbed: the calls and the XDC."""
    tkinter = pytest.importorskip("tkinter", reason="Python's tkinter (Tcl) is not available")
    try:
        tcl = tkinter.Tcl()
    except tkinter.TclError as exc:  # pragma: no cover
        pytest.skip(f"no Tcl interpreter: {exc}")
    script = tmp_path / "run.tcl"
    script.write_text(vivado_script(design, PART, 250.0, threads=2, checkpoint=True))
    for cmd in [
        "set_param",
        "read_verilog",
        "read_xdc",
        "synth_design",
        "opt_design",
        "place_design",
        "route_design",
        "report_utilization",
        "report_timing_summary",
        "write_checkpoint",
    ]:
        tcl.eval(f"proc {cmd} args {{ lappend ::calls [list {cmd} {{*}}$args] }}")
    tcl.eval("set ::calls {}")
    tcl.eval(f"source {{{script}}}")
    calls = [tcl.splitlist(c) for c in tcl.splitlist(tcl.eval("set ::calls"))]
    names = [c[0] for c in calls]
    n_src = len(design.sources)
    assert names == (
        ["set_param"]
        + ["read_verilog"] * n_src
        + ["read_xdc", "synth_design", "report_utilization", "opt_design", "place_design", "route_design"]
        + ["report_utilization", "report_timing_summary", "write_checkpoint"]
    )
    assert [Path(c[1]) for c in calls[1 : 1 + n_src]] == [tmp_path / "rtl" / s for s in design.sources]
    assert calls[1 + n_src + 1][1:] == ("-top", design.top, "-part", PART, "-mode", "out_of_context")
    xdc = (tmp_path / "reports" / "clocks.xdc").read_text().splitlines()
    assert xdc[0] == "create_clock -period 4.000 -name clk [get_ports clk]"
    assert xdc[1] == 'set_input_delay -clock clk 0.000 [get_ports -filter {DIRECTION == IN && NAME != "clk"}]'
    assert xdc[2] == "set_output_delay -clock clk 0.000 [get_ports -filter {DIRECTION == OUT}]"
    assert Path(calls[-2][-1]) == tmp_path / "reports" / "timing_summary.rpt"


# ------------------------------------------------------------------------------------ runner


def test_run_without_vivado(design, tmp_path, monkeypatch):
    monkeypatch.delenv("FLOW_VIVADO", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_vivado() is None
    r = run_vivado(design, PART, 200.0, tmp_path / "work")
    assert r.status == "not-found" and not r.found and "vivado" in r.message
    assert not (tmp_path / "work").exists()
    assert r.to_dict()["status"] == "not-found"


FAKE_VIVADO = """#!/bin/sh
# Stand-in for vivado: checks the command line and the written sources, then "writes" the reports.
src=""
while [ $# -gt 0 ]; do
    case "$1" in
        -source) src="$2"; shift ;;
    esac
    shift
done
here=$(dirname "$src")
grep -q "synth_design -top {{{top}}} -part {part} -mode out_of_context" "$src" || exit 3
test -f "$here/rtl/{top}.v" || exit 4
echo "Vivado stand-in" > "$here/vivado.log"
{body}
"""


def _fake(tmp_path: Path, top: str, body: str) -> Path:
    exe = tmp_path / "bin" / "vivado"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(FAKE_VIVADO.format(top=top, part=PART, body=body))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_run_with_stand_in_vivado(design, tmp_path, monkeypatch):
    from flow.rtl.axis import axis_top_name

    reports = (
        'mkdir -p "$here/reports"\n'
        f'cp {REPORTS / "utilization_xcu250_routed.rpt"} "$here/reports/utilization.rpt"\n'
        f'cp {REPORTS / "timing_summary_met.rpt"} "$here/reports/timing_summary.rpt"\n'
    )
    monkeypatch.setenv("FLOW_VIVADO", str(_fake(tmp_path, design.top, reports)))
    r = run_vivado(design, PART, 200.0, tmp_path / "work")
    assert r.status == "ok" and r.found and r.top == design.top
    assert (r.utilization["lut"], r.utilization["dsp"], r.timing["wns"]) == (61873, 7, 0.412)
    assert r.timing["fmax_mhz"] == pytest.approx(1000.0 / (5.0 - 0.412))
    assert r.utilization_synth == {} and r.tool.startswith("Vivado v.2023.2")
    assert sorted(p.name for p in (tmp_path / "work" / "rtl").iterdir()) == sorted(design.sources)

    # The AXI4-Stream wrapper as top: its file is written and it is the synthesized top.
    top = axis_top_name(design)
    monkeypatch.setenv("FLOW_VIVADO", str(_fake(tmp_path, top, reports)))
    r = run_vivado(design, PART, 200.0, tmp_path / "work_axis", axis=True)
    assert r.status == "ok" and r.top == top
    assert (tmp_path / "work_axis" / "rtl" / f"{top}.v").is_file()


def test_run_vivado_failure(design, tmp_path, monkeypatch):
    body = 'echo "ERROR: [Synth 8-439] module not found" >> "$here/vivado.log"\nexit 1\n'
    monkeypatch.setenv("FLOW_VIVADO", str(_fake(tmp_path, design.top, body)))
    with pytest.raises(ToolError, match="Synth 8-439"):
        run_vivado(design, PART, 200.0, tmp_path / "work")
    # Exit 0 but no reports is a failure too.
    monkeypatch.setenv("FLOW_VIVADO", str(_fake(tmp_path, design.top, "exit 0\n")))
    with pytest.raises(ToolError, match="no utilization.rpt"):
        run_vivado(design, PART, 200.0, tmp_path / "work")


@pytest.mark.slow
@pytest.mark.skipif(find_vivado() is None, reason="vivado not on PATH (optional tool)")
def test_real_vivado(design, tmp_path):
    r = run_vivado(design, PART, 200.0, tmp_path / "vivado", threads=2)
    assert r.status == "ok"
    assert r.utilization["lut"] > 0 and r.utilization["ff"] > 0
    assert r.timing["fmax_mhz"] is not None and r.timing["period_ns"] == pytest.approx(5.0)
