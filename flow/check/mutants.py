"""Mutation testing of the RTL check: faults injected into a build's generated Verilog must fail it.

Each operator takes the files of a build's ``07_rtl`` folder (the shift-add blocks, the library
modules ``flow_valid_pipe``/``flow_relu``/``flow_requant``, an ArgMax block and the top) and
returns mutants: the same folder with one fault. A mutant is *killed* when
:func:`flow.check.rtl.check_rtl_files` (the sim stage's and ``flow check``'s RTL check, corner
vectors first, then the real test vectors) raises :class:`~flow.errors.MismatchError` on it. It is
simulated with random register initialization (:func:`flow.sim.simulate.simulate`'s
``random_init``: registers start random, in_valid is high during reset), so a missing reset shows.

Operator classes (``CLASSES``):

* ``weight-flip``, ``bias-flip``: one bit of one weight (scale) or bias (shift) code flipped in the
  graph, the block re-rendered by :func:`flow.rtl.generate.build_design` (the generator is called,
  not changed) and its file put into the original design; sites whose block latency would change
  are skipped (they would only test the handshake);
* ``rnd-trn``: one neuron of a shift-add output stage rounds by truncation: its output section is
  taken from a render of the graph with that layer's rounding set to TRN;
* ``sat-wrap``: one neuron's upper or lower clamp removed (the code keeps its low bits: WRAP);
* ``sat-bound``: one neuron's saturation value off by one (upper -1 or +1, lower +1 or -1, modulo the
  code width);
* ``valid-early``, ``valid-late``: one block's valid pipeline one stage shorter or longer;
* ``reset-removed``: one block's reset input tied low in the top;
* ``outputs-swapped``: two adjacent output codes of one block exchanged (in the top);
* ``bit-stuck``: one bit of one output code of one block stuck at 0 or 1 (in the top);
* ``argmax-tie``: one compare-select node of an ArgMax block keeps the later index on a tie;
* library ``flow_relu`` (a ReLU no block absorbs): ``rnd-trn`` and ``sat-wrap`` of one element, through
  a renamed copy of the module instantiated by that layer only.

A mutant that provably cannot change behaviour is classified ``equivalent`` with its reason and is
not counted in the kill ratio (it is still simulated; a killed "equivalent" is reported as an
error, the proof being wrong): an identical text; a clamp or saturation value whose bound every
corner target of the neurons' layers marks ``unreachable`` (proved by :mod:`flow.check.events`);
a stuck bit that is constant over the exact interval the generator gives the code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flow.artifacts import DESIGN, QUANT_GRAPH, stage_manifests
from flow.errors import FlowError, MismatchError
from flow.ir.fixed import Overflow, Rounding
from flow.ir.graph import ArgMax, Dense, QuantGraph, ReLU, ScaleShift

CLASSES = (
    "weight-flip",
    "bias-flip",
    "rnd-trn",
    "sat-wrap",
    "sat-bound",
    "valid-early",
    "valid-late",
    "reset-removed",
    "outputs-swapped",
    "bit-stuck",
    "argmax-tie",
)


@dataclass(frozen=True)
class Mutant:
    """One fault: the files it changes (relative path -> new text), and why it is equivalent if it is."""

    cls: str
    site: str
    files: dict[str, str] = field(repr=False)
    equivalent: str | None = None


@dataclass
class MutantResult:
    mutant: Mutant
    status: str  # killed, survived, equivalent, error
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        m = self.mutant
        return {
            "class": m.cls,
            "site": m.site,
            "status": self.status,
            "equivalent": m.equivalent,
            "detail": self.detail,
        }


@dataclass
class Build:
    """What the operators read: the RTL folder's files, the graph, the design record, corner targets."""

    rtl_dir: Path
    graph: QuantGraph
    record: dict
    files: dict[str, str]
    targets: dict[tuple[str, int, str], str]  # (layer, neuron, event) -> hit / unreachable / not_found

    @property
    def top_file(self) -> str:
        return f"{self.record['top']}.v"

    @property
    def blocks(self) -> list[dict]:
        return self.record["layers"]

    def block_file(self, b: dict) -> str | None:
        """The generated file of a block's own module (None for a library module such as flow_relu)."""
        if b["module"].startswith("flow_"):
            return None
        f = f"{b['module']}.v"
        return f if f in self.files else None


def load_build(root: Path) -> Build:
    found = stage_manifests(Path(root))
    for need in ("quantize", "reference", "rtl"):
        if need not in found:
            raise FlowError(f"{root}: no {need} stage (run flow build MODEL --until rtl first)")
    rtl_dir = found["rtl"][0]
    graph = QuantGraph.load(found["quantize"][0] / QUANT_GRAPH)
    record = json.loads((rtl_dir / DESIGN).read_text())
    files = {rel: (rtl_dir / rel).read_text() for rel in record["sources"]}
    targets: dict[tuple[str, int, str], str] = {}
    cj = found["reference"][0] / "corners.json"
    if cj.is_file():
        for t in json.loads(cj.read_text()).get("targets_list", []):
            targets[(t["layer"], int(t["neuron"]), t["event"])] = t["status"]
    return Build(rtl_dir, graph, record, files, targets)


# ------------------------------------------------------------------------------ text helpers


def _sub1(pattern: str, repl, text: str, what: str) -> str:
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    if n != 1:
        raise FlowError(f"mutation operator: cannot find {what} (the generated Verilog changed?)")
    return new


def _section(text: str, o: int) -> tuple[int, int]:
    """Span of output ``o``'s section (``// output o`` up to the next section or register)."""
    m = re.search(rf"^    // output {o}\n", text, flags=re.M)
    if not m:
        raise FlowError(f"no '// output {o}' section")
    end = re.compile(r"^    (// output \d+\n|reg |// verilator lint_on|always )", flags=re.M).search(text, m.end())
    return m.start(), end.start() if end else len(text)


_Q = re.compile(r"^    wire \[(\d+):0\] q(\d+) = (.*?);(.*)$", flags=re.M)
_R = re.compile(r"^    wire \[(\d+):0\] r(\d+) = .*// \[(-?\d+), (-?\d+)\]$", flags=re.M)
_CLAMP = re.compile(r"^(?:hi(\d+) \? (\d+)'d(\d+) : )?(?:lo(\d+) \? (\d+)'d(\d+) : )?(r\d+\[.*\])$")


@dataclass(frozen=True)
class OutSection:
    """One neuron's fused output stage of a shift-add block."""

    file: str
    o: int
    ow: int
    hi: int | None  # saturation code on the upper side (None: no clamp)
    lo: int | None
    rlo: int | None  # exact interval of the value before the clamp
    rhi: int | None
    const: int | None  # a provably constant output


def _sections(text: str, file: str) -> list[OutSection]:
    out = []
    for m in _Q.finditer(text):
        ow, o, expr = int(m.group(1)) + 1, int(m.group(2)), m.group(3)
        if m.group(4).strip() == "// constant":
            v = int(expr.split("'d")[1])
            out.append(OutSection(file, o, ow, None, None, None, None, v))
            continue
        c = _CLAMP.match(expr)
        if not c:
            continue
        start, end = _section(text, o)
        r = _R.search(text, start, end)
        rlo, rhi = (int(r.group(3)), int(r.group(4))) if r else (None, None)
        hi = int(c.group(3)) if c.group(1) else None
        lo = int(c.group(6)) if c.group(4) else None
        out.append(OutSection(file, o, ow, hi, lo, rlo, rhi, None))
    return out


def _signed(code: int, w: int, signed: bool) -> int:
    return code - (1 << w) if signed and code >> (w - 1) else code


def _code_range(s: OutSection, signed: bool) -> tuple[int, int] | None:
    """Exact interval of the output code of a section (as the generator computed it), or None."""
    if s.const is not None:
        v = _signed(s.const, s.ow, signed)
        return v, v
    if s.rlo is None:
        return None
    lo, hi = s.rlo, s.rhi
    if s.lo is not None:
        lo, hi = max(lo, _signed(s.lo, s.ow, signed)), max(hi, _signed(s.lo, s.ow, signed))
    if s.hi is not None:
        lo, hi = min(lo, _signed(s.hi, s.ow, signed)), min(hi, _signed(s.hi, s.ow, signed))
    tlo, thi = (-(1 << (s.ow - 1)), (1 << (s.ow - 1)) - 1) if signed else (0, (1 << s.ow) - 1)
    if lo < tlo or hi > thi:
        return None  # wraps
    return lo, hi


def _bit_constant(lo: int, hi: int, b: int, w: int) -> int | None:
    """The value of bit ``b`` of every code in ``[lo, hi]`` (two's complement, ``w`` bits), or None."""
    if hi - lo + 1 > (1 << b):  # a run of more than 2**b consecutive values flips bit b
        return None
    bits = {((v & ((1 << w) - 1)) >> b) & 1 for v in (lo, hi)}
    if len(bits) == 1:  # both ends equal and the run is shorter than a period of bit b: is it unbroken?
        v0 = next(iter(bits))
        # bit b changes between lo and hi iff a multiple of 2**b lies in (lo, hi]
        step = 1 << b
        first = (lo // step + 1) * step
        return v0 if first > hi else None
    return None


# ------------------------------------------------------------------------------ operators


def _block_layers(build: Build, b: dict) -> list:
    return [build.graph.layer(n) for n in b["layers"]]


def _reachable(build: Build, b: dict, o: int, event: str, kind: str) -> tuple[bool, str]:
    """Whether the corner targets of neuron ``o`` of the block's saturating layers say the bound
    ``event`` can be reached. ``kind`` names the clamp for the reason."""
    rows = []
    for layer in _block_layers(build, b):
        if isinstance(layer, (Dense, ScaleShift, ReLU)) and layer.out_type.overflow is Overflow.SAT:
            st = build.targets.get((layer.name, o, event))
            if st is not None:
                rows.append((layer.name, st))
    if rows and all(st == "unreachable" for _, st in rows):
        names = ", ".join(n for n, _ in rows)
        return (
            False,
            f"{kind}: every '{event}' corner target of neuron {o} ({names}) is unreachable (flow.check.events)",
        )
    return True, ""


def _graph_with(build: Build, index: int, **changes) -> QuantGraph:
    """The graph with layer ``index`` replaced (``out_type`` changes carried into the next layer)."""
    layers = list(build.graph.layers)
    old = layers[index]
    layers[index] = dataclasses.replace(old, **changes)
    if "out_type" in changes and index + 1 < len(layers):
        layers[index + 1] = dataclasses.replace(layers[index + 1], in_type=changes["out_type"])
    return dataclasses.replace(build.graph, layers=tuple(layers))


def _render(build: Build, graph: QuantGraph):
    from flow.rtl.generate import RtlSettings, build_design

    saved = build.record.get("settings") or {}
    settings = RtlSettings(**{k: v for k, v in saved.items() if k in RtlSettings.__dataclass_fields__})
    return build_design(graph, top=build.record["model"], settings=settings)


def _flip(code: int, bit: int, w: int, signed: bool) -> int:
    u = (code & ((1 << w) - 1)) ^ (1 << bit)
    return _signed(u, w, signed)


# The constants a weight-flip / bias-flip mutant changes, per layer class: (array, its type) each.
FLIP_ROLES = {
    Dense: (("weight", "weight_type"), ("bias", "bias_type")),
    ScaleShift: (("scale", "scale_type"), ("shift", "shift_type")),
}


def op_param_flip(build: Build, rng: np.random.Generator, cls: str, n: int) -> Iterator[Mutant]:
    """weight-flip / bias-flip: re-render the block from a graph with one code's bit flipped."""
    cands = []
    for b in build.blocks:
        f = build.block_file(b)
        for name in b["layers"]:
            layer = build.graph.layer(name)
            k = build.graph.layers.index(layer)
            roles = FLIP_ROLES.get(type(layer))
            if roles is None:
                continue
            field_, type_field = roles[0 if cls == "weight-flip" else 1]
            arr, t = getattr(layer, field_), getattr(layer, type_field)
            if f is not None:
                cands.append((b, f, k, layer, arr, t, field_))
    if not cands:
        return
    tries = 0
    made = 0
    while made < n and tries < 20 * n:
        tries += 1
        b, f, k, layer, arr, t, field_ = cands[int(rng.integers(len(cands)))]
        idx = tuple(int(rng.integers(s)) for s in arr.shape)
        bit = int(rng.integers(t.width))
        new = arr.copy()
        new[idx] = _flip(int(arr[idx]), bit, t.width, t.signed)
        try:
            design = _render(build, _graph_with(build, k, **{field_: new}))
        except FlowError:
            continue
        info = next(x for x in design.layers if x.module == b["module"])
        if info.latency != b["latency"]:
            continue
        text = design.files[f]
        made += 1
        site = f"{layer.name}.{field_}{list(idx)} bit {bit}: {int(arr[idx])} -> {int(new[idx])}"
        yield Mutant(cls, site, {f: text}, "identical RTL" if text == build.files[f] else None)


def _shiftadd_sections(build: Build) -> list[tuple[dict, OutSection]]:
    out = []
    for b in build.blocks:
        f = build.block_file(b)
        if f is None or b.get("arithmetic") != "shiftadd":
            continue
        out += [(b, s) for s in _sections(build.files[f], f)]
    return out


def _pick(rng: np.random.Generator, items: list, n: int) -> list:
    if len(items) <= n:
        return items
    return [items[i] for i in sorted(rng.choice(len(items), n, replace=False))]


def op_rnd_trn(build: Build, rng: np.random.Generator, n: int) -> Iterator[Mutant]:
    sites = []
    for b, s in _shiftadd_sections(build):
        if s.const is not None:
            continue
        for name in b["layers"]:
            layer = build.graph.layer(name)
            if isinstance(layer, (Dense, ScaleShift, ReLU)) and layer.out_type.rounding is Rounding.RND:
                sites.append((b, s, build.graph.layers.index(layer), layer))
    renders: dict[int, object] = {}
    for b, s, k, layer in _pick(rng, sites, n):
        if k not in renders:
            renders[k] = _render(
                build, _graph_with(build, k, out_type=dataclasses.replace(layer.out_type, rounding=Rounding.TRN))
            )
        mtext = renders[k].files.get(s.file)
        orig = build.files[s.file]
        site = f"{b['name']} neuron {s.o}: {layer.name} RND -> TRN"
        if mtext is None:
            continue
        a0, a1 = _section(orig, s.o)
        b0, b1 = _section(mtext, s.o)
        if _body(orig) != _body(mtext):
            continue  # the TRN render changed the adder graph: no clean per-neuron splice
        new = orig[:a0] + mtext[b0:b1] + orig[a1:]
        yield Mutant("rnd-trn", site, {s.file: new}, "identical RTL (no bit dropped)" if new == orig else None)


def _body(text: str) -> str:
    """A block's text from its module line up to the first output section (the adder graph)."""
    return text[text.index("\nmodule ") : _section(text, 0)[0]]


def _requant_q(text: str, o: int, repl: str) -> str:
    return _sub1(rf"^(    wire \[\d+:0\] q{o} = ).*?;", lambda m: m.group(1) + repl + ";", text, f"q{o}")


def op_sat(build: Build, rng: np.random.Generator, cls: str, n: int) -> Iterator[Mutant]:
    sites = []
    for b, s in _shiftadd_sections(build):
        for side in ("hi", "lo"):
            if getattr(s, side) is None:
                continue
            if cls == "sat-wrap":
                sites.append((b, s, side, None))
            else:
                sites += [(b, s, side, d) for d in (-1, 1)]
    for b, s, side, d in _pick(rng, sites, n):
        text = build.files[s.file]
        r = re.search(rf"^    wire \[\d+:0\] q{s.o} = .*?(r{s.o}\[.*?\]);", text, flags=re.M).group(1)
        hi = f"hi{s.o} ? {s.ow}'d{s.hi} : " if s.hi is not None else ""
        lo = f"lo{s.o} ? {s.ow}'d{s.lo} : " if s.lo is not None else ""
        mask = (1 << s.ow) - 1
        if cls == "sat-wrap":
            expr = (lo if side == "hi" else hi) + r
            what = f"{side} clamp removed (WRAP)"
        elif side == "hi":
            expr = f"hi{s.o} ? {s.ow}'d{(s.hi + d) & mask} : " + lo + r
            what = f"upper saturation value {d:+d}"
        else:
            expr = hi + f"lo{s.o} ? {s.ow}'d{(s.lo + d) & mask} : " + r
            what = f"lower saturation value {d:+d}"
        relu = any(isinstance(x, ReLU) for x in _block_layers(build, b))
        if side == "lo" and relu:
            reach, why = True, ""  # the lower clamp of a fused ReLU is the ReLU itself
        else:
            reach, why = _reachable(build, b, s.o, side, what)
        yield Mutant(
            cls, f"{b['name']} neuron {s.o}: {what}", {s.file: _requant_q(text, s.o, expr)}, None if reach else why
        )


def op_valid(build: Build, rng: np.random.Generator, cls: str, n: int) -> Iterator[Mutant]:
    sites = [b for b in build.blocks if build.block_file(b)]
    for b in _pick(rng, sites, n):
        f = build.block_file(b)
        text = build.files[f]
        m = re.search(r"flow_valid_pipe #\(\.DEPTH\((\d+)\)\) u_valid \((.*?)\);", text, flags=re.S)
        if not m:
            continue
        d = int(m.group(1)) + (1 if cls == "valid-late" else -1)
        if d >= 1:
            new = text[: m.start(1)] + str(d) + text[m.end(1) :]
        else:
            new = text[: m.start()] + "assign out_valid = in_valid;  // mutant: no valid stage" + text[m.end() :]
        yield Mutant(cls, f"{b['name']}: valid pipeline {m.group(1)} -> {d} stage(s)", {f: new})
    # ReLU layers implemented by the library module: a copy of flow_relu with another DEPTH.
    for b in _pick(rng, [b for b in build.blocks if b["module"] == "flow_relu"], n):
        d = 2 if cls == "valid-late" else 0
        yield _relu_clone(
            build, b, lambda t, d=d: _relu_depth(t, d), f"{b['name']}: valid pipeline 1 -> {d} stage(s)", cls
        )


def _relu_depth(text: str, d: int) -> str:
    pat = r"flow_valid_pipe #\(\.DEPTH\(1\)\) u_valid \(.*?\);"
    if d == 0:
        return _sub1(pat, "assign out_valid = in_valid;", text.replace("\n", "\x00"), "flow_relu valid").replace(
            "\x00", "\n"
        )
    return re.sub(r"flow_valid_pipe #\(\.DEPTH\(1\)\)", f"flow_valid_pipe #(.DEPTH({d}))", text, count=1)


def _relu_clone(build: Build, b: dict, edit: Callable[[str], str], site: str, cls: str) -> Mutant:
    """A copy of ``flow_relu`` (edited) instantiated by block ``b`` only."""
    lib = "flow_relu.v"
    clone = edit(build.files[lib]).replace("module flow_relu #(", "module flow_relu_mut #(", 1)
    top = build.files[build.top_file]
    pat = rf"\bflow_relu(\s+#\((?:(?!flow_relu)[^;])*?\)\s*{b['instance']}\s*\()"
    top, k = re.subn(pat, r"flow_relu_mut\1", top, count=1)
    if k != 1:
        raise FlowError(f"mutation operator: cannot find the flow_relu instance {b['instance']}")
    return Mutant(cls, site, {lib: build.files[lib] + "\n" + clone, build.top_file: top})


def op_relu_lib(build: Build, rng: np.random.Generator, cls: str, n: int) -> Iterator[Mutant]:
    """rnd-trn / sat-wrap of one element of a library flow_relu instance."""
    sites = []
    for b in build.blocks:
        if b["module"] != "flow_relu":
            continue
        layer = build.graph.layer(b["layers"][-1])
        t = layer.out_type
        if cls == "rnd-trn" and t.rounding is Rounding.RND:
            sites += [(b, j) for j in range(b["n_out"])]
        if cls == "sat-wrap" and t.overflow is Overflow.SAT:
            sites += [(b, j) for j in range(b["n_out"])]
    for b, j in _pick(rng, sites, n):
        param = "RND" if cls == "rnd-trn" else "SAT"

        def edit(t: str, param=param, j=j) -> str:
            return _sub1(rf"\.{param}\({param}\)", f".{param}((i == {j}) ? 0 : {param})", t, f"flow_relu .{param}")

        m = _relu_clone(build, b, edit, f"{b['name']} element {j}: {param} off", cls)
        equiv = None
        if cls == "sat-wrap":
            reach_hi, why = _reachable(build, b, j, "hi", "SAT -> WRAP")
            equiv = None if reach_hi else why  # max(x, 0) never goes below the unsigned range
        yield dataclasses.replace(m, equivalent=equiv)


def _tap(build: Build, k: int, expr: Callable[[str], str]) -> str:
    """The top with block ``k``'s (1-based) output bus replaced by ``expr(raw)``."""
    top = build.files[build.top_file]
    top = _sub1(rf"\.out_data\(l{k}_data\)", f".out_data(l{k}_data_m)", top, f"l{k} output")
    decl = re.search(rf"^    wire \[(\d+):0\] l{k}_data;\n", top, flags=re.M)
    if not decl:
        raise FlowError(f"no l{k}_data declaration in the top")
    w = int(decl.group(1)) + 1
    add = f"    wire [{w - 1}:0] l{k}_data_m;  // mutant tap\n    assign l{k}_data = {expr(f'l{k}_data_m')};\n"
    return top[: decl.end()] + add + top[decl.end() :]


def op_swap(build: Build, rng: np.random.Generator, n: int) -> Iterator[Mutant]:
    sites = [(k, b, j) for k, b in enumerate(build.blocks, 1) for j in range(b["n_out"] - 1)]
    for k, b, j in _pick(rng, sites, n):
        w = build.graph.layer(b["layers"][-1]).out_type.width
        n_out = b["n_out"]

        def expr(raw: str, j=j, w=w, n_out=n_out) -> str:
            parts = []
            for e in reversed(range(n_out)):
                src = j + 1 if e == j else j if e == j + 1 else e
                parts.append(f"{raw}[{src * w + w - 1}:{src * w}]")
            return "{" + ", ".join(parts) + "}"

        yield Mutant(
            "outputs-swapped", f"{b['name']}: outputs {j} and {j + 1} swapped", {build.top_file: _tap(build, k, expr)}
        )


def op_stuck(build: Build, rng: np.random.Generator, n: int) -> Iterator[Mutant]:
    ranges: dict[tuple[str, int], tuple[int, int] | None] = {}
    for b, s in _shiftadd_sections(build):
        t = build.graph.layer(b["layers"][-1]).out_type
        ranges[(b["name"], s.o)] = _code_range(s, t.signed)
    sites = []
    for k, b in enumerate(build.blocks, 1):
        t = build.graph.layer(b["layers"][-1]).out_type
        for j in range(b["n_out"]):
            sites += [(k, b, j, bit, v, t) for bit in range(t.width) for v in (0, 1)]
    for k, b, j, bit, v, t in _pick(rng, sites, n):
        pos = j * t.width + bit
        w_all = t.width * b["n_out"]
        mask = f"{w_all}'d{1 << pos}"
        top = _tap(build, k, lambda raw, mask=mask, v=v: f"{raw} | {mask}" if v else f"{raw} & ~{mask}")
        rg = ranges.get((b["name"], j))
        equiv = None
        if rg is not None and _bit_constant(rg[0], rg[1], bit, t.width) == v:
            equiv = f"bit {bit} is {v} for every code in the exact interval [{rg[0]}, {rg[1]}] of this output"
        yield Mutant("bit-stuck", f"{b['name']} output {j} bit {bit} stuck at {v}", {build.top_file: top}, equiv)


def op_reset(build: Build, rng: np.random.Generator, n: int) -> Iterator[Mutant]:
    for b in _pick(rng, list(build.blocks), n):
        top = build.files[build.top_file]
        new = _sub1(
            rf"({b['instance']} \(\s*\.clk\(clk\), )\.rst\(rst\)", r"\1.rst(1'b0)", top, f"{b['instance']} reset"
        )
        yield Mutant("reset-removed", f"{b['name']}: reset tied low", {build.top_file: new})


def op_argmax(build: Build, rng: np.random.Generator, n: int) -> Iterator[Mutant]:
    sites = []
    for b in build.blocks:
        f = build.block_file(b)
        if f is None or not isinstance(build.graph.layer(b["layers"][-1]), ArgMax):
            continue
        for m in re.finditer(r"\((\w+)_v > (\w+)_v\) \? \1_v : \2_v;", build.files[f]):
            sites.append((b, f, m.group(1), m.group(2)))
    for b, f, bn, an in _pick(rng, sites, n):
        text = build.files[f]
        new = text.replace(f"({bn}_v > {an}_v)", f"({bn}_v >= {an}_v)")
        yield Mutant("argmax-tie", f"{b['name']}: node ({an}, {bn}) keeps {bn} on a tie", {f: new})


def generate_mutants(
    build: Build, *, per_class: int = 4, seed: int = 0, classes: tuple[str, ...] = CLASSES
) -> list[Mutant]:
    """Up to ``per_class`` mutants of each class (sites drawn with ``seed``)."""
    out: list[Mutant] = []
    for i, cls in enumerate(classes):
        rng = np.random.default_rng([seed, i])
        if cls in ("weight-flip", "bias-flip"):
            gen = op_param_flip(build, rng, cls, per_class)
        elif cls == "rnd-trn":
            gen = [*op_rnd_trn(build, rng, per_class), *op_relu_lib(build, rng, cls, per_class)]
        elif cls == "sat-wrap":
            gen = [*op_sat(build, rng, cls, per_class), *op_relu_lib(build, rng, cls, per_class)]
        elif cls == "sat-bound":
            gen = op_sat(build, rng, cls, per_class)
        elif cls in ("valid-early", "valid-late"):
            gen = op_valid(build, rng, cls, per_class)
        elif cls == "reset-removed":
            gen = op_reset(build, rng, per_class)
        elif cls == "outputs-swapped":
            gen = op_swap(build, rng, per_class)
        elif cls == "bit-stuck":
            gen = op_stuck(build, rng, per_class)
        elif cls == "argmax-tie":
            gen = op_argmax(build, rng, per_class)
        else:
            raise FlowError(f"unknown mutant class {cls!r}; known: {', '.join(CLASSES)}")
        out += list(gen)[: 2 * per_class]
    return out


# ------------------------------------------------------------------------------ running


def run_mutant(build: Build, mutant: Mutant, sets, work: Path, *, random_init: int = 1) -> MutantResult:
    """Write the mutated folder and run the RTL check on it (random register initialization)."""
    from flow.check.rtl import check_rtl_files
    from flow.errors import ToolError
    from flow.sim.simulate import RANDOM_INIT_ENV

    d = work / "07_rtl"
    shutil.rmtree(work, ignore_errors=True)
    d.mkdir(parents=True)
    for rel, text in {**build.files, **mutant.files}.items():
        (d / rel).write_text(text)
    (d / DESIGN).write_text(json.dumps(build.record))
    old = os.environ.get(RANDOM_INIT_ENV)
    os.environ[RANDOM_INIT_ENV] = str(random_init)
    t0 = time.perf_counter()
    try:
        check_rtl_files(d, build.graph, sets, top=build.record["model"], work_dir=work / "sim")
        status, detail = ("equivalent" if mutant.equivalent else "survived"), ""
    except MismatchError as e:
        status, detail = "killed", str(e).splitlines()[0][:300]
        if mutant.equivalent:
            status, detail = "error", f"classified equivalent ({mutant.equivalent}) but killed: {detail}"
    except (ToolError, FlowError) as e:
        status, detail = "error", str(e).splitlines()[0][:300]
    finally:
        if old is None:
            os.environ.pop(RANDOM_INIT_ENV, None)
        else:
            os.environ[RANDOM_INIT_ENV] = old
    shutil.rmtree(work, ignore_errors=True)
    return MutantResult(mutant, status, detail, time.perf_counter() - t0)


def run_mutants(
    root: Path,
    *,
    per_class: int = 4,
    seed: int = 0,
    classes: tuple[str, ...] = CLASSES,
    vectors: int | None = None,
    work_dir: Path | None = None,
    echo: Callable[[str], None] = lambda s: None,
) -> list[MutantResult]:
    """Generate and run the mutants of the build in ``root``; one result per mutant."""
    import tempfile

    from flow.check.verify import build_sets

    build = load_build(root)
    sets = build_sets(stage_manifests(Path(root))["reference"][0], vectors)
    muts = generate_mutants(build, per_class=per_class, seed=seed, classes=classes)
    base = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="flow_mutants_"))
    results = []
    for i, m in enumerate(muts):
        r = run_mutant(build, m, sets, base / f"m{i}", random_init=seed + i + 1)
        echo(
            f"{r.status:10s} {m.cls:15s} {m.site}"
            + (f"  [{m.equivalent}]" if m.equivalent else "")
            + (f"  -- {r.detail}" if r.status == "error" else "")
        )
        results.append(r)
    if not work_dir:
        shutil.rmtree(base, ignore_errors=True)
    return results


def kill_table(results: list[MutantResult]) -> list[dict]:
    """Per class: mutants, killed, survived, equivalent, errors and the kill ratio (killed over the
    non-equivalent ones)."""
    rows = []
    for cls in dict.fromkeys(r.mutant.cls for r in results):
        rs = [r for r in results if r.mutant.cls == cls]
        c = {s: sum(r.status == s for r in rs) for s in ("killed", "survived", "equivalent", "error")}
        live = c["killed"] + c["survived"] + c["error"]
        rows.append({"class": cls, "mutants": len(rs), **c, "ratio": c["killed"] / live if live else None})
    return rows
