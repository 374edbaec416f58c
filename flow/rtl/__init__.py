"""RTL generation: Jinja2 templates in ``flow/rtl/templates/`` rendered into Verilog for a QuantGraph
(:mod:`flow.rtl.generate`); shift-add arithmetic (the default) in :mod:`flow.rtl.shiftadd`.

This package imports nothing itself, so that code using only the shift-add arithmetic (the cost model
in training) does not depend on the templates (see :mod:`flow.sources`)."""
