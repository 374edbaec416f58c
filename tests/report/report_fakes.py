"""A fake build folder: stage manifests and files as the real stages write them, from a random graph.

(A uniquely named module rather than conftest.py, so that tests in other folders cannot shadow it.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.ir.graph import precision_rows
from flow.ir.reference import classify, forward
from flow.ir.synthetic import random_codes, random_graph
from flow.pipeline import STAGES, BuildContext, BuildOptions, stage_index

N = 400  # test vectors
SUBSET = 150  # vectors checked by hls4ml C-sim and RTL sim
CLASSES = ["g", "q", "W", "Z", "t"]


def _history(phase: str, epochs: int) -> list[dict]:
    return [
        dict(
            phase=phase,
            epoch=i,
            train_loss=1.0 / (i + 1),
            train_acc=0.6 + 0.01 * i,
            val_loss=1.1 / (i + 1),
            val_acc=0.59 + 0.01 * i,
            seconds=0.1,
            samples_per_s=1e5,
        )
        for i in range(epochs)
    ]


class FakeBuild:
    """Writes ``root/NN_stage/manifest.json`` (and the files later stages read) one stage at a time."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.graph = random_graph((16, 8, 5), seed=3)
        self.codes = random_codes(self.graph, N, seed=4)
        self.ref = forward(self.graph, torch.from_numpy(self.codes)).numpy()
        rng = np.random.default_rng(5)
        pred = classify(self.ref)
        noisy = rng.random(N) < 0.3
        self.labels = np.where(noisy, rng.integers(0, 5, N), pred).astype(np.int64)
        self.int_acc = float(np.mean(pred == self.labels))
        self.sub_acc = float(np.mean(pred[:SUBSET] == self.labels[:SUBSET]))
        self.float_acc = self.int_acc + 0.0125

    def folder(self, stage: str) -> Path:
        d = self.root / f"{stage_index(stage) + 1:02d}_{stage}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write(self, stage: str, results: dict, seconds: float = 1.5, tools: dict | None = None) -> Path:
        d = self.folder(stage)
        manifest = {
            "stage": stage,
            "index": stage_index(stage) + 1,
            "input_hash": "x",
            "output_hash": "y",
            "started": "2025-01-01T00:00:00+00:00",
            "seconds": seconds,
            "tools": tools or {"python": "3.11.2", "flow": "0.1.0"},
            "command": "flow build",
            "results": results,
        }
        (d / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return d

    # -- the stages --------------------------------------------------------------------------------
    def data(self):
        self.write(
            "data",
            {
                "source": "synthetic test data",
                "jets": 2000,
                "split_seed": 42,
                "counts": {"train": 1200, "val": 400, "test": N},
                "class_counts": {c: 400 for c in CLASSES},
                "class_names": CLASSES,
                "feature_names": [f"f{i}" for i in range(16)],
                "headline": "2,000 jets",
            },
        )

    def train(self):
        d = self.write(
            "train",
            {
                "params": 181,
                "epochs": 5,
                "best_val_accuracy": 0.64,
                "float_test_accuracy": self.float_acc,
                "samples_per_s": 123456.0,
                "checkpoint": None,
                "headline": "float test accuracy",
            },
            seconds=12.25,
            tools={"python": "3.11.2", "flow": "0.1.0", "torch": "2.13.0"},
        )
        (d / "history.json").write_text(json.dumps(_history("float", 5)))

    def quantize(self):
        d = self.write(
            "quantize",
            {
                "precisions": precision_rows(self.graph),
                "qat_epochs": 3,
                "best_qat_val_accuracy": 0.63,
                "params": self.graph.n_params,
                "headline": "3 layers",
            },
            seconds=4.0,
            tools={"python": "3.11.2", "flow": "0.1.0", "torch": "2.13.0"},
        )
        self.graph.save(d / "quant_graph.json")
        (d / "history.json").write_text(json.dumps(_history("qat", 3)))

    def reference(self):
        d = self.write(
            "reference",
            {
                "vectors": N,
                "float_accuracy": self.float_acc,
                "int_accuracy": self.int_acc,
                "qat_vs_reference_mismatches": 0,
                "accuracy_drop": self.float_acc - self.int_acc,
                "headline": "reference",
            },
        )
        np.save(d / "test_codes.npy", self.codes)
        np.save(d / "test_labels.npy", self.labels)
        np.save(d / "ref_outputs.npy", self.ref)

    def onnx(self, mismatches: int = 0):
        self.write(
            "onnx",
            {"onnx_max_abs_err": 3.2e-7, "qonnx_vectors": N, "qonnx_mismatches": mismatches, "headline": "onnx"},
            tools={"python": "3.11.2", "flow": "0.1.0", "onnx": "1.17.0"},
        )

    def hls4ml(self, mismatches: int = 0, accuracy: float | None = None):
        self.write(
            "hls4ml",
            {
                "vectors": SUBSET,
                "mismatches": mismatches,
                "accuracy": self.sub_acc if accuracy is None else accuracy,
                "project_dir": "06_hls4ml/prj",
                "precisions": {"fc1": "ap_fixed<16,6>"},
                "vendor": "Vitis",
                "headline": "hls4ml",
            },
            seconds=30.0,
            tools={"python": "3.11.2", "flow": "0.1.0", "hls4ml": "1.3.0"},
        )

    def rtl(self):
        self.write("rtl", {"files": ["top.v", "dense.v"], "lint": "clean", "headline": "rtl"})

    def sim(self, mismatches: int = 0, accuracy: float | None = None):
        self.write(
            "sim",
            {
                "vectors": SUBSET,
                "mismatches": mismatches,
                "latency_cycles": 7,
                "ii": 1,
                "vectors_per_s": 2500.0,
                "accuracy": self.sub_acc if accuracy is None else accuracy,
                "headline": "sim",
            },
            seconds=20.0,
            tools={"python": "3.11.2", "flow": "0.1.0", "cocotb": "2.1.0", "verilator": "5.048"},
        )

    def synth(self):
        self.write(
            "synth",
            {
                "tool": "Yosys 0.47",
                "lut": 1234,
                "ff": 345,
                "carry": 56,
                "dsp": 0,
                "bram": 0,
                "utilization": {"lut": 0.0714},
                "latency_ns": 9.5,
                "depth": 12,
                "max_fanout": 77,
                "headline": "synth",
            },
            seconds=60.0,
        )

    def all(self, upto: str = "synth") -> FakeBuild:
        for s in STAGES[: stage_index(upto) + 1]:
            getattr(self, s.name)()
        return self

    def context(self) -> BuildContext:
        return BuildContext(
            get_model("jsc-tiny"),
            get_target(self.root.name),
            BuildOptions(vectors=SUBSET),
            self.root,
            Console(file=io.StringIO()),
        )
