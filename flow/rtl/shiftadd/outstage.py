"""Fused output stage: a chain of requantize / ReLU steps folded into one shift, one constant and one clamp.

Every step flow applies after an accumulator is monotone (round-then-SAT requantize, ReLU) except
WRAP, so the whole chain ``requant -> relu -> requant ...`` collapses into

    code = wrap_W( clamp( floor((acc + add) / 2**shift) << lshift, lo, hi ) )

because ``floor((floor(x / 2**s) + r) / 2**t) == floor((x + r * 2**s) / 2**(s + t))`` (rounding
constants of every step add up into ``add``, which the adder graph folds into the bias) and
``g(clamp(v, L, H)) == clamp(g(v), g(L), g(H))`` for any monotone ``g``. A WRAP step is exact only
as the last step, or anywhere its input provably fits (then it is the identity and is dropped);
a SAT whose input provably fits is dropped too. :func:`compose` tracks the exact value interval
through the chain to decide both.

Round half to even (``RND_CONV``) is ``floor((x + 2**(s-1)) / 2**s)`` except on an exact tie (the dropped
bits of ``x + 2**(s-1)`` all zero), where the result's lowest bit is cleared: the stage's ``conv`` flag.
It composes when it is the chain's only right shift (flow's imported models: an exact accumulator, then
ReLU and one half-to-even requantize); otherwise :class:`NotComposable`.
"""

from __future__ import annotations

from dataclasses import dataclass


class NotComposable(ValueError):
    """A WRAP that can overflow sits before another step: the chain has no single-clamp form."""


@dataclass(frozen=True)
class Requant:
    """One ``flow.ir.fixed.requantize`` step: drop ``shift`` bits (``<= 0``: append zeros) rounding
    half up when ``rnd``, half to even when ``conv``; then clamp to ``[min_code, max_code]`` (``sat``) or
    wrap to ``width`` bits."""

    shift: int
    rnd: bool
    sat: bool
    width: int
    signed: bool
    conv: bool = False

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1


@dataclass(frozen=True)
class Relu:
    """``max(x, 0)``."""


def _floor_shift(v: int | None, s: int) -> int | None:
    return None if v is None else v >> s


def _conv_shift(v: int, s: int) -> int:
    """``v / 2**s`` rounded half to even (``s > 0``)."""
    return (v + (1 << (s - 1)) - 1 + ((v >> s) & 1)) >> s


def _clamp(v: int | None, lo: int | None, hi: int | None, *, none_is_low: bool) -> int:
    """clamp(v, lo, hi) where v None means -inf (none_is_low) or +inf."""
    if v is None:
        v2 = lo if none_is_low else hi
        return v2  # type: ignore[return-value]
    if lo is not None and v < lo:
        return lo
    if hi is not None and v > hi:
        return hi
    return v


@dataclass(frozen=True)
class OutStage:
    """``code = wrap(clamp(floor((acc + add) / 2**shift) << lshift, lo, hi), width, signed)``.

    ``lo``/``hi`` None: no clamp on that side. ``width``/``signed``: the output code word (WRAP keeps
    the low ``width`` bits; after a clamp inside the code range it changes nothing). ``conv``: when the
    ``shift`` dropped bits of ``acc + add`` are all zero (a tie of half-to-even rounding, ``add`` holding
    the half), the lowest bit of ``floor(...)`` is cleared.
    """

    shift: int
    add: int
    lshift: int
    lo: int | None
    hi: int | None
    width: int
    signed: bool
    conv: bool = False

    def pre(self, acc: int) -> int:
        """The value before the clamp."""
        m = acc + self.add
        q = m >> self.shift
        if self.conv and self.shift > 0 and m & ((1 << self.shift) - 1) == 0:
            q &= ~1
        return q << self.lshift

    def apply(self, acc: int) -> int:
        v = self.pre(acc)
        if self.lo is not None and v < self.lo:
            v = self.lo
        if self.hi is not None and v > self.hi:
            v = self.hi
        v &= (1 << self.width) - 1
        if self.signed and v >> (self.width - 1):
            v -= 1 << self.width
        return v

    def out_range(self, acc_lo: int, acc_hi: int) -> tuple[int, int]:
        """Exact interval of the output codes when ``acc`` spans ``[acc_lo, acc_hi]`` (monotone map)."""
        a, b = self.pre(acc_lo), self.pre(acc_hi)
        if self.lo is not None:
            a, b = max(a, self.lo), max(b, self.lo)
        if self.hi is not None:
            a, b = min(a, self.hi), min(b, self.hi)
        tlo = -(1 << (self.width - 1)) if self.signed else 0
        thi = (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1
        if a < tlo or b > thi:  # wraps: anything in the code range
            return tlo, thi
        return a, b


def compose(steps: list[Requant | Relu], acc_lo: int, acc_hi: int) -> OutStage:
    """Fold ``steps`` (applied in order to the accumulator) into one :class:`OutStage`.

    ``[acc_lo, acc_hi]`` is the exact accumulator interval; it decides which WRAP/SAT steps are
    identities. Raises :class:`NotComposable` for a WRAP that can overflow before another step.
    """
    shift, add, lshift, conv = 0, 0, 0, False
    lo: int | None = None
    hi: int | None = None
    vlo, vhi = acc_lo, acc_hi  # exact interval of the current value
    wrap: tuple[int, bool] | None = None
    width, signed = 62, True
    for k, st in enumerate(steps):
        if wrap is not None:
            raise NotComposable("a WRAP that can overflow is followed by another step")
        if isinstance(st, Relu):
            lo = _clamp(lo, 0, None, none_is_low=True) if lo is not None else 0
            hi = None if hi is None else max(hi, 0)
            vlo, vhi = max(vlo, 0), max(vhi, 0)
            continue
        s = st.shift
        if s > 0 and conv:
            raise NotComposable("a right shift after a half-to-even rounding")
        if s > 0 and st.conv:
            if shift or lshift:
                raise NotComposable("a half-to-even rounding after another shift")
            shift, add, conv = s, add + (1 << (s - 1)), True
            lo = None if lo is None else _conv_shift(lo, s)
            hi = None if hi is None else _conv_shift(hi, s)
            vlo, vhi = _conv_shift(vlo, s), _conv_shift(vhi, s)
        elif s > 0:
            r = (1 << (s - 1)) if st.rnd else 0
            # current = q << lshift with q = floor((acc+add)/2^shift); fold the right shift in.
            if s <= lshift:
                lshift -= s  # (q << P + r) >> s == q << (P - s) since r < 2**s
            else:
                t = s - lshift
                rr = r >> lshift  # floor(r / 2**P): the rounding constant in units of q
                add += rr << shift
                shift += t
                lshift = 0
            lo = None if lo is None else (lo + r) >> s
            hi = None if hi is None else (hi + r) >> s
            vlo, vhi = (vlo + r) >> s, (vhi + r) >> s
        elif s < 0:
            lshift += -s
            lo = None if lo is None else lo << -s
            hi = None if hi is None else hi << -s
            vlo, vhi = vlo << -s, vhi << -s
        fits = st.min_code <= vlo and vhi <= st.max_code
        if st.sat:
            if not fits:
                lo = _clamp(lo, st.min_code, st.max_code, none_is_low=True)
                hi = _clamp(hi, st.min_code, st.max_code, none_is_low=False)
            vlo, vhi = max(min(vlo, st.max_code), st.min_code), max(min(vhi, st.max_code), st.min_code)
        elif not fits:
            wrap = (st.width, st.signed)
            vlo, vhi = st.min_code, st.max_code
        width, signed = st.width, st.signed
        del k
    # A clamp that the exact interval never reaches is dropped.
    probe = OutStage(shift, add, lshift, None, None, width, signed, conv)
    pre_lo, pre_hi = probe.pre(acc_lo), probe.pre(acc_hi)
    if lo is not None and pre_lo >= lo:
        lo = None
    if hi is not None and pre_hi <= hi:
        hi = None
    return OutStage(shift=shift, add=add, lshift=lshift, lo=lo, hi=hi, width=width, signed=signed, conv=conv)
