"""RTL generation: Jinja2 templates in ``rtl_templates/`` rendered into Verilog for a QuantGraph."""

from flow.rtl.generate import (
    LayerRtl,
    RtlDesign,
    build_design,
    generate_rtl,
    sanitize_name,
    template_dir,
    write_files,
)
from flow.rtl.lint import lint_files

__all__ = [
    "LayerRtl",
    "RtlDesign",
    "build_design",
    "generate_rtl",
    "lint_files",
    "sanitize_name",
    "template_dir",
    "write_files",
]
