"""The Verilog simulation harness of a design (stream and drive modes; see ``harness.v.j2``)."""

from __future__ import annotations

from flow.rtl.generate import RtlDesign, banner, render

TAIL_EXTRA = 4  # idle cycles after the expected last output


def record_bytes(in_bits: int) -> int:
    """Bytes per binary stimulus record: one valid byte plus the input bus, MSB first."""
    return 1 + (in_bits + 7) // 8


def harness_name(design: RtlDesign) -> str:
    return f"{design.top}_harness"


def render_harness(design: RtlDesign) -> tuple[str, str]:
    """``(file name, Verilog text)`` of the harness of ``design``."""
    name = harness_name(design)
    text = render(
        "harness.v.j2",
        banner=banner(f"{name}.v", design.model),
        harness=name,
        top=design.top,
        latency=design.latency,
        in_bits=design.in_bits,
        out_bits=design.out_bits,
        probes=list(range(1, len(design.layers) + 1)),
        tail=design.latency + TAIL_EXTRA,
        rec_bytes=record_bytes(design.in_bits),
    )
    return f"{name}.v", text
