"""Simulation of the generated RTL: cocotb 2.x on Verilator (whole network) and Icarus (blocks)."""
