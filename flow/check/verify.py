"""Vector sets and check outcomes of the bit-exact checks of a build's artifacts as they are on disk.

Each check runs every vector set (the real test vectors and the corner vectors of
:mod:`flow.check.corners`) through one artifact and compares its output codes with the integer
reference's by equality; the first difference raises :class:`~flow.errors.MismatchError` naming the set,
the vector, the first layer that differs and both values. Nothing is regenerated:

* :func:`flow.check.qonnx.check_qonnx_file` executes the ``.qonnx.onnx`` file with qonnx;
* :func:`flow.check.hls.check_hls_project` reads back the written C++ (:func:`flow.hls.verify.check_project`), compares
  every weight header value with the graph (:func:`flow.hls.verify.check_weight_headers`), then runs the C
  simulation -- compiled from those headers, in a copy of the project unless a compiled library is given;
* :func:`flow.check.rtl.check_rtl_files` simulates the Verilog files of the RTL folder in cocotb + Verilator.

:func:`flow.check.build.check_build` runs all three on a build folder (``flow check BUILD_DIR``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from flow.artifacts import (
    CORNER_CODES,
    CORNER_OUTPUTS,
    REF_OUTPUTS,
    TEST_CODES,
)
from flow.errors import MismatchError
from flow.ir.graph import QuantGraph
from flow.ir.reference import forward

TEST, CORNER = "test", "corner"


@dataclass(frozen=True)
class VectorSet:
    """Input codes and the integer reference's output codes on them."""

    name: str  # TEST or CORNER
    codes: np.ndarray
    ref: np.ndarray

    def __post_init__(self) -> None:
        if len(self.codes) != len(self.ref):
            raise MismatchError(f"{self.name} vectors: {len(self.codes)} input rows but {len(self.ref)} reference rows")

    def head(self, n: int | None) -> VectorSet:
        return self if n is None else VectorSet(self.name, self.codes[:n], self.ref[:n])

    def at(self, graph: QuantGraph) -> VectorSet:
        """The same inputs with the reference recomputed for ``graph`` (a prefix of the design, e.g. the
        hls4ml project, which ends before a trailing argmax)."""
        return VectorSet(self.name, self.codes, forward(graph, torch.from_numpy(self.codes)).numpy())


@dataclass
class CheckOutcome:
    """What one check ran: per vector set, vectors and mismatches (computed by comparison) and outputs."""

    check: str
    vectors: dict[str, int] = field(default_factory=dict)
    mismatches: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    info: dict = field(default_factory=dict)  # shown in the summary line
    header_values: int | None = None  # hls4ml: weight header values compared with the graph
    sim: dict = field(default_factory=dict, repr=False)  # RTL: flow.sim.simulate.SimResult per set

    def line(self) -> str:
        sets = ", ".join(f"{self.vectors[k]:,} {k} vectors" for k in self.vectors)
        return f"{self.check}: 0 mismatches on {sets}" + "".join(f"; {k} {v}" for k, v in self.info.items())


def label(name: str, err: MismatchError) -> MismatchError:
    return MismatchError(f"[{name} vectors] {err}")


def compare(outcome: CheckOutcome, vs: VectorSet, got: np.ndarray) -> None:
    from flow.compare import first_mismatch, mismatch_error

    n_bad, bad = first_mismatch(got, vs.ref)
    outcome.vectors[vs.name], outcome.mismatches[vs.name], outcome.outputs[vs.name] = len(vs.codes), n_bad, got
    if n_bad:  # the back ends' own checks localize; this is the guard for a caller's plain outputs
        raise label(vs.name, mismatch_error(outcome.check, got, vs.ref, bad))


def build_sets(reference_dir: Path, vectors: int | None = None) -> list[VectorSet]:
    """The corner set (whole) and the test set (first ``vectors``) a reference stage folder holds."""
    d = Path(reference_dir)
    sets = []
    if (d / CORNER_CODES).is_file():
        sets.append(VectorSet(CORNER, np.load(d / CORNER_CODES), np.load(d / CORNER_OUTPUTS)))
    sets.append(VectorSet(TEST, np.load(d / TEST_CODES), np.load(d / REF_OUTPUTS)).head(vectors))
    return sets
