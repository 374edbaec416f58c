"""Run hls4ml's compiled C simulation on input codes and check it against the integer reference.

The compiled library exports ``<project>_double(double *in, double *out)`` (hls4ml's bridge): it converts
each double to ``input_t`` (exact: dequantized codes lie on the input grid), runs the top function
and converts ``result_t`` back to double (exact). :func:`run_csim` calls it row by row from a few
threads; ctypes releases the GIL during the call and the top function only touches stack arrays and
weights loaded once by the first call, so rows are independent. ``HlsProject.hls_model.predict`` does
the same single-threaded (and allocates per row); the tests check both agree.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from flow.compare import first_mismatch, locate, mismatch_error, to_codes, to_values
from flow.errors import ToolError
from flow.hls.precision import hls_name
from flow.hls.project import HlsProject

CHUNK = 2048  # rows per task (and per progress step)


def _top_function(project: HlsProject):
    if project.library is None or not project.library.is_file():
        raise ToolError(f"hls4ml project {project.project_dir} is not compiled (no C simulation library)")
    fn = getattr(ctypes.CDLL(str(project.library)), f"{project.project_name}_double")
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return fn


def run_csim_values(
    project: HlsProject, x: np.ndarray, *, threads: int | None = None, advance: Callable[..., None] | None = None
) -> np.ndarray:
    """Float64 inputs ``[N, n_in]`` -> float64 outputs ``[N, n_out]`` of the compiled C simulation."""
    g = project.graph
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != g.n_inputs:
        raise ToolError(f"C-sim input must be [N, {g.n_inputs}], got {list(x.shape)}")
    y = np.zeros((len(x), g.n_outputs), dtype=np.float64)
    if not len(x):
        return y
    fn = _top_function(project)
    xs, ys = x.shape[1] * 8, y.shape[1] * 8
    xp, yp = x.ctypes.data, y.ctypes.data
    fn(xp, yp)  # first call loads the weights (a static flag in the generated code), before threading

    def rows(lo: int) -> int:
        hi = min(lo + CHUNK, len(x))
        for i in range(lo, hi):
            fn(xp + i * xs, yp + i * ys)
        return hi - lo

    threads = threads or min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for n in pool.map(rows, range(0, len(x), CHUNK)):
            if advance:
                advance(n)
    return y


def run_csim(project: HlsProject, codes: np.ndarray, **kw) -> np.ndarray:
    """Input codes (int64) -> output codes (int64) of the C simulation (off-grid outputs raise)."""
    g = project.graph
    y = run_csim_values(project, to_values(codes, g.input_type), **kw)
    return to_codes(y, g.output_type, "hls4ml C simulation")


class _TraceData(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p)]


def trace_layers(project: HlsProject, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-layer output codes of one input vector (``codes`` shaped [1, n_in]) from the C simulation.

    The project is compiled with tracing code in (``TraceOutput``; C-sim only, off by default); this
    switches it on through the bridge's ``allocate_trace_storage`` / ``collect_trace_output`` as
    ``ModelGraph.trace`` does, but on the already loaded library instead of recompiling.
    """
    g = project.graph
    lib = ctypes.CDLL(str(project.library))
    fn = _top_function(project)
    sizes = {hls_name(layer.name): layer for layer in g.layers}
    x = to_values(codes[:1], g.input_type)
    y = np.zeros((1, g.n_outputs))
    lib.allocate_trace_storage(ctypes.c_size_t(8))  # 8 = sizeof(double): traces stored as double
    try:
        fn(x.ctypes.data, y.ctypes.data)
        entries = (_TraceData * (len(sizes) + 8))()  # one per traced layer, with room to spare
        lib.collect_trace_output(entries)
        out = {}
        for e in entries:
            layer = sizes.get(e.name.decode()) if e.name else None
            if layer is not None:
                vals = np.ctypeslib.as_array(ctypes.cast(e.data, ctypes.POINTER(ctypes.c_double)), shape=(layer.n_out,))
                out[layer.name] = np.rint(vals * 2.0**layer.out_type.frac).astype(np.int64)[None, :]
    finally:
        lib.free_trace_storage()
    return out


def check_csim(project: HlsProject, codes: np.ndarray, ref: np.ndarray, **kw) -> np.ndarray:
    """C-sim output codes, which must equal ``ref`` exactly; else MismatchError naming the first bad
    vector and the first layer whose traced output differs from :func:`flow.ir.reference.iter_layers`."""
    got = run_csim(project, codes, **kw)
    n_bad, bad = first_mismatch(got, ref)
    if n_bad:
        one = codes[bad[:1]]
        try:
            layers = trace_layers(project, one)
            where = locate(project.graph, one, layers.get)
        except Exception as e:  # diagnosis is best effort; the mismatch itself is the error
            where = f"(trace failed: {e})"
        raise mismatch_error("hls4ml C simulation", got, ref, bad, where)
    return got
