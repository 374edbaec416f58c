"""Several builds side by side: ``flow report BUILD_DIR...``.

Each argument is a build folder (``build/<model>/<target>``, holding ``report.json``), a
``report.json`` file, or a folder holding several builds (``build/`` or ``build/<model>``), which
stands for every build found below it. The comparison is a rich table on the terminal and, on request,
a Markdown or self-contained HTML file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from flow.artifacts import REPORT_JSON
from flow.errors import ConfigError
from flow.report import fmt
from flow.report.model import FAIL, PASS, Report, from_dict
from flow.report.render import data_uri, environment

_STAGE_DIR = re.compile(r"^\d\d_report$")


@dataclass(frozen=True)
class Loaded:
    """One build's report and where its files are."""

    report: Report
    path: Path  # the report.json
    root: Path  # the build's top folder (plot paths are relative to it)

    @property
    def label(self) -> str:
        return f"{self.report.model.name} / {self.report.target.name}"


def _build_root(report_json: Path) -> Path:
    parent = report_json.parent
    return parent.parent if _STAGE_DIR.match(parent.name) else parent


def find_reports(paths: Iterable[Path]) -> list[Path]:
    """The ``report.json`` files the arguments stand for, in argument order, without duplicates."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            if p.name != REPORT_JSON:
                raise ConfigError(f"{p}: not a build folder or report.json")
            hits = [p]
        elif p.is_dir():
            if (p / REPORT_JSON).is_file():
                hits = [p / REPORT_JSON]
            else:
                hits = sorted(
                    q
                    for pattern in (f"*/{REPORT_JSON}", f"*/*/{REPORT_JSON}")
                    for q in p.glob(pattern)
                    if not _STAGE_DIR.match(q.parent.name)
                )
            if not hits:
                raise ConfigError(
                    f"{p}: no report.json in it or in the build folders below it; give "
                    "build/<model>/<target> of a build that ran to the report stage"
                )
        else:
            raise ConfigError(f"{p}: no such build folder")
        for h in hits:
            if h.resolve() not in {f.resolve() for f in found}:
                found.append(h)
    return found


def load(path: Path) -> Loaded:
    """Read one ``report.json``; a malformed one is a :class:`ConfigError`."""
    try:
        data = json.loads(Path(path).read_text())
        report = from_dict(data)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise ConfigError(f"{path}: not a readable flow report.json ({type(e).__name__}: {e})") from None
    return Loaded(report, Path(path), _build_root(Path(path)))


def load_all(paths: Iterable[Path]) -> list[Loaded]:
    return [load(p) for p in find_reports(paths)]


# -- the rows -------------------------------------------------------------------------------------------


def _acc(stage: str) -> Callable[[Report], str]:
    def cell(r: Report) -> str:
        a = r.accuracy(stage)
        if a is None or a.status != "ran":
            return "not run" if a is None else a.status
        text = fmt.acc(a.value)
        ref = r.accuracy("reference")
        if a.vectors is not None and (ref is None or a.vectors != ref.vectors):
            text += f" on {a.vectors:,} vectors"
        return text + " (DIFFERENT from the reference)" if a.identical is False else text

    return cell


def _res(name: str) -> Callable[[Report], str]:
    def cell(r: Report) -> str:
        x = r.resource(name)
        if x is None or x.used is None:
            return fmt.NA
        return fmt.num(x.used) + (f" ({fmt.pct(x.utilization_pct)})" if x.utilization_pct is not None else "")

    return cell


def _mismatches(r: Report) -> str:
    ran = [c for c in r.checks if c.mismatches is not None]
    if not ran:
        return fmt.NA
    return f"{sum(c.mismatches for c in ran):,} ({', '.join(f'{c.stage} {c.mismatches:,}' for c in ran)})"


ROWS: tuple[tuple[str, Callable[[Report], str]], ...] = (
    ("model", lambda r: r.model.name),
    ("target", lambda r: f"{r.target.name} ({r.target.part})" if r.target.part else r.target.name),
    ("clock", lambda r: fmt.mhz(r.target.clock_mhz)),
    ("verdict", lambda r: r.verdict.upper()),
    (
        "parameters (float / integer)",
        lambda r: f"{fmt.num(r.model.float_params)} / {fmt.num(r.model.quantized_params)}",
    ),
    ("float accuracy", lambda r: fmt.acc(r.float_accuracy)),
    ("integer reference accuracy", lambda r: fmt.acc(r.int_accuracy)),
    ("hls4ml C-sim accuracy", _acc("hls4ml")),
    ("RTL accuracy", _acc("sim")),
    ("float \u2192 integer drop", lambda r: fmt.NA if r.accuracy_drop is None else f"{100 * r.accuracy_drop:+.2f} pp"),
    ("mismatches", _mismatches),
    (
        "latency",
        lambda r: (
            f"{fmt.num(r.timing.latency_cycles)} cycles ({fmt.ns(r.timing.latency_ns)})"
            if r.timing.latency_cycles is not None
            else fmt.NA
        ),
    ),
    ("II", lambda r: fmt.num(r.timing.ii)),
    ("LUT", _res("LUT")),
    ("FF", _res("FF")),
    ("DSP", _res("DSP")),
    ("BRAM", _res("BRAM")),
    ("build time", lambda r: fmt.secs(r.build_seconds)),
)


def rows(builds: list[Loaded]) -> list[tuple[str, list[str]]]:
    """``(label, [cell per build])`` for every row of the comparison."""
    return [(label, [fn(b.report) for b in builds]) for label, fn in ROWS]


def _bad(label: str, cell: str) -> bool:
    return (
        (label == "verdict" and cell == FAIL.upper())
        or "DIFFERENT" in cell
        or (label == "mismatches" and cell not in (fmt.NA,) and not cell.startswith("0 "))
    )


def table(builds: list[Loaded]) -> Table:
    t = Table(title="flow builds side by side", show_lines=False, header_style="bold")
    t.add_column("")
    for b in builds:
        t.add_column(b.label, overflow="fold")
    for label, cells in rows(builds):
        styled = []
        for c in cells:
            style = "bold red" if _bad(label, c) else ("green" if label == "verdict" and c == PASS.upper() else "")
            styled.append(Text(c, style=style))
        t.add_row(Text(label, style="bold"), *styled)
    return t


def markdown(builds: list[Loaded]) -> str:
    head = "| | " + " | ".join(fmt.md_cell(b.label) for b in builds) + " |"
    sep = "|---|" + "---|" * len(builds)
    body = [
        "| "
        + label
        + " | "
        + " | ".join(("**" + fmt.md_cell(c) + "**") if _bad(label, c) else fmt.md_cell(c) for c in cells)
        + " |"
        for label, cells in rows(builds)
    ]
    sources = [f"- {b.label}: `{b.path}`" for b in builds]
    return "\n".join(["# flow builds side by side", "", head, sep, *body, "", "Reports:", "", *sources, ""])


def html(builds: list[Loaded]) -> str:
    css = (Path(__file__).resolve().parent / "templates" / "report.css").read_text()
    plots = [
        {p.name: (p.title, data_uri(b.root / p.file)) for p in b.report.plots if p.name in ("confusion", "roc")}
        for b in builds
    ]
    cells = [(label, [(c, _bad(label, c)) for c in row]) for label, row in rows(builds)]
    return environment(True).get_template("compare.html.j2").render(builds=builds, rows=cells, plots=plots, css=css)


def write(builds: list[Loaded], out: Path) -> Path:
    """The comparison as Markdown (``.md``) or self-contained HTML (``.html``)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".md", ".html", ".htm"):
        raise ConfigError(f"--out {out}: the comparison is written as .md or .html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(builds) if suffix == ".md" else html(builds))
    return out
