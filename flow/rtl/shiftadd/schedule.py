"""Pipeline an adder graph by adder depth: stage of each node, registers only where values cross stages.

A node at adder level ``v`` (inputs: 0) sits in stage ``(v - 1) // max_levels``; the fused output
stage of a row (constant add, shift, clamp) counts as ``out_levels`` more levels after its node and
sits in the stage that reaches. Every stage ends in a register; a value defined in stage ``p`` and
read in stage ``q > p`` is registered ``q - p`` times (at its own width), an output code computed in
stage ``p`` is registered ``n_stages - p`` times (the last copy is the module's output register).
Inputs arrive registered (they are the previous layer's output registers) and are read in stage 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from flow.rtl.shiftadd.ir import AdderGraph, Output


@dataclass(frozen=True)
class Schedule:
    """Stage of every node and output; ``max_levels`` adder levels per stage; latency ``n_stages``."""

    max_levels: int
    n_stages: int
    node_stage: tuple[int, ...]  # -1 for unused nodes; inputs 0
    node_last_use: tuple[int, ...]  # last stage that reads the node (-1: unused)
    out_stage: tuple[int, ...]  # stage computing each output code
    out_levels: int

    @property
    def latency(self) -> int:
        return self.n_stages

    def register_bits(self, graph: AdderGraph) -> int:
        """Flip-flops of the datapath (valid pipe not counted)."""
        bits = 0
        dem = graph.demanded_bits()
        for k, n in enumerate(graph.nodes):
            if self.node_stage[k] >= 0 and self.node_last_use[k] > self.node_stage[k]:
                bits += min(n.width, dem[k]) * (self.node_last_use[k] - self.node_stage[k])
        for o, out in enumerate(graph.outputs):
            bits += out.stage.width * (self.n_stages - self.out_stage[o])
        return bits


def _out_level(graph: AdderGraph, o: Output, out_levels: int) -> int:
    """Adder level of an output code: its node's, plus the output stage (plus the pre-adder that
    wraps the accumulator of a wrapping row)."""
    return graph.nodes[o.node].level + out_levels + (1 if o.wrap else 0)


def _place(graph: AdderGraph, used: list[bool], k_levels: int, offset: int, out_levels: int):
    """Stages with the boundaries shifted by ``offset`` levels: level ``v`` in stage ``(v - 1 + offset) // K``."""
    stage = [(max(n.level, 1) - 1 + offset) // k_levels if used[k] else -1 for k, n in enumerate(graph.nodes)]
    for k, n in enumerate(graph.nodes):
        if n.is_input and used[k]:
            stage[k] = 0
    last = [-1] * len(graph.nodes)
    for k, n in enumerate(graph.nodes):
        if used[k] and not n.is_input:
            for m in (n.a, n.b):
                last[m] = max(last[m], stage[k])
    out_stage = []
    for o in graph.outputs:
        if o.node is None:
            out_stage.append(0)
            continue
        s = (_out_level(graph, o, out_levels) - 1 + offset) // k_levels
        out_stage.append(s)
        last[o.node] = max(last[o.node], s)
    return stage, last, out_stage


def schedule(
    graph: AdderGraph, max_levels: int | None = None, *, latency: int | None = None, out_levels: int = 1
) -> Schedule:
    """Stage assignment with at most ``max_levels`` adder levels per stage, or the fewest levels
    per stage that meet ``latency`` cycles (the smallest stage count is 1: fully combinational
    plus the output register).

    The stage count is that of cutting every ``max_levels`` levels from the inputs; among the
    placements of the cuts that keep that count (boundaries shifted by 0 .. ``max_levels - 1``
    levels), the one with the fewest register bits is taken (a cut where few, narrow values cross).
    """
    used = graph.used()
    depth = max([_out_level(graph, o, out_levels) for o in graph.outputs if o.node is not None], default=out_levels)
    if max_levels is None:
        if latency is None:
            raise ValueError("give max_levels or latency")
        max_levels = max(1, -(-depth // max(latency, 1)))
    if max_levels < 1:
        raise ValueError("max_levels must be >= 1")
    best = None
    for offset in range(max_levels):
        stage, last, out_stage = _place(graph, used, max_levels, offset, out_levels)
        n_stages = max(out_stage, default=0) + 1
        cand = Schedule(max_levels, n_stages, tuple(stage), tuple(last), tuple(out_stage), out_levels)
        key = (n_stages, cand.register_bits(graph))
        if best is None or key < best[0]:
            best = (key, cand)
    sched = best[1]
    if latency is not None and sched.n_stages > latency:
        raise ValueError(
            f"depth {depth} needs {sched.n_stages} stages at {max_levels} levels, over the budget {latency}"
        )
    return sched
