"""The float model as ONNX, checked with onnxruntime against PyTorch.

Export uses ``torch.onnx.export(dynamo=True)`` (the torch.export-based exporter, the default since
torch 2.9) with a dynamic batch dimension. The check runs the same float32 inputs through PyTorch and
through onnxruntime (CPU); the two differ only by float32 summation order, so they must agree within
``|onnx - torch| <= ATOL + RTOL * |torch|`` with ``ATOL = RTOL = 1e-4`` (the logits are O(1..10); a
wrong weight or layer gives errors orders of magnitude larger).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from flow.errors import MismatchError, ToolError

ATOL = 1e-4
RTOL = 1e-4
INPUT, OUTPUT = "features", "logits"
OPSET = 18


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter logs optional-dependency notes and deprecation warnings; keep the console clean."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_float(model: torch.nn.Module, path: Path, n_inputs: int) -> Path:
    """Write ``model`` (eval mode, float32, input ``[batch, n_inputs]``) as ONNX to ``path``."""
    model = model.float().eval()
    example = (torch.zeros(2, n_inputs),)
    path = Path(path)
    try:
        with _quiet():
            torch.onnx.export(
                model,
                example,
                str(path),
                dynamo=True,
                verbose=False,
                opset_version=OPSET,
                input_names=[INPUT],
                output_names=[OUTPUT],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
            )
    except Exception as e:
        raise ToolError(f"ONNX export of the float model failed: {e}") from e
    return path


def onnx_predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Run the ONNX file with onnxruntime (CPU) on float32 ``x``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def check_float(path: Path, model: torch.nn.Module, x: np.ndarray) -> float:
    """Max ``|onnx - torch|`` on ``x``; MismatchError if beyond ``ATOL + RTOL * |torch|`` anywhere."""
    x = np.asarray(x, dtype=np.float32)
    with torch.no_grad():
        want = model.float().eval()(torch.from_numpy(x)).numpy()
    got = onnx_predict(path, x)
    if got.shape != want.shape:
        raise MismatchError(f"ONNX output shape {got.shape} != PyTorch {want.shape}")
    err = np.abs(got.astype(np.float64) - want)
    bad = np.argwhere(err > ATOL + RTOL * np.abs(want))
    if len(bad):
        i = int(bad[0][0])
        n_bad = len(np.unique(bad[:, 0]))
        raise MismatchError(
            f"ONNX (onnxruntime) differs from PyTorch on {n_bad} of {len(x)} vectors beyond "
            f"atol={ATOL}, rtol={RTOL}; first: vector {i}, onnx {got[i].tolist()}, "
            f"torch {want[i].tolist()}"
        )
    return float(err.max()) if err.size else 0.0
