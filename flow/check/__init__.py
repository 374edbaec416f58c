"""Checks that cannot be fooled: corner vectors, coverage, and the bit-exact checks of artifacts on disk.

* :mod:`flow.check.events` -- what each layer's requantizer sees on given input codes (the value it
  rounds, saturation/wrap and rounding-tie events), derived from :func:`flow.ir.reference.iter_layers`;
* :mod:`flow.check.corners` -- input codes that drive every requantizer of every neuron to its upper
  and lower bound and every RND rounding through its ties, found by search through the reference;
* :mod:`flow.check.coverage` -- per-layer coverage of those events on the vectors that were checked;
* :mod:`flow.check.verify` -- the bit-exact checks (QONNX file, hls4ml project, RTL files) as they are on
  disk, shared by the pipeline stages and ``flow check BUILD_DIR``.
"""
