"""Corner vectors: input codes that drive every requantizer to its bounds and through its rounding ties.

Targets are ``(layer, neuron, event)`` for every requantizing layer and every event of
:data:`flow.check.events.EVENTS`: ``hi``/``lo`` (the requantizer saturates -- or wraps, for a WRAP type --
above/below its range) and ``tie+``/``tie-`` (RND with the dropped bits exactly one half, on a positive /
negative value). A target that :func:`flow.check.events.possible` proves impossible is recorded as
``unreachable``; the others are searched for, through the integer reference only:

1. a seed pool: all-min, all-max, the two alternating min/max rows, all-zero, ``random`` uniform
   full-range rows, and for every neuron of the first Dense/ScaleShift layer the two sign corners of its
   weights (each input at the end of its range that pushes that neuron up, or down: the exact extremes
   of that layer);
   When the first layer is a ScaleShift (each neuron reads one input) and the input is at most
   ``EXHAUSTIVE_BITS`` wide, the pool also holds one row per input code (every feature at that code):
   that layer's targets no such row hits are then proven ``unreachable``;
2. every target some pool row hits is done; each other target starts from the pool row that scores best
   on its objective (the value before overflow for ``hi``/``lo``, pushed up or down -- before the ReLU
   clamp and the accumulator wrap, so that plateaus do not stall it -- and the distance of the dropped
   bits to one half, on the right side of zero, for ties);
3. coordinate hill-climbing, all open targets at once: per sweep and input coordinate, ``K`` candidate
   values (both ends of the range, +-1, +-a step that halves each sweep, three random codes) replace that
   coordinate of each target's current row; the whole batch goes through the reference once, each target
   moves to its best candidate (sideways moves on plateaus with probability 1/3), and any candidate row
   that hits any open target closes it;
4. the corner set is the pool's fixed rows (all-min, all-max, alternating, the random rows) plus a greedy
   cover of the hits found, so that every reached target is hit by at least one row.

Everything is driven by one ``numpy`` generator seeded with ``seed`` and a fixed number of sweeps, so the
result is the same for a seed on any machine (no wall-clock limits); the cost is bounded by
``sweeps * n_inputs * K * targets`` reference rows (about a second for jsc-medium).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from flow.check.events import EVENTS, LayerEvents, layer_events, possible, requant_layers
from flow.ir.features import code_bounds, shifts
from flow.ir.graph import Dense, QuantGraph, ScaleShift

HIT, UNREACHABLE, NOT_FOUND = "hit", "unreachable", "not found"
EXHAUSTIVE_BITS = 16  # a first ScaleShift layer is searched exhaustively up to this input width
K = 9  # candidate values per coordinate and step
_BIG = float(2**62)


@dataclass(frozen=True)
class Target:
    layer: str
    index: int  # position in graph.layers
    neuron: int
    event: str  # one of EVENTS
    status: str  # HIT / UNREACHABLE / NOT_FOUND
    vector: int | None = None  # a row of the corner set that hits it

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "index": self.index,
            "neuron": self.neuron,
            "event": self.event,
            "status": self.status,
            "vector": self.vector,
        }


@dataclass(frozen=True)
class CornerSet:
    codes: np.ndarray  # [M, n_in] int64
    targets: tuple[Target, ...]
    seed: int
    rows_evaluated: int  # reference rows run by the search (its cost)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.targets)

    def summary(self) -> dict:
        return {
            "vectors": int(len(self.codes)),
            "targets": len(self.targets),
            "hit": self.count(HIT),
            "unreachable": self.count(UNREACHABLE),
            "not_found": self.count(NOT_FOUND),
            "seed": self.seed,
            "rows_evaluated": self.rows_evaluated,
        }

    def to_dict(self) -> dict:
        return {**self.summary(), "targets_list": [t.to_dict() for t in self.targets]}


def load_targets(path) -> tuple[Target, ...]:
    """The targets of a ``corners.json`` written from :meth:`CornerSet.to_dict`."""
    import json
    from pathlib import Path

    return tuple(Target(**t) for t in json.loads(Path(path).read_text())["targets_list"])


def _seed_pool(graph: QuantGraph, rng: np.random.Generator, random: int) -> tuple[np.ndarray, int]:
    """Seed rows and how many of them (the leading ones) always go into the corner set."""
    n = graph.n_inputs
    lo, hi = code_bounds(graph)  # per feature (container codes on each feature's grid)
    s = shifts(graph)
    alt = np.where(np.arange(n) % 2 == 0, lo, hi)
    fixed = [lo, hi, alt, np.where(alt == lo, hi, lo)]
    rows = [np.stack(fixed), rng.integers(lo >> s, (hi >> s) + 1, (random, n)) << s]
    n_fixed = len(fixed) + random
    rows.append(np.clip(np.zeros((1, n), dtype=np.int64), lo, hi))
    first = graph.layers[0]
    w = first.weight if isinstance(first, Dense) else np.diag(first.scale) if isinstance(first, ScaleShift) else None
    if w is not None:
        up = np.where(w > 0, hi, lo)
        rows += [up, np.where(w > 0, lo, hi)]
    return np.concatenate([np.asarray(r, dtype=np.int64).reshape(-1, n) for r in rows]), n_fixed


def _flag_columns(evs: list[LayerEvents], targets: list[tuple[int, int, str]]) -> torch.Tensor:
    """Bool ``[rows, len(targets)]``: which rows hit which target."""
    by_index = {e.index: e for e in evs}
    cols = [by_index[i].flags(event)[:, j] for i, j, event in targets]
    return torch.stack(cols, dim=1) if cols else torch.zeros((0, 0), dtype=torch.bool)


def _objective(e: LayerEvents, j: int, event: str, rows: torch.Tensor) -> torch.Tensor:
    """Score (higher is better) of ``rows`` of layer events ``e`` for target ``(neuron j, event)``."""
    raw = e.raw[rows, j].to(torch.float64)
    if event == "hi":
        return raw
    if event == "lo":
        return -raw
    s = e.frac - e.out_type.frac
    half, mod = 1 << (s - 1), 1 << s
    pre = e.pre[rows, j]
    r = (pre & (mod - 1)) - half
    dist = torch.minimum(r.abs(), mod - r.abs()).to(torch.float64)
    wrong_side = (pre <= 0) if event == "tie+" else (pre >= 0)
    overflow = e.hi[rows, j] | e.lo[rows, j]
    penalty = wrong_side.to(torch.float64) * (1 + pre.abs().to(torch.float64)) * mod + overflow * _BIG
    return -(dist + penalty)


def generate_corners(graph: QuantGraph, *, seed: int = 0, random: int = 64, sweeps: int = 6) -> CornerSet:
    """Search corner vectors for every reachable target of ``graph`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    t_in = graph.input_type
    lo_c, hi_c = code_bounds(graph)  # per feature; a move on feature c steps by its grid unit
    unit = np.int64(1) << shifts(graph)
    n_in = graph.n_inputs
    can = possible(graph)
    names = {i: layer.name for i, layer in requant_layers(graph)}
    open_t: list[tuple[int, int, str]] = []
    status: dict[tuple[int, int, str], str] = {}
    for i in names:
        for event in EVENTS:
            for j, ok in enumerate(can[i][event]):
                key = (i, j, event)
                status[key] = NOT_FOUND if ok else UNREACHABLE
                if ok:
                    open_t.append(key)

    pool, n_fixed = _seed_pool(graph, rng, random)
    exhaustive = isinstance(graph.layers[0], ScaleShift) and t_in.width <= EXHAUSTIVE_BITS and not graph.input_types
    if exhaustive:  # every input code on every feature at once: a per-feature first layer sees them all
        sweep = np.repeat(np.arange(t_in.min_code, t_in.max_code + 1, dtype=np.int64)[:, None], n_in, axis=1)
        pool = np.concatenate([pool, sweep])
    found: dict[tuple[int, int, str], np.ndarray] = {}
    rows_evaluated = len(pool)
    evs = layer_events(graph, pool)
    flags = _flag_columns(evs, open_t)
    for k, key in enumerate(open_t):
        hit = torch.nonzero(flags[:, k])
        if len(hit):
            found[key] = pool[int(hit[0])]
        elif exhaustive and key[0] == 0:  # proven: no input code reaches it
            status[key] = UNREACHABLE
    open_t = [key for key in open_t if key not in found and status[key] != UNREACHABLE]

    # Hill-climb the open targets together, each from its best pool row.
    by_index = {e.index: e for e in evs}
    all_rows = torch.arange(len(pool))
    starts = [pool[int(torch.argmax(_objective(by_index[i], j, ev, all_rows)))] for i, j, ev in open_t]
    state = np.stack(starts) if starts else np.zeros((0, n_in), dtype=np.int64)
    score = np.array([float(_objective(by_index[i], j, ev, all_rows).max()) for i, j, ev in open_t])
    span = (hi_c - lo_c) // unit  # in grid units of each feature
    for sweep in range(sweeps):
        if not open_t:
            break
        for c in rng.permutation(n_in):
            if not open_t:
                break
            a = len(open_t)
            cur = state[:, c]
            u, lo, hi = unit[c], lo_c[c], hi_c[c]
            step = max(2, int(span[c]) >> (2 + sweep)) * u
            cand = np.stack(
                [
                    np.full(a, lo),
                    np.full(a, hi),
                    cur - u,
                    cur + u,
                    cur - step,
                    cur + step,
                    *(rng.integers(lo // u, hi // u + 1, (3, a)) * u),
                ],
                axis=1,
            ).clip(lo, hi)  # [a, K]
            batch = np.repeat(state, K, axis=0)
            batch[:, c] = cand.reshape(-1)
            rows_evaluated += len(batch)
            evs = layer_events(graph, batch)
            by_index = {e.index: e for e in evs}
            # Side hits: any row of the batch that hits any open target closes it.
            flags = _flag_columns(evs, open_t)
            hit_any = flags.any(dim=0)
            for k in torch.nonzero(hit_any).flatten().tolist():
                found[open_t[k]] = batch[int(torch.nonzero(flags[:, k])[0])]
            # Moves: each target to its best candidate.
            keep = []
            for k, (i, j, ev) in enumerate(open_t):
                if open_t[k] in found:
                    continue
                rows = torch.arange(k * K, (k + 1) * K)
                obj = _objective(by_index[i], j, ev, rows).numpy()
                best = int(np.argmax(obj))
                if obj[best] > score[k] or (obj[best] == score[k] and rng.random() < 1 / 3):
                    state[k] = batch[k * K + best]
                    score[k] = obj[best]
                keep.append(k)
            open_t = [open_t[k] for k in keep]
            state, score = state[keep], score[keep]

    # The corner set: fixed pool rows + a greedy cover of the targets found.
    base = pool[:n_fixed]
    cands = np.stack(list(found.values())) if found else np.zeros((0, n_in), dtype=np.int64)
    keys = sorted(found)
    base_hits = _flag_columns(layer_events(graph, base), keys).any(dim=0) if keys else torch.zeros(0, dtype=torch.bool)
    chosen: list[int] = []
    if keys:
        cand_flags = _flag_columns(layer_events(graph, cands), keys).numpy()
        uncovered = ~base_hits.numpy()
        while uncovered.any():
            gain = (cand_flags & uncovered).sum(axis=1)
            best = int(np.argmax(gain))
            if gain[best] == 0:  # cannot happen: each candidate hits the target it was found for
                break
            chosen.append(best)
            uncovered &= ~cand_flags[best]
    codes = np.concatenate([base, cands[chosen]]).astype(np.int64) if len(chosen) else base.astype(np.int64)

    targets = []
    final = _flag_columns(layer_events(graph, codes), keys) if keys else None
    hit_row = {key: int(torch.nonzero(final[:, k])[0]) for k, key in enumerate(keys) if final[:, k].any()}
    for key, st in sorted(status.items(), key=lambda kv: (kv[0][0], kv[0][1], EVENTS.index(kv[0][2]))):
        i, j, event = key
        if key in hit_row:
            targets.append(Target(names[i], i, j, event, HIT, hit_row[key]))
        else:
            targets.append(Target(names[i], i, j, event, st))
    return CornerSet(codes, tuple(targets), seed, rows_evaluated)
