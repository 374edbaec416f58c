"""ONNX export: the float model as ONNX (checked with onnxruntime against PyTorch, to a tolerance) and
the quantized graph as QONNX (checked with qonnx's executor against the integer reference, exactly).

Named ``flow.export`` rather than ``flow.onnx`` so it can never be mistaken for the ``onnx`` package.
"""

from flow.export.float_onnx import check_float, export_float
from flow.export.qonnx_model import build_qonnx, compute_type
from flow.export.qonnx_run import check_qonnx, execute, run_qonnx

__all__ = ["build_qonnx", "check_float", "check_qonnx", "compute_type", "execute", "export_float", "run_qonnx"]
