"""Multiplier-free constant matrix-vector products as shared shift-add graphs with exact widths.

    problem = layer_problem(dense, relu)           # layers.py: flow layers -> integers (W, c, box, output stages)
    graph = solve_problem(problem, hard_dc=1)      # solve.py: adder graph (da4ml's CMVM solver), exact intervals
                                                   #   then regroup.py: one subtraction per sum (group_signs)
    sched = schedule(graph, max_levels=5)          # schedule.py: pipeline stages by adder depth
    ctx = context(graph, sched, "dense_fc1")       # block.py: template variables (flow/rtl/templates/shiftadd.v.j2)
    cost = estimate(graph, sched)                  # cost.py: LUT/FF estimate in milliseconds

The fused output stage (requantize, ReLU, SAT in one shift, one constant and one clamp) is
:mod:`flow.rtl.shiftadd.outstage`. Only :mod:`~flow.rtl.shiftadd.layers` knows flow's IR; the rest is
plain integers. :func:`flow.rtl.generate.build_design` drives it for whole networks.
"""

from flow.rtl.shiftadd.block import context
from flow.rtl.shiftadd.cost import Cost, estimate
from flow.rtl.shiftadd.ir import AdderGraph, Node, Output
from flow.rtl.shiftadd.layers import Problem, layer_problem, solve_problem
from flow.rtl.shiftadd.outstage import NotComposable, OutStage, Relu, Requant, compose
from flow.rtl.shiftadd.schedule import Schedule, schedule
from flow.rtl.shiftadd.solve import solve

__all__ = [
    "AdderGraph",
    "Cost",
    "Node",
    "NotComposable",
    "OutStage",
    "Output",
    "Problem",
    "Relu",
    "Requant",
    "Schedule",
    "compose",
    "context",
    "estimate",
    "layer_problem",
    "schedule",
    "solve",
    "solve_problem",
]
