"""flow: an open FPGA hardware-generation flow for jet tagging in the LHC trigger.

data -> train (QAT, fixed point) -> integer reference -> ONNX/QONNX -> hls4ml C-sim -> RTL
-> cocotb + Verilator bit-exact check -> Yosys resources -> design-review report.
"""

__version__ = "0.1.0"
