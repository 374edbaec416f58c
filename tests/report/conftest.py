"""Fixtures of the report tests."""

from __future__ import annotations

import pytest
from report_fakes import FakeBuild


@pytest.fixture
def fake_build(tmp_path) -> FakeBuild:
    return FakeBuild(tmp_path / "build" / "jsc-tiny" / "xcu250")
