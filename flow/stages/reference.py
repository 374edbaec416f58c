"""Stage 04: the integer reference on the test set, and the exact check of the QAT model against it.

Writes ``test_codes.npy`` (int64 input codes), ``test_labels.npy``, ``ref_outputs.npy`` (int64
output codes), and the corner vectors of :mod:`flow.check.corners` (``corner_codes.npy``,
``corner_outputs.npy``, ``corners.json`` with every target's status). The QAT model run in float64 and
scaled by ``2**frac`` must equal the reference exactly on every test and corner vector; any difference
fails the build.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from flow.artifacts import (
    CORNER_CODES,
    CORNER_OUTPUTS,
    CORNERS_JSON,
    FLOAT_MODEL,
    QAT_MODEL,
    QUANT_GRAPH,
    REF_OUTPUTS,
    TEST_CODES,
    TEST_LABELS,
)
from flow.check.corners import generate_corners
from flow.compare import first_mismatch
from flow.errors import MismatchError
from flow.ir.fixed import dequantize
from flow.ir.graph import QuantGraph
from flow.ir.reference import classify, encode_inputs, forward
from flow.quantize.fold_batchnorm import fold_batchnorm
from flow.quantize.qat import QuantModel, layer_types
from flow.results import ReferenceResult
from flow.stages.data import load_split
from flow.train.fit import Arrays, evaluate
from flow.train.model import load_float_model, read_checkpoint


def qat_outputs(ctx, graph: QuantGraph, codes: torch.Tensor) -> tuple[np.ndarray, bool]:
    """The trained QAT model in float64 on the dequantized input codes, scaled to output codes;
    and whether every scaled output was an integer (it must be)."""
    float_model = load_float_model(ctx.dir("train") / FLOAT_MODEL, ctx.model)
    qmodel = QuantModel(graph.input_type, fold_batchnorm(float_model), layer_types(graph), graph.input_types)
    qmodel.load_state_dict(torch.load(ctx.dir("quantize") / QAT_MODEL))
    qmodel = qmodel.double().eval()
    with torch.no_grad():
        scaled = qmodel.decide(dequantize(codes, graph.input_type)) * (2.0**graph.output_type.frac)
    return scaled.round().to(torch.int64).numpy(), bool((scaled == scaled.round()).all())


CORNER_SEED = 0


def _check_qat(ctx, graph: QuantGraph, codes: torch.Tensor, ref: np.ndarray, what: str) -> int:
    qat, integral = qat_outputs(ctx, graph, codes)
    n_bad, bad = first_mismatch(qat, ref)
    if not integral or n_bad:
        i = int(bad[0]) if n_bad else -1
        raise MismatchError(
            f"QAT model and integer reference differ on {n_bad} of {len(ref)} {what} vectors"
            + ("" if integral else " (and some QAT outputs are off the output grid)")
            + (f" (first: vector {i}, QAT {qat[i].tolist()} vs reference {ref[i].tolist()})" if n_bad else "")
        )
    return n_bad


def run(ctx) -> ReferenceResult:
    out = ctx.dir("reference")
    graph = QuantGraph.load(ctx.dir("quantize") / QUANT_GRAPH)
    arrays = load_split(ctx)
    codes = encode_inputs(graph, arrays["X_test"])
    ref = forward(graph, codes).numpy()
    labels = arrays["y_test"]
    np.save(out / TEST_CODES, codes.numpy())
    np.save(out / TEST_LABELS, labels)
    np.save(out / REF_OUTPUTS, ref)

    corners = generate_corners(graph, seed=CORNER_SEED)
    corner_ref = forward(graph, torch.from_numpy(corners.codes)).numpy()
    np.save(out / CORNER_CODES, corners.codes)
    np.save(out / CORNER_OUTPUTS, corner_ref)
    (out / CORNERS_JSON).write_text(json.dumps(corners.to_dict(), indent=1) + "\n")

    qat_bad = _check_qat(ctx, graph, codes, ref, "test")
    qat_corner_bad = _check_qat(ctx, graph, torch.from_numpy(corners.codes), corner_ref, "corner")
    ckpt = read_checkpoint(ctx.dir("train") / FLOAT_MODEL)
    float_model = load_float_model(ctx.dir("train") / FLOAT_MODEL, ctx.model)
    _, float_acc = evaluate(float_model, Arrays.of(arrays["X_test"], labels, ckpt["input_mean"], ckpt["input_std"]))
    int_acc = float(np.mean(classify(ref) == labels))
    return ReferenceResult(
        vectors=len(ref),
        float_accuracy=float_acc,
        int_accuracy=int_acc,
        qat_vs_reference_mismatches=qat_bad,
        accuracy_drop=float_acc - int_acc,
        corner_vectors=len(corners.codes),
        corner_targets=corners.summary(),
        qat_corner_mismatches=qat_corner_bad,
        headline=f"{len(ref):,} vectors; accuracy float {float_acc:.4f}, integer {int_acc:.4f}; "
        f"QAT model == reference exactly; {len(corners.codes)} corner vectors hit {corners.count('hit')} of "
        f"{len(corners.targets)} bound/tie targets ({corners.count('unreachable')} unreachable, "
        f"{corners.count('not found')} not found)",
    )
