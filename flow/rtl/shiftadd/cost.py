"""Fast LUT / FF estimate of a scheduled adder graph (no synthesis; milliseconds).

Model (Xilinx LUT6 + CARRY8, as Yosys ``synth_xilinx -family xcup`` maps ``$add``/``$sub``): a
two-operand adder costs one LUT per result bit that needs the carry chain. For ``a +/- (b << s)``
at result width ``w`` those are the ``w - s`` bits above the shift (the low ``s`` bits are wires
from ``a``); bits where both operands are only sign copies still need a LUT each (the carry
propagates). The fused output stage costs its constant adder (``m_w - u`` bits, none when the
constant is zero and the sign positive), plus, when it clamps, one LUT per output bit (the
clamp mux) and the OR/AND reduction of the bits tested. FF = every register bit of the schedule
plus the valid chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from flow.rtl.shiftadd.block import _clamp_kind
from flow.rtl.shiftadd.ir import AdderGraph, bits_for
from flow.rtl.shiftadd.schedule import Schedule

# Calibration: LUT = sum(COEF[f] * features[f]), relative least squares on 45 Yosys 0.23 results
# (synth_xilinx -family xcup, the synth stage's script): the blocks of 20 random graphs
# (tests/rtl/test_cost_model.py), jsc-tiny and jsc-medium; largest in-sample error 8.6 % per block.
# A one-sided clamp (a fused ReLU) merges into the LUTs of the output adder; a two-sided one (SAT)
# costs about a LUT per output bit (the mux), hence clamp2_bits.
COEF = {"adder_bits": 0.945, "out_sum_bits": 0.49, "out_carry_bits": 0.705, "clamp2_bits": 1.126}


@dataclass(frozen=True)
class Cost:
    lut: float
    ff: int
    adders: int
    features: dict

    def to_dict(self) -> dict:
        return {"lut": round(self.lut), "ff": self.ff, "adders": self.adders, **self.features}


def features(graph: AdderGraph) -> dict:
    """The counts the LUT estimate is linear in (only bits some output depends on)."""
    dem = graph.demanded_bits()
    adder_bits = adders = 0
    for k, n in enumerate(graph.nodes):
        if n.is_input or dem[k] <= 0:
            continue
        adders += 1
        adder_bits += max(dem[k] - n.shift, 0)
    out_sum = out_carry = clamp = clamp2 = cmp_bits = reduce_bits = 0
    for o, out in enumerate(graph.outputs):
        if out.node is None:
            continue
        t = graph.out_terms(o)
        kc, u, d = t["kc"], t["u"], t["d"]
        if kc != 0 or out.neg:
            # below the lowest set bit of the constant, N + K passes N through (no carry)
            tz = (kc & -kc).bit_length() - 1 if (kc and not out.neg) else 0
            start = max(u, tz)
            out_sum += max(t["demand"] - max(start, d), 0)
            out_carry += max(min(d, t["demand"]) - start, 0)
        if out.stage.lo is not None or out.stage.hi is not None:
            nd = graph.nodes[out.node]
            sg = -1 if out.neg else 1
            ends = sorted((out.const + sg * (nd.lo << out.shift), out.const + sg * (nd.hi << out.shift)))
            qlo, qhi = out.stage.out_range(*ends)
            qbits = min(out.stage.width, bits_for(qlo, qhi)[0])
            clamp += qbits
            st = out.stage
            rw, rs = bits_for((t["mlo"] >> d) << st.lshift, (t["mhi"] >> d) << st.lshift)
            sides = _clamp_kind(st.hi, st.lo, rw, rs)
            if all(side["kind"] != "none" for side in sides):
                clamp2 += qbits
            for side in sides:
                if side["kind"] == "cmp":
                    cmp_bits += side["cw"]
                elif side["kind"] == "bits":
                    reduce_bits += side["top"] - side["k"] + 1
    return {
        "adders": adders,
        "adder_bits": adder_bits,
        "out_sum_bits": out_sum,
        "out_carry_bits": out_carry,
        "clamp_bits": clamp,
        "clamp2_bits": clamp2,
        "cmp_bits": cmp_bits,
        "reduce_bits": reduce_bits,
    }


def estimate(graph: AdderGraph, sched: Schedule) -> Cost:
    f = features(graph)
    lut = sum(c * f[k] for k, c in COEF.items())
    ff = sched.register_bits(graph) + sched.latency
    return Cost(lut, ff, f["adders"], {k: v for k, v in f.items() if k != "adders"})
