"""Graphs for the QONNX tests: the default kind and every rounding/overflow/width corner."""

from flow.ir.fixed import FixedType
from flow.ir.synthetic import corner_graph, random_graph

F = FixedType


GRAPHS = {
    "default": lambda: random_graph((16, 64, 32, 32, 5), seed=1, scale_shift=True),
    "wide-float64": lambda: random_graph(
        (16, 64, 32, 5),
        seed=2,
        weight_bits=8,
        act=F(16, 8, True, "RND", "SAT"),
        input_type=F(16, 10, True, "RND", "SAT"),
    ),
    "trn-wrap": lambda: random_graph(
        (16, 32, 5), seed=3, act=F(8, 4, True, "TRN", "WRAP"), input_type=F(9, 5, True, "TRN", "WRAP")
    ),
    "rnd-wrap": lambda: random_graph(
        (16, 32, 5), seed=4, act=F(8, 4, True, "RND", "WRAP"), input_type=F(9, 5, True, "RND", "WRAP")
    ),
    "trn-sat": lambda: random_graph(
        (16, 32, 5), seed=5, scale_shift=True, act=F(8, 4, True, "TRN", "SAT"), input_type=F(9, 5, True, "TRN", "SAT")
    ),
    "corners": corner_graph,
    # one type per input feature inside the container (learned per-feature widths)
    "per-feature": lambda: random_graph((16, 32, 5), seed=6, per_feature=True),
    "per-feature-conv-scaleshift": lambda: random_graph(
        (16, 32, 5), seed=7, scale_shift=True, per_feature=True, input_type=F(9, 5, True, "RND_CONV", "SAT")
    ),
}
