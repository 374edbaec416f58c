"""``flow explore``: a family of learned-bit-width designs across resource budgets, each built and
verified through the normal pipeline, and their accuracy-LUT front (docs/explore.md)."""
