"""RTL generation: Jinja2 templates in ``flow/rtl/templates/`` rendered into Verilog for a QuantGraph;
shift-add arithmetic (the default) in :mod:`flow.rtl.shiftadd`."""

from flow.rtl.generate import (
    LayerRtl,
    RtlDesign,
    RtlSettings,
    build_design,
    generate_rtl,
    load_design,
    rtl_settings,
    sanitize_name,
    template_dir,
    write_files,
)
from flow.rtl.lint import lint_files

__all__ = [
    "LayerRtl",
    "RtlDesign",
    "RtlSettings",
    "build_design",
    "generate_rtl",
    "lint_files",
    "load_design",
    "rtl_settings",
    "sanitize_name",
    "template_dir",
    "write_files",
]
