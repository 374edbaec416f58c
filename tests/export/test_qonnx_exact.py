"""QONNX export executed by qonnx == integer reference, exactly."""

import numpy as np
import onnx
import pytest
import torch
from qonnx_graphs import GRAPHS, corner_graph

from flow.compare import to_codes
from flow.errors import ConfigError, MismatchError
from flow.export.qonnx_model import QONNX_DOMAIN, build_qonnx, compute_type
from flow.export.qonnx_run import check_qonnx, execute, run_qonnx, with_batch
from flow.ir.features import feature_types, quantize_features
from flow.ir.fixed import FixedType
from flow.ir.graph import Dense, QuantGraph, exact_accum_type
from flow.ir.reference import forward
from flow.ir.synthetic import random_codes, random_graph


def _ref(graph, codes):
    return forward(graph, torch.from_numpy(codes)).numpy()


def test_exact_on_codes_incl_saturating_corners(any_graph, tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(build_qonnx(any_graph), path)
    codes = random_codes(any_graph, 6000, seed=7)  # rows 0 and 1: every input at min / at max
    got = check_qonnx(path, any_graph, codes, _ref(any_graph, codes), batch=2500)  # 3 chunks, last one padded
    assert got.dtype == np.int64 and got.shape == (6000, any_graph.n_outputs)


def test_exact_on_real_inputs_incl_ties_and_overflow(any_graph):
    """Graph input is float64: off-grid reals quantize like flow.ir.fixed.quantize_float (RND: ties up)."""
    t = any_graph.input_type
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, any_graph.n_inputs)) * 2 * t.max_value
    fr = np.asarray([ft.frac for ft in feature_types(any_graph)], dtype=np.float64)  # each feature's own grid
    x[:500] = (np.floor(x[:500] * 2**fr) + 0.5) * 2.0**-fr  # exact half-LSB ties, both signs
    x[500:510] = 1e6
    x[510:520] = -1e6
    got = to_codes(execute(build_qonnx(any_graph), x), any_graph.output_type, "qonnx")
    assert np.array_equal(got, _ref(any_graph, quantize_features(any_graph, torch.from_numpy(x)).numpy()))


def _identity_graph(t: FixedType) -> QuantGraph:
    """One Dense with weight 1 and bias 0: output codes are the input codes (re-typed to 16 bits)."""
    w_t, b_t = FixedType(2, 0, True), FixedType(4, 0, True)
    w, b = np.ones((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64)
    acc = exact_accum_type(t, w, w_t, b, b_t)
    out = FixedType(16, t.frac, True, "TRN", "SAT")
    layer = Dense("fc", t, w_t, b_t, acc, out, w, b)
    return QuantGraph("id", t, (layer,), ("y",), ("x",), np.zeros(1), np.ones(1))


def test_rnd_is_half_toward_plus_infinity_not_a_qonnx_mode():
    from qonnx.custom_op.general.quant import resolve_rounding_mode

    g = _identity_graph(FixedType(8, 0, True, "RND", "SAT"))
    x = np.array([[-2.5], [-1.5], [-0.5], [0.5], [1.5], [2.5], [-128.6], [127.5]])
    assert run_qonnx_values(g, x).tolist() == [-2, -1, 0, 1, 2, 3, -128, 127]
    assert resolve_rounding_mode("HALF_UP")(np.array([-2.5])).tolist() == [-3.0]  # away from zero
    assert resolve_rounding_mode("ROUND")(np.array([2.5])).tolist() == [2.0]  # half to even


def test_trn_is_floor_and_wrap_wraps():
    g = _identity_graph(FixedType(4, 1, True, "TRN", "WRAP"))  # codes -8..7, lsb 1/2
    x = np.array([[-0.25], [0.75], [3.5], [4.0], [4.25], [-4.5], [-5.0]])
    # floor(2x) = -1, 1, 7, 8 -> -8, 8 -> -8, -9 -> 7, -10 -> 6
    assert run_qonnx_values(g, x).tolist() == [-1, 1, 7, -8, -8, 7, 6]


def run_qonnx_values(g, x):
    return to_codes(execute(build_qonnx(g), x), g.output_type, "qonnx")[:, 0]


def test_model_structure_is_qonnx():
    from qonnx.core.modelwrapper import ModelWrapper

    g = corner_graph()
    m = build_qonnx(g)
    onnx.checker.check_model(m)
    assert {o.domain: o.version for o in m.opset_import} == {"": 13, QONNX_DOMAIN: 1}
    quants = [n for n in m.graph.node if n.op_type == "Quant"]
    assert all(n.domain == QONNX_DOMAIN for n in quants)
    n_params = sum(2 for layer in g.layers if layer.kind in ("dense", "scaleshift"))
    assert len(quants) == 1 + n_params + len(g.layers)  # input, weights+biases/scales+shifts, every output
    assert [o.name for o in m.graph.output] == ["fc3_out"]
    assert ModelWrapper(m).check_all_tensor_shapes_specified()
    for wide in (m, build_qonnx(GRAPHS["wide-float64"]())):  # float64: a Cast after each Quant, none dangling
        used = {i for n in wide.graph.node for i in n.input} | {o.name for o in wide.graph.output}
        assert all(n.output[0] in used for n in wide.graph.node)


def test_with_batch_reshapes_activations_only():
    m = with_batch(build_qonnx(corner_graph()), 7)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in m.graph.value_info}
    assert shapes["fc1_out"] == [7, 24]
    weight_q = next(n.output[0] for n in m.graph.node if n.input[0].startswith("fc1_weight"))
    assert shapes[weight_q] == [16, 24]


def test_compute_type_follows_the_widest_intermediate():
    assert compute_type(GRAPHS["default"]()) == onnx.TensorProto.FLOAT
    assert compute_type(GRAPHS["wide-float64"]()) == onnx.TensorProto.DOUBLE
    wide_in = FixedType(24, 12, True, "RND", "SAT")
    with pytest.raises(ConfigError, match="float64 holds 53"):
        compute_type(random_graph((64, 5), input_type=wide_in, weight_bits=24, act=FixedType(24, 12, True)))
    with pytest.raises(ConfigError, match="wider than 24 bits"):
        compute_type(random_graph((4, 3), input_type=FixedType(30, 10, True)))


def test_a_wrong_weight_is_reported_with_its_layer(tmp_path):
    g = corner_graph()
    m = build_qonnx(g)
    init = next(t for t in m.graph.initializer if t.name.startswith("fc2_weight"))
    w = onnx.numpy_helper.to_array(init).copy()
    w[0, 0] = -w[0, 0] if w[0, 0] else 2.0**-6
    init.CopyFrom(onnx.numpy_helper.from_array(w, init.name))
    codes = random_codes(g, 2000, seed=1)
    with pytest.raises(MismatchError, match=r"vector \d+.*first differing layer 'fc2'"):
        check_qonnx(m, g, codes, _ref(g, codes))


def test_run_qonnx_refuses_off_grid_outputs():
    g = corner_graph()
    m = build_qonnx(g)
    last = next(n for n in m.graph.node if n.output[0] == "fc3_out")  # its scale: 2**-6
    scale = next(t for t in m.graph.initializer if t.name == last.input[1])
    scale.CopyFrom(onnx.numpy_helper.from_array(np.asarray(2.0**-9, dtype=np.float32), scale.name))
    with pytest.raises(MismatchError, match="not a value of"):
        run_qonnx(m, g, random_codes(g, 50))
