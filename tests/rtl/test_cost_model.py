"""The shift-add cost model (flow/rtl/shiftadd/cost.py) against Yosys, on the zoo's small models and
on 20 random graphs: within 10 % of Yosys's LUT count per design (sum over its blocks), and per block
where the block is large enough for a percentage to mean something. Also: it takes milliseconds.

Yosys runs once per block (``flow.synth.synthesize``, the same command as the synth stage) and its
results are cached by the synthesis cache, so a rerun costs no Yosys time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.ir.fixed import FixedType
from flow.ir.graph import QuantGraph
from flow.ir.synthetic import random_graph
from flow.pipeline import BuildOptions, build_root, run_build
from flow.rtl.generate import build_design, plan_blocks
from flow.rtl.shiftadd.cost import estimate
from flow.rtl.shiftadd.schedule import schedule

TOLERANCE = 0.10
BLOCK_MIN_LUT = 400  # per-block check only above this size (a few LUTs of rounding are not 10 %)
N_RANDOM = 20


def _yosys():
    from flow.errors import ToolError
    from flow.tools import find_yosys

    try:
        find_yosys()
    except ToolError as exc:
        pytest.skip(str(exc))


def random_design(seed: int) -> QuantGraph:
    """A small random network: 1-2 Dense layers (optionally a ScaleShift first), random widths."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 4))
    sizes = tuple(int(v) for v in rng.integers(3, 14, n))
    # fractions of at least 6 bits: random_graph's biases have 8 (in + weight frac must reach it)
    w_in = int(rng.integers(8, 14))
    input_type = FixedType(w_in, int(rng.integers(6, w_in)), True, "RND", "SAT")
    aw = int(rng.integers(9, 14))
    act = FixedType(aw, int(rng.integers(6, aw - 1)), True, ["RND", "TRN"][seed % 2], "SAT")
    return random_graph(
        sizes,
        seed=seed,
        weight_bits=int(rng.integers(4, 9)),
        input_type=input_type,
        act=act,
        scale_shift=seed % 5 == 0,
        name=f"cost-{seed}",
    )


def _check(design, synth, name: str) -> list[str]:
    """Differences over the tolerance (design total, and blocks of at least BLOCK_MIN_LUT LUTs)."""
    est = {b.name: b.info["est_lut"] for b in design.layers if "est_lut" in b.info}
    got = {r.layer: sum(n for c, n in r.cells.items() if c.startswith("LUT") or c == "INV") for r in synth.layers}
    bad = []
    tot_e = sum(est.values())
    tot_y = sum(v for k, v in got.items() if k in est)
    if abs(tot_e - tot_y) > TOLERANCE * tot_y:
        bad.append(f"{name}: estimate {tot_e} vs Yosys {tot_y} ({(tot_e - tot_y) / tot_y:+.1%})")
    for k, e in est.items():
        y = got[k]
        if y >= BLOCK_MIN_LUT and abs(e - y) > TOLERANCE * y:
            bad.append(f"{name}/{k}: estimate {e} vs Yosys {y} ({(e - y) / y:+.1%})")
    return bad


@pytest.fixture(scope="module")
def zoo_graphs(tmp_path_factory, jets_npz) -> dict[str, QuantGraph]:
    out = tmp_path_factory.mktemp("zoo")
    target = get_target("xcu250")
    graphs = {}
    for name in ("jsc-tiny", "jsc-small"):
        spec = get_model(name)
        run_build(spec, target, BuildOptions(until="quantize", data=jets_npz, allow_small_test=True), out)
        graphs[name] = QuantGraph.load(build_root(out, spec, target) / "03_quantize" / "quant_graph.json")
    return graphs


def test_estimate_takes_milliseconds():
    g = random_graph((16, 64, 32), seed=0, weight_bits=8, input_type=FixedType(14, 8, True, "RND", "SAT"))
    plans, levels = plan_blocks(g, build_design(g).settings)
    for plan in plans:
        if hasattr(plan, "graph"):
            sched = schedule(plan.graph, levels)
            t0 = time.perf_counter()
            cost = estimate(plan.graph, sched)
            assert time.perf_counter() - t0 < 0.1 and cost.lut > 0 and cost.ff > 0


@pytest.mark.slow
def test_cost_model_within_10_percent_of_yosys(zoo_graphs, tmp_path):
    _yosys()
    from flow.synth import synthesize

    target = get_target("xcu250")
    designs = [(name, build_design(g)) for name, g in zoo_graphs.items()]
    designs += [(f"random-{s}", build_design(random_design(s))) for s in range(N_RANDOM)]
    bad = []
    for name, design in designs:
        synth = synthesize(design, target, work_dir=tmp_path / name)
        assert synth.dsp == 0, name
        bad += _check(design, synth, name)
    assert not bad, "\n".join(bad)
