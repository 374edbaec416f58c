"""One compiled hls4ml project shared by the module (compiling takes ~5 s)."""

import numpy as np
import pytest
import torch

from flow.config.targets import get_target
from flow.ir.graph import QuantGraph
from flow.ir.reference import forward
from flow.ir.synthetic import corner_graph, random_codes


@pytest.fixture(scope="session")
def graph() -> QuantGraph:
    return corner_graph()


@pytest.fixture(scope="session")
def codes(graph) -> np.ndarray:
    return random_codes(graph, 20_000, seed=1)


@pytest.fixture(scope="session")
def ref(graph, codes) -> np.ndarray:
    return forward(graph, torch.from_numpy(codes)).numpy()


@pytest.fixture(scope="session")
def project(graph, tmp_path_factory):
    from flow.hls.project import build_project

    return build_project(graph, tmp_path_factory.mktemp("hls") / "prj", get_target("xcu250"))
