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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

import flow
from flow.errors import ConfigError
from flow.ir.fixed import FixedType, Overflow, Rounding, bits_for_range
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, Layer, QuantGraph, ReLU, ScaleShift
from flow.registry import KindTable

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
    """How one layer appears in the RTL: module, instance, latency and the output bus."""

    name: str
    kind: str
    module: str
    inst: str
    latency: int
    n_out: int
    out_type: FixedType
    file: str | None  # generated file of a layer-specific module; None for a library module
    params: tuple[tuple[str, int], ...] = ()  # HDL parameters of the instance (library modules)

    @property
    def out_w(self) -> int:
        return self.out_type.width


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
        "rnd": int(out.rounding is Rounding.RND),
        "sat": int(out.overflow is Overflow.SAT),
    }


def _const(value: int, width: int, signed: bool = True) -> str:
    """A sized Verilog constant worth ``value`` modulo ``2**width`` (signed or unsigned literal)."""
    base = "sd" if signed else "d"
    v = value % (1 << width)
    if v >= 1 << (width - 1):
        v -= 1 << width
    if v < 0:
        if -v < 1 << (width - 1):
            return f"-{width}'{base}{-v}"
        return f"{width}'{'sh' if signed else 'h'}{v % (1 << width):X}"  # the most negative code
    return f"{width}'{base}{v}"


def _extend(i: int, t: FixedType, width: int, bus: str = "in_data") -> tuple[str, list[str]]:
    """Expression bringing element ``i`` of a bus of ``t`` codes to ``width`` bits; and unused bits."""
    lo, w = i * t.width, t.width
    hi = lo + w - 1
    if width <= w:  # keep the low bits (exact modulo 2**width)
        unused = [f"{bus}[{hi}:{lo + width}]"] if width < w else []
        return f"{bus}[{lo + width - 1}:{lo}]", unused
    fill = f"{bus}[{hi}]" if t.signed else "1'b0"
    sel = f"{bus}[{hi}:{lo}]" if w > 1 else f"{bus}[{lo}]"
    return f"{{{{{width - w}{{{fill}}}}}, {sel}}}", []


def _ext_desc(t: FixedType, width: int) -> str:
    if width < t.width:
        return f"low {width} bits of each code (sums are modulo 2^{width})"
    return "sign-extended" if t.signed else "zero-extended (unsigned codes are non-negative)"


def _term(x: str, w: int, width: int, signed: bool) -> tuple[str, str]:
    """(sign, magnitude expression) of ``x * w`` in ``width``-bit arithmetic."""
    if w == 1:
        return "+", x
    if w == -1:
        return "-", x
    if abs(w) < 1 << (width - 1):
        return ("+" if w > 0 else "-"), f"{x} * {width}'{'sd' if signed else 'd'}{abs(w)}"
    return "+", f"{x} * {_const(w, width, signed)}"


def _signed_term(c: str) -> tuple[str, str]:
    return ("-", c[1:]) if c.startswith("-") else ("+", c)


def _sum(terms: list[tuple[str, str]], width: int, signed: bool) -> str:
    if not terms:
        return f"{width}'{'sd' if signed else 'd'}0"
    first_sign, first = terms[0]
    parts = [first if first_sign == "+" else f"-{first}"]
    parts += [f"{sign} {expr}" for sign, expr in terms[1:]]
    return " ".join(parts)


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
        expr, dropped = _extend(i, x_t, aw)
        if i in used:
            inputs.append({"name": f"x{i}", "expr": expr})
            unused += dropped
        else:
            lo = i * x_t.width
            unused.append(f"in_data[{lo + x_t.width - 1}:{lo}]")
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
            bias = _signed_term(_const(bias_terms[o], aw, signed))
            if len(chunks[-1]) < fanin or n_levels == 1:
                chunks[-1] = [bias, *chunks[-1]]
                bias = None
        regs = []
        for g, chunk in enumerate(chunks):
            name = f"s0_n{o}_g{g}"
            levels[0].append({"reg": name, "expr": _sum(chunk, aw, signed)})
            regs.append(name)
        for lv in range(1, n_levels):
            nxt = []
            for g, k in enumerate(range(0, len(regs), fanin)):
                name = f"s{lv}_n{o}_g{g}"
                expr = " + ".join(regs[k : k + fanin])
                if lv == n_levels - 1 and bias is not None:
                    expr = f"{expr} {bias[0]} {bias[1]}"
                levels[lv].append({"reg": name, "expr": expr})
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
            expr, dropped = _extend(i, x_t, pw)
            inputs.append({"name": f"x{i}", "expr": expr})
            unused += dropped
            terms.append(_term(f"x{i}", s, pw, True))
        else:
            base = i * x_t.width
            unused.append(f"in_data[{base + x_t.width - 1}:{base}]")
        if c:
            terms.append(_signed_term(_const(c, pw)))
        products.append({"reg": f"y{i}", "expr": _sum(terms, pw, True)})
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


@dataclass(frozen=True)
class Block:
    """The RTL of one layer: the module instantiated for it, its own file's text (None for a library
    module), its latency in cycles and the HDL parameters of the instance."""

    module: str
    text: str | None
    latency: int
    params: tuple[tuple[str, int], ...] = ()


def _generated(text_and_latency: tuple[str, int], module: str) -> Block:
    return Block(module, text_and_latency[0], text_and_latency[1])


# The RTL block of each layer kind: (layer, module name for a generated module, model, adder fan-in) -> Block.
RTL_BLOCKS = KindTable(
    "RTL",
    LAYER_CLASSES,
    {
        Dense: lambda g, module, model, fanin: _generated(dense_module(g, module, model, fanin), module),
        ScaleShift: lambda g, module, model, fanin: _generated(scale_shift_module(g, module, model), module),
        ReLU: lambda g, module, model, fanin: Block("flow_relu", None, 1, tuple(relu_params(g))),
        ArgMax: lambda g, module, model, fanin: _generated(argmax_module(g, module, model), module),
    },
)


# -------------------------------------------------------------------------------------- top


def build_design(graph: QuantGraph, *, top: str | None = None, fanin: int = 8) -> RtlDesign:
    """Render every file of the design of ``graph`` (see :func:`generate_rtl`)."""
    if fanin < 2:
        raise ConfigError(f"adder-tree fan-in must be at least 2, got {fanin}")
    top = sanitize_name(top or graph.name)
    model = graph.name
    files: dict[str, str] = {}
    lib = []
    for template, path in LIBRARY:
        files[path] = render(template, banner=banner(path, model))
        lib.append(path)
    layers: list[LayerRtl] = []
    top_layers = []
    seen: set[str] = set()
    for layer in graph.layers:
        inst = sanitize_name(layer.name)
        if inst in seen:
            raise ConfigError(f"two layers map to the same Verilog name {inst!r}; rename one")
        seen.add(inst)
        block = RTL_BLOCKS[layer](layer, f"{top}_{inst}", model, fanin)
        module, latency, params, file = block.module, block.latency, list(block.params), None
        if block.text is not None:
            file = f"{module}.v"
            files[file] = block.text
        info = LayerRtl(layer.name, layer.kind, module, inst, latency, layer.n_out, layer.out_type, file, tuple(params))
        layers.append(info)
        top_layers.append(
            {
                "name": layer.name,
                "kind": layer.kind,
                "module": module,
                "inst": inst,
                "latency": latency,
                "n_out": layer.n_out,
                "out_w": layer.out_type.width,
                "out_desc": layer.out_type.describe(),
                "params": params,
            }
        )
    _check_chain(graph.layers)
    latency = sum(layer.latency for layer in layers)
    top_file = f"{top}.v"
    files[top_file] = render(
        "top.v.j2",
        banner=banner(top_file, model),
        model=model,
        top=top,
        n_in=graph.n_inputs,
        in_w=graph.input_type.width,
        in_desc=graph.input_type.describe(),
        n_out=graph.n_outputs,
        out_w=graph.output_type.width,
        out_desc=graph.output_type.describe(),
        latency=latency,
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
        graph.input_type,
        graph.n_outputs,
        graph.output_type,
        fanin,
    )


def _check_chain(layers: tuple[Layer, ...]) -> None:
    for prev, nxt in zip(layers[:-1], layers[1:], strict=True):
        if prev.n_out != nxt.n_in:
            raise ConfigError(f"layer {nxt.name!r} reads {nxt.n_in} values but {prev.name!r} writes {prev.n_out}")


def generate_rtl(graph: QuantGraph, *, top: str | None = None, fanin: int = 8) -> dict[str, str]:
    """``{relative_path: Verilog text}`` for the whole network, plus ``<top>.f`` (compile order).

    ``top`` defaults to the sanitized graph name; ``fanin`` is the number of terms summed per
    pipeline level of each dense adder tree (larger: fewer cycles, deeper logic per stage).
    """
    return build_design(graph, top=top, fanin=fanin).files


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
