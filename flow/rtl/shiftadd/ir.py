"""The adder-graph IR: a constant matrix-vector product as shared shifts and adds, exact widths.

Every value is an integer. A :class:`Node` is either input ``i`` or ``a + (b << s)`` /
``a - (b << s)`` of two earlier nodes. Each node carries its linear form over the inputs
(``coef``: ``node = sum_i coef[i] * x[i]``), and from it the *exact* interval ``[lo, hi]`` of the
values it takes when every input ``x[i]`` ranges independently over ``[in_lo[i], in_hi[i]]``
(a linear form over a box reaches its bounds at corners, so the interval is tight, not just
sound). The width and signedness of every wire follow from the interval, so no adder can wrap.

An :class:`Output` is ``acc = const + sign * (node << shift)`` (``node`` None: ``acc = const``),
optionally wrapped to ``wrap`` bits two's complement (a Dense accumulator narrower than exact, as
:func:`flow.ir.reference.dense` wraps it), then the fused output stage
:class:`~flow.rtl.shiftadd.outstage.OutStage` maps ``acc`` to the output code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flow.rtl.shiftadd.outstage import OutStage


def bits_for(lo: int, hi: int) -> tuple[int, bool]:
    """(width, signed) of the narrowest two's complement / unsigned word holding ``[lo, hi]``."""
    if lo >= 0:
        return max(hi.bit_length(), 1), False
    w = max((-lo - 1).bit_length(), hi.bit_length()) + 1
    return w, True


def linear_range(coef: tuple[int, ...], in_lo: tuple[int, ...], in_hi: tuple[int, ...]) -> tuple[int, int]:
    """Exact [min, max] of ``sum c_i x_i`` over the box ``x_i in [in_lo_i, in_hi_i]``."""
    lo = hi = 0
    for c, a, b in zip(coef, in_lo, in_hi, strict=True):
        if c > 0:
            lo += c * a
            hi += c * b
        elif c < 0:
            lo += c * b
            hi += c * a
    return lo, hi


@dataclass(frozen=True)
class Node:
    """Input ``a`` (``op == "in"``) or ``a +/- (b << shift)`` (``op`` ``"add"``/``"sub"``)."""

    op: str  # "in", "add", "sub"
    a: int  # input index ("in") or operand node index
    b: int = -1
    shift: int = 0
    lo: int = 0
    hi: int = 0
    level: int = 0  # adder levels from the inputs (inputs: 0)
    coef: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @property
    def width(self) -> int:
        return bits_for(self.lo, self.hi)[0]

    @property
    def signed(self) -> bool:
        return self.lo < 0

    @property
    def is_input(self) -> bool:
        return self.op == "in"


def wrap_signed(v: int, width: int) -> int:
    """``v`` modulo ``2**width`` read as two's complement."""
    v &= (1 << width) - 1
    return v - (1 << width) if v >> (width - 1) else v


@dataclass(frozen=True)
class Output:
    """``acc = const + (-1 if neg else 1) * (node << shift)``, wrapped to ``wrap`` bits when
    ``wrap > 0``; then ``stage`` gives the output code."""

    node: int | None
    shift: int
    neg: bool
    const: int
    stage: OutStage
    wrap: int = 0

    @property
    def wrap_range(self) -> tuple[int, int]:
        return -(1 << (self.wrap - 1)), (1 << (self.wrap - 1)) - 1


@dataclass(frozen=True)
class AdderGraph:
    """A solved constant matrix-vector product: nodes in topological order, one output per row."""

    n_in: int
    in_lo: tuple[int, ...]
    in_hi: tuple[int, ...]
    in_width: int  # bus width of each input element (the port), >= every input's exact width
    in_signed: bool  # port elements are two's complement
    nodes: tuple[Node, ...]
    outputs: tuple[Output, ...]
    method: str = ""

    @property
    def n_out(self) -> int:
        return len(self.outputs)

    @property
    def adders(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if not n.is_input)

    @property
    def depth(self) -> int:
        return max((n.level for n in self.nodes), default=0)

    def used(self) -> list[bool]:
        """Which nodes some output (transitively) reads."""
        used = [False] * len(self.nodes)
        stack = [o.node for o in self.outputs if o.node is not None]
        while stack:
            k = stack.pop()
            if used[k]:
                continue
            used[k] = True
            n = self.nodes[k]
            if not n.is_input:
                stack += [n.a, n.b]
        return used

    def out_terms(self, o: int) -> dict:
        """Numbers of the fused output stage of row ``o``: ``m = kc +/- (node << u)`` of width ``mw``,
        ``r = (m >> d) << lshift``; and ``demand``: how many low bits of ``m`` the code depends on.

        For a wrapping row the stage reads the wrapped accumulator ``a`` (``wrap`` bits, full range)
        instead of the node: ``m = st.add + a``."""
        out = self.outputs[o]
        st = out.stage
        if out.node is None:
            return {"u": 0, "d": 0, "kc": out.const + st.add, "mw": 0, "mlo": 0, "mhi": 0, "demand": 0}
        if out.wrap:
            nlo, nhi = out.wrap_range
            shift, neg, k_total = 0, False, st.add
        else:
            nd = self.nodes[out.node]
            nlo, nhi = nd.lo, nd.hi
            shift, neg, k_total = out.shift, out.neg, out.const + st.add
        if shift >= st.shift:
            u, d, kc = shift - st.shift, 0, k_total >> st.shift
        else:
            u, d, kc = 0, st.shift - shift, k_total >> shift
        if neg:
            mlo, mhi = kc - (nhi << u), kc - (nlo << u)
        else:
            mlo, mhi = kc + (nlo << u), kc + (nhi << u)
        mw = bits_for(mlo, mhi)[0]
        clamps = st.lo is not None or st.hi is not None
        demand = mw if clamps else min(mw, d + max(st.width - st.lshift, 0))
        return {"u": u, "d": d, "kc": kc, "mw": mw, "mlo": mlo, "mhi": mhi, "demand": demand}

    def demanded_bits(self) -> list[int]:
        """Low bits of each node that some output depends on (a WRAP output needs only the low bits
        of its sum, and sums modulo 2**k need only the low k bits of their operands)."""
        dem = [0] * len(self.nodes)
        for o, out in enumerate(self.outputs):
            if out.node is None:
                continue
            if out.wrap:  # a sum modulo 2**wrap needs the low wrap - shift bits of the node
                dem[out.node] = max(dem[out.node], out.wrap - out.shift)
            else:
                t = self.out_terms(o)
                dem[out.node] = max(dem[out.node], t["demand"] - t["u"])
        for k in range(len(self.nodes) - 1, -1, -1):
            n = self.nodes[k]
            dem[k] = min(dem[k], n.width)
            if n.is_input or dem[k] <= 0:
                continue
            dem[n.a] = max(dem[n.a], dem[k])
            dem[n.b] = max(dem[n.b], dem[k] - n.shift)
        return dem

    def accumulators(self, x: list[int]) -> list[int]:
        """Evaluate ``acc`` of every output for one integer input vector (Python ints, exact)."""
        v: list[int] = []
        for n in self.nodes:
            if n.is_input:
                v.append(x[n.a])
            elif n.op == "add":
                v.append(v[n.a] + (v[n.b] << n.shift))
            else:
                v.append(v[n.a] - (v[n.b] << n.shift))
        out = []
        for o in self.outputs:
            t = 0 if o.node is None else v[o.node] << o.shift
            acc = o.const + (-t if o.neg else t)
            out.append(wrap_signed(acc, o.wrap) if o.wrap else acc)
        return out

    def evaluate(self, x: list[int]) -> list[int]:
        """Output codes for one input vector: :meth:`accumulators` then each output stage."""
        return [o.stage.apply(a) for o, a in zip(self.outputs, self.accumulators(x), strict=True)]

    def matrix(self) -> list[list[int]]:
        """The integer matrix ``W[o][i]`` this graph computes (from the linear forms)."""
        rows = []
        for o in self.outputs:
            if o.node is None:
                rows.append([0] * self.n_in)
                continue
            s = -1 if o.neg else 1
            rows.append([s * (c << o.shift) for c in self.nodes[o.node].coef])
        return rows

    def stats(self) -> dict:
        used = self.used()
        add = [n for k, n in enumerate(self.nodes) if used[k] and not n.is_input]
        return {
            "adders": len(add),
            "depth": max((n.level for n in add), default=0),
            "adder_bits": sum(n.width for n in add),
            "mean_width": round(sum(n.width for n in add) / max(len(add), 1), 2),
            "method": self.method,
        }
