"""Random layers and stimulus for the block testbenches (pytest side: runs the integer reference).

Layers are drawn to hit corners: weights at both ends of their range, accumulators narrower than
exact (so sums WRAP), outputs that saturate or wrap, signed and unsigned inputs, every rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from flow.ir.fixed import FixedType
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, ReLU, ScaleShift, exact_accum_type, index_type
from flow.ir.reference import run_layer
from flow.registry import KindTable
from flow.sim.check import valid_pattern


def _fixed(rng: np.random.Generator, lo: int, hi: int, signed: bool | None = None) -> FixedType:
    signed = bool(rng.integers(2)) if signed is None else signed
    width = int(rng.integers(max(lo, 2 if signed else 1), hi + 1))
    return FixedType(
        width,
        int(rng.integers(-2, width + 3)),
        signed,
        ["TRN", "RND"][rng.integers(2)],
        ["WRAP", "SAT"][rng.integers(2)],
    )


def corner_codes(t: FixedType, n_rows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of all-min, all-max, alternating min/max, zeros, then uniform random codes."""
    codes = rng.integers(t.min_code, t.max_code + 1, (n_rows, n))
    alt = np.where(np.arange(n) % 2 == 0, t.min_code, t.max_code)
    fixed = [np.full(n, t.min_code), np.full(n, t.max_code), alt, alt[::-1] if n > 1 else alt, np.zeros(n)]
    for k, row in enumerate(fixed[:n_rows]):
        codes[k] = row
    return codes.astype(np.int64)


def _weights(rng: np.random.Generator, t: FixedType, shape: tuple[int, ...]) -> np.ndarray:
    w = rng.integers(t.min_code, t.max_code + 1, shape)
    mask = rng.random(shape)
    w[mask < 0.1] = t.min_code
    w[(mask >= 0.1) & (mask < 0.2)] = t.max_code
    w[(mask >= 0.2) & (mask < 0.3)] = 0
    return w.astype(np.int64)


def random_dense(seed: int) -> Dense:
    rng = np.random.default_rng(seed)
    n_in, n_out = int(rng.integers(1, 13)), int(rng.integers(1, 7))
    x_t = _fixed(rng, 2, 12)
    wb = int(rng.integers(2, 9))
    w_t = FixedType(wb, int(rng.integers(0, wb + 2)), True)
    b_t = FixedType(int(rng.integers(2, 14)), int(rng.integers(-2, x_t.frac + w_t.frac + 1)), True)
    w = _weights(rng, w_t, (n_out, n_in))
    b = _weights(rng, b_t, (n_out,))
    exact = exact_accum_type(x_t, w, w_t, b, b_t)
    # Half of the layers get an accumulator narrower than exact, so that sums wrap.
    width = exact.width if rng.random() < 0.5 else max(2, exact.width - int(rng.integers(1, 6)))
    acc_t = FixedType(width, exact.frac, True, "TRN", "WRAP")
    out_t = _fixed(rng, 2, 12)
    return Dense(f"fc{seed}", x_t, w_t, b_t, acc_t, out_t, w, b)


def random_scale_shift(seed: int) -> ScaleShift:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    x_t = _fixed(rng, 2, 12)
    sb = int(rng.integers(2, 9))
    s_t = FixedType(sb, int(rng.integers(0, sb + 2)), True)
    t_t = FixedType(int(rng.integers(2, 12)), int(rng.integers(-2, x_t.frac + s_t.frac + 1)), True)
    return ScaleShift(
        f"bn{seed}", x_t, s_t, t_t, _fixed(rng, 2, 12), _weights(rng, s_t, (n,)), _weights(rng, t_t, (n,))
    )


def relu_layer(params: dict) -> ReLU:
    """The ReLU layer equivalent to ``flow_relu`` HDL parameters (input frac is arbitrary)."""
    in_t = FixedType(params["IN_W"], 6, bool(params["IN_SIGNED"]))
    out_t = FixedType(
        params["OUT_W"],
        6 - params["SHIFT"],
        bool(params["OUT_SIGNED"]),
        "RND" if params["RND"] else "TRN",
        "SAT" if params["SAT"] else "WRAP",
    )
    return ReLU("relu", in_t, out_t, params["N"])


def random_relu(seed: int) -> ReLU:
    rng = np.random.default_rng(seed)
    return ReLU(
        f"relu{seed}", _fixed(rng, 2, 12), _fixed(rng, 1, 12, signed=bool(rng.integers(2))), int(rng.integers(1, 9))
    )


def random_argmax(seed: int) -> ArgMax:
    """Narrow inputs (2..6 bits) so that ties, which must go to the lower index, are frequent."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    return ArgMax(f"argmax{seed}", _fixed(rng, 2, 6), index_type(n), n)


# A random layer of each kind for the block testbenches, from a seed.
RANDOM_LAYERS = KindTable(
    "block testbench",
    LAYER_CLASSES,
    {Dense: random_dense, ScaleShift: random_scale_shift, ReLU: random_relu, ArgMax: random_argmax},
)


def write_vectors(path: Path, layer, n_rows: int, seed: int, latency: int) -> dict:
    """Stimulus (corners + random, gaps and bursts) and the reference outputs; returns the cocotb config."""
    rng = np.random.default_rng(seed)
    codes = corner_codes(layer.in_type, n_rows, layer.n_in, rng)
    expected = run_layer(layer, torch.from_numpy(codes)).numpy()
    flags = valid_pattern(n_rows, "gaps", seed)
    np.savez(path, codes=codes, expected=expected, flags=flags)
    return {
        "vectors": str(path),
        "in_w": layer.in_type.width,
        "n_out": layer.n_out,
        "out_w": layer.out_type.width,
        "out_signed": layer.out_type.signed,
        "latency": latency,
        "seed": seed,
    }
