"""Fixtures of the pipeline tests."""

from tests.cli.helpers import cli  # noqa: F401 - the in-process CLI fixture
