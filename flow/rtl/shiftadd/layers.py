"""Map flow layers (a ``Dense`` or ``ScaleShift``, optionally with the ``ReLU`` after it) to shift-add problems.

The only module of :mod:`flow.rtl.shiftadd` that knows flow's IR; the solver, schedule and cost model
see plain integers. A layer's problem is ``acc = W @ x + c`` over a box of input codes, then one
fused output stage per row (requantize, and for a fused ReLU ``max(., 0)`` and its requantize),
exactly as :mod:`flow.ir.reference` computes it:

* Dense: ``acc = x @ w.T + (b << bias_shift)``, then ``apply_overflow(acc, accum_type)`` (an
  identity when the exact range fits the accumulator, which flow's own type assignment ensures; a
  SAT accumulator becomes the first clamp of the output stage, a WRAP one that can overflow makes
  the row wrap), then ``requantize(acc, product_frac, out_type)``.
* ScaleShift: ``W = diag(scale)``, ``c = shift << shift_shift``, exact, then requantize.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flow.ir.fixed import FixedType, Overflow, Rounding
from flow.ir.graph import Dense, ReLU, ScaleShift
from flow.rtl.shiftadd.ir import AdderGraph, linear_range
from flow.rtl.shiftadd.outstage import OutStage, Relu, Requant, compose
from flow.rtl.shiftadd.solve import solve


def requant_step(in_frac: int, t: FixedType) -> Requant:
    """The :class:`Requant` step of ``flow.ir.fixed.requantize(x, in_frac, t)``."""
    return Requant(
        in_frac - t.frac,
        t.rounding is Rounding.RND,
        t.overflow is Overflow.SAT,
        t.width,
        t.signed,
        conv=t.rounding is Rounding.RND_CONV,
    )


@dataclass(frozen=True)
class Problem:
    """``acc = weight @ x + consts`` over the input box (wrapped to ``wraps[o]`` bits where > 0),
    then ``stages[o]`` per output row; ``out_lo``/``out_hi`` the exact range of each output code."""

    name: str
    weight: np.ndarray
    consts: tuple[int, ...]
    in_lo: tuple[int, ...]
    in_hi: tuple[int, ...]
    in_width: int
    in_signed: bool
    stages: tuple[OutStage, ...]
    wraps: tuple[int, ...]
    out_lo: tuple[int, ...]
    out_hi: tuple[int, ...]
    fused_relu: bool


def _matrix(layer: Dense | ScaleShift) -> tuple[np.ndarray, list[int]]:
    if isinstance(layer, Dense):
        return np.asarray(layer.weight, dtype=np.int64), [int(b) << layer.bias_shift for b in layer.bias.tolist()]
    return np.diag(np.asarray(layer.scale, dtype=np.int64)), [int(t) << layer.shift_shift for t in layer.shift.tolist()]


def layer_problem(
    layer: Dense | ScaleShift,
    relu: ReLU | None = None,
    in_lo: Sequence[int] | None = None,
    in_hi: Sequence[int] | None = None,
) -> Problem:
    """Problem of a ``Dense`` or ``ScaleShift`` layer, with the following ``ReLU`` fused if given.

    ``in_lo``/``in_hi``: per-input code bounds (default: the full code range of ``in_type``; pass
    the previous block's ``out_lo``/``out_hi`` for the reachable ranges through the network).
    """
    t = layer.in_type
    n_in = layer.n_in
    lo_in = tuple([t.min_code] * n_in if in_lo is None else [int(v) for v in in_lo])
    hi_in = tuple([t.max_code] * n_in if in_hi is None else [int(v) for v in in_hi])
    weight, consts = _matrix(layer)
    tail: list[Requant | Relu] = [requant_step(layer.product_frac, layer.out_type)]
    if relu is not None:
        tail += [Relu(), requant_step(relu.in_type.frac, relu.out_type)]
    stages, wraps, out_lo, out_hi = [], [], [], []
    for o in range(weight.shape[0]):
        lo, hi = linear_range(tuple(weight[o].tolist()), lo_in, hi_in)
        lo, hi = lo + consts[o], hi + consts[o]
        steps, wrap = list(tail), 0
        if isinstance(layer, Dense):
            a = layer.accum_type
            if lo < a.min_code or hi > a.max_code:
                if a.overflow is Overflow.SAT:
                    steps = [Requant(0, False, True, a.width, a.signed), *steps]
                elif a.signed:
                    wrap, lo, hi = a.width, a.min_code, a.max_code
                else:
                    raise ValueError(f"{layer.name}: unsigned WRAP accumulators are not supported")
        st = compose(steps, lo, hi)
        stages.append(st)
        wraps.append(wrap)
        a_, b_ = st.out_range(lo, hi)
        out_lo.append(a_)
        out_hi.append(b_)
    return Problem(
        layer.name,
        weight,
        tuple(consts),
        lo_in,
        hi_in,
        t.width,
        t.signed,
        tuple(stages),
        tuple(wraps),
        tuple(out_lo),
        tuple(out_hi),
        relu is not None,
    )


def solve_problem(p: Problem, **kw) -> AdderGraph:
    """The adder graph of ``p`` (keyword arguments go to :func:`~flow.rtl.shiftadd.solve.solve`)."""
    return solve(
        p.weight,
        p.in_lo,
        p.in_hi,
        consts=p.consts,
        stages=p.stages,
        in_width=p.in_width,
        in_signed=p.in_signed,
        wraps=p.wraps,
        **kw,
    )


def relu_range(layer: ReLU, lo: Sequence[int], hi: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Exact output code range of a standalone ReLU whose inputs span ``[lo, hi]``."""
    steps = [Relu(), requant_step(layer.in_type.frac, layer.out_type)]
    new = [compose(steps, a, b).out_range(a, b) for a, b in zip(lo, hi, strict=True)]
    return tuple(v[0] for v in new), tuple(v[1] for v in new)
