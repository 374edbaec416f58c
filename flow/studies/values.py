"""Lists and ranges of sweep values, as typed on the command line.

* ``a,b,c``          -- a list: ``256,512,1024`` or ``1e-3,3e-3``
* ``lo..hi``         -- integers lo to hi, both included: ``4..8`` is 4, 5, 6, 7, 8
* ``lo..hi:step``    -- arithmetic, hi included when on the grid: ``2..8:2`` is 2, 4, 6, 8
* ``lo..hi*factor``  -- geometric: ``64..1024*4`` is 64, 256, 1024; ``1e-4..1e-2*10`` is 1e-4, 1e-3, 1e-2

Items of a list may themselves be ranges (``4..6,8``). For bit widths, ``float`` stands for "not
quantized" (the float model), so ``float,8,6,4`` puts the float accuracy next to the quantized ones.
"""

from __future__ import annotations

import math

from flow.errors import ConfigError

MAX_VALUES = 1000


def _number(text: str, kind: type, name: str) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a number") from None
    if kind is int:
        if value != int(value):
            raise ConfigError(f"{name}: {text!r} must be a whole number")
        return int(value)
    return value


def _range(text: str, kind: type, name: str) -> list:
    lo_s, _, rest = text.partition("..")
    for sep in (":", "*"):
        if sep in rest:
            hi_s, _, step_s = rest.partition(sep)
            break
    else:
        hi_s, sep, step_s = rest, ":", "1"
    lo, hi = _number(lo_s, kind, name), _number(hi_s, kind, name)
    step = _number(step_s, float if sep == "*" or kind is float else int, name)
    if hi < lo:
        raise ConfigError(f"{name}: range {text!r} runs backwards; write lo..hi")
    out: list = []
    if sep == ":":
        if step <= 0:
            raise ConfigError(f"{name}: range {text!r} needs a positive step")
        n = int(math.floor((hi - lo) / step + 1e-9)) + 1
        out = [lo + i * step for i in range(min(n, MAX_VALUES + 1))]
    else:
        if step <= 1 or lo <= 0:
            raise ConfigError(f"{name}: geometric range {text!r} needs lo > 0 and a factor above 1")
        v = lo
        while v <= hi * (1 + 1e-9) and len(out) <= MAX_VALUES:
            out.append(v)
            v = v * step
    if kind is float:
        out = [float(f"{v:.12g}") for v in out]
    else:
        bad = [v for v in out if v != int(v)]
        if bad:
            raise ConfigError(f"{name}: range {text!r} gives non-integer values like {bad[0]:g}")
        out = [int(v) for v in out]
    return out


def parse_values(text: str, kind: type, name: str, *, allow_float: bool = False) -> tuple:
    """Parse a list/range (see the module docstring) into a tuple of ``kind`` values, in order, unique.
    With ``allow_float``, the word ``float`` becomes ``None``."""
    values: list = []
    for item in (s.strip() for s in str(text).split(",")):
        if not item:
            raise ConfigError(f"{name}: empty item in {text!r}")
        if allow_float and item.lower() == "float":
            values.append(None)
        elif ".." in item:
            values.extend(_range(item, kind, name))
        else:
            values.append(_number(item, kind, name))
    if len(values) > MAX_VALUES:
        raise ConfigError(f"{name}: {text!r} gives more than {MAX_VALUES} values")
    out = tuple(dict.fromkeys(values))
    for v in out:
        if v is not None and not v > 0:
            raise ConfigError(f"{name}: values must be positive, got {v:g}")
    return out
