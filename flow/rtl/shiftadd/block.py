"""Template variables of a scheduled adder graph: every wire, adder, register and output stage as
names and numbers (the Verilog syntax is in ``flow/rtl/templates/shiftadd.v.j2`` and the macros of
``_verilog.j2``; :func:`flow.rtl.generate.shiftadd_module` renders it).

Port convention (as every flow block): ``clk, rst, in_valid, in_data, out_valid, out_data``,
element ``i`` at bits ``[i*W +: W]``; ``out_valid`` is ``in_valid`` delayed by the schedule's
latency (only the valid chain is reset).
"""

from __future__ import annotations

from flow.rtl.shiftadd.ir import AdderGraph, bits_for
from flow.rtl.shiftadd.schedule import Schedule


def _val(name: str, width: int, signed: bool) -> dict:
    return {"name": name, "w": width, "s": int(signed)}


def _pow2_exp(v: int) -> int | None:
    return v.bit_length() - 1 if v > 0 and v & (v - 1) == 0 else None


def _clamp_kind(hi: int | None, lo: int | None, rw: int, rsigned: bool) -> tuple[dict, dict]:
    """How to test ``r > hi`` and ``r < lo`` on an ``rw``-bit word: by its high bits when the bound
    is ``2**k - 1`` / ``0`` / ``-2**k``, else by a signed comparison."""
    hk: dict = {"kind": "none"}
    lk: dict = {"kind": "none"}
    if hi is not None:
        k = _pow2_exp(hi + 1)
        top = rw - 1 if rsigned else rw  # first bit above the magnitude
        if k is not None and k < top:
            hk = {"kind": "bits", "k": k, "top": top - 1}
        else:
            cw = max(rw, bits_for(hi, hi)[0]) + 1
            hk = {"kind": "cmp", "cw": cw, "pat": hi & ((1 << cw) - 1)}
    if lo is not None:
        if lo == 0 and rsigned:
            lk = {"kind": "sign"}
        elif lo < 0 and _pow2_exp(-lo) is not None and _pow2_exp(-lo) < rw - 1 and rsigned:
            lk = {"kind": "bits", "k": _pow2_exp(-lo), "top": rw - 2}
        else:
            cw = max(rw, bits_for(lo, lo)[0]) + 1
            lk = {"kind": "cmp", "cw": cw, "pat": lo & ((1 << cw) - 1)}
    return hk, lk


def ge_terms(c: int, e: int) -> list[tuple[int, str]]:
    """``x >= c`` for an unsigned ``e``-bit ``x`` and ``0 < c < 2**e``, as the nested form
    ``x[e-1] op (x[e-2] op (... x[t]))`` from the top bit down to ``c``'s lowest set bit ``t``:
    ``op`` is ``&`` where ``c`` has a one, ``|`` where it has a zero (the bits below ``t`` cannot
    decide: ``x[t-1:0] >= 0`` always holds). Returns ``[(bit, op), ...]`` (the last ``op`` unused)."""
    assert 0 < c < 1 << e
    t = (c & -c).bit_length() - 1
    return [(j, "&" if (c >> j) & 1 else "|") for j in range(e - 1, t - 1, -1)]


def low_carry(kc: int, d: int, neg: bool) -> dict:
    """The carry of the ``d`` dropped low bits of ``m = kc +/- node`` into bit ``d``, as a comparison
    of ``node[d-1:0]`` (unsigned) with a constant, so that ``m >> d`` needs no carry chain below ``d``.

    With ``kc = K_h * 2**d + K_l`` and ``node = N_h * 2**d + N_l`` (``N_h = node >> d``):
    ``(kc + node) >> d = K_h + N_h + [N_l >= 2**d - K_l]`` (no carry when ``K_l = 0``) and
    ``(kc - node) >> d = K_h - N_h - [N_l > K_l]`` (no borrow when ``K_l = 2**d - 1``).
    ``bits``: the :func:`ge_terms` of the comparison (empty: the carry is always 0)."""
    kl = kc & ((1 << d) - 1)
    if neg:
        c = kl + 1  # N_l > K_l  <=>  N_l >= K_l + 1
        bits = ge_terms(c, d) if c < 1 << d else []
        return {"what": "borrow", "bits": bits, "k": kl}
    bits = ge_terms((1 << d) - kl, d) if kl else []
    return {"what": "carry", "bits": bits, "k": kl}


def tie_possible(out) -> bool:
    """Half to even (``stage.conv``): on a tie (the dropped bits of acc + add all zero) the lowest kept
    bit is cleared. Below the output's shift those bits are the constant's: a tie is possible only
    when the constant has none there (else the stage is plain RND)."""
    stg = out.stage
    if not (stg.conv and stg.shift > 0):
        return False
    low = min(0 if out.wrap else out.shift, stg.shift)
    k_total = stg.add if out.wrap else out.const + stg.add
    return k_total & ((1 << low) - 1) == 0


def low_stage(graph: AdderGraph, o: int) -> dict | None:
    """:func:`low_carry` of output ``o`` when its stage adds a constant (or negates) and drops bits
    whose value no kept bit needs (not for a tie of half to even, nor when no kept bit survives)."""
    out = graph.outputs[o]
    if out.node is None:
        return None
    t = graph.out_terms(o)
    kc, dd, mw = t["kc"], t["d"], t["mw"]
    neg = out.neg and not out.wrap
    rw = bits_for((t["mlo"] >> dd) << out.stage.lshift, (t["mhi"] >> dd) << out.stage.lshift)[0]
    if (kc != 0 or neg) and dd > 0 and not tie_possible(out) and out.stage.lshift < rw and mw > dd:
        return low_carry(kc, dd, neg)
    return None


def context(
    graph: AdderGraph, sched: Schedule, module: str, *, comment: str = "", from_unregistered: bool = False
) -> dict:
    """Template context: every wire, adder, register and output stage as names and numbers
    (``from_unregistered``: the inputs come from the previous block's unregistered last stage)."""
    n = graph.nodes
    names = [f"x{nd.a}" if nd.is_input else f"n{k}" for k, nd in enumerate(n)]

    def ref(k: int, stage: int) -> dict:
        d = sched.node_stage[k]
        name = names[k] if stage == d else f"{names[k]}_s{stage}"
        return _val(name, n[k].width, n[k].signed)

    stages: list[dict] = [{"index": s, "adders": [], "outputs": [], "regs": []} for s in range(sched.n_stages)]
    inputs = []
    for k, nd in enumerate(n):
        if nd.is_input and sched.node_stage[k] >= 0:
            inputs.append(
                {**_val(names[k], nd.width, nd.signed), "lo": nd.a * graph.in_width, "lo_v": nd.lo, "hi_v": nd.hi}
            )
    read = {x["lo"] // graph.in_width: x["w"] for x in inputs}
    unused_bits = []  # [hi, lo] ranges of in_data that no adder reads (named for the linter)
    for i in range(graph.n_in):
        w = min(read.get(i, 0), graph.in_width)
        if w < graph.in_width:
            unused_bits.append((i * graph.in_width + graph.in_width - 1, i * graph.in_width + w))
    for k, nd in enumerate(n):
        st = sched.node_stage[k]
        if nd.is_input or st < 0:
            continue
        stages[st]["adders"].append(
            {
                "out": _val(names[k], nd.width, nd.signed),
                "a": ref(nd.a, st),
                "b": ref(nd.b, st),
                "shift": nd.shift,
                "sub": int(nd.op == "sub"),
                "level": nd.level,
                "lo_v": nd.lo,
                "hi_v": nd.hi,
            }
        )
    for k, nd in enumerate(n):
        st, last = sched.node_stage[k], sched.node_last_use[k]
        for s in range(st, last):
            src = names[k] if s == st else f"{names[k]}_s{s}"
            stages[s]["regs"].append({"w": nd.width, "src": src, "dst": f"{names[k]}_s{s + 1}"})
    outputs = []
    for o, out in enumerate(graph.outputs):
        stg = out.stage
        s = sched.out_stage[o]
        ow = stg.width
        final = f"q{o}_s{sched.latency}" if sched.latency > s else f"q{o}"  # unregistered: the stage's wire
        d: dict = {"index": o, "ow": ow, "stage": s, "final": final}
        if out.node is None:
            code = stg.apply(out.const)
            d.update(kind="const", value=code & ((1 << ow) - 1))
        else:
            t = graph.out_terms(o)
            u, dd, kc, mw = t["u"], t["d"], t["kc"], t["mw"]
            mlo, mhi = t["mlo"], t["mhi"]
            ms = mlo < 0
            node = ref(out.node, s)
            neg = out.neg
            if out.wrap:  # a = wrap(const +/- (node << shift)): the accumulator the reference wraps
                aw, sh = out.wrap, out.shift
                d["wrap"] = {
                    "w": aw,
                    "shift": sh,
                    "neg": int(out.neg),
                    "const": out.const % (1 << aw),
                    "adder": int(out.const % (1 << aw) != 0 or out.neg),
                    "node": node,
                    "term_w": max(aw - sh, 0),
                }
                node, neg = _val(f"a{o}", aw, True), False
            else:
                d["wrap"] = None
            conv = {"d": dd} if tie_possible(out) else None
            rlo, rhi = (mlo >> dd) << stg.lshift, (mhi >> dd) << stg.lshift
            rw, rs = bits_for(rlo, rhi)
            hk, lk = _clamp_kind(stg.hi, stg.lo, rw, rs)
            mask = (1 << ow) - 1
            # m >> d with the carry of the dropped bits as a comparison (no carry chain below d):
            # not for half to even (the tie needs the dropped bits) nor when no kept bit survives.
            low = low_stage(graph, o)
            if low is not None:
                low["k_h"] = (kc >> dd) & ((1 << (mw - dd)) - 1)
                low["m_h"] = _val(f"m{o}_h", mw - dd, ms)
                low["c"] = _val(f"c{o}", 1, False)
                low["lo"], low["hi"] = mlo >> dd, mhi >> dd
            d.update(
                low=low,
                kind="node",
                node=node,
                u=u,
                d=dd,
                neg=int(neg),
                kc=kc,
                kc_hi=(kc >> u) & ((1 << max(mw - u, 1)) - 1),
                kc_lo=kc & ((1 << u) - 1) if u else 0,
                adder=int(kc != 0 or neg),
                m=_val(f"m{o}", mw, ms),
                mlo=mlo,
                mhi=mhi,
                lshift=stg.lshift,
                r=_val(f"r{o}", rw, rs),
                rlo=rlo,
                rhi=rhi,
                hi=hk,
                lo=lk,
                conv=conv,
                hi_code=(stg.hi or 0) & mask,
                lo_code=(stg.lo or 0) & mask,
            )
        outputs.append(d)
        stages[s]["outputs"].append(d)
        for t in range(s, sched.latency):  # none after the last stage of an unregistered output
            src = f"q{o}" if t == s else f"q{o}_s{t}"
            stages[t]["regs"].append({"w": ow, "src": src, "dst": f"q{o}_s{t + 1}"})
    out_w = max((o.stage.width for o in graph.outputs), default=1)
    if any(o.stage.width != out_w for o in graph.outputs):
        raise ValueError("all outputs of a layer must share one code width")
    st = graph.stats()
    return {
        "module": module,
        "comment": comment,
        "n_in": graph.n_in,
        "n_out": graph.n_out,
        "in_w": graph.in_width,
        "out_w": out_w,
        "latency": sched.latency,
        "n_stages": sched.n_stages,
        "registered_output": int(sched.registered_output),
        "offset": sched.offset,
        "from_unregistered": int(from_unregistered),
        "tail": sched.tail,
        "max_levels": sched.max_levels,
        "inputs": inputs,
        "stages": stages,
        "outputs": outputs,
        "unused_bits": unused_bits,
        "adders": st["adders"],
        "depth": st["depth"],
        "reg_bits": sched.register_bits(graph),
        "method": graph.method,
        "out_signed": int(graph.outputs[0].stage.signed) if graph.outputs else 0,
    }
