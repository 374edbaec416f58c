"""The design-review report of a build: ``report.json``, ``report.md`` and a self-contained ``report.html``.

* :mod:`flow.report.model` -- the typed :class:`Report` (frozen dataclasses) and its JSON form;
* :mod:`flow.report.collect` -- builds it from the stage manifests of ``build/<model>/<target>/``;
* :mod:`flow.report.figures` -- its plots (confusion matrix, ROC, background rejection, history);
* :mod:`flow.report.render` -- Markdown and HTML (jinja2 templates in ``templates/``);
* :mod:`flow.report.compare` -- several builds side by side (``flow report BUILD_DIR...``).
"""

from flow.report.collect import collect, model_info, settings_of, target_info
from flow.report.model import FAIL, INCOMPLETE, PASS, Report, from_dict, to_dict
from flow.report.render import render_html, render_markdown, write_report

__all__ = [
    "FAIL",
    "INCOMPLETE",
    "PASS",
    "Report",
    "collect",
    "from_dict",
    "model_info",
    "render_html",
    "render_markdown",
    "settings_of",
    "target_info",
    "to_dict",
    "write_report",
]
