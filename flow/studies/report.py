"""``index.html`` of a sweep folder: the results table and every figure on one page.

Images are inlined as base64 ``data:`` URIs, so the page is one file that can be mailed or moved. Should
the per-run figures of a large sweep (``--plots-per-run``) exceed :data:`INLINE_LIMIT` bytes together, they
are linked as relative files (``runs/<key>/...``) instead, which load as long as the page stays in its folder.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

INLINE_LIMIT = 25_000_000
RUN_FIGURES = ("curves.png", "confusion.png", "roc.png", "embedding.png")
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; } h3 { font-size: 1em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } tr.best td { font-weight: bold; background: #eef6ee; }
.figs { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.figs img { max-width: 100%; border: 1px solid #eee; }
.run img { width: 330px; }
.note { color: #666; font-size: 0.85em; }
"""


def _img(path: Path, rel: str, inline: bool, alt: str) -> str:
    data = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") if inline else ""
    src = data or html.escape(rel)
    return f'<img src="{src}" alt="{html.escape(alt)}" title="{html.escape(alt)}">'


def write_index(out: Path, spec, settings, points, rows, figures: list[str]) -> Path:
    """Write ``out/index.html`` (see the module docstring) and return its path."""
    from flow.studies.sweep import metric_label, table

    out = Path(out)
    head, cells = table(settings, rows)
    g = settings.grid
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>flow sweep: {html.escape(spec.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>flow sweep: {html.escape(spec.name)}</h1>",
        f'<p class="note">{len(rows)} grid points x {g.repeats} seed(s) from {settings.seed}; metric: '
        f"{html.escape(metric_label(settings))}, mean and sample standard deviation over the seeds. "
        "Network: widths of the input, hidden and output layers (BN: with BatchNorm); parameters: trainable, "
        "of the float model. The best point is in bold.</p>",
        "<h2>Results</h2>",
        "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>",
    ]
    for r, c in zip(rows, cells, strict=True):
        cls = ' class="best"' if r["best"] else ""
        parts.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(x)}</td>" for x in c) + "</tr>")
    parts.append("</tbody></table>")
    overview = [f for f in figures if (out / f).is_file()]
    groups = (
        ("Accuracy against each swept variable", [f for f in overview if f.startswith("acc_vs_")]),
        ("Learning curves, one line per setting", [f for f in overview if not f.startswith("acc_vs_")]),
    )
    for title, files in groups:
        if files:
            parts.append(f"<h2>{title}</h2><div class='figs'>")
            parts += [_img(out / f, f, True, f) for f in files]
            parts.append("</div>")
    keys = list(dict.fromkeys(k for p in points for k in ((p.float_key, p.key) if p.quantized else (p.key,))))
    runs = [(k, [f for f in RUN_FIGURES if (out / "runs" / k / f).is_file()]) for k in keys]
    runs = [(k, fs) for k, fs in runs if fs]
    if runs:
        size = sum((out / "runs" / k / f).stat().st_size for k, fs in runs for f in fs)
        inline = size <= INLINE_LIMIT
        parts.append("<h2>Runs</h2>")
        if not inline:
            parts.append(
                f'<p class="note">The per-run figures ({size / 1e6:.0f} MB) are linked from runs/&lt;key&gt;/; '
                "keep this page in its folder.</p>"
            )
        for k, fs in runs:
            parts.append(f"<h3 id='{html.escape(k)}'>{html.escape(k)}</h3><div class='figs run'>")
            parts += [_img(out / "runs" / k / f, f"runs/{k}/{f}", inline, f"{k}: {f}") for f in fs]
            parts.append("</div>")
    parts.append("</body></html>")
    path = out / "index.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(parts) + "\n")
    tmp.replace(path)
    return path
