"""`flow explore --backend ray`: every point a Ray task on a worker that shares no file system with the
head; the head writes the same point folders and the same records as the local backend."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.explore.front import PARETO_JSON
from flow.explore.run import POINT_JSON, explore
from flow.options import BuildOptions

pytestmark = pytest.mark.slow
LEARNED = {"epochs": 2, "warmup_epochs": 1, "ramp_epochs": 1, "finetune_epochs": 1}


def test_explore_on_ray_equals_local(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # a private local instance (loopback only)
    spec = get_model("jsc-small")
    spec = replace(spec, train=replace(spec.train, epochs=2))
    opts = BuildOptions(vectors=300, until="reference")
    target = get_target("xcu250")
    local = explore(spec, target, [1e-4], tmp_path / "local", opts, learned=LEARNED)
    ckpt = next((tmp_path / "local" / "base").rglob("float_model.pt"))
    opts = replace(opts, checkpoint=ckpt)  # the same float model for both, as explore shares it
    local = explore(spec, target, [1e-4], tmp_path / "local2", opts, learned=LEARNED)
    ray = explore(spec, target, [1e-4], tmp_path / "ray", opts, learned=LEARNED, backend="ray", jobs=1)
    assert [p["accuracy"] for p in ray] == [p["accuracy"] for p in local]  # bit for bit, same seeds
    point = tmp_path / "ray" / "points" / "beta-0.0001"
    rec = json.loads((point / POINT_JSON).read_text())
    assert rec["build"].startswith(str(tmp_path / "ray"))  # the head's folder, not the worker's scratch
    assert (point / "jsc-small" / "xcu250" / "03_quantize" / "quant_graph.json").is_file()
    doc = json.loads((tmp_path / "ray" / PARETO_JSON).read_text())
    assert [p["name"] for p in doc["points"]] == ["beta-0.0001"]
    # resumes point by point: a finished point is not sent again
    again = explore(spec, target, [1e-4], tmp_path / "ray", opts, learned=LEARNED, backend="ray", jobs=1)
    assert again[0]["accuracy"] == ray[0]["accuracy"] and "stages_ran" in again[0]
