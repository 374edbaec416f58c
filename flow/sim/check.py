"""Exact comparison of captured RTL outputs with the integer reference, and the handshake checks.

Used inside the cocotb tests (in the simulator process) and by :mod:`flow.sim.simulate`.
"""

from __future__ import annotations

import numpy as np


def valid_pattern(n: int, pattern: str = "gaps", seed: int = 0) -> np.ndarray:
    """Boolean valid-in flag per clock cycle with exactly ``n`` True entries.

    ``burst``: ``n`` back-to-back cycles (maximum throughput). ``gaps``: bursts of random length
    separated by idle gaps of 1-8 cycles (about one gap per 20 vectors); vectors 0 and 1 are always
    back to back so that II = 1 is exercised even for tiny runs.
    """
    if pattern == "burst" or n == 0:
        return np.ones(n, dtype=bool)
    if pattern != "gaps":
        raise ValueError(f"unknown valid pattern {pattern!r}; use 'gaps' or 'burst'")
    rng = np.random.default_rng(seed)
    gap_before = np.where(rng.random(n) < 0.05, rng.integers(1, 9, n), 0)
    gap_before[:2] = 0
    flags = np.zeros(n + int(gap_before.sum()), dtype=bool)
    flags[np.arange(n) + np.cumsum(gap_before)] = True
    return flags


def compare(
    got: np.ndarray,
    expected: np.ndarray,
    in_cycles: np.ndarray,
    out_cycles: np.ndarray,
    latency: int,
    *,
    keep: int = 20,
) -> dict:
    """Check values and timing; return a JSON-able report (``ok`` says whether everything matched).

    Timing: one output per input, and output ``k`` exactly ``latency`` cycles after input ``k``
    (so valid-out follows valid-in through every gap and burst, and back-to-back inputs give
    back-to-back outputs: II = 1).
    """
    n_in, n_out = len(in_cycles), len(out_cycles)
    report: dict = {"vectors": int(n_in), "outputs": int(n_out), "latency_expected": int(latency)}
    handshake = []
    if n_out != n_in:
        handshake.append(f"{n_in} valid inputs but {n_out} valid outputs")
    m = min(n_in, n_out)
    lat = np.asarray(out_cycles[:m], np.int64) - np.asarray(in_cycles[:m], np.int64)
    observed = sorted({int(v) for v in np.unique(lat)}) if m else []
    report["latency_observed"] = observed[:10]
    bad_t = np.nonzero(lat != latency)[0]
    if len(bad_t):
        k = int(bad_t[0])
        handshake.append(
            f"output {k} came {int(lat[k])} cycles after its input (cycle {int(in_cycles[k])}), expected {latency}"
        )
    report["handshake_errors"] = handshake
    in_gaps = np.diff(np.asarray(in_cycles, np.int64))
    report["ii"] = 1 if (not handshake and m >= 2 and bool((in_gaps == 1).any())) else None
    report["back_to_back_inputs"] = int((in_gaps == 1).sum()) if m >= 2 else 0
    report["gaps"] = int((in_gaps > 1).sum()) if m >= 2 else 0
    diff = got[:m] != expected[:m]
    rows = np.nonzero(diff.any(axis=1))[0]
    report["mismatches"] = int(len(rows)) + (n_in - m)
    report["mismatch_rows"] = [int(r) for r in rows[:keep]]
    if len(rows):
        r = int(rows[0])
        e = int(np.nonzero(diff[r])[0][0])
        report["first"] = {
            "vector": r,
            "element": e,
            "expected": int(expected[r, e]),
            "got": int(got[r, e]),
            "expected_row": [int(v) for v in expected[r]],
            "got_row": [int(v) for v in got[r]],
        }
    report["ok"] = not handshake and report["mismatches"] == 0
    return report


def read_capture(path, n: int, width: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parse a harness capture file (``<cycle> <hex>`` lines) into (cycles, codes ``[M, n]``)."""
    from flow.sim.codec import unpack_hex

    with open(path) as fh:
        lines = fh.read().split()
    cycles = np.array([int(c) for c in lines[0::2]], dtype=np.int64)
    return cycles, unpack_hex(lines[1::2], n, width, signed)
