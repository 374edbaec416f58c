"""Fixed-point types: the one definition of widths, rounding and overflow.

A value of ``FixedType(width, frac, signed)`` is an integer code ``q`` read as ``q * 2**-frac``.
``width`` counts every bit including the sign; ``integer = width - frac`` is hls4ml's ``I`` in
``ap_fixed<W, I>`` (so ``frac`` may be negative or larger than ``width``).

Codes span ``[-2**(width-1), 2**(width-1) - 1]`` when signed and ``[0, 2**width - 1]`` when not.

Rounding (applied when bits below the LSB are dropped, before overflow, as ``ap_fixed`` does):

* ``TRN`` -- truncate toward minus infinity: ``q = floor(x)``; an arithmetic right shift.
  hls4ml's default (``AP_TRN``).
* ``RND`` -- round half toward plus infinity: ``q = floor(x + 1/2)``; add half an LSB, then shift.
  ``AP_RND``.
* ``RND_CONV`` -- round half to even (convergent rounding): nearest code, a tie to the even one
  (2.5 -> 2, 3.5 -> 4, -2.5 -> -2). QONNX's and Brevitas's ``ROUND``/``HALF_EVEN``, QKeras's
  default, ``AP_RND_CONV``. On codes: ``(c + 2**(s-1) - 1 + bit_s(c)) >> s`` where ``bit_s(c)`` is
  the lowest kept bit (``(c >> s) & 1``).

Overflow (applied to the rounded code):

* ``WRAP`` -- keep the low ``width`` bits (two's complement): ``AP_WRAP``, hls4ml's default.
* ``SAT`` -- clamp to the representable range: ``AP_SAT``.

Everything here is integer arithmetic on Python ints or int64 tensors; nothing is floating point.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch

from flow.errors import ConfigError


class Rounding(StrEnum):
    """How bits below the LSB are dropped."""

    TRN = "TRN"
    RND = "RND"
    RND_CONV = "RND_CONV"


class Overflow(StrEnum):
    """What happens to a code that does not fit in ``width`` bits."""

    WRAP = "WRAP"
    SAT = "SAT"


@dataclass(frozen=True)
class FixedType:
    """A fixed-point format: ``width`` bits, ``frac`` of them after the binary point."""

    width: int
    frac: int
    signed: bool = True
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 62:
            raise ConfigError(f"fixed-point width must be 1..62 bits, got {self.width}")
        if self.signed and self.width < 2:
            raise ConfigError("a signed fixed-point type needs at least 2 bits")
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        object.__setattr__(self, "overflow", Overflow(self.overflow))

    @property
    def integer(self) -> int:
        """Integer bits including the sign bit: hls4ml's ``I`` in ``ap_fixed<W, I>``."""
        return self.width - self.frac

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        """The value of one code step, ``2**-frac`` (for display and float boundaries only)."""
        return 2.0**-self.frac

    @property
    def min_value(self) -> float:
        return self.min_code * self.lsb

    @property
    def max_value(self) -> float:
        return self.max_code * self.lsb

    def with_modes(self, rounding: Rounding, overflow: Overflow) -> FixedType:
        return FixedType(self.width, self.frac, self.signed, rounding, overflow)

    def describe(self) -> str:
        """Short human form, e.g. ``fixed<12,7> RND/SAT`` (``ufixed`` when unsigned)."""
        kind = "fixed" if self.signed else "ufixed"
        return f"{kind}<{self.width},{self.frac}> {self.rounding}/{self.overflow}"

    def to_dict(self) -> dict:
        return {
            "width": self.width,
            "frac": self.frac,
            "signed": self.signed,
            "rounding": str(self.rounding),
            "overflow": str(self.overflow),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FixedType:
        return cls(int(d["width"]), int(d["frac"]), bool(d["signed"]), d["rounding"], d["overflow"])


def bits_for_range(lo: int, hi: int, signed: bool) -> int:
    """Fewest bits whose code range holds every integer in ``[lo, hi]``."""
    width = 1
    while True:
        t = FixedType(max(width, 2) if signed else width, 0, signed)
        if t.min_code <= lo and hi <= t.max_code:
            return t.width
        width += 1


def shift_round(codes: torch.Tensor, shift: int, rounding: Rounding) -> torch.Tensor:
    """Drop ``shift`` low bits of int64 ``codes`` (``shift > 0``) or append zeros (``shift <= 0``).

    ``TRN``: ``codes >> shift`` (arithmetic, i.e. floor). ``RND``: ``(codes + 2**(shift-1)) >> shift``.
    ``RND_CONV``: ``(codes + 2**(shift-1) - 1 + ((codes >> shift) & 1)) >> shift`` (ties to even).
    """
    if shift <= 0:
        return codes << (-shift)
    if rounding is Rounding.RND:
        codes = codes + (1 << (shift - 1))
    elif rounding is Rounding.RND_CONV:
        codes = codes + ((1 << (shift - 1)) - 1) + ((codes >> shift) & 1)
    return codes >> shift


def apply_overflow(codes: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Fit int64 ``codes`` into ``t.width`` bits by ``t.overflow``.

    ``SAT``: ``clamp(codes, min_code, max_code)``. ``WRAP``: ``((codes - min_code) mod 2**width) +
    min_code``, which keeps the low ``width`` bits and re-reads them as two's complement (or unsigned).
    """
    if t.overflow is Overflow.SAT:
        return codes.clamp(t.min_code, t.max_code)
    mask = (1 << t.width) - 1
    return ((codes - t.min_code) & mask) + t.min_code


def requantize(codes: torch.Tensor, frac: int, t: FixedType) -> torch.Tensor:
    """Convert int64 ``codes`` with ``frac`` fractional bits to type ``t``: round, then overflow.

    This is ``ap_fixed`` assignment: ``t_value = (T) value``.
    """
    return apply_overflow(shift_round(codes, frac - t.frac, t.rounding), t)


def quantize_float(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Map real values onto the codes of ``t`` (the only float step: the data boundary).

    ``x * 2**frac`` is exact in float64 (a power-of-two scale), ``floor`` (TRN),
    ``floor(. + 1/2)`` (RND) or ``round`` half to even (RND_CONV, ``torch.round``) picks the code,
    then overflow applies. Returns int64 codes.
    """
    scaled = x.to(torch.float64) * (2.0**t.frac)
    if t.rounding is Rounding.RND_CONV:
        codes = torch.round(scaled)
    else:
        codes = torch.floor(scaled + 0.5 if t.rounding is Rounding.RND else scaled)
    # Clamp far outside the 62-bit code space first so the int64 cast is defined; WRAP of values
    # that large is meaningless for real data and SAT is unchanged by it.
    codes = codes.clamp(-(2.0**62), 2.0**62).to(torch.int64)
    return apply_overflow(codes, t)


def dequantize(codes: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Codes to their exact float64 values (exact for widths up to 53 bits)."""
    return codes.to(torch.float64) * (2.0**-t.frac)
