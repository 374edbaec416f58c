"""Fixed-point types, the quantized graph IR and the integer reference: the one semantics."""
