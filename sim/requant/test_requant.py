"""Testbench of ``flow_requant`` (rtl_templates/requant.v.j2): round then overflow, exactly as
:func:`flow.ir.fixed.requantize`, over randomized HDL parameters and corner codes.

The cocotb coroutine applies every input code (all of them when the input is at most 11 bits wide,
else the corners plus random codes) to 256 requantizers side by side (``requant_vec.v``) and
compares each output with the reference.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent


def _cases() -> list[dict]:
    """Hand-picked corners plus seeded random parameter sets."""
    cases = [
        # name: (IN_W, IN_SIGNED, SHIFT, OUT_W, OUT_SIGNED, RND, SAT)
        dict(IN_W=8, IN_SIGNED=1, SHIFT=2, OUT_W=5, OUT_SIGNED=1, RND=1, SAT=1),  # round + saturate
        dict(IN_W=8, IN_SIGNED=1, SHIFT=2, OUT_W=5, OUT_SIGNED=1, RND=0, SAT=0),  # floor + wrap
        dict(IN_W=9, IN_SIGNED=0, SHIFT=0, OUT_W=6, OUT_SIGNED=1, RND=1, SAT=1),  # unsigned -> signed, no shift
        dict(IN_W=7, IN_SIGNED=1, SHIFT=-3, OUT_W=8, OUT_SIGNED=1, RND=0, SAT=1),  # left shift saturates
        dict(IN_W=7, IN_SIGNED=1, SHIFT=-2, OUT_W=6, OUT_SIGNED=0, RND=1, SAT=0),  # left shift, unsigned wrap
        dict(IN_W=10, IN_SIGNED=1, SHIFT=12, OUT_W=4, OUT_SIGNED=1, RND=1, SAT=1),  # shift wider than input
        dict(IN_W=10, IN_SIGNED=1, SHIFT=12, OUT_W=4, OUT_SIGNED=1, RND=0, SAT=0),
        dict(IN_W=2, IN_SIGNED=1, SHIFT=1, OUT_W=2, OUT_SIGNED=1, RND=1, SAT=1),  # tiny widths
        dict(IN_W=24, IN_SIGNED=1, SHIFT=9, OUT_W=10, OUT_SIGNED=1, RND=1, SAT=1),  # accumulator-like
        # RND=2: round half to even (RND_CONV), every 8-bit code incl. all ties, saturate and wrap
        dict(IN_W=8, IN_SIGNED=1, SHIFT=2, OUT_W=5, OUT_SIGNED=1, RND=2, SAT=1),
        dict(IN_W=8, IN_SIGNED=1, SHIFT=1, OUT_W=6, OUT_SIGNED=1, RND=2, SAT=0),
        dict(IN_W=9, IN_SIGNED=1, SHIFT=3, OUT_W=4, OUT_SIGNED=0, RND=2, SAT=1),  # ReLU-like: unsigned out
        dict(IN_W=19, IN_SIGNED=1, SHIFT=8, OUT_W=8, OUT_SIGNED=0, RND=2, SAT=1),  # an imported Brevitas ReLU
        dict(IN_W=6, IN_SIGNED=1, SHIFT=-2, OUT_W=8, OUT_SIGNED=1, RND=2, SAT=1),  # no bits dropped: exact
    ]
    rng = random.Random(2024)
    for _ in range(3):
        in_w = rng.randint(2, 20)
        out_signed = rng.randint(0, 1)
        cases.append(
            dict(
                IN_W=in_w,
                IN_SIGNED=rng.randint(0, 1),
                SHIFT=rng.randint(-4, in_w),
                OUT_W=rng.randint(2 if out_signed else 1, 14),
                OUT_SIGNED=out_signed,
                RND=rng.randint(0, 2),
                SAT=rng.randint(0, 1),
            )
        )
    return cases


CASES = _cases()
LANES = 256


def _input_codes(p: dict, seed: int = 0) -> np.ndarray:
    w, signed = p["IN_W"], bool(p["IN_SIGNED"])
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
    if w <= 11:
        return np.arange(lo, hi + 1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    corners = [lo, lo + 1, -1, 0, 1, hi - 1, hi] if signed else [0, 1, hi - 1, hi]
    return np.concatenate([np.array(corners, np.int64), rng.integers(lo, hi + 1, 1500)])


def expected_codes(p: dict, codes: np.ndarray) -> np.ndarray:
    import torch

    from flow.ir.fixed import FixedType, requantize

    # in_frac is arbitrary: only SHIFT = in_frac - out_frac matters.
    in_frac = 20
    out_t = FixedType(
        p["OUT_W"],
        in_frac - p["SHIFT"],
        bool(p["OUT_SIGNED"]),
        ("TRN", "RND", "RND_CONV")[p["RND"]],
        "SAT" if p["SAT"] else "WRAP",
    )
    return requantize(torch.from_numpy(codes), in_frac, out_t).numpy()


# Hand-computed half-to-even ties (SHIFT=2: a tie is a code ending in binary 10): code -> result.
CONV_TIES = {2: 0, 6: 2, 10: 2, 14: 4, -2: 0, -6: -2, -10: -2, -14: -4, 3: 1, 5: 1, -3: -1, -5: -1, 1: 0}


def test_expected_codes_match_hand_computed_ties():
    """The reference the testbench compares with rounds the ties to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, ...)."""
    p = dict(IN_W=8, IN_SIGNED=1, SHIFT=2, OUT_W=5, OUT_SIGNED=1, RND=2, SAT=1)
    codes = np.array(list(CONV_TIES), dtype=np.int64)
    assert expected_codes(p, codes).tolist() == list(CONV_TIES.values())


try:
    import cocotb
    from cocotb.triggers import Timer
except ImportError:  # pragma: no cover - the pytest side skips without cocotb
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def requant_values(dut):
        """Every selected input code through LANES requantizers at a time."""
        from flow.sim.blocktb import config, write_report
        from flow.sim.codec import pack_hex, unpack_hex

        p = config()
        lanes = p["LANES"]
        data = np.load(p["vectors"])
        codes, exp = data["codes"], data["expected"].reshape(-1, lanes)
        words = pack_hex(codes.reshape(-1, lanes), p["IN_W"])
        got = []
        for w in words:
            dut.in_codes.value = int(w, 16)
            await Timer(1, unit="ns")
            got.append(format(dut.out_codes.value.to_unsigned(), "x"))
        got = unpack_hex(got, lanes, p["OUT_W"], bool(p["OUT_SIGNED"]))
        bad = np.argwhere(got != exp)
        first = ""
        if len(bad):
            r, c = bad[0]
            first = f"in {codes.reshape(-1, lanes)[r, c]}: expected {exp[r, c]}, got {got[r, c]}"
        write_report({"checked": int(codes.size), "mismatches": int(len(bad)), "first": first})
        assert not len(bad), f"{len(bad)} mismatches, first {first}"


def _run_lanes(params: dict, codes: np.ndarray, expected: np.ndarray, tmp_path) -> dict:
    """Simulate ``requant_vec`` (LANES requantizers of the rendered ``flow_requant.v``) on ``codes``
    against ``expected``; the testbench's report (checked, mismatches, first)."""
    from flow.rtl.generate import banner, render
    from flow.sim.blocks import run_block

    files = {
        "flow_requant.v": render("requant.v.j2", banner=banner("flow_requant.v", "test")),
        "requant_vec.v": (HERE / "requant_vec.v").read_text(),
    }
    np.savez(tmp_path / "vectors.npz", codes=codes, expected=expected)
    return run_block(
        files,
        "requant_vec",
        "test_requant",
        HERE,
        tmp_path / "run",
        parameters=params,
        config={**params, "vectors": str(tmp_path / "vectors.npz")},
    )


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items()))
def test_requant(params, icarus, tmp_path):
    params = {"LANES": LANES, **params}
    # Reference values are computed here (torch is slow to import inside the simulator).
    codes = _input_codes(params)
    codes = np.concatenate([codes, np.full((-len(codes)) % LANES, codes[0])])
    report = _run_lanes(params, codes, expected_codes(params, codes), tmp_path)
    assert report["mismatches"] == 0 and report["checked"] > 0


def test_requant_conv_ties_hand_computed(icarus, tmp_path):
    """RND=2 in hardware on the hand-computed ties (expected values from the table, not the reference)."""
    params = {"LANES": LANES, "IN_W": 8, "IN_SIGNED": 1, "SHIFT": 2, "OUT_W": 5, "OUT_SIGNED": 1, "RND": 2, "SAT": 1}
    codes = np.array(list(CONV_TIES), dtype=np.int64)
    expected = np.array(list(CONV_TIES.values()), dtype=np.int64)
    pad = (-len(codes)) % LANES
    codes = np.concatenate([codes, np.full(pad, codes[0])])
    expected = np.concatenate([expected, np.full(pad, expected[0])])
    report = _run_lanes(params, codes, expected, tmp_path)
    assert report["mismatches"] == 0 and report["checked"] == len(codes)
