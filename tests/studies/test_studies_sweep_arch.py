"""`flow sweep` with architecture variables, overlaid learning curves, per-run folders and index.html."""

import csv
import json
import re

import pytest

from flow.studies.sweep import SweepGrid, SweepPoint, SweepSettings, default_out, run_sweep


def settings_of(**kw):
    extra = {k: kw.pop(k) for k in ("plots_per_run", "embedding", "embedding_samples") if k in kw}
    base = {"batch_size": (64,), "lr": (0.01,), "epochs": (2,), "repeats": 1}
    base.update(kw)
    return SweepSettings(SweepGrid(**base), seed=7, qat_epochs=0, workers=1, **extra)


def test_arch_variables_enter_the_key():
    p = SweepPoint(64, 0.01, 2, None, None, 7)
    assert p.key == "bs64_lr0.01_ep2_s7"  # unchanged: folders of older sweeps resume
    q = SweepPoint(64, 0.01, 2, 6, None, 7, batchnorm=False, width="x0.5", depth=3)
    assert q.float_key == "bs64_lr0.01_ep2_bnoff_hx0.5_d3_s7" and q.key == q.float_key + "_w6_ad"
    keys = {p.key for p in settings_of(batchnorm=(True, False), width=("8", "16"), depth=(1, 2)).points()}
    assert len(keys) == 8
    # the default folder of a grid without them is what it was before they existed
    assert "batchnorm" not in settings_of().grid.identity()
    a, b = settings_of(), settings_of(batchnorm=(True, False))
    assert default_out.__name__ and a.grid.identity() != b.grid.identity()


def test_arch_sweep_table_curves_and_resume(small, data, tmp_path):
    settings = settings_of(batchnorm=(True, False), width=("4", "8"), lr=(0.003, 0.03), repeats=1)
    r = run_sweep(small, data, settings, tmp_path)
    assert r.ran == 8 and len(r.rows) == 8
    params = {(row["batchnorm"], row["width"]): row["parameters"] for row in r.rows}
    assert params[(True, "8")] == 285 and params[(False, "8")] == 285 - 32
    assert params[(False, "4")] == 16 * 4 + 4 + 4 * 4 + 4 + 4 * 5 + 5
    md = (tmp_path / "results.md").read_text().replace("**", "")
    assert "| BatchNorm | hidden width |" in md and "| network | parameters |" in md
    assert "| 64 | 0.003 | 2 | off | 4 | float | float | 16-4-4-5 | 113 | 1 |" in md
    assert "depth" not in md.split("\n")[4]  # not given: no column
    rows = list(csv.DictReader((tmp_path / "results.csv").read_text().splitlines()))
    assert {x["batchnorm"] for x in rows} == {"on", "off"} and {x["depth"] for x in rows} == {"model"}
    for f in ("acc_vs_lr.png", "acc_vs_batchnorm.png", "acc_vs_width.png"):
        assert (tmp_path / f).is_file(), f
    for f in ("curves_lr.png", "curves_batchnorm.png", "curves_width.png", "index.html"):
        assert (tmp_path / f).is_file(), f
    assert not (tmp_path / "train_acc_vs_steps.png").exists()  # batch size not swept
    page = (tmp_path / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 6 and "<table>" in page and "16-4-4-5" in page
    # resume: everything skipped; a lost run is the only one redone, with the same result
    again = run_sweep(small, data, settings, tmp_path)
    assert (again.ran, again.skipped) == (0, 8)
    (tmp_path / "float" / "bs64_lr0.03_ep2_bnoff_h4_s7.json").unlink()
    third = run_sweep(small, data, settings, tmp_path)
    assert (third.ran, third.skipped) == (1, 7)
    assert [x["val_acc_mean"] for x in third.rows] == [x["val_acc_mean"] for x in r.rows]
    # a larger grid over the same folder reuses the runs it shares
    more = run_sweep(
        small, data, settings_of(batchnorm=(True, False), width=("4", "8", "x2"), lr=(0.003, 0.03)), tmp_path
    )
    assert (more.ran, more.skipped) == (4, 8)


def test_depth_sweep_and_steps_plot(small, data, tmp_path):
    r = run_sweep(small, data, settings_of(depth=(1, 3), batch_size=(32, 128)), tmp_path)
    assert sorted({row["network"] for row in r.rows}) == ["16-8-5 BN", "16-8-8-8-5 BN"]
    for f in ("acc_vs_depth.png", "curves_depth.png", "curves_batch_size.png", "train_acc_vs_steps.png"):
        assert (tmp_path / f).is_file(), f
    run = json.loads((tmp_path / "float" / "bs32_lr0.01_ep2_d3_s7.json").read_text())
    assert run["steps_per_epoch"] == -(-len(data.train) // 32) and run["parameters"] == r.rows[1]["parameters"]


def test_plots_per_run_and_resume(small, data, tmp_path):
    plain = settings_of(batch_size=(64, 128))
    run_sweep(small, data, plain, tmp_path)
    assert not (tmp_path / "runs" / "bs64_lr0.01_ep2_s7").exists()
    per_run = settings_of(batch_size=(64, 128), plots_per_run=True, embedding="pca")
    r = run_sweep(small, data, per_run, tmp_path)
    assert r.ran == 2  # finished runs without their folders are run again
    for key in ("bs64_lr0.01_ep2_s7", "bs128_lr0.01_ep2_s7"):
        for f in ("curves.png", "confusion.png", "roc.png", "embedding.png"):
            assert (tmp_path / "runs" / key / f).is_file(), (key, f)
    assert run_sweep(small, data, per_run, tmp_path).ran == 0
    page = (tmp_path / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 3 + 2 * 4
    assert re.search(r"<h3 id='bs128_lr0.01_ep2_s7'>", page)


def test_plots_per_run_quantized(small, data, tmp_path):
    settings = settings_of(weight_bits=(6,), act_bits=(8,), plots_per_run=True, embedding="pca")
    r = run_sweep(small, data, settings, tmp_path)
    assert r.ran == 2
    for key in ("bs64_lr0.01_ep2_s7", "bs64_lr0.01_ep2_s7_w6_a8"):
        for f in ("curves.png", "confusion.png", "roc.png", "embedding.png"):
            assert (tmp_path / "runs" / key / f).is_file(), (key, f)


def test_cli_sweep_arch(cli, csv_path, tmp_path):
    out = tmp_path / "sw"
    args = ["sweep", "jsc-small", "--data", str(csv_path), "--batchnorm", "on,off", "--epochs", "1"]
    args += ["--width", "4,x2", "--workers", "1", "--plots-per-run", "--embedding", "pca", "--out", str(out)]
    res = cli(args)
    assert res.exit_code == 0, res.output
    assert "4 grid points" in res.output and "params" in res.output and "index.html" in res.output
    assert "16-16-16-5 BN" in res.output and "bn off width x2" in res.output
    assert (out / "runs" / "bs512_lr0.003_ep1_bnoff_hx2_s42" / "embedding.png").is_file()
    res = cli([*args[:-2], "--width", "wide"])
    assert res.exit_code != 0 and "--width" in str(res.exception)
    res = cli([*args[:-2], "--embedding", "umap"])
    assert res.exit_code != 0 and "tsne" in str(res.exception)


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_embedding_plot(trained, small, data, tmp_path, method):
    from flow.studies.embed import plot_hidden_embedding, probe
    from flow.train.model import load_float_model, read_checkpoint

    out, _ = trained
    ckpt = read_checkpoint(out / "best.pt")
    _, _, test = data.arrays(ckpt["input_mean"], ckpt["input_std"])
    hidden, scores = probe(load_float_model(out / "best.pt", small), test.x)
    assert hidden.shape == (len(data.test), 8) and scores.shape == (len(data.test), 5)
    e = plot_hidden_embedding(hidden, data.test.y, data.class_names, tmp_path / "e.png", method, samples=50)
    assert e.coords.shape == (50, 2) and (tmp_path / "e.png").stat().st_size > 1000
