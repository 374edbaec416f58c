"""``group_signs(graph) -> graph``: one subtraction per sum, at its top, with the cheaper sign.

Why: on a Xilinx carry chain (as Yosys maps ``$add``/``$sub``) a bit where only one operand of an
*addition* is live passes through for free, but the same bit of a *subtraction* costs a LUT (an
``INV`` feeding the chain: ``a - b`` is ``a + ~b + 1``). The CMVM solver's trees mix the two freely
(``x23 - (x3 << 3)`` costs a LUT for every bit of ``x3``), so on learned designs these inverters
were 16-24 % of all LUTs.

What: every node that more than one consumer reads (and every input) is kept; every other node is
a step inside the sum of the node or output above it. Each such sum is flattened into its signed,
shifted leaves and rebuilt as ``P - N``: ``P`` the leaves with a plus sign added up, ``N`` those with
a minus sign, each a tree of additions only (narrowest first, as :func:`flow.rtl.shiftadd.solve`'s
sum trees), and one subtraction on top. The linear form of every kept node and output is unchanged
(checked exactly against the matrix), and so is the number of adders (``k`` leaves take ``k - 1``).

For an output, ``P - N`` and ``N - P`` cost the same adders, but the output stage adds its constant
(bias and rounding) to ``+node`` or ``-node``; a constant add costs a LUT for every one bit of the
constant (``K + n``) or every zero bit (``K - n``) above the dropped bits, so the sign with fewer is
taken (:func:`const_luts`).
"""

from __future__ import annotations

from flow.rtl.shiftadd.ir import AdderGraph, Output, bits_for, linear_range


def _uses(g: AdderGraph) -> list[int]:
    used = g.used()
    uses = [0] * len(g.nodes)
    for k, n in enumerate(g.nodes):
        if used[k] and not n.is_input:
            uses[n.a] += 1
            uses[n.b] += 1
    for o in g.outputs:
        if o.node is not None:
            uses[o.node] += 1
    return uses


def _leaves(g: AdderGraph, k: int, keep: set[int], e: int = 0, s: int = 1, top: bool = True):
    """Signed, shifted leaves ``(node, exp, sign)`` of node ``k``'s sum, stopping at kept nodes."""
    n = g.nodes[k]
    if n.is_input or (k in keep and not top):
        yield (k, e, s)
        return
    yield from _leaves(g, n.a, keep, e, s, False)
    yield from _leaves(g, n.b, keep, e + n.shift, -s if n.op == "sub" else s, False)


def const_luts(kc_total: int, shift: int, lo: int, hi: int, neg: bool, stage_shift: int) -> int:
    """LUTs of the output stage's constant add ``m = kc +/- (node << u)`` above its ``d`` dropped bits
    (as :meth:`AdderGraph.out_terms` forms it), for a node in ``[lo, hi]``: the one bits of the
    constant (``+``) or its zero bits (``-``) where the node has a bit of its own."""
    if shift >= stage_shift:
        u, d, kc = shift - stage_shift, 0, kc_total >> stage_shift
    else:
        u, d, kc = 0, stage_shift - shift, kc_total >> shift
    if kc == 0 and not neg:
        return 0
    mlo, mhi = (kc - (hi << u), kc - (lo << u)) if neg else (kc + (lo << u), kc + (hi << u))
    mw = bits_for(mlo, mhi)[0]
    nw = bits_for(lo, hi)[0] + u  # the node's own bits (above them: copies of its sign, one LUT)
    top = min(mw, nw)
    lo_bit = max(d, u)
    bits = [(kc >> j) & 1 for j in range(lo_bit, top)]
    n = bits.count(0) if neg else bits.count(1)
    return n + (1 if mw > nw and (((kc >> top) & 1) == 0) == neg else 0)


def _rebuild(g: AdderGraph, k: int, b, term: dict, top: bool = False) -> tuple[int, int, int]:
    """Node ``k``'s own tree (the solver's), re-added to builder ``b`` down to the kept nodes in ``term``."""
    if k in term and not top:
        return term[k]
    n = g.nodes[k]
    x = _rebuild(g, n.a, b, term)
    y = _rebuild(g, n.b, b, term)
    return b.combine(x, (y[0], y[1] + n.shift, y[2]), n.op == "sub")


def _signed_tree(b, items: list) -> tuple[int, int, int]:
    """A sum tree of signed terms as shallow as possible (the two shallowest first, so its level is
    :func:`_tree_level`'s), that among equally shallow partners takes one of the same sign (an
    addition) before one of the other (a subtraction)."""
    items = list(items)
    while len(items) > 1:
        items.sort(key=lambda t: (b.nodes[t[0]].level, b.nodes[t[0]].width + t[1]))
        x = items.pop(0)
        lv = b.nodes[items[0][0]].level
        same = [j for j, t in enumerate(items) if b.nodes[t[0]].level == lv and t[2] == x[2]]
        y = items.pop(same[0] if same else 0)
        if x[2] < 0 and y[2] > 0:
            x, y = y, x
        items.append(b.combine(x, y, False))
    return items[0]


def _tree_level(levels: list[int]) -> int:
    """Adder level of a sum tree that always adds the two shallowest terms first (the least reachable)."""
    import heapq

    h = list(levels)
    heapq.heapify(h)
    while len(h) > 1:
        a, b = heapq.heappop(h), heapq.heappop(h)
        heapq.heappush(h, max(a, b) + 1)
    return h[0] if h else 0


def group_signs(g: AdderGraph) -> AdderGraph:
    """``g`` with every sum of single-use nodes rebuilt as additions and one subtraction on top."""
    from flow.rtl.shiftadd.solve import _Builder, _sum_tree  # solve imports this module

    uses = _uses(g)
    keep = {k for k, n in enumerate(g.nodes) if not n.is_input and uses[k] >= 2}
    roots = sorted(keep | {o.node for o in g.outputs if o.node is not None and not g.nodes[o.node].is_input})
    b = _Builder(g.n_in, g.in_lo, g.in_hi)
    term: dict[int, tuple[int, int, int]] = {i: (i, 0, 1) for i in range(g.n_in)}
    out_of = {o.node: o for o in g.outputs if o.node is not None}
    for k in roots:
        leaves = []
        for leaf, e, s in _leaves(g, k, keep):
            n, e2, s2 = term[leaf]
            leaves.append((n, e + e2, s * s2))
        plus = [t for t in leaves if t[2] > 0]
        minus = [(n, e, 1) for n, e, s in leaves if s < 0]
        depth = max(_tree_level([b.nodes[t[0]].level for t in side]) for side in (plus, minus) if side)
        if plus and minus and depth + 1 > g.nodes[k].level:
            if _tree_level([b.nodes[t[0]].level for t in leaves]) <= g.nodes[k].level:
                term[k] = _signed_tree(b, leaves)  # as shallow as the solver's, fewer subtractions
            else:
                term[k] = _rebuild(g, k, b, term, top=True)
            continue
        pos = _sum_tree(b, plus)
        neg = _sum_tree(b, minus)
        if neg is None:
            term[k] = pos
        elif pos is None:
            term[k] = (neg[0], neg[1], -neg[2])
        else:
            # The stored node is ``a - (b << s)``: with P and N at different scales the one at the
            # finer scale is the minuend; at the same scale either sign can be stored.
            flip = False
            o = out_of.get(k)
            if pos[1] == neg[1] and o is not None and k not in keep and not o.wrap:
                lo, hi = linear_range(g.nodes[k].coef, g.in_lo, g.in_hi)
                e = pos[1]
                lo, hi = lo >> e, hi >> e  # exact: every leaf is a multiple of 2**e
                k_total = o.const + o.stage.add
                cost = const_luts(k_total, o.shift + e, lo, hi, o.neg, o.stage.shift)
                cost_flip = const_luts(k_total, o.shift + e, -hi, -lo, not o.neg, o.stage.shift)
                flip = cost_flip < cost
            t = b.combine(neg, pos, True) if flip else b.combine(pos, neg, True)
            term[k] = (t[0], t[1], -t[2]) if flip else t  # the value of node k: P - N
    outs = []
    for o in g.outputs:
        if o.node is None:
            outs.append(o)
            continue
        n, e, s = term[o.node]
        outs.append(Output(n, o.shift + e, (s < 0) != o.neg, o.const, o.stage, o.wrap))
    new = AdderGraph(g.n_in, g.in_lo, g.in_hi, g.in_width, g.in_signed, tuple(b.nodes), tuple(outs), g.method)
    if new.matrix() != g.matrix():
        raise AssertionError("group_signs changed the matrix the graph computes")
    return new
