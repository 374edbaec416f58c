"""The RTL files on disk, simulated in cocotb + Verilator on every vector set (the sim stage and ``flow check``)."""

from __future__ import annotations

import json
from pathlib import Path

from flow.artifacts import DESIGN
from flow.check.verify import CheckOutcome, VectorSet, compare, label
from flow.errors import MismatchError
from flow.ir.graph import QuantGraph


def check_rtl_files(
    rtl_dir: Path,
    graph: QuantGraph,
    sets: list[VectorSet],
    *,
    top: str,
    work_dir: Path | None = None,
) -> CheckOutcome:
    """Simulate the Verilog files in ``rtl_dir`` as they are (the generator gives only the file list, the
    top name and the latency the handshake check expects) on every set."""
    from flow.rtl.generate import load_design
    from flow.sim.simulate import simulate

    rtl_dir = Path(rtl_dir)
    design = load_design(rtl_dir, graph, top=top)  # with the settings the rtl stage recorded
    missing = [rel for rel in design.sources if not (rtl_dir / rel).is_file()]
    if missing:
        raise MismatchError(f"RTL folder {rtl_dir} lacks {', '.join(missing)}")
    recorded = rtl_dir / DESIGN
    if recorded.is_file():
        rec = json.loads(recorded.read_text())
        if rec.get("latency_cycles") != design.latency or rec.get("top") != design.top:
            raise MismatchError(
                f"{recorded}: top {rec.get('top')!r}, latency {rec.get('latency_cycles')} do not match the graph's "
                f"design (top {design.top!r}, latency {design.latency})"
            )
    files = {rel: (rtl_dir / rel).read_text() for rel in design.sources}
    out = CheckOutcome("RTL simulation", info={"top": design.top})
    for vs in sets:
        work = None if work_dir is None else Path(work_dir) / vs.name
        try:
            r = simulate(graph, vs.codes, expected=vs.ref, design=design, files=files, work_dir=work)
        except MismatchError as e:
            raise label(vs.name, e) from None
        compare(out, vs, r.outputs)
        out.info.setdefault("latency", f"{r.latency_cycles} cycles, II {r.ii}")
        out.sim[vs.name] = r
    return out
