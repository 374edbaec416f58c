"""Pipeline cuts through block boundaries under a latency budget.

``flow/rtl/generate.py`` (``block_cuts``, ``chain_cuts``) and ``flow/rtl/shiftadd/schedule.py``
(``offset_in``, ``registered_output``): by default every block registers its outputs; a latency budget
that this does not meet lets a block leave its outputs unregistered and the next block go on in the
same cycle, never with more than the adder levels per stage in one cycle.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flow.ir.reference import forward
from flow.ir.synthetic import random_codes, random_graph
from flow.rtl.generate import RtlSettings, block_cuts, build_design, plan_blocks
from flow.rtl.shiftadd.schedule import _out_level, schedule
from flow.sim.simulate import simulate

SIZES = (12, 6, 6, 6, 6, 4)  # five small shift-add blocks: 8 cycles with a register per block


@pytest.fixture(scope="module")
def chain():
    return random_graph(SIZES, seed=1, name="chain")


def _stats(design):
    return [dict(layer.stats) for layer in design.layers]


def test_default_design_registers_every_block(chain):
    design = build_design(chain)
    assert all(s["output_registered"] == 1 for s in _stats(design))
    assert design.latency == sum(layer.latency for layer in design.layers) == 8
    assert all(layer.latency >= 1 for layer in design.layers)


def test_a_budget_only_chaining_meets_cuts_through_blocks(chain):
    settings = RtlSettings(latency=6)
    design = build_design(chain, settings=settings)
    assert design.latency <= 6
    stats = _stats(design)
    assert any(s["output_registered"] == 0 for s in stats) and stats[-1]["output_registered"] == 1
    plans, levels = plan_blocks(chain, settings)
    assert levels == 5  # the default levels per stage suffice once the cuts run through the blocks
    cuts, total = block_cuts(plans, levels, settings)
    assert total == design.latency
    used = 0  # adder levels of the current cycle before each block
    for plan, cut in zip(plans, cuts, strict=True):
        assert cut.offset_in == used
        sch = plan.schedule(levels, cut)
        assert sch.offset >= used
        g = plan.graph
        for k, n in enumerate(g.nodes):  # no stage holds more than `levels` levels
            if sch.node_stage[k] >= 0 and not n.is_input:
                assert (n.level - 1 + sch.offset) // levels == sch.node_stage[k]
        for o, out in enumerate(g.outputs):
            if out.node is not None:
                level = _out_level(g, out, sch.out_levels) + sch.offset
                assert level - sch.out_stage[o] * levels <= levels
        used = 0 if cut.registered_output else sch.tail
        assert used < levels


def test_unregistered_schedule_counts_no_output_register(chain):
    plans, levels = plan_blocks(chain, RtlSettings())
    g = plans[1].graph
    reg, unreg = schedule(g, levels), schedule(g, levels, registered_output=False)
    assert unreg.latency == reg.latency - 1 == unreg.n_stages - 1
    out_bits = sum(out.stage.width for out in g.outputs)
    assert reg.register_bits(g) - unreg.register_bits(g) == out_bits
    late = schedule(g, levels, offset_in=2)
    assert late.offset >= 2
    with pytest.raises(ValueError, match="offset_in"):
        schedule(g, levels, offset_in=levels)


@pytest.mark.parametrize("budget", [6, 2], ids=["six-cycles", "two-cycles-combinational-blocks"])
def test_chained_design_matches_reference(chain, budget, verilator, tmp_path):
    design = build_design(chain, settings=RtlSettings(latency=budget))
    assert design.latency <= budget
    if budget == 2:  # blocks with no register at all: valid passes straight through
        assert any(layer.latency == 0 for layer in design.layers)
    codes = random_codes(chain, 400, seed=2)
    expected = forward(chain, torch.from_numpy(codes)).numpy()
    r = simulate(chain, codes, expected=expected, design=design, work_dir=tmp_path)
    assert r.mismatches == 0 and r.latency_cycles == design.latency and r.ii == 1
    assert np.array_equal(r.outputs, expected)
