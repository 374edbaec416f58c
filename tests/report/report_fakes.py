"""A fake build folder: stage manifests (typed results, as :mod:`flow.results` records) and files as
the real stages write them, from a random graph.

(A uniquely named module rather than conftest.py, so that tests in other folders cannot shadow it.)"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from flow.artifacts import HISTORY_JSON, QUANT_GRAPH, REF_OUTPUTS, TEST_CODES, TEST_LABELS, write_manifest
from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.ir.graph import precision_rows
from flow.ir.reference import classify, forward
from flow.ir.synthetic import random_codes, random_graph
from flow.pipeline import STAGES, BuildContext, BuildOptions, stage_index
from flow.results import (
    DataResult,
    Hls4mlResult,
    OnnxResult,
    QuantizeResult,
    ReferenceResult,
    RtlResult,
    SimResult,
    StageResult,
    SynthResult,
    TrainResult,
    to_record,
)

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
    """Writes ``root/NN_stage/manifest.json`` (and the files later stages read) one stage at a time.

    Each stage method takes keyword overrides of its result's fields (``b.sim(mismatches=3)``)."""

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

    def write(self, stage: str, results: StageResult | dict, seconds: float = 1.5, tools: dict | None = None) -> Path:
        """The stage's manifest; ``results`` a typed result, or a raw record (to test malformed ones)."""
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
            "results": results if isinstance(results, dict) else to_record(results),
        }
        write_manifest(d, manifest)
        return d

    # -- the stages --------------------------------------------------------------------------------
    def data(self, **kw):
        r = DataResult(
            source="synthetic test data",
            jets=2000,
            split_seed=42,
            counts={"train": 1200, "val": 400, "test": N},
            class_counts={c: 400 for c in CLASSES},
            class_names=tuple(CLASSES),
            feature_names=tuple(f"f{i}" for i in range(16)),
            headline="2,000 jets",
        )
        self.write("data", replace(r, **kw))

    def train(self, **kw):
        r = TrainResult(
            params=181,
            epochs=5,
            best_val_accuracy=0.64,
            float_test_accuracy=self.float_acc,
            samples_per_s=123456.0,
            checkpoint=None,
            headline="float test accuracy",
        )
        d = self.write(
            "train",
            replace(r, **kw),
            seconds=12.25,
            tools={"python": "3.11.2", "flow": "0.1.0", "torch": "2.13.0"},
        )
        (d / HISTORY_JSON).write_text(json.dumps(_history("float", 5)))

    def quantize(self, **kw):
        r = QuantizeResult(
            precisions=tuple(precision_rows(self.graph)),
            qat_epochs=3,
            best_qat_val_accuracy=0.63,
            params=self.graph.n_params,
            headline="3 layers",
        )
        d = self.write(
            "quantize",
            replace(r, **kw),
            seconds=4.0,
            tools={"python": "3.11.2", "flow": "0.1.0", "torch": "2.13.0"},
        )
        self.graph.save(d / QUANT_GRAPH)
        (d / HISTORY_JSON).write_text(json.dumps(_history("qat", 3)))

    def reference(self, **kw):
        r = ReferenceResult(
            vectors=N,
            float_accuracy=self.float_acc,
            int_accuracy=self.int_acc,
            qat_vs_reference_mismatches=0,
            accuracy_drop=self.float_acc - self.int_acc,
            headline="reference",
        )
        d = self.write("reference", replace(r, **kw))
        np.save(d / TEST_CODES, self.codes)
        np.save(d / TEST_LABELS, self.labels)
        np.save(d / REF_OUTPUTS, self.ref)

    def onnx(self, **kw):
        r = OnnxResult(
            onnx_path="05_onnx/float_model.onnx",
            onnx_max_abs_err=3.2e-7,
            onnx_tolerance={"atol": 1e-4, "rtol": 1e-4},
            onnx_vectors=N,
            qonnx_path="05_onnx/quant_model.qonnx.onnx",
            qonnx_compute_type="FLOAT",
            qonnx_vectors=N,
            qonnx_mismatches=0,
            qonnx_real_input_vectors=N,
            qonnx_vectors_per_s=5000,
            headline="onnx",
        )
        self.write("onnx", replace(r, **kw), tools={"python": "3.11.2", "flow": "0.1.0", "onnx": "1.17.0"})

    def hls4ml(self, **kw):
        r = Hls4mlResult(
            vectors=SUBSET,
            mismatches=0,
            accuracy=self.sub_acc,
            project_dir="06_hls4ml/prj",
            project_name="myproject",
            backend="Vitis",
            part="xcu250-figd2104-2L-e",
            clock_ns=5.0,
            precisions={"fc1": {"result": "ap_fixed<16,6>"}},
            compile_seconds=3.0,
            csim_vectors_per_s=1000,
            vendor="Vitis",
            headline="hls4ml",
        )
        self.write(
            "hls4ml",
            replace(r, **kw),
            seconds=30.0,
            tools={"python": "3.11.2", "flow": "0.1.0", "hls4ml": "1.3.0"},
        )

    def rtl(self, **kw):
        r = RtlResult(
            top="jsc_tiny",
            files=("top.v", "dense.v"),
            lines=120,
            lint="clean",
            latency_cycles=7,
            ii=1,
            layers=({"name": "fc1", "kind": "dense", "latency": 3},),
            headline="rtl",
        )
        self.write("rtl", replace(r, **kw))

    def sim(self, **kw):
        r = SimResult(
            vectors=SUBSET,
            mismatches=0,
            latency_cycles=7,
            ii=1,
            cycles=200,
            gaps=50,
            vectors_per_s=2500.0,
            sim_vectors_per_s=10000.0,
            build_seconds=2.0,
            run_seconds=0.06,
            mode="stream",
            simulator="verilator 5.048",
            build_cached=False,
            accuracy=self.sub_acc,
            top="jsc_tiny",
            vectors_total=N,
            headline="sim",
        )
        self.write(
            "sim",
            replace(r, **kw),
            seconds=20.0,
            tools={"python": "3.11.2", "flow": "0.1.0", "cocotb": "2.1.0", "verilator": "5.048"},
        )

    def synth(self, **kw):
        r = SynthResult(
            tool="Yosys 0.47",
            target="xcu250",
            part="xcu250-figd2104-2L-e",
            family="xcup",
            top="jsc_tiny",
            lut=1234,
            lut_logic=1200,
            lut_memory=34,
            ff=345,
            carry=56,
            dsp=0,
            bram=0.0,
            muxf=77,
            utilization={"lut": 0.0714},
            latency_cycles=7,
            clock_mhz=200.0,
            latency_ns=9.5,
            depth=12,
            seconds=60.0,
            options={},
            cells={"LUT6": 1200},
            layers=(),
            depth_note="cells on the longest path",
            headline="synth",
        )
        self.write("synth", replace(r, **kw), seconds=60.0)

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
