"""The settings of one build that are not part of the model or the target (``flow build`` options).

Neutral: :mod:`flow.config.build` layers a ``--config`` file's ``[build]`` over them and
:mod:`flow.pipeline` runs with them, so neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildOptions:
    """Settings of one build that are not part of the model or the target."""

    vectors: int | None = None  # test vectors checked by C-sim and RTL sim (None: the whole test set)
    data: Path | None = None  # dataset file (None: the built-in default data)
    checkpoint: Path | None = None  # a `flow train` checkpoint to start from instead of training
    split_seed: int = 42
    force: bool = False
    until: str | None = None
    # How the RTL is built (flow build --arithmetic/--adder-levels/--latency/--axis; the meaning and
    # the defaults are flow.rtl.generate.RtlSettings): "shiftadd" or "dsp"; at most adder_levels
    # adder levels per pipeline stage, or a budget of latency cycles in total; axis: also write the
    # AXI4-Stream top.
    arithmetic: str = "shiftadd"
    adder_levels: int | None = None
    latency: int | None = None
    axis: bool = False
    # Certify on a test set too small to mean much (< MIN_TEST_VECTORS vectors or one class): the data
    # stage records that it was allowed and the report says so. Without it such a build is refused.
    allow_small_test: bool = False


MIN_TEST_VECTORS = 1000  # fewer test vectors than this (or fewer than MIN_TEST_CLASSES) cannot certify
MIN_TEST_CLASSES = 2
