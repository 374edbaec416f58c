"""Resource and latency estimates of the generated RTL with Yosys (``synth_xilinx``)."""

from flow.synth.yosys import LayerSynth, YosysResult, parse_ltp, parse_stat, synthesize

__all__ = ["LayerSynth", "YosysResult", "parse_ltp", "parse_stat", "synthesize"]
