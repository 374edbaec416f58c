"""Trainable fixed-point quantizers on flow's semantics (HGQ-style learned fractional bits).

A quantizer holds a real-valued fractional-bit parameter ``f`` (one per weight, or one per layer for
activations). Its forward pass uses the integer ``fr = floor(f + 1/2)`` and is *exactly*
:func:`flow.ir.fixed.quantize_float` with ``FixedType(width, fr, signed, RND, SAT)`` read back as a value
(``code * 2**-fr``); a width below the type's minimum (1 bit unsigned, 2 bits signed) gives 0, which for a
weight means it is pruned.

Backward (training only):

* ``d y / d x = 1`` (straight through, as :func:`flow.quantize.qat.fake_quantize`);
* ``d y / d f = -ln 2 * (y - x)``: the quantization error ``delta = y - x`` behaves like ``2**-f`` times
  a fixed noise, so its derivative with respect to ``f`` is ``-ln 2 * delta`` (HGQ's surrogate gradient of
  the quantization error with respect to the fractional bits). Summed over the elements sharing one ``f``.

Everything here is float arithmetic on values that are exactly representable (power-of-two scales, integer
codes below 2**24 in float32, 2**53 in float64), so the evaluation-mode output is the exact grid value.
"""

from __future__ import annotations

import math

import torch

LN2 = math.log(2.0)


def round_frac(f: torch.Tensor) -> torch.Tensor:
    """The integer fractional bits a real-valued parameter stands for: ``floor(f + 1/2)``."""
    return torch.floor(f.detach() + 0.5)


def grid_value(x: torch.Tensor, frac: torch.Tensor, width: torch.Tensor, signed: bool) -> torch.Tensor:
    """``code * 2**-frac`` with ``code = clamp(floor(x * 2**frac + 1/2), min_code, max_code)`` (RND/SAT);
    0 where ``width`` is below the minimum width. ``frac`` and ``width`` hold integers (as floats) and
    broadcast against ``x``. No gradient."""
    with torch.no_grad():
        scale = torch.exp2(frac)
        code = torch.floor(x * scale + 0.5)
        if signed:
            hi = torch.exp2(width - 1) - 1
            lo = -torch.exp2(width - 1)
            alive = width >= 2
        else:
            hi = torch.exp2(width) - 1
            lo = torch.zeros_like(hi)
            alive = width >= 1
        code = torch.minimum(torch.maximum(code, lo), hi)
        return torch.where(alive, code / scale, torch.zeros_like(code))


def learned_quantize(
    x: torch.Tensor, f: torch.Tensor, width: torch.Tensor, signed: bool, frac: torch.Tensor | None = None
) -> torch.Tensor:
    """Quantize ``x`` to fractional bits ``round_frac(f)`` (or ``frac`` if given) and ``width`` bits.

    In evaluation (no gradient needed) the result is the exact grid value. With gradients it is the same
    value carrying ``dy/dx = 1`` and ``dy/df = -ln2 * (y - x)``.
    """
    fr = round_frac(f) if frac is None else frac
    y = grid_value(x, fr, width, signed)
    if not (torch.is_grad_enabled() and (x.requires_grad or f.requires_grad)):
        return y
    delta = (y - x).detach()
    out = x + delta
    if f.requires_grad:
        out = out - LN2 * delta * (f - f.detach())
    return out


def int_bits(max_abs: torch.Tensor) -> torch.Tensor:
    """Integer bits (above the binary point, sign excluded) that hold ``max_abs``: ``ceil(log2(max_abs))``
    with the same tolerance as :meth:`flow.config.quant.TypeSpec.resolve`; 0 for ``max_abs <= 0``."""
    m = max_abs.detach().double()
    return torch.where(m > 0, torch.ceil(torch.log2(torch.clamp(m, min=1e-300) * (1 + 2**-20))), torch.zeros_like(m))
