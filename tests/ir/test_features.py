"""Per-feature input types (``flow/ir/features.py``): quantizing, the container, the port codes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from flow.errors import ConfigError
from flow.ir.features import (
    code_bounds,
    feature_types,
    from_port,
    port_width,
    quantize_features,
    shifts,
    snap,
    to_port,
)
from flow.ir.fixed import FixedType, quantize_float
from flow.ir.graph import QuantGraph
from flow.ir.reference import encode_inputs
from flow.ir.synthetic import random_codes, random_graph


@pytest.fixture(scope="module")
def graph() -> QuantGraph:
    return random_graph((16, 8, 5), seed=3, per_feature=True)


def test_each_feature_is_quantized_in_its_own_type_then_shifted_into_the_container(graph):
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((500, 16)) * 8)
    got = quantize_features(graph, x)
    for i, t in enumerate(graph.input_types):
        own = quantize_float(x[:, i], t)
        assert torch.equal(got[:, i], own << (graph.input_type.frac - t.frac))
    # and that is what the data boundary (encode_inputs) does
    assert torch.equal(encode_inputs(graph, x.numpy() * graph.input_std + graph.input_mean), got)


def test_a_graph_without_per_feature_types_is_unchanged():
    g = random_graph((16, 8, 5), seed=3)
    assert feature_types(g) == (g.input_type,) * 16 and not shifts(g).any()
    x = torch.linspace(-40, 40, 16 * 50, dtype=torch.float64).reshape(50, 16)
    assert torch.equal(quantize_features(g, x), quantize_float(x, g.input_type))
    codes = random_codes(g, 100)
    assert np.array_equal(to_port(g, codes), codes) and port_width(g) == g.input_type.width


def test_port_codes_round_trip_and_off_grid_codes_are_refused(graph):
    codes = random_codes(graph, 1000, seed=2)
    port = to_port(graph, codes)
    assert np.array_equal(from_port(graph, port), codes)
    for i, t in enumerate(graph.input_types):
        assert port[:, i].min() == t.min_code and port[:, i].max() == t.max_code  # rows 0/1 are the corners
    i = int(np.argmax(shifts(graph)))
    bad = codes.copy()
    bad[5, i] += 1  # not a multiple of 2**s_i
    with pytest.raises(ConfigError, match=f"row 5, feature {i}"):
        to_port(graph, bad)


def test_snap_gives_valid_codes(graph):
    rng = np.random.default_rng(4)
    t = graph.input_type
    raw = rng.integers(t.min_code, t.max_code + 1, (2000, 16))
    snapped = snap(graph, raw)
    lo, hi = code_bounds(graph)
    assert ((snapped >= lo) & (snapped <= hi)).all()
    assert np.array_equal(from_port(graph, to_port(graph, snapped)), snapped)
    assert np.array_equal(snap(graph, snapped), snapped)


def test_a_feature_type_that_does_not_fit_the_container_is_refused(graph):
    types = list(graph.input_types)
    finer = replace(types[0], width=types[0].width + 1, frac=graph.input_type.frac + 1)
    with pytest.raises(ConfigError, match="feature 0's type"):
        replace(graph, input_types=(finer, *types[1:]))
    wider = FixedType(graph.input_type.width + 1, graph.input_type.frac, True, "RND", "SAT")
    with pytest.raises(ConfigError, match="feature 3's type"):
        replace(graph, input_types=(*types[:3], wider, *types[4:]))
    with pytest.raises(ConfigError, match="15 per-feature types for 16"):
        replace(graph, input_types=tuple(types[:15]))


def test_per_feature_types_survive_the_graph_file(graph, tmp_path):
    graph.save(tmp_path / "g.json")
    back = QuantGraph.load(tmp_path / "g.json")
    assert back.input_types == graph.input_types and back.input_type == graph.input_type
    plain = random_graph((16, 8, 5), seed=3)
    assert "input_types" not in plain.to_json()  # files of uniform graphs are as before
