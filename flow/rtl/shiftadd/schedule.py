"""Pipeline an adder graph by adder depth: stage of each node, registers only where values cross stages.

A node at adder level ``v`` (inputs: 0) sits in stage ``(v - 1) // max_levels``; the fused output
stage of a row (constant add, shift, clamp) counts as ``out_levels`` more levels after its node and
sits in the stage that reaches. Every stage but the last ends in a register; a value defined in stage
``p`` and read in stage ``q > p`` is registered ``q - p`` times (at its own width). The last stage ends
in the module's output register unless the block is scheduled with ``registered_output=False``: then
its output codes leave combinationally and the next block goes on in the same cycle.

``offset_in`` is the number of adder levels the clock cycle in which the inputs arrive has already
used (0: they come from registers; ``k``: from the last, unregistered stage of the previous block,
whose deepest path took ``k`` levels). The first stage then holds at most ``max_levels - offset_in``
levels, so no cycle ever holds more than ``max_levels`` levels across a block boundary. An output
code computed in stage ``p`` is registered ``latency - p`` times.
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
    offset: int = 0  # level v sits in stage (v - 1 + offset) // max_levels
    registered_output: bool = True
    tail: int = 0  # adder levels the deepest path uses in the last stage (incl. the output stage)

    @property
    def latency(self) -> int:
        """Clock cycles from the inputs to the outputs: the registers on the way."""
        return self.n_stages if self.registered_output else self.n_stages - 1

    def register_bits(self, graph: AdderGraph) -> int:
        """Flip-flops of the datapath (valid pipe not counted)."""
        bits = 0
        dem = graph.demanded_bits()
        for k, n in enumerate(graph.nodes):
            if self.node_stage[k] >= 0 and self.node_last_use[k] > self.node_stage[k]:
                bits += min(n.width, dem[k]) * (self.node_last_use[k] - self.node_stage[k])
        for o, out in enumerate(graph.outputs):
            bits += out.stage.width * (self.latency - self.out_stage[o])
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
    graph: AdderGraph,
    max_levels: int | None = None,
    *,
    latency: int | None = None,
    out_levels: int = 1,
    offset_in: int = 0,
    registered_output: bool = True,
) -> Schedule:
    """Stage assignment with at most ``max_levels`` adder levels per stage, or the fewest levels
    per stage that meet ``latency`` cycles (the smallest stage count is 1: fully combinational
    plus the output register).

    The stage count is that of cutting every ``max_levels`` levels from the inputs (after the
    ``offset_in`` levels already used, see the module doc); among the placements of the cuts that
    keep that count (boundaries shifted by ``offset_in`` .. ``max_levels - 1`` levels), the one with
    the fewest register bits is taken (a cut where few, narrow values cross); with
    ``registered_output=False`` first the one whose last stage uses the fewest levels (the next block
    goes on in that cycle).
    """
    used = graph.used()
    levels_out = [_out_level(graph, o, out_levels) for o in graph.outputs if o.node is not None]
    depth = max(levels_out, default=out_levels)
    if max_levels is None:
        if latency is None:
            raise ValueError("give max_levels or latency")
        max_levels = max(1, -(-depth // max(latency, 1)))
    if max_levels < 1:
        raise ValueError("max_levels must be >= 1")
    if not 0 <= offset_in < max_levels:
        raise ValueError(f"offset_in must be 0..{max_levels - 1}, got {offset_in}")
    best = None
    for offset in range(offset_in, max_levels):
        stage, last, out_stage = _place(graph, used, max_levels, offset, out_levels)
        n_stages = max(out_stage, default=0) + 1
        tail = (depth - 1 + offset) % max_levels + 1 if levels_out else 0
        cand = Schedule(
            max_levels,
            n_stages,
            tuple(stage),
            tuple(last),
            tuple(out_stage),
            out_levels,
            offset,
            registered_output,
            tail,
        )
        # unregistered, the tail is the next block's head start: the fewest levels left over first
        key = (n_stages, 0 if registered_output else tail, cand.register_bits(graph))
        if best is None or key < best[0]:
            best = (key, cand)
    sched = best[1]
    if latency is not None and sched.latency > latency:
        raise ValueError(
            f"depth {depth} needs {sched.n_stages} stages at {max_levels} levels, over the budget {latency}"
        )
    return sched
