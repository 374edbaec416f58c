"""Number and text formatting shared by the Markdown, HTML and comparison renderers (jinja2 filters).

Every formatter takes ``None`` and returns ``"n/a"`` for it: a missing value is never shown as 0.
"""

from __future__ import annotations

import math

NA = "n/a"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def num(v, digits: int | None = None) -> str:
    """``12345`` -> ``12,345``; floats with ``digits`` decimals (default: ``.4g``-ish for small ones)."""
    if _missing(v):
        return NA
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (digits is None and float(v).is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    if digits is None:
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return f"{v:,.{digits}f}"


def acc(v) -> str:
    """An accuracy with six decimals, so that "identical" can be seen."""
    return NA if _missing(v) else f"{v:.6f}"


def acc_count(v, n) -> str:
    """``0.751200 (15,024 / 20,000)``: accuracy and the correct count it implies."""
    if _missing(v):
        return NA
    if _missing(n):
        return acc(v)
    return f"{v:.6f} ({round(v * n):,} / {n:,})"


def pct(v) -> str:
    """A percentage with three significant digits: ``0.0123 %``, ``12.3 %``."""
    if _missing(v):
        return NA
    if v == 0:
        return "0 %"
    return f"{v:.3g} %" if abs(v) < 1000 else f"{v:,.0f} %"


def points(v) -> str:
    """An accuracy difference as a fraction and percentage points: ``0.0123 (1.23 pp)``."""
    if _missing(v):
        return NA
    return f"{v:+.6f} ({100 * v:+.2f} percentage points)"


def secs(v) -> str:
    if _missing(v):
        return NA
    if v < 60:
        return f"{v:.1f} s"
    m, s = divmod(round(v), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def ns(v) -> str:
    return NA if _missing(v) else f"{v:,.4g} ns"


def mhz(v) -> str:
    return NA if _missing(v) else f"{v:,.4g} MHz"


def rate(v) -> str:
    """Inferences per second from a rate in millions per second."""
    return NA if _missing(v) else f"{v:,.4g} million inferences/s"


def identical(v) -> str:
    return {True: "identical", False: "DIFFERENT", None: NA}[v]


def or_dash(v) -> str:
    return "\u2014" if v is None or v == "" else str(v)


def md_cell(v) -> str:
    """Text safe inside a Markdown table cell."""
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_code(v) -> str:
    """Inline code in a Markdown table cell (``\u2014`` for none): keeps ``fixed<12,7>`` literal."""
    if v is None or v == "":
        return "\u2014"
    return "`" + str(v).replace("`", "'").replace("|", "\\|") + "`"


def pct_frac(v) -> str:
    """A fraction as a percentage with one decimal: ``0.734`` -> ``73.4 %``."""
    return NA if _missing(v) else f"{100 * v:.1f} %"


def dictsort_int(d: dict) -> list[tuple[str, object]]:
    """A dict's items in the numeric order of its keys (``"10"`` after ``"9"``)."""
    return sorted(d.items(), key=lambda kv: (int(kv[0]) if str(kv[0]).lstrip("-").isdigit() else 1 << 30, str(kv[0])))


def est_error(layer) -> str:
    """``(estimate - Yosys) / Yosys`` of a row with ``est_lut`` and ``yosys_lut``: ``+4.2 %``."""
    est, lut = getattr(layer, "est_lut", None), getattr(layer, "yosys_lut", None)
    if _missing(est) or _missing(lut) or not lut:
        return NA
    return f"{100 * (est - lut) / lut:+.1f} %"


FILTERS = {
    "num": num,
    "acc": acc,
    "acc_count": acc_count,
    "pct": pct,
    "points": points,
    "secs": secs,
    "ns": ns,
    "mhz": mhz,
    "rate": rate,
    "identical": identical,
    "or_dash": or_dash,
    "cell": md_cell,
    "code": md_code,
    "pct_frac": pct_frac,
    "dictsort_int": dictsort_int,
    "est_error": est_error,
}
