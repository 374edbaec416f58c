"""An optional AXI4-Stream top around a rendered design (``axis_top.v.j2``).

The core (:class:`~flow.rtl.generate.RtlDesign`) is a fixed-latency pipeline with II = 1 and no
back-pressure. The wrapper ``<top>_axis`` gives it ``s_axis_*``/``m_axis_*`` ports (one vector
per beat, ``tdata`` padded to whole bytes, optional ``tlast`` passthrough) and handles
back-pressure with a result FIFO after the core plus a credit counter: a vector is accepted only
while the FIFO has room for everything in flight, so no vector is lost or duplicated whatever
``m_axis_tready`` does, and II = 1 is kept while the sink is ready. See the template's header for
the reasoning, the reset behaviour and the latency.

Nothing here touches the disk::

    from flow.rtl import build_design
    from flow.rtl.axis import axis_files, axis_top_name, axis_sources

    design = build_design(graph)
    wrapper = axis_files(design)          # {"<top>_axis.v": ..., "<top>_axis.f": ...}
    files = {**design.files, **wrapper}   # everything a simulator or synthesizer needs
    axis_sources(design)                  # compile order: the design's sources, then the wrapper
"""

from __future__ import annotations

from dataclasses import dataclass

from flow.rtl.generate import RtlDesign, banner, render

TEMPLATE = "axis_top.v.j2"


def bytes_for(bits: int) -> int:
    """Whole bytes holding ``bits`` bits (AXI4-Stream ``tdata`` is a whole number of bytes)."""
    return max(1, -(-bits // 8))


@dataclass(frozen=True)
class AxisLayout:
    """Widths and FIFO size of the AXI4-Stream wrapper of one design."""

    name: str  # wrapper module
    s_bits: int  # s_axis_tdata width (input bus rounded up to whole bytes)
    m_bits: int  # m_axis_tdata width (output bus rounded up to whole bytes)
    fifo_aw: int  # FIFO address bits
    fifo_depth: int  # FIFO entries = credits = 2**fifo_aw >= latency + 2
    latency: int  # cycles from an s_axis transfer to m_axis_tvalid with an empty FIFO


def axis_top_name(design: RtlDesign) -> str:
    """Name of the wrapper module (and stem of its file): ``<top>_axis``."""
    return f"{design.top}_axis"


def axis_layout(design: RtlDesign) -> AxisLayout:
    """Widths and FIFO size of the wrapper of ``design``."""
    need = design.latency + 2  # see the template: credit round trip at II = 1
    aw = max(1, (need - 1).bit_length())
    return AxisLayout(
        axis_top_name(design),
        8 * bytes_for(design.in_bits),
        8 * bytes_for(design.out_bits),
        aw,
        1 << aw,
        design.latency + 1,
    )


def axis_sources(design: RtlDesign) -> tuple[str, ...]:
    """Verilog files of the wrapped design in compile order: the design's, then the wrapper."""
    return (*design.sources, f"{axis_top_name(design)}.v")


def axis_files(design: RtlDesign, *, tlast: bool = True) -> dict[str, str]:
    """The AXI4-Stream wrapper of ``design``: ``{"<top>_axis.v": Verilog, "<top>_axis.f": file list}``.

    ``tlast`` adds ``s_axis_tlast``/``m_axis_tlast`` (carried beside each vector). The ``.f`` file
    lists every source of the wrapped design in compile order. Deterministic; nothing written.
    """
    lay = axis_layout(design)
    vfile = f"{lay.name}.v"
    text = render(
        TEMPLATE,
        banner=banner(vfile, design.model),
        model=design.model,
        name=lay.name,
        core=design.top,
        n_in=design.n_in,
        in_w=design.in_type.width,
        in_desc=design.in_description,
        n_out=design.n_out,
        out_w=design.out_type.width,
        out_desc=design.out_type.describe(),
        in_bits=design.in_bits,
        out_bits=design.out_bits,
        s_w=lay.s_bits,
        m_w=lay.m_bits,
        latency=design.latency,
        fifo_aw=lay.fifo_aw,
        fifo_depth=lay.fifo_depth,
        fifo_w=design.out_bits + int(tlast),
        tlast=tlast,
    )
    return {vfile: text, f"{lay.name}.f": "".join(f"{s}\n" for s in axis_sources(design))}
