"""Learned bit widths (HGQ-style): trainable per-weight fractional bits and per-layer activation widths,
a differentiable resource term (EBOPs), and conversion into flow's integer design (``mode = "learned"``)."""
