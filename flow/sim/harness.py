"""The Verilog simulation harness of a design (stream and drive modes; see ``harness.v.j2``)."""

from __future__ import annotations

from flow.rtl.generate import RtlDesign, banner, render

TAIL_EXTRA = 4  # idle cycles after the expected last output


def record_bytes(in_bits: int) -> int:
    """Bytes per binary stimulus record: one valid byte plus the input bus, MSB first."""
    return 1 + (in_bits + 7) // 8


def harness_name(design: RtlDesign) -> str:
    return f"{design.top}_harness"


# With ``reset_valid`` the harness first clocks LATENCY + 1 cycles with in_valid high and no reset
# (every valid pipeline fills with ones, and registers start random in a ``random_init`` build),
# then resets for one cycle only, still with in_valid high. A design whose synchronous reset
# clears its valid pipelines emits nothing before the first real vector; one where a block is not
# reset shifts its ones out as spurious outputs. (The default reset, 4 cycles with in_valid low,
# flushes any pipeline up to 4 stages deep, reset or not.)
_RESET_BLOCK = """            rst = 1'b1;
            repeat (4) begin
                #5 clk = 1'b1;
                #5 clk = 1'b0;
            end
            rst = 1'b0;
"""
_RESET_VALID = """            in_valid = 1'b1;  // flow.sim reset_valid: fill the valid pipelines, then reset one cycle
            in_data = {IN_BITS{1'b1}};
            repeat (LATENCY + 1) begin
                #5 clk = 1'b1;
                #5 clk = 1'b0;
            end
            rst = 1'b1;
            #5 clk = 1'b1;
            #5 clk = 1'b0;
            rst = 1'b0;
"""


def render_harness(design: RtlDesign, *, reset_valid: bool = False) -> tuple[str, str]:
    """``(file name, Verilog text)`` of the harness of ``design`` (``reset_valid``: see above)."""
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
    if reset_valid:
        if text.count(_RESET_BLOCK) != 1:
            raise ValueError("harness.v.j2 changed: cannot find its reset sequence for reset_valid")
        text = text.replace(_RESET_BLOCK, _RESET_VALID)
    return f"{name}.v", text
