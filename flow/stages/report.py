"""Stage 10: the design-review report, from the manifests and files of the stages before it.

Writes ``report.json``, ``report.md``, ``report.html`` (self-contained) and the plots into
``10_report/``, and copies the three reports to the build's top folder (``build/<model>/<target>/``).
The logic lives in :mod:`flow.report`.
"""

from __future__ import annotations

from flow.artifacts import REPORT_HTML, REPORTS, tool_versions
from flow.errors import MismatchError
from flow.report import collect, model_info, settings_of, target_info, write_report
from flow.results import ReportResult


def run(ctx) -> ReportResult:
    out = ctx.dir("report")
    report = collect(
        ctx.root,
        model=model_info(ctx.model),
        target=target_info(ctx.target),
        settings=settings_of(ctx),
        plot_dir=out,
        stages=ctx.stages,
        tools=tool_versions(("matplotlib", "jinja2", "scikit-learn")),
    )
    write_report(report, out, ctx.root, copy_to=ctx.root)
    errors = [f.message for f in report.errors]
    if errors:
        # The report is written first so the reviewer can see why; then the build fails.
        raise MismatchError(
            f"design review {report.verdict.upper()}: {'; '.join(errors)} (see {ctx.root / REPORT_HTML})"
        )
    return ReportResult(
        verdict=report.verdict,
        errors=tuple(errors),
        warnings=sum(1 for f in report.flags if f.level == "warning"),
        files=(*REPORTS, *(p.file for p in report.plots)),
        headline=f"design review {report.verdict.upper()}"
        + (f" ({len(errors)} error{'s' if len(errors) != 1 else ''})" if errors else "")
        + f"; {ctx.root / REPORT_HTML}",
    )
