"""Coverage of the requantizer paths by the vectors that were checked, per layer.

Computed from the integer reference's per-layer values (:func:`flow.check.events.layer_events`, built on
:func:`flow.ir.reference.iter_layers`) on exactly the vectors a check simulated (real test vectors plus
corner vectors). Per requantizing layer:

* ``hi`` / ``lo``: neurons whose requantizer went above / below its range on some vector (``hit``), out of
  the neurons where that is possible at all (``possible``: not excluded by
  :func:`flow.check.events.possible`) and those where the corner search found an input that does it
  (``reachable``); for a SAT type this is saturation, for WRAP wrap-around;
* ``ties``: neurons with a rounding tie seen on a positive / negative value (RND types that drop bits);
* ``events``: how many (vector, neuron) pairs saturated, wrapped, hit a tie, or wrapped the accumulator.

Review policy (:func:`findings`): a path the corner search proved *reachable* that no checked vector
exercised is an **error** (the check did not test it although it can happen: the build fails its design
review); a path neither excluded nor found (reachability unknown) that no vector exercised is a
**warning**; paths proven impossible are only counted.
"""

from __future__ import annotations

import numpy as np

from flow.check.corners import HIT, Target
from flow.check.events import EVENTS, layer_events, possible, requant_layers
from flow.ir.fixed import Overflow
from flow.ir.graph import QuantGraph

CHUNK = 8192


def coverage(graph: QuantGraph, codes: np.ndarray, targets: tuple[Target, ...] = ()) -> tuple[dict, ...]:
    """Per-layer coverage records (JSON values) of ``codes`` ``[N, n_in]``; ``targets`` (the corner
    search's, :attr:`flow.check.corners.CornerSet.targets`) say which events are known reachable."""
    layers = requant_layers(graph)
    n_of = {i: layer.n_out for i, layer in layers}
    seen = {i: {ev: np.zeros(n_of[i], dtype=bool) for ev in EVENTS} for i in n_of}
    counts = {i: {"hi": 0, "lo": 0, "tie+": 0, "tie-": 0, "accum_wrap": 0} for i in n_of}
    codes = np.asarray(codes, dtype=np.int64)
    for lo in range(0, len(codes), CHUNK):
        for e in layer_events(graph, codes[lo : lo + CHUNK]):
            for ev in EVENTS:
                f = e.flags(ev)
                seen[e.index][ev] |= f.any(dim=0).numpy()
                counts[e.index][ev] += int(f.sum())
            if e.accum_wrap is not None:
                counts[e.index]["accum_wrap"] += int(e.accum_wrap.sum())
    can = possible(graph)
    reach = {i: {ev: np.zeros(n_of[i], dtype=bool) for ev in EVENTS} for i in n_of}
    for t in targets:
        if t.status == HIT:
            reach[t.index][t.event][t.neuron] = True
    out = []
    for i, layer in layers:
        t = layer.out_type
        sat = t.overflow is Overflow.SAT
        rec: dict = {
            "layer": layer.name,
            "kind": layer.kind,
            "neurons": n_of[i],
            "mode": f"{t.rounding}/{t.overflow}",
            "vectors": int(len(codes)),
        }
        for ev in EVENTS:
            hit, pos, known = seen[i][ev], can[i][ev], reach[i][ev]
            rec[ev] = {
                "hit": int(hit.sum()),
                "possible": int(pos.sum()),
                "reachable": int(known.sum()),
                "missed_reachable": [int(j) for j in np.flatnonzero(known & ~hit)],
                "missed_unknown": [int(j) for j in np.flatnonzero(pos & ~known & ~hit)],
            }
        rec["events"] = {
            "saturations": counts[i]["hi"] + counts[i]["lo"] if sat else 0,
            "wraps": 0 if sat else counts[i]["hi"] + counts[i]["lo"],
            "accum_wraps": counts[i]["accum_wrap"],
            "ties": counts[i]["tie+"] + counts[i]["tie-"],
        }
        out.append(rec)
    return tuple(out)


def _label(ev: str, mode: str) -> str:
    overflow = mode.split("/")[1]
    word = "saturation" if overflow == "SAT" else "wrap"
    return {"hi": f"upper {word}", "lo": f"lower {word}", "tie+": "positive RND tie", "tie-": "negative RND tie"}[ev]


def findings(records: tuple[dict, ...] | list[dict]) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the review policy above, one sentence each."""
    errors, warnings = [], []
    for rec in records:
        for ev in EVENTS:
            r = rec[ev]
            if r["missed_reachable"]:
                errors.append(
                    f"layer {rec['layer']!r}: {_label(ev, rec['mode'])} is reachable (the corner search found an "
                    f"input) but no checked vector exercised it, neurons {r['missed_reachable'][:10]}"
                )
            if r["missed_unknown"]:
                warnings.append(
                    f"layer {rec['layer']!r}: {_label(ev, rec['mode'])} not exercised and not proven impossible, "
                    f"neurons {r['missed_unknown'][:10]}"
                )
    return errors, warnings


def summary(records: tuple[dict, ...] | list[dict]) -> str:
    """One line per layer, e.g. ``fc1 RND/SAT: hi 5/5, lo 5/5, ties +5 -5 of 5; 120 saturations``."""
    parts = []
    for rec in records:
        ev = rec["events"]
        counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in ev.items() if v)
        parts.append(
            f"{rec['layer']} {rec['mode']}: hi {rec['hi']['hit']}/{rec['hi']['possible']}, "
            f"lo {rec['lo']['hit']}/{rec['lo']['possible']}, ties +{rec['tie+']['hit']} -{rec['tie-']['hit']} "
            f"of {rec['neurons']}" + (f"; {counts}" if counts else "")
        )
    return "; ".join(parts)
