"""hls4ml back end: a QuantGraph as an hls4ml project whose C simulation equals the integer reference.

* :func:`build_project` -- convert (PyTorch frontend, every precision set by layer name), write,
  verify the generated C++ types against the graph, add build scripts, compile the C simulation.
* :func:`check_csim` -- run the C simulation on input codes and require bit-exact equality.
* :mod:`flow.hls.precision` -- ``FixedType`` <-> ``ap_fixed<W,I,Q,O>`` text (the only place it is written).
* :mod:`flow.hls.vendor` -- find/run Vitis HLS or Vivado HLS when installed, parse their reports.

hls4ml itself is imported lazily (on first build) so that importing :mod:`flow` stays fast.
"""

from flow.hls.csim import check_csim, run_csim
from flow.hls.precision import ap_type, parse_ap_type, precision_table
from flow.hls.project import HlsProject, build_project, write_testbench

__all__ = [
    "HlsProject",
    "ap_type",
    "build_project",
    "check_csim",
    "parse_ap_type",
    "precision_table",
    "run_csim",
    "write_testbench",
]
