"""Fixtures of the command-line tests."""

from tests.cli.helpers import cli  # noqa: F401 - the fixture
