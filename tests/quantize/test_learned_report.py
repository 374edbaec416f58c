"""The design-review report of a learned-bit-width build shows its per-layer bit widths: weight-bit
histograms, pruned fraction, activation widths, and estimated against Yosys LUTs per RTL block."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))

from report_fakes import FakeBuild  # noqa: E402

from flow.artifacts import LEARNED_BITS  # noqa: E402
from flow.quantize.learned.quantize import bit_stats  # noqa: E402
from flow.report import collect, from_dict, render_html, render_markdown, to_dict  # noqa: E402


def _learned_build(tmp_path: Path) -> FakeBuild:
    b = FakeBuild(tmp_path / "build" / "jsc-tiny" / "xcu250").all()
    stats = bit_stats(b.graph)
    stats["settings"] = {"beta": 1e-5}
    stats["selection"] = {"selected": {"phase": "bits", "epoch": 42, "val_acc": 0.61}}
    (b.folder("quantize") / LEARNED_BITS).write_text(json.dumps(stats))
    dense = [layer.name for layer in b.graph.layers if layer.kind == "dense"]
    b.rtl(layers=tuple({"name": n, "layers": [n], "kind": "dense", "latency": 1, "est_lut": 110} for n in dense))
    b.synth(layers=tuple({"layer": n, "lut": 100, "est_lut": 110} for n in dense))
    return b


def test_report_has_per_layer_learned_bits(tmp_path):
    b = _learned_build(tmp_path)
    r = collect(b.root, plot_dir=b.root / "10_report")
    dense = [layer for layer in b.graph.layers if layer.kind == "dense"]
    assert [x.layer for x in r.learned_layers] == [layer.name for layer in dense]
    for x, layer in zip(r.learned_layers, dense, strict=True):
        assert sum(x.weight_bits.values()) == x.weights == layer.weight.size
        assert x.weight_bits.get("0", 0) == int((layer.weight == 0).sum())
        assert x.nonzero == int((layer.weight != 0).sum())
        assert (x.est_lut, x.yosys_lut) == (110, 100)
    assert r.learned["beta"] == 1e-5 and r.learned["selected_epoch"] == "bits 42"
    assert any(p.name == "learned_bits" and (b.root / p.file).is_file() for p in r.plots)
    assert from_dict(to_dict(r)) == r
    md = render_markdown(r, b.root, b.root / "report.md")
    assert "## Learned bit widths" in md and "+10.0 %" in md
    assert "Learned bit widths" in render_html(r, b.root)


def test_uniform_build_has_no_learned_section(tmp_path):
    b = FakeBuild(tmp_path / "build" / "jsc-tiny" / "xcu250").all()
    r = collect(b.root)
    assert r.learned_layers == () and r.learned == {}
    assert "Learned bit widths" not in render_markdown(r, b.root, b.root / "report.md")
