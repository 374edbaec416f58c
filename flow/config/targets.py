"""FPGA targets: part numbers, device totals for utilization, default clock, Yosys family."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flow.errors import UnknownNameError


@dataclass(frozen=True)
class Target:
    """One FPGA part and the figures a utilization report divides by."""

    name: str
    part: str
    description: str
    yosys_family: str  # `synth_xilinx -family` value
    luts: int
    ffs: int
    dsps: int
    brams: int  # BRAM36 blocks
    clock_mhz: float = 200.0

    @property
    def clock_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    def with_clock(self, mhz: float) -> Target:
        return replace(self, clock_mhz=mhz)


# Totals from the vendor product tables (UltraScale+ and 7-series data sheets).
TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "xcu250",
            "xcu250-figd2104-2L-e",
            "Alveo U250 (UltraScale+ VU13P die), the hls4ml JSC tutorial part",
            "xcup",
            luts=1_728_000,
            ffs=3_456_000,
            dsps=12_288,
            brams=2_688,
        ),
        Target(
            "xcvu9p",
            "xcvu9p-flga2104-2L-e",
            "Virtex UltraScale+ VU9P, the CMS L1 trigger workhorse",
            "xcup",
            luts=1_182_240,
            ffs=2_364_480,
            dsps=6_840,
            brams=2_160,
        ),
        Target(
            "xc7z020",
            "xc7z020clg400-1",
            "Zynq-7020 (PYNQ-Z2), a small 7-series SoC",
            "xc7",
            luts=53_200,
            ffs=106_400,
            dsps=220,
            brams=140,
            clock_mhz=100.0,
        ),
    )
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        known = ", ".join(sorted(TARGETS))
        raise UnknownNameError(f"unknown target {name!r}; known targets: {known}") from None
