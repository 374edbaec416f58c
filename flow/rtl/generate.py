"""Render a :class:`~flow.ir.graph.QuantGraph` into synthesizable Verilog, one module per layer.

The design is fully parallel and pipelined (one new input vector per clock, II = 1) with every
weight, bias, scale and shift baked in as a sized constant. It implements :mod:`flow.ir.reference`
bit for bit:

* Dense: inputs are brought to the accumulator width ``AW = accum_type.width`` (sign- or
  zero-extended, or cut to their low ``AW`` bits: all sums are modulo ``2**AW`` (WRAP), and the low
  ``AW`` bits of a sum of products depend only on the low ``AW`` bits of each operand), products and
  the aligned bias are summed in an adder tree of at most ``fanin`` terms per pipeline level, then
  ``flow_requant`` (round, then overflow) gives the output code.
* ReLU: ``max(x, 0)`` then ``flow_requant``, one register.
* ScaleShift: ``x * s + (t << k)`` in an exact signed width, then ``flow_requant``.

Nothing here touches the disk: :func:`generate_rtl` returns ``{relative_path: text}`` and
:func:`write_files` writes it. Output is deterministic (no dates, sorted keys).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import jinja2

import flow
from flow.errors import ConfigError
from flow.ir.features import port_description, port_width
from flow.ir.fixed import FixedType, Overflow, Rounding, bits_for_range
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift
from flow.registry import KindTable
from flow.rtl.port import port_box, port_layers

GENERATOR = "flow.rtl.generate"

# Library modules shared by every design (same text for every model apart from the banner).
LIBRARY = (("requant.v.j2", "flow_requant.v"), ("valid_pipe.v.j2", "flow_valid_pipe.v"), ("relu.v.j2", "flow_relu.v"))

_KEYWORDS_TEXT = (
    "always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default "
    "defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive "
    "endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if "
    "ifnone incdir include initial inout input instance integer join large liblist library localparam "
    "macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter "
    "pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real "
    "realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small "
    "specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 "
    "triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor logic bit "
    "byte int shortint longint"
)
_VERILOG_KEYWORDS = frozenset(_KEYWORDS_TEXT.split())


def template_dir() -> Path:
    """The templates folder shipped inside the package (``flow/rtl/templates/``)."""
    return Path(__file__).resolve().parent / "templates"


@cache
def _env() -> jinja2.Environment:
    folder = template_dir()
    if not folder.is_dir():
        raise ConfigError(f"RTL templates not found at {folder}; the flow installation is incomplete")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context) -> str:
    """Render one template of ``rtl_templates/`` with :class:`jinja2.StrictUndefined`."""
    try:
        return _env().get_template(template).render(**context)
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"RTL template {template}: {exc}") from exc


def sanitize_name(name: str) -> str:
    """A legal, readable Verilog identifier: ``jsc-medium`` -> ``jsc_medium``."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name.strip())
    s = re.sub(r"_+", "_", s).strip("_") or "model"
    if s[0].isdigit():
        s = "m_" + s
    if s.lower() in _VERILOG_KEYWORDS:
        s += "_top"
    return s


def banner(file: str, model: str) -> dict:
    return {"file": file, "generator": GENERATOR, "version": flow.__version__, "model": model}


@dataclass(frozen=True)
class LayerRtl:
    """How one block appears in the RTL: module, instance, latency and the output bus.

    A block is one graph layer, or a Dense/ScaleShift with the ReLU after it fused into its output
    stage: ``layers`` names the graph layers it covers (its output equals the last one's reference
    output), ``name`` and ``kind`` join theirs with ``+`` (``fc1+relu1``, ``dense+relu``)."""

    name: str
    kind: str
    module: str
    inst: str
    latency: int
    n_out: int
    out_type: FixedType
    file: str | None  # generated file of a layer-specific module; None for a library module
    params: tuple[tuple[str, int], ...] = ()  # HDL parameters of the instance (library modules)
    layers: tuple[str, ...] = ()  # graph layers covered, in order
    stats: tuple[tuple[str, object], ...] = ()  # arithmetic, adders, adder levels, registers, estimates

    @property
    def out_w(self) -> int:
        return self.out_type.width

    @property
    def info(self) -> dict:
        return dict(self.stats)


@dataclass(frozen=True)
class RtlDesign:
    """A rendered design: files plus what simulation and synthesis need to know about it."""

    model: str
    top: str
    files: dict[str, str]
    sources: tuple[str, ...]  # Verilog files in compile order (library, layers, top)
    layers: tuple[LayerRtl, ...]
    n_in: int
    in_type: FixedType
    n_out: int
    out_type: FixedType
    fanin: int
    settings: RtlSettings | None = None
    adder_levels: int | None = None  # adder levels per stage of the shift-add blocks
    in_desc: str = ""  # what the input port's elements hold (one type, or one per feature)

    @property
    def in_description(self) -> str:
        return self.in_desc or self.in_type.describe()

    @property
    def latency(self) -> int:
        return sum(layer.latency for layer in self.layers)

    @property
    def in_bits(self) -> int:
        return self.n_in * self.in_type.width

    @property
    def out_bits(self) -> int:
        return self.n_out * self.out_type.width


# ----------------------------------------------------------------------------------- helpers


def _requant_params(in_frac: int, out: FixedType) -> dict:
    return {
        "shift": in_frac - out.frac,
        "out_signed": int(out.signed),
        "rnd": {Rounding.TRN: 0, Rounding.RND: 1, Rounding.RND_CONV: 2}[out.rounding],
        "sat": int(out.overflow is Overflow.SAT),
    }


def _reduce(value: int, width: int) -> int:
    """``value`` modulo ``2**width`` as a two's complement number (what a ``width``-bit constant holds)."""
    v = value % (1 << width)
    return v - (1 << width) if v >= 1 << (width - 1) else v


def _input(i: int, t: FixedType, width: int) -> tuple[dict, list[tuple[int, int]]]:
    """Element ``i`` of a bus of ``t`` codes as template numbers (``_verilog.j2`` ``ext``), and the
    ``(hi, lo)`` bit ranges of it that are not read (when ``width`` keeps only its low bits)."""
    lo, w = i * t.width, t.width
    unused = [(lo + w - 1, lo + width)] if width < w else []
    return {"lo": lo, "w": w, "s": int(t.signed)}, unused


def _ext_desc(t: FixedType, width: int) -> str:
    if width < t.width:
        return f"low {width} bits of each code (sums are modulo 2^{width})"
    return "sign-extended" if t.signed else "zero-extended (unsigned codes are non-negative)"


def _term(x: str, w: int, width: int, signed: bool) -> dict:
    """The term ``x * w`` of a ``width``-bit sum (``_verilog.j2`` ``term``): its sign and magnitude."""
    if w in (1, -1):
        return {"neg": int(w < 0), "kind": "name", "name": x}
    if abs(w) < 1 << (width - 1):
        return {"neg": int(w < 0), "kind": "mul", "name": x, "value": abs(w), "width": width, "signed": signed}
    return {"neg": 0, "kind": "mulconst", "name": x, "value": _reduce(w, width), "width": width, "signed": signed}


def _const_term(value: int, width: int, signed: bool = True) -> dict:
    """A constant term of a ``width``-bit sum, negative ones as a subtraction of their magnitude."""
    v = _reduce(value, width)
    neg = v < 0 and -v < 1 << (width - 1)
    return {"neg": int(neg), "kind": "const", "value": -v if neg else v, "width": width, "signed": signed}


def _names(names: list[str]) -> list[dict]:
    return [{"neg": 0, "kind": "name", "name": n} for n in names]


def _levels_needed(n_terms: int, fanin: int) -> int:
    levels, groups = 1, -(-max(n_terms, 1) // fanin)
    while groups > 1:
        groups = -(-groups // fanin)
        levels += 1
    return levels


# ------------------------------------------------------------------------------------ layers


def dense_module(layer: Dense, module: str, model: str, fanin: int) -> tuple[str, int]:
    """Verilog of a Dense layer as module ``module``, and its latency in cycles."""
    aw = layer.accum_type.width
    x_t = layer.in_type
    weight = layer.weight.astype(object)
    used = sorted({i for o in range(layer.n_out) for i in range(layer.n_in) if weight[o, i] != 0})
    inputs, unused = [], []
    for i in range(layer.n_in):
        elem, dropped = _input(i, x_t, aw)
        if i in used:
            inputs.append({"name": f"x{i}", **elem})
            unused += dropped
        else:
            lo = i * x_t.width
            unused.append((lo + x_t.width - 1, lo))
    bias_terms = [int(b) << layer.bias_shift for b in layer.bias]
    # Unsigned input codes (e.g. after a ReLU) are zero-extended and summed in plain unsigned
    # arithmetic modulo 2**AW, which gives the same bits as signed arithmetic and simulates faster;
    # signed inputs use signed operands so that synthesis sees sign-extended (narrow) multiplies.
    signed = x_t.signed
    products = [
        [_term(f"x{i}", int(weight[o, i]), aw, signed) for i in range(layer.n_in) if weight[o, i] != 0]
        for o in range(layer.n_out)
    ]
    # Pipeline depth from the product count alone; the bias rides in a level-0 group with room
    # to spare, else in the final sum, so it never adds a level.
    n_levels = _levels_needed(max(len(p) for p in products), fanin)
    levels: list[list[dict]] = [[] for _ in range(n_levels)]
    finals = []
    for o, terms in enumerate(products):
        chunks = [terms[k : k + fanin] for k in range(0, len(terms), fanin)] or [[]]
        bias = None
        if bias_terms[o] % (1 << aw):
            bias = _const_term(bias_terms[o], aw, signed)
            if len(chunks[-1]) < fanin or n_levels == 1:
                chunks[-1] = [bias, *chunks[-1]]
                bias = None
        regs = []
        for g, chunk in enumerate(chunks):
            name = f"s0_n{o}_g{g}"
            levels[0].append({"reg": name, "terms": chunk})
            regs.append(name)
        for lv in range(1, n_levels):
            nxt = []
            for g, k in enumerate(range(0, len(regs), fanin)):
                name = f"s{lv}_n{o}_g{g}"
                terms = _names(regs[k : k + fanin])
                if lv == n_levels - 1 and bias is not None:
                    terms.append(bias)
                levels[lv].append({"reg": name, "terms": terms})
                nxt.append(name)
            regs = nxt
        finals.append(regs[0])
    latency = n_levels + 1
    text = render(
        "dense.v.j2",
        banner=banner(f"{module}.v", model),
        module=module,
        layer=layer.name,
        n_in=layer.n_in,
        n_out=layer.n_out,
        in_w=x_t.width,
        out_w=layer.out_type.width,
        aw=aw,
        in_desc=x_t.describe(),
        w_desc=layer.weight_type.describe(),
        b_desc=layer.bias_type.describe(),
        acc_desc=layer.accum_type.describe(),
        out_desc=layer.out_type.describe(),
        bias_shift=layer.bias_shift,
        ext_desc=_ext_desc(x_t, aw),
        inputs=inputs,
        unused=unused,
        levels=levels,
        finals=finals,
        fanin=fanin,
        latency=latency,
        rq=_requant_params(layer.product_frac, layer.out_type),
        sgn="signed " if signed else "",
        signed=signed,
    )
    return text, latency


def scale_shift_module(layer: ScaleShift, module: str, model: str) -> tuple[str, int]:
    """Verilog of a ScaleShift layer as module ``module``, and its latency in cycles (2)."""
    x_t = layer.in_type
    lo = hi = 0
    for s, t in zip(layer.scale.tolist(), layer.shift.tolist(), strict=True):
        c = t << layer.shift_shift
        ends = (x_t.min_code * s + c, x_t.max_code * s + c)
        lo, hi = min(lo, *ends), max(hi, *ends)
    pw = max(bits_for_range(lo, hi, signed=True), 2)
    inputs, unused, products = [], [], []
    for i, (s, t) in enumerate(zip(layer.scale.tolist(), layer.shift.tolist(), strict=True)):
        terms = []
        c = t << layer.shift_shift
        if s != 0:
            elem, dropped = _input(i, x_t, pw)
            inputs.append({"name": f"x{i}", **elem})
            unused += dropped
            terms.append(_term(f"x{i}", s, pw, True))
        else:
            base = i * x_t.width
            unused.append((base + x_t.width - 1, base))
        if c:
            terms.append(_const_term(c, pw))
        products.append({"reg": f"y{i}", "terms": terms})
    latency = 2
    text = render(
        "scale_shift.v.j2",
        banner=banner(f"{module}.v", model),
        module=module,
        layer=layer.name,
        n=layer.n,
        in_w=x_t.width,
        out_w=layer.out_type.width,
        p_w=pw,
        in_desc=x_t.describe(),
        s_desc=layer.scale_type.describe(),
        t_desc=layer.shift_type.describe(),
        shift_shift=layer.shift_shift,
        out_desc=layer.out_type.describe(),
        ext_desc=_ext_desc(x_t, pw),
        inputs=inputs,
        unused=unused,
        products=products,
        latency=latency,
        rq=_requant_params(layer.product_frac, layer.out_type),
    )
    return text, latency


def library_files(model: str = "flow") -> dict[str, str]:
    """The shared library modules (``flow_requant``, ``flow_valid_pipe``, ``flow_relu``)."""
    return {path: render(template, banner=banner(path, model)) for template, path in LIBRARY}


def relu_params(layer: ReLU) -> list[tuple[str, int]]:
    """HDL parameters of the ``flow_relu`` instance for ``layer``."""
    rq = _requant_params(layer.in_type.frac, layer.out_type)
    return [
        ("N", layer.n),
        ("IN_W", layer.in_type.width),
        ("IN_SIGNED", int(layer.in_type.signed)),
        ("SHIFT", rq["shift"]),
        ("OUT_W", layer.out_type.width),
        ("OUT_SIGNED", rq["out_signed"]),
        ("RND", rq["rnd"]),
        ("SAT", rq["sat"]),
    ]


ARGMAX_LEVELS_PER_STAGE = 2  # compare-select levels between registers of an argmax (a compare is a carry chain)


def argmax_module(layer: ArgMax, module: str, model: str) -> tuple[str, int]:
    """Verilog of an ArgMax layer as module ``module`` (a compare-select tournament), and its latency."""
    cands = [f"c0_{i}" for i in range(layer.n)]
    levels = []
    while len(cands) > 1 or not levels:
        k = len(levels) + 1
        pairs = [(cands[j], cands[j + 1] if j + 1 < len(cands) else None) for j in range(0, len(cands), 2)]
        nodes = [{"name": f"c{k}_{j}", "a": a, "b": b} for j, (a, b) in enumerate(pairs)]
        levels.append({"nodes": nodes, "registered": False})
        cands = [node["name"] for node in nodes]
    for k, level in enumerate(levels, start=1):
        level["registered"] = k % ARGMAX_LEVELS_PER_STAGE == 0 or k == len(levels)
    latency = sum(level["registered"] for level in levels)
    text = render(
        "argmax.v.j2",
        banner=banner(f"{module}.v", model),
        module=module,
        layer=layer.name,
        n=layer.n,
        in_w=layer.in_type.width,
        in_signed=layer.in_type.signed,
        in_desc=layer.in_type.describe(),
        out_w=layer.out_type.width,
        levels=levels,
        levels_per_stage=ARGMAX_LEVELS_PER_STAGE,
        latency=latency,
        final=cands[0],
    )
    return text, latency


ARITHMETICS = ("shiftadd", "dsp")
DEFAULT_ARITHMETIC = "shiftadd"
# Adder levels per pipeline stage of a shift-add block (docs/rtl.md, "Latency"): at 200 MHz on
# UltraScale+ five levels of 10-20 bit carry-chain adders (plus the output stage) fit one 5 ns cycle
# with margin, and with da4ml's depth constraint hard_dc=1 jsc-medium takes 8 cycles.
DEFAULT_ADDER_LEVELS = 5
DEFAULT_HARD_DC = 1  # extra adder depth the CMVM solver may use over the minimum (da4ml hard_dc)
MAX_ADDER_LEVELS = 64


@dataclass(frozen=True)
class Block:
    """The RTL of one block (one layer, or a Dense/ScaleShift with its ReLU fused in): the module
    instantiated for it, its own file's text (None for a library module), its latency in cycles, the
    HDL parameters of the instance and its figures (adders, levels per stage, registers, estimates)."""

    module: str
    text: str | None
    latency: int
    params: tuple[tuple[str, int], ...] = ()
    stats: tuple[tuple[str, object], ...] = ()


class BlockPlan:
    """A block before its pipeline depth is chosen: the layers it covers, the exact range of its
    output codes (for the next block's input box) and its latency for a number of adder levels per
    stage; :meth:`block` renders it."""

    def __init__(self, layers: tuple[Layer, ...], out_range: tuple[tuple[int, ...], tuple[int, ...]] | None):
        self.layers = layers
        self.out_range = out_range
        self.in_desc: str | None = None  # what its inputs are, when not codes of its first layer's in_type

    def latency(self, levels: int) -> int:
        raise NotImplementedError

    def block(self, levels: int, module: str, model: str, cut: Cut | None = None) -> Block:
        raise NotImplementedError


class _Fixed(BlockPlan):
    """A block whose latency does not depend on the adder levels (ReLU, ArgMax, DSP arithmetic)."""

    def __init__(self, layers, out_range, make):
        super().__init__(layers, out_range)
        self._make = make
        self._cache: dict = {}

    def _get(self, module: str, model: str) -> Block:
        key = (module, model)
        if key not in self._cache:
            self._cache[key] = self._make(module, model)
        return self._cache[key]

    def latency(self, levels: int) -> int:
        return self._get("probe", "probe").latency

    def block(self, levels: int, module: str, model: str, cut: Cut | None = None) -> Block:
        return self._get(module, model)


class _ShiftAdd(BlockPlan):
    """A Dense or ScaleShift (with its ReLU) as a solved adder graph, scheduled on demand."""

    def __init__(self, layers, in_range, hard_dc: int):
        from flow.rtl.shiftadd.layers import layer_problem, solve_problem

        relu = layers[1] if len(layers) > 1 else None
        lo, hi = in_range if in_range is not None else (None, None)
        t0 = time.perf_counter()
        self.problem = layer_problem(layers[0], relu, lo, hi)
        self.graph = solve_problem(self.problem, hard_dc=hard_dc)
        self.solve_seconds = time.perf_counter() - t0
        super().__init__(layers, (self.problem.out_lo, self.problem.out_hi))

        self._schedules: dict = {}

    def schedule(self, levels: int, cut: Cut | None = None):
        """The block's schedule at ``levels`` per stage with ``cut``'s boundary choices (cached)."""
        from flow.rtl.shiftadd.schedule import schedule

        cut = cut or Cut()
        key = (levels, cut)
        if key not in self._schedules:
            self._schedules[key] = schedule(
                self.graph, levels, offset_in=cut.offset_in, registered_output=cut.registered_output
            )
        return self._schedules[key]

    def latency(self, levels: int) -> int:
        return self.schedule(levels).latency

    def block(self, levels: int, module: str, model: str, cut: Cut | None = None) -> Block:
        cut = cut or Cut()
        text, latency, stats = shiftadd_module(
            self.layers, self.graph, self.schedule(levels, cut), module, model, cut, in_desc=self.in_desc
        )
        return Block(
            module, text, latency, (), tuple({**stats, "solve_ms": round(1e3 * self.solve_seconds, 1)}.items())
        )


@dataclass(frozen=True)
class Cut:
    """Where a shift-add block's pipeline meets its neighbours: ``offset_in`` adder levels of the
    cycle its inputs arrive in are already used by the previous block's unregistered last stage (0:
    the inputs are registered), and whether its own outputs are registered."""

    offset_in: int = 0
    registered_output: bool = True


def block_cuts(plans: list[BlockPlan], levels: int, settings: RtlSettings) -> tuple[list[Cut], int]:
    """The boundaries of the blocks and the design's latency: every block registers its outputs
    (its clamp then maps onto the flip-flops' set/reset, which saves about a LUT per clamped bit),
    unless a latency budget is given that this does not meet at ``levels`` per stage; then the cuts
    run through the chain of shift-add blocks (:func:`chain_cuts`)."""
    cuts = [Cut() for _ in plans]
    total = sum(p.latency(levels) for p in plans)
    if settings.latency is not None and total > settings.latency:
        return chain_cuts(plans, levels)
    return cuts, total


def chain_cuts(plans: list[BlockPlan], levels: int) -> tuple[list[Cut], int]:
    """The boundary of every block (:class:`Cut`) and the design's latency in cycles.

    Registers are cut every ``levels`` adder levels through the whole chain of shift-add blocks, not at
    least once per block: a block may leave its outputs unregistered when the next block is a shift-add
    block too, and the next one then registers within the cycle's remaining levels. A dynamic programme
    over the blocks, whose state is the levels the current cycle has used, picks the boundaries with the
    fewest cycles, then the fewest datapath register bits. Blocks of other kinds (a ReLU alone, ArgMax,
    DSP arithmetic) register their inputs' producer and their own outputs, as before; the last block
    always registers its outputs.
    """
    states: dict[int, tuple[tuple[int, int], list[Cut]]] = {0: ((0, 0), [])}
    for i, plan in enumerate(plans):
        chained = i + 1 < len(plans) and isinstance(plans[i + 1], _ShiftAdd)
        new: dict[int, tuple[tuple[int, int], list[Cut]]] = {}
        for used, (cost, cuts) in states.items():
            options = []
            if isinstance(plan, _ShiftAdd):
                for registered in (True, False) if chained else (True,):
                    cut = Cut(used, registered)
                    sch = plan.schedule(levels, cut)
                    if not registered and sch.tail >= levels:
                        continue  # the last stage is full: nothing to gain in the next block's cycle
                    step = (sch.latency, sch.register_bits(plan.graph))
                    options.append((0 if registered else sch.tail, step, cut))
            else:  # its producer registered (a shift-add block is unregistered only before another)
                options.append((0, (plan.latency(levels), 0), Cut()))
            for nxt, step, cut in options:
                total = (cost[0] + step[0], cost[1] + step[1])
                if nxt not in new or total < new[nxt][0]:
                    new[nxt] = (total, [*cuts, cut])
        states = new
    (cycles, _bits), cuts = states[0]
    return cuts, cycles


def shiftadd_module(
    layers: tuple[Layer, ...],
    graph,
    sched,
    module: str,
    model: str,
    cut: Cut | None = None,
    in_desc: str | None = None,
) -> tuple[str, int, dict]:
    """Verilog of a solved shift-add block with schedule ``sched`` as module ``module``, its latency
    and its figures."""
    from flow.rtl.shiftadd.block import context
    from flow.rtl.shiftadd.cost import estimate

    cut = cut or Cut()
    t0 = time.perf_counter()
    cost = estimate(graph, sched)
    cost_ms = 1e3 * (time.perf_counter() - t0)
    head, relu = layers[0], (layers[1] if len(layers) > 1 else None)
    ctx = context(graph, sched, module, from_unregistered=cut.offset_in > 0)
    if isinstance(head, Dense):
        formula = f"sum_i x[i] * w[o][i] + (b[o] << {head.bias_shift})   (weights {head.weight_type.describe()})"
    else:
        formula = f"x[o] * s[o] + (t[o] << {head.shift_shift})   (scales {head.scale_type.describe()})"
    out_formula = f"requantize(acc[o]) to {head.out_type.describe()}"
    if relu is not None:
        out_formula = f"requantize(max(requantize(acc[o]), 0)) to {relu.out_type.describe()} ({relu.name} fused)"
    names = " + ".join(f"{layer.kind} '{layer.name}'" for layer in layers)
    text = render(
        "shiftadd.v.j2",
        banner=banner(f"{module}.v", model),
        title=f"Block {names}",
        in_desc=in_desc or head.in_type.describe(),
        out_desc=layers[-1].out_type.describe(),
        formula=formula,
        out_formula=out_formula,
        any_wrap=any(o.wrap for o in graph.outputs),
        **ctx,
    )
    stats = {
        "arithmetic": "shiftadd",
        "adders": ctx["adders"],
        "adder_depth": ctx["depth"],
        "adder_levels": sched.max_levels,
        "register_bits": ctx["reg_bits"],
        "output_registered": int(sched.registered_output),
        "clamp_bits": cost.features.get("clamp_bits", 0),
        "est_lut": round(cost.lut),
        "est_ff": cost.ff,
        "cost_ms": round(cost_ms, 2),
    }
    return text, sched.latency, stats


@dataclass(frozen=True)
class BlockRule:
    """How a layer kind becomes a block: ``plan(layers, in_range, settings)`` and the layer kinds the
    block absorbs when they follow it directly (``fuses``, shift-add arithmetic only)."""

    plan: Callable[[tuple[Layer, ...], tuple | None, RtlSettings], BlockPlan]
    fuses: tuple[type, ...] = ()


def _dsp_or_shiftadd(layers, in_range, settings: RtlSettings) -> BlockPlan:
    layer = layers[0]
    if settings.arithmetic == "shiftadd":
        return _ShiftAdd(layers, in_range, settings.hard_dc)
    if isinstance(layer, Dense):
        return _Fixed(
            layers, None, lambda m, model: _generated(dense_module(layer, m, model, settings.fanin), m, "dsp")
        )
    return _Fixed(layers, None, lambda m, model: _generated(scale_shift_module(layer, m, model), m, "dsp"))


def _relu_plan(layers, in_range, settings: RtlSettings) -> BlockPlan:
    from flow.rtl.shiftadd.layers import relu_range

    layer = layers[0]
    out = relu_range(layer, *in_range) if in_range is not None else None
    return _Fixed(layers, out, lambda m, model: Block("flow_relu", None, 1, tuple(relu_params(layer))))


def _argmax_plan(layers, in_range, settings: RtlSettings) -> BlockPlan:
    return _Fixed(layers, None, lambda m, model: _generated(argmax_module(layers[0], m, model), m, "compare"))


def _generated(text_and_latency: tuple[str, int], module: str, arithmetic: str) -> Block:
    return Block(module, text_and_latency[0], text_and_latency[1], (), (("arithmetic", arithmetic),))


# The RTL block of each layer kind. Dense and ScaleShift take a ReLU that follows them into their
# output stage (shift-add arithmetic); a ReLU elsewhere is the library module flow_relu.
RTL_BLOCKS = KindTable(
    "RTL",
    LAYER_CLASSES,
    {
        Dense: BlockRule(_dsp_or_shiftadd, fuses=(ReLU,)),
        ScaleShift: BlockRule(_dsp_or_shiftadd, fuses=(ReLU,)),
        ReLU: BlockRule(_relu_plan),
        ArgMax: BlockRule(_argmax_plan),
    },
)


@dataclass(frozen=True)
class RtlSettings:
    """How the RTL is built (``flow build --arithmetic/--adder-levels/--latency``).

    ``arithmetic`` ``"shiftadd"`` (default: constant products as shared shift-add graphs, no
    multipliers) or ``"dsp"`` (``x * w`` multipliers in adder trees of ``fanin`` terms per level,
    which Yosys maps to DSP slices); ``adder_levels``: at most this many adder levels per pipeline
    stage; ``latency``: a budget of total cycles (the fewest adder levels per stage that meet it);
    neither: :data:`DEFAULT_ADDER_LEVELS`."""

    arithmetic: str = DEFAULT_ARITHMETIC
    adder_levels: int | None = None
    latency: int | None = None
    fanin: int = 8
    hard_dc: int = DEFAULT_HARD_DC
    propagate: bool = True  # each block's input box is the previous block's exact output range

    def __post_init__(self) -> None:
        if self.arithmetic not in ARITHMETICS:
            raise ConfigError(f"arithmetic must be one of {', '.join(ARITHMETICS)}, got {self.arithmetic!r}")
        if self.adder_levels is not None and self.latency is not None:
            raise ConfigError("give either a latency budget or adder levels per stage, not both")
        if self.adder_levels is not None and not 1 <= self.adder_levels <= MAX_ADDER_LEVELS:
            raise ConfigError(f"adder levels per stage must be 1..{MAX_ADDER_LEVELS}, got {self.adder_levels}")
        if self.latency is not None and self.latency < 1:
            raise ConfigError(f"the latency budget must be at least 1 cycle, got {self.latency}")
        if self.fanin < 2:
            raise ConfigError(f"adder-tree fan-in must be at least 2, got {self.fanin}")

    def to_dict(self) -> dict:
        return asdict(self)


def rtl_settings(options) -> RtlSettings:
    """The :class:`RtlSettings` of a build's options (:class:`flow.options.BuildOptions`)."""
    return RtlSettings(
        arithmetic=getattr(options, "arithmetic", None) or DEFAULT_ARITHMETIC,
        adder_levels=getattr(options, "adder_levels", None),
        latency=getattr(options, "latency", None),
    )


def plan_blocks(graph: QuantGraph, settings: RtlSettings) -> tuple[list[BlockPlan], int]:
    """The blocks of ``graph`` (solved) and the adder levels per stage that the settings ask for.

    With shift-add arithmetic a layer absorbs the next one when its rule says so (a ReLU after a
    Dense or ScaleShift) and the two output stages compose into one (they do unless the first one
    WRAPs on overflow, which flow's own types never do); otherwise each layer is its own block.
    """
    from flow.rtl.shiftadd.outstage import NotComposable

    plans: list[BlockPlan] = []
    in_range = None
    layers, k = port_layers(graph), 0
    while k < len(layers):
        rule = RTL_BLOCKS[layers[k]]
        nxt = layers[k + 1] if k + 1 < len(layers) else None
        # the first block's box is the port's per-feature code ranges (a type range, not propagation)
        box = port_box(graph) if k == 0 else in_range if settings.propagate else None
        plan = None
        if settings.arithmetic == "shiftadd" and nxt is not None and isinstance(nxt, rule.fuses):
            try:
                plan = rule.plan((layers[k], nxt), box, settings)
            except NotComposable:
                plan = None
        if plan is None:
            plan = rule.plan((layers[k],), box, settings)
        if k == 0 and graph.input_types:
            plan.in_desc = port_description(graph) + " (weight column i shifted left by the frac it lacks)"
        plans.append(plan)
        in_range = plan.out_range
        k += len(plan.layers)
    if settings.latency is None:
        return plans, settings.adder_levels or DEFAULT_ADDER_LEVELS
    best = None
    for levels in range(1, MAX_ADDER_LEVELS + 1):
        total = block_cuts(plans, levels, settings)[1]
        if total <= settings.latency:
            return plans, levels
        best = total
    raise ConfigError(
        f"latency budget {settings.latency} cycles cannot be met: this design needs at least {best} cycles "
        f"at {MAX_ADDER_LEVELS} adder levels per stage ({len(plans)} blocks)"
    )


# -------------------------------------------------------------------------------------- top


def build_design(
    graph: QuantGraph,
    *,
    top: str | None = None,
    fanin: int = 8,
    settings: RtlSettings | None = None,
    arithmetic: str | None = None,
    adder_levels: int | None = None,
    latency: int | None = None,
) -> RtlDesign:
    """Render every file of the design of ``graph`` (see :func:`generate_rtl`).

    ``settings`` (or its fields ``arithmetic``, ``adder_levels``, ``latency`` given one by one) says
    how; the default is shift-add arithmetic at :data:`DEFAULT_ADDER_LEVELS` levels per stage.
    """
    if settings is None:
        settings = RtlSettings(
            arithmetic=arithmetic or DEFAULT_ARITHMETIC, adder_levels=adder_levels, latency=latency, fanin=fanin
        )
    _check_chain(graph.layers)
    top = sanitize_name(top or graph.name)
    model = graph.name
    files: dict[str, str] = {}
    lib = []
    for template, path in LIBRARY:
        files[path] = render(template, banner=banner(path, model))
        lib.append(path)
    plans, levels = plan_blocks(graph, settings)
    cuts, _ = block_cuts(plans, levels, settings)
    layers: list[LayerRtl] = []
    top_layers = []
    seen: set[str] = set()
    for plan, cut in zip(plans, cuts, strict=True):
        names = tuple(layer.name for layer in plan.layers)
        for name in names:
            inst = sanitize_name(name)
            if inst in seen:
                raise ConfigError(f"two layers map to the same Verilog name {inst!r}; rename one")
            seen.add(inst)
        inst = sanitize_name(names[0])
        block = plan.block(levels, f"{top}_{inst}", model, cut)
        module, params, file = block.module, list(block.params), None
        if block.text is not None:
            file = f"{module}.v"
            files[file] = block.text
        last = plan.layers[-1]
        kind = "+".join(layer.kind for layer in plan.layers)
        info = LayerRtl(
            "+".join(names),
            kind,
            module,
            inst,
            block.latency,
            last.n_out,
            last.out_type,
            file,
            tuple(params),
            names,
            block.stats,
        )
        layers.append(info)
        top_layers.append(
            {
                "name": info.name,
                "kind": kind,
                "module": module,
                "inst": inst,
                "latency": block.latency,
                "n_out": last.n_out,
                "out_w": last.out_type.width,
                "out_desc": last.out_type.describe(),
                "params": params,
            }
        )
    total = sum(layer.latency for layer in layers)
    top_file = f"{top}.v"
    files[top_file] = render(
        "top.v.j2",
        banner=banner(top_file, model),
        model=model,
        top=top,
        n_in=graph.n_inputs,
        in_w=port_width(graph),
        in_desc=port_description(graph),
        n_out=graph.n_outputs,
        out_w=graph.output_type.width,
        out_desc=graph.output_type.describe(),
        latency=total,
        layers=top_layers,
    )
    sources = tuple(lib + [layer.file for layer in layers if layer.file] + [top_file])
    files[f"{top}.f"] = "".join(f"{s}\n" for s in sources)
    return RtlDesign(
        model,
        top,
        dict(sorted(files.items())),
        sources,
        tuple(layers),
        graph.n_inputs,
        plans[0].layers[0].in_type if graph.input_types else graph.input_type,
        graph.n_outputs,
        graph.output_type,
        settings.fanin,
        settings,
        levels if settings.arithmetic == "shiftadd" else None,
        port_description(graph),
    )


def load_design(rtl_dir: str | Path, graph: QuantGraph, *, top: str | None = None) -> RtlDesign:
    """The design whose files the rtl stage wrote to ``rtl_dir``: rebuilt from ``graph`` with the
    settings recorded in its ``design.json`` (the defaults when there is none)."""
    from flow.artifacts import DESIGN

    record = Path(rtl_dir) / DESIGN
    settings = RtlSettings()
    if record.is_file():
        import json

        saved = json.loads(record.read_text()).get("settings") or {}
        known = {k: v for k, v in saved.items() if k in RtlSettings.__dataclass_fields__}
        settings = RtlSettings(**known)
    return build_design(graph, top=top, settings=settings)


def _check_chain(layers: tuple[Layer, ...]) -> None:
    for prev, nxt in zip(layers[:-1], layers[1:], strict=True):
        if prev.n_out != nxt.n_in:
            raise ConfigError(f"layer {nxt.name!r} reads {nxt.n_in} values but {prev.name!r} writes {prev.n_out}")


def generate_rtl(graph: QuantGraph, *, top: str | None = None, fanin: int = 8, **settings) -> dict[str, str]:
    """``{relative_path: Verilog text}`` for the whole network, plus ``<top>.f`` (compile order).

    ``top`` defaults to the sanitized graph name; ``fanin`` is the number of terms summed per
    pipeline level of each dense adder tree (larger: fewer cycles, deeper logic per stage).
    """
    return build_design(graph, top=top, fanin=fanin, **settings).files


def write_files(files: dict[str, str], directory: str | Path) -> list[Path]:
    """Write ``{relative_path: text}`` under ``directory``; return the paths written (sorted)."""
    root = Path(directory)
    written = []
    for rel in sorted(files):
        path = root / rel
        if path.resolve().is_relative_to(root.resolve()) is False:
            raise ConfigError(f"refusing to write {rel!r} outside {root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel])
        written.append(path)
    return written
