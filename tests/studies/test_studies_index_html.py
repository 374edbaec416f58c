"""index.html of a sweep renders in headless Chromium with every image loaded."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from flow.studies import report
from flow.studies.sweep import SweepGrid, SweepSettings, run_sweep

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
PROBE = """
<img alt="__control__" src="no-such-file.png">
<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const p = document.createElement("pre");
  p.textContent = "FLOWCHECK " + JSON.stringify({n: imgs.length, bad: bad});
  document.body.appendChild(p);
});
</script>
"""


def images_loaded(page, tmp_path) -> dict:
    """Open a copy of ``page`` (same folder, so relative images resolve) with a load check appended;
    a control image that does not exist must be the only one reported broken."""
    probe = page.with_name("_probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    cmd += ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    probe.unlink()
    found = re.findall(r"FLOWCHECK (\{.*?\})</pre>", res.stdout)
    assert found, f"no result from chromium (exit {res.returncode}): {res.stderr[-2000:]}"
    return json.loads(found[-1])


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium; scripts/setup.sh does)")
def test_index_html_loads_every_image(small, data, tmp_path, monkeypatch):
    grid = SweepGrid(batch_size=(64, 128), lr=(0.01,), epochs=(2,), batchnorm=(True, False))
    settings = SweepSettings(grid, seed=7, workers=1, plots_per_run=True, embedding="pca")
    out = tmp_path / "sweep"
    run_sweep(small, data, settings, out)
    # 5 overview figures (accuracy against batch size and BatchNorm, curves per batch size and BatchNorm,
    # training accuracy against steps), 4 runs x 4 figures; one control image that must fail
    overview, per_run = 5, 4 * 4
    assert (out / "index.html").read_text().count("data:image/png;base64,") == overview + per_run
    result = images_loaded(out / "index.html", tmp_path)
    assert result["bad"] == ["__control__"] and result["n"] == overview + per_run + 1
    # the per-run figures of a large sweep are linked as relative files: they load as well
    monkeypatch.setattr(report, "INLINE_LIMIT", 0)
    assert run_sweep(small, data, settings, out).ran == 0
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == overview and page.count('src="runs/') == per_run
    result = images_loaded(out / "index.html", tmp_path)
    assert result["bad"] == ["__control__"] and result["n"] == overview + per_run + 1
