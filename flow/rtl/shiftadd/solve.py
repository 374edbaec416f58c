"""Solve a constant matrix-vector product ``acc = W @ x + c`` into an :class:`~flow.rtl.shiftadd.ir.AdderGraph`.

Methods:

* ``"da4ml"`` (default): da4ml 0.6.0's CMVM solver (``da4ml.cmvm.solve``: a spanning-tree
  factorization of W, then greedy common-subexpression elimination on signed digits, weighted by
  operand widths). Only the *structure* is taken from it: its pipeline of ``a +/- b * 2**k`` ops over
  float intervals is converted into integer nodes ``a +/- (b << s)`` (signs and exponents tracked
  exactly, so every node is a non-negative-shift form) and every interval is recomputed here from the
  node's integer linear form over the input box. The result is checked against ``W`` exactly.
* ``"cse"``: our own canonical-signed-digit recoding plus greedy two-term CSE (Hartley's method:
  repeatedly extract the most frequent ``x_i +/- (x_j << s)`` digit pair across all rows).
* ``"csd"``: CSD digits summed in a balanced tree per row, no sharing (a baseline).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from flow.rtl.shiftadd.ir import AdderGraph, Node, Output, bits_for, linear_range, wrap_signed
from flow.rtl.shiftadd.outstage import OutStage
from flow.rtl.shiftadd.regroup import group_signs


class _Builder:
    """Appends deduplicated integer nodes with exact linear forms and intervals."""

    def __init__(self, n_in: int, in_lo: Sequence[int], in_hi: Sequence[int]) -> None:
        self.in_lo, self.in_hi = tuple(int(v) for v in in_lo), tuple(int(v) for v in in_hi)
        self.nodes: list[Node] = []
        self.key: dict[tuple, int] = {}
        for i in range(n_in):
            coef = tuple(1 if j == i else 0 for j in range(n_in))
            self.nodes.append(Node("in", i, lo=self.in_lo[i], hi=self.in_hi[i], level=0, coef=coef))

    def add(self, a: int, b: int, shift: int, sub: bool) -> int:
        """Index of ``a +/- (b << shift)`` (``shift >= 0``)."""
        assert shift >= 0
        if not sub and shift == 0 and b < a:
            a, b = b, a
        k = ("sub" if sub else "add", a, b, shift)
        if k in self.key:
            return self.key[k]
        na, nb = self.nodes[a], self.nodes[b]
        s = -1 if sub else 1
        coef = tuple(ca + s * (cb << shift) for ca, cb in zip(na.coef, nb.coef, strict=True))
        lo, hi = linear_range(coef, self.in_lo, self.in_hi)
        self.nodes.append(Node(k[0], a, b, shift, lo, hi, 1 + max(na.level, nb.level), coef))
        self.key[k] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def combine(self, x: tuple[int, int, int] | None, y: tuple[int, int, int] | None, sub: bool):
        """Signed, scaled terms ``(node, exp, sign)`` meaning ``sign * node * 2**exp``: x +/- y."""
        if y is None:
            return x
        if x is None:
            n, e, sg = y
            return (n, e, -sg if sub else sg)
        (n0, e0, s0), (n1, e1, s1) = x, y
        s1 = -s1 if sub else s1
        # s0 * n0 * 2^e0 + s1 * n1 * 2^e1 = s0 * (n0 * 2^e0 + s0*s1 * n1 * 2^e1)
        rel = s0 * s1
        e = min(e0, e1)
        if e1 >= e0:  # n0 + rel * (n1 << (e1 - e0))
            return (self.add(n0, n1, e1 - e0, rel < 0), e, s0)
        # n0 << d  + rel * n1 (d = e0 - e1 > 0): put the unshifted node first
        if rel > 0:  # n1 + (n0 << d), same sign s0
            return (self.add(n1, n0, e0 - e1, False), e, s0)
        # (n0 << d) - n1 = -(n1 - (n0 << d)): sign flips
        return (self.add(n1, n0, e0 - e1, True), e, -s0)


def _finish(
    b: _Builder,
    terms: list,
    weight: np.ndarray,
    consts: Sequence[int],
    stages: Sequence[OutStage] | None,
    in_width: int,
    in_signed: bool,
    method: str,
    wraps: Sequence[int],
) -> AdderGraph:
    outs = []
    for o, t in enumerate(terms):
        st = stages[o] if stages is not None else OutStage(0, 0, 0, None, None, 62, True)
        if t is None:
            const = int(consts[o])
            outs.append(Output(None, 0, False, wrap_signed(const, wraps[o]) if wraps[o] else const, st))
            continue
        n, e, sg = t
        if e < 0:
            raise AssertionError(f"output {o}: negative exponent {e} (non-integer kernel?)")
        outs.append(Output(n, e, sg < 0, int(consts[o]), st, int(wraps[o])))
    g = AdderGraph(len(b.in_lo), b.in_lo, b.in_hi, in_width, in_signed, tuple(b.nodes), tuple(outs), method)
    got = g.matrix()
    want = weight.tolist()  # after folding constant inputs and constant rows
    if got != want:
        bad = next(o for o in range(len(want)) if got[o] != want[o])
        raise AssertionError(f"{method}: adder graph computes a different matrix (row {bad})")
    return g


def _solve_da4ml(b: _Builder, weight: np.ndarray, hard_dc: int, method0: str) -> list:
    from da4ml.cmvm import solve as da_solve

    n_out, n_in = weight.shape
    kernel = np.ascontiguousarray(weight.T.astype(np.float32))
    if not np.array_equal(kernel.astype(np.int64), weight.T):
        raise ValueError("weights do not fit float32 exactly")
    qi = [(float(lo), float(hi), 1.0) for lo, hi in zip(b.in_lo, b.in_hi, strict=True)]
    pipe = da_solve(kernel, method0=method0, hard_dc=hard_dc, qintervals=qi)
    cur: list = [(i, 0, 1) for i in range(n_in)]  # stage inputs as (node, exp, sign) or None
    for sol in pipe.solutions:
        buf: list = []
        for op in sol.ops:
            if op.opcode == -1:
                t = cur[op.id0]
                if t is not None and sol.inp_shifts[op.id0]:
                    t = (t[0], t[1] + sol.inp_shifts[op.id0], t[2])
                buf.append(t)
            elif op.opcode in (0, 1):
                y = buf[op.id1]
                if y is not None:
                    y = (y[0], y[1] + int(op.data), y[2])
                buf.append(b.combine(buf[op.id0], y, op.opcode == 1))
            else:
                raise NotImplementedError(f"da4ml opcode {op.opcode} in a CMVM solution")
        nxt = []
        for idx, sh, neg in zip(sol.out_idxs, sol.out_shifts, sol.out_negs, strict=True):
            if idx < 0 or buf[idx] is None:
                nxt.append(None)
                continue
            n, e, sg = buf[idx]
            nxt.append((n, e + int(sh), -sg if neg else sg))
        cur = nxt
    return cur


def csd(v: int) -> list[tuple[int, int]]:
    """Canonical signed digits of ``v``: ``[(shift, +1/-1), ...]``, no two adjacent non-zeros."""
    out, k = [], 0
    while v:
        if v & 1:
            d = 2 - (v & 3)  # +1 if v % 4 == 1, -1 if v % 4 == 3
            out.append((k, d))
            v -= d
        v >>= 1
        k += 1
    return out


def _sum_tree(b: _Builder, items: list) -> tuple | None:
    """Balanced tree sum of (node, exp, sign) terms; narrowest pairs first keeps widths small."""
    items = [t for t in items if t is not None]
    if not items:
        return None
    while len(items) > 1:
        items.sort(key=lambda t: (b.nodes[t[0]].level, b.nodes[t[0]].width + t[1]))
        x, y = items.pop(0), items.pop(0)
        # positive-sign operand first avoids a trailing negation
        if x[2] < 0 and y[2] > 0:
            x, y = y, x
        items.append(b.combine(x, (y[0], y[1], y[2]), False))
    return items[0]


def _solve_csd(b: _Builder, weight: np.ndarray) -> list:
    rows = []
    for row in weight.tolist():
        rows.append(_sum_tree(b, [(i, k, d) for i, w in enumerate(row) for k, d in csd(int(w))]))
    return rows


def _solve_cse(b: _Builder, weight: np.ndarray) -> list:
    """Hartley CSE: rows are multisets of signed digits (node, shift, sign); extract frequent pairs."""
    rows: list[list[tuple[int, int, int]]] = [
        [(i, k, d) for i, w in enumerate(row) for k, d in csd(int(w))] for row in weight.tolist()
    ]
    while True:
        cnt: Counter = Counter()
        for r in rows:
            seen = set()
            for p in range(len(r)):
                for q in range(len(r)):
                    if p == q:
                        continue
                    (n0, k0, d0), (n1, k1, d1) = r[p], r[q]
                    if d0 < 0 or k1 < k0 or (k1 == k0 and n1 < n0):
                        continue  # canonical: first term positive, second at the same or higher shift
                    key = (n0, n1, k1 - k0, d0 * d1)
                    if key in seen or (n0 == n1 and k1 == k0):
                        continue
                    seen.add(key)
                    cnt[key] += 1
        if not cnt:
            break
        key, f = max(cnt.items(), key=lambda kv: (kv[1], -b.nodes[kv[0][0]].width - b.nodes[kv[0][1]].width))
        if f < 2:
            break
        n0, n1, s, rel = key
        new = b.add(n0, n1, s, rel < 0)
        for ri, r in enumerate(rows):
            used = [False] * len(r)
            add = []
            for p in range(len(r)):
                if used[p] or r[p][0] != n0:
                    continue
                for q in range(len(r)):
                    if q == p or used[q] or used[p]:
                        continue
                    (a0, k0, d0), (a1, k1, d1) = r[p], r[q]
                    if a1 == n1 and k1 - k0 == s and d0 * d1 == rel and not (a0 == a1 and k0 == k1):
                        used[p] = used[q] = True
                        add.append((new, k0, d0))
            rows[ri] = [t for t, u in zip(r, used, strict=True) if not u] + add
    return [_sum_tree(b, list(r)) for r in rows]


def solve(
    weight: np.ndarray,
    in_lo: Sequence[int],
    in_hi: Sequence[int],
    *,
    consts: Sequence[int] | None = None,
    stages: Sequence[OutStage] | None = None,
    in_width: int | None = None,
    in_signed: bool | None = None,
    method: str = "da4ml",
    hard_dc: int = -1,
    method0: str = "wmc",
    wraps: Sequence[int] | None = None,
    regroup: bool = True,
) -> AdderGraph:
    """Adder graph of ``acc[o] = sum_i weight[o, i] * x[i] + consts[o]``, ``x[i] in [in_lo[i], in_hi[i]]``.

    ``weight`` int64 ``[n_out, n_in]``; ``stages`` the fused output stage of each row (default:
    identity); ``in_width``/``in_signed`` the port format of each input element (default: the
    narrowest holding every interval); ``method`` ``"da4ml"``, ``"cse"`` or ``"csd"``; ``hard_dc`` and
    ``method0`` are passed to da4ml (``-1``: no extra depth constraint); ``wraps[o] > 0``: row ``o``'s
    accumulator is taken modulo ``2**wraps[o]`` (two's complement) before its output stage;
    ``regroup``: rebuild the solver's sums with one subtraction each (:func:`~flow.rtl.shiftadd.regroup.group_signs`).
    """
    weight = np.asarray(weight, dtype=np.int64)
    n_out, n_in = weight.shape
    consts = [0] * n_out if consts is None else [int(c) for c in consts]
    wraps = [0] * n_out if wraps is None else [int(w) for w in wraps]
    if in_signed is None:
        in_signed = min(in_lo) < 0
    if in_width is None:
        in_width = max(
            bits_for(int(lo), int(hi))[0] + (1 if in_signed and lo >= 0 else 0)
            for lo, hi in zip(in_lo, in_hi, strict=True)
        )
    # An input whose interval is a single value is a constant: fold it into the row constants.
    weight = weight.copy()
    for i in range(n_in):
        if int(in_lo[i]) == int(in_hi[i]):
            consts = [c + int(weight[o, i]) * int(in_lo[i]) for o, c in enumerate(consts)]
            weight[:, i] = 0
    # A row whose output code is the same for every reachable accumulator is a constant: no adders.
    if stages is not None:
        for o in range(n_out):
            lo, hi = linear_range(tuple(weight[o].tolist()), tuple(int(v) for v in in_lo), tuple(int(v) for v in in_hi))
            lo, hi = lo + consts[o], hi + consts[o]
            a, b_ = stages[o].out_range(lo, hi)
            if a == b_ and weight[o].any() and not wraps[o]:
                weight[o, :] = 0
                consts[o] = lo
    b = _Builder(n_in, in_lo, in_hi)
    if method == "da4ml":
        terms = _solve_da4ml(b, weight, hard_dc, method0)
    elif method == "cse":
        terms = _solve_cse(b, weight)
    elif method == "csd":
        terms = _solve_csd(b, weight)
    else:
        raise ValueError(f"unknown method {method!r}")
    graph = _finish(b, terms, weight, consts, stages, in_width, in_signed, method, wraps)
    return group_signs(graph) if regroup else graph
