"""Fast LUT / FF estimate of a scheduled adder graph (no synthesis; milliseconds).

Model (Xilinx LUT6 + CARRY4/8, as Yosys ``synth_xilinx -family xcup`` maps ``$add``/``$sub``): an
adder ``a +/- (b << s)`` costs one LUT per carry-chain bit above ``s`` (the low ``s`` bits are wires
from ``a``) that needs one (:func:`adder_luts`): for an addition where both operands have a bit of
their own (one operand alone passes through), for a subtraction where either has (the other's zero
is inverted, an ``INV``); bits where both are only sign copies share one LUT. The fused output stage
costs its constant adder above the dropped bits (about 0.6 LUT per bit: a one bit of the constant
costs an ``INV``, a zero bit passes), the carry out of the dropped bits (a comparison, LUT6s of 6 then
5 bits, :func:`compare_luts`; for half to even, one per bit), and, when it clamps on both sides, one
LUT per output bit (the clamp mux). FF = every register bit of the schedule plus the valid chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from flow.rtl.shiftadd.block import _clamp_kind, low_stage
from flow.rtl.shiftadd.ir import AdderGraph, Node, bits_for
from flow.rtl.shiftadd.schedule import Schedule

# Calibration: LUT = sum(COEF[f] * features[f]), non-negative least squares of the relative error over
# the blocks (>= 50 LUTs) of 26 designs synthesized by Yosys 0.23 (synth_xilinx -family xcup, the synth
# stage's script): the 20 random graphs of tests/rtl/test_cost_model.py and six learned jsc-medium points
# of flow explore (1,097-22,840 LUT). `python bench/calibrate_cost.py GRAPH.json ...` prints the fit: mean
# |error| 1.5 % per design, worst -5.2 % (before this fit: 4.5 %, worst -11.0 %).
# A one-sided clamp (a fused ReLU) merges into the LUTs of the output adder; a two-sided one (SAT)
# costs about a LUT per output bit (the mux), hence clamp2_bits.
COEF = {"adder_bits": 0.994, "out_sum_bits": 0.601, "out_carry_bits": 1.247, "clamp2_bits": 0.761}


@dataclass(frozen=True)
class Cost:
    lut: float
    ff: int
    adders: int
    features: dict

    def to_dict(self) -> dict:
        return {"lut": round(self.lut), "ff": self.ff, "adders": self.adders, **self.features}


def compare_luts(bits: int) -> int:
    """LUT6s of a ``bits``-bit comparison with a constant as nested ANDs/ORs: 6 bits in the first,
    5 more in each next (it also reads the previous one's result)."""
    return 0 if bits <= 0 else 1 + max(0, -(-(bits - 6) // 5))


def adder_luts(a: Node, b: Node, n: Node, demand: int) -> int:
    """Carry-chain LUTs of ``n = a +/- (b << s)`` over its ``demand`` low bits: bit ``j >= s`` needs one
    where both operands have a bit of their own there (an addition; a bit of one operand alone passes
    through), or either has (a subtraction: the other's zero is inverted). Bits where both operands are
    copies of their signs share one LUT."""
    s = n.shift
    both_sign = False
    luts = 0
    for j in range(s, min(demand, n.width)):
        ia, ib = j < a.width, j - s < b.width  # the operand's own bit (else: its sign copy or a zero)
        la, lb = ia or a.signed, ib or b.signed
        if not ia and not ib and la and lb:
            both_sign = True
        elif (la and lb) if n.op == "add" else (la or lb):
            luts += 1
    return luts + both_sign


def features(graph: AdderGraph) -> dict:
    """The counts the LUT estimate is linear in (only bits some output depends on)."""
    dem = graph.demanded_bits()
    adder_bits = adders = 0
    for k, n in enumerate(graph.nodes):
        if n.is_input or dem[k] <= 0:
            continue
        adders += 1
        adder_bits += adder_luts(graph.nodes[n.a], graph.nodes[n.b], n, dem[k])
    out_sum = out_carry = clamp = clamp2 = cmp_bits = reduce_bits = 0
    for o, out in enumerate(graph.outputs):
        if out.node is None:
            continue
        t = graph.out_terms(o)
        kc, u, d = t["kc"], t["u"], t["d"]
        low = low_stage(graph, o)
        if low is not None:  # the dropped bits only as a comparison: LUT6s of 6, then 5 bits each
            out_sum += max(t["demand"] - d, 0)
            out_carry += compare_luts(len(low["bits"]))
        elif kc != 0 or out.neg:
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
