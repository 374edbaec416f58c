"""Render a :class:`~flow.report.model.Report` as ``report.md``, a self-contained ``report.html`` and
``report.json``; :func:`write_report` writes all three.

Templates live in ``flow/report/templates/`` and are rendered by jinja2 with ``StrictUndefined`` (a
misspelt field is an error, not an empty cell). The HTML page inlines its CSS and its plots (PNG as
base64 ``data:`` URIs): it references nothing outside itself.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import jinja2

from flow.artifacts import REPORT_HTML, REPORT_JSON, REPORT_MD, REPORTS
from flow.report import fmt
from flow.report.model import FAIL, INCOMPLETE, PASS, Report, to_dict

TEMPLATES = Path(__file__).resolve().parent / "templates"
FILES = REPORTS

MODE_NOTES = {
    "TRN": "truncate toward \u2212\u221e",
    "RND": "round half toward +\u221e",
    "WRAP": "wrap around (keep the low bits)",
    "SAT": "saturate (clamp to the range)",
}


def environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt.FILTERS)
    return env


# -- shared wording ---------------------------------------------------------------------------------


def verdict_text(report: Report) -> str:
    """One sentence on bit-exactness of the integer reference, hls4ml C-sim and the RTL."""
    if report.verdict == PASS:
        parts = [
            f"{c.name.split(' vs ')[0]} {c.vectors:,} vectors"
            for c in report.checks
            if c.stage in ("hls4ml", "sim") and c.vectors is not None
        ]
        return (
            "PASS: the integer reference, hls4ml C-sim and the RTL agree bit for bit "
            f"(0 mismatches; {', '.join(parts)}) and their accuracies are identical."
        )
    if report.verdict == FAIL:
        return "FAIL: " + "; ".join(f.message for f in report.errors)
    missing = [
        a.name
        for a in report.accuracies
        if a.key in ("reference", "hls4ml", "sim")
        and (a.status != "ran" or (a.key != "reference" and a.identical is None))
    ]
    missing += [c.name for c in report.checks if c.stage in ("reference", "hls4ml", "sim") and c.status == "n/a"]
    what = ", ".join(dict.fromkeys(missing)) or "some checks"
    return f"INCOMPLETE: bit-exactness not shown for {what} (not run or not recorded)."


def summary_rows(report: Report) -> list[tuple[str, str]]:
    """The headline figures as (label, text) pairs, for the top of the report."""
    m, t, tm = report.model, report.target, report.timing
    bit_exact = [c for c in report.checks if c.stage in ("reference", "onnx", "hls4ml", "sim")]
    checks = "; ".join(
        f"{c.name.split(' vs ')[0]}: "
        + (
            f"{fmt.num(c.mismatches)} mismatches / {fmt.num(c.vectors)} vectors"
            if c.mismatches is not None
            else c.status
        )
        for c in bit_exact
    )
    res = (
        ", ".join(
            f"{r.name} {fmt.num(r.used)}"
            + (f" ({fmt.pct(r.utilization_pct)})" if r.utilization_pct is not None else "")
            for r in report.resources
            if r.used is not None
        )
        or "not run"
    )
    return [
        ("verdict", report.verdict.upper()),
        ("model", f"{m.name}" + (f" \u2014 {m.description}" if m.description else "")),
        ("parameters", f"{fmt.num(m.float_params)} float; {fmt.num(m.quantized_params)} integer after folding"),
        ("target", f"{t.name} ({t.part or 'n/a'}) at {fmt.mhz(t.clock_mhz)}"),
        (
            "accuracy",
            f"float {fmt.acc(report.float_accuracy)}, integer {fmt.acc(report.int_accuracy)}, "
            f"drop {fmt.points(report.accuracy_drop)}",
        ),
        ("bit-exact checks", checks),
        (
            "latency",
            f"{fmt.num(tm.latency_cycles)} cycles = {fmt.ns(tm.latency_ns)}; II {fmt.num(tm.ii)}"
            + (f" ({fmt.rate(tm.throughput_mhz)})" if tm.throughput_mhz else ""),
        ),
        ("resources", res),
        ("build time", fmt.secs(report.build_seconds)),
    ]


def _context(report: Report) -> dict:
    return {
        "r": report,
        "verdict": verdict_text(report),
        "summary": summary_rows(report),
        "mode_notes": MODE_NOTES,
        "PASS": PASS,
        "FAIL": FAIL,
        "INCOMPLETE": INCOMPLETE,
    }


# -- renderers --------------------------------------------------------------------------------------


def render_markdown(report: Report, root: Path, dest: Path) -> str:
    """``report.md`` for a file in folder ``dest``; plot links are relative to ``dest``."""
    links = {p.name: Path(os.path.relpath(Path(root) / p.file, Path(dest))).as_posix() for p in report.plots}
    return environment(False).get_template("report.md.j2").render(**_context(report), links=links)


def data_uri(path: Path) -> str | None:
    """A PNG/SVG file as a ``data:`` URI; ``None`` if it cannot be read."""
    mime = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower())
    try:
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode() if mime else None
    except OSError:
        return None


def render_html(report: Report, root: Path) -> str:
    """Self-contained ``report.html``: inline CSS, plots inlined as base64."""
    images = {p.name: data_uri(Path(root) / p.file) for p in report.plots}
    css = (TEMPLATES / "report.css").read_text()
    return environment(True).get_template("report.html.j2").render(**_context(report), images=images, css=css)


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=1, allow_nan=False) + "\n"


def write_report(report: Report, folder: Path, root: Path, copy_to: Path | None = None) -> list[Path]:
    """Write ``report.json``, ``report.md``, ``report.html`` into ``folder`` and, with ``copy_to``, the
    same there (Markdown links rewritten to stay valid). Returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    html = render_html(report, root)
    js = render_json(report)
    written = []
    for dest in [folder] + ([Path(copy_to)] if copy_to is not None else []):
        dest.mkdir(parents=True, exist_ok=True)
        (dest / REPORT_JSON).write_text(js)
        (dest / REPORT_MD).write_text(render_markdown(report, root, dest))
        (dest / REPORT_HTML).write_text(html)
        written += [dest / f for f in FILES]
    return written
