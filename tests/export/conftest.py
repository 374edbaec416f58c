"""Fixtures of the export tests."""

import pytest
from qonnx_graphs import GRAPHS

from flow.ir.graph import QuantGraph


@pytest.fixture(params=sorted(GRAPHS))
def any_graph(request) -> QuantGraph:
    return GRAPHS[request.param]()
