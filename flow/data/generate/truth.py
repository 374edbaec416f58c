"""Truth objects that label jets: hard partons (g, q) or the last W/Z/top copy and its decay quarks.

Works on flat arrays of a whole batch of Pythia events (``daughter1``/``daughter2`` are indices local
to the event, ``offsets[e]`` is the flat index of event ``e``'s first particle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: PDG id of the truth object of each resonance class.
RESONANCE_ID = {"w": 24, "z": 23, "t": 6}
LIGHT_QUARKS = (1, 2, 3)


@dataclass(frozen=True)
class EventRecord:
    """Flat particle record of a batch: one entry per particle of every event."""

    event: np.ndarray
    pid: np.ndarray
    status: np.ndarray
    daughter1: np.ndarray
    daughter2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    offsets: np.ndarray  # [n_events + 1]


@dataclass(frozen=True)
class TruthObjects:
    """Candidates for matching: event index, rapidity, phi, whether a jet matched to it has the class
    (``accept``), and its decay products' (rapidity, phi) padded with NaN, shape [n, 3]."""

    event: np.ndarray
    y: np.ndarray
    phi: np.ndarray
    accept: np.ndarray
    decay_y: np.ndarray
    decay_phi: np.ndarray


def rapidity(pz: np.ndarray, e: np.ndarray) -> np.ndarray:
    """y = 0.5 ln((E + pz) / (E - pz))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log((e + pz) / (e - pz))


def _global(rec: EventRecord, idx: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Flat index of the local index ``local`` in the event of flat particle ``idx``."""
    return rec.offsets[rec.event[idx]] + local


def _last_copy(rec: EventRecord, idx: np.ndarray) -> np.ndarray:
    """Follow ``daughter1`` while it is a copy of the same particle (recoil copies in the shower)."""
    idx = idx.copy()
    for _ in range(100):
        d1 = rec.daughter1[idx]
        nxt = _global(rec, idx, d1)
        nxt = np.clip(nxt, 0, len(rec.pid) - 1)
        step = (d1 > 0) & (rec.pid[nxt] == rec.pid[idx]) & (nxt != idx)
        if not step.any():
            break
        idx = np.where(step, nxt, idx)
    return idx


def _angles(rec: EventRecord, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rapidity(rec.pz[idx], rec.e[idx]), np.arctan2(rec.py[idx], rec.px[idx])


def truth_objects(rec: EventRecord, cls: str) -> TruthObjects:
    """The truth objects of class ``cls`` in a batch.

    g and q: every hard outgoing parton (status -23); ``accept`` is true for gluons (g) or u/d/s
    quarks (q), so a jet nearest to another parton is rejected. w/z/t: the last copy of each W/Z/top
    before its decay; the decay products are the two quarks (W, Z) or the b and the last W copy's two
    quarks (top).
    """
    apid = np.abs(rec.pid)
    if cls in ("g", "q"):
        idx = np.flatnonzero(rec.status == -23)
        accept = apid[idx] == 21 if cls == "g" else np.isin(apid[idx], LIGHT_QUARKS)
        y, phi = _angles(rec, idx)
        pad = np.full((len(idx), 3), np.nan)
        return TruthObjects(rec.event[idx], y, phi, accept, pad, pad.copy())
    target = RESONANCE_ID[cls]
    first = np.flatnonzero(apid == target)
    last = np.unique(_last_copy(rec, first))
    d1 = _global(rec, last, rec.daughter1[last])
    d2 = _global(rec, last, rec.daughter2[last])
    decay = np.full((len(last), 3), -1, dtype=np.int64)
    if cls in ("w", "z"):
        decay[:, 0], decay[:, 1] = d1, d2
    else:
        # top -> W b: pick which daughter is the W, follow it to its last copy, take its quarks.
        w_first = np.where(np.abs(rec.pid[d1]) == 24, d1, d2)
        b = np.where(np.abs(rec.pid[d1]) == 24, d2, d1)
        w_last = _last_copy(rec, w_first)
        decay[:, 0] = b
        decay[:, 1] = _global(rec, w_last, rec.daughter1[w_last])
        decay[:, 2] = _global(rec, w_last, rec.daughter2[w_last])
    valid = decay >= 0
    safe = np.where(valid, decay, 0)
    dy, dphi = _angles(rec, safe)
    dy = np.where(valid, dy, np.nan)
    dphi = np.where(valid, dphi, np.nan)
    y, phi = _angles(rec, last)
    return TruthObjects(rec.event[last], y, phi, np.ones(len(last), bool), dy, dphi)


def delta_r(y1: np.ndarray, phi1: np.ndarray, y2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """sqrt(dy^2 + dphi^2) with dphi wrapped into [-pi, pi]."""
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.sqrt((y1 - y2) ** 2 + dphi**2)


def match_jets(
    jet_event: np.ndarray,
    jet_y: np.ndarray,
    jet_phi: np.ndarray,
    truth: TruthObjects,
    match_dr: float,
    containment: bool,
) -> np.ndarray:
    """Boolean mask of jets labelled by ``truth``: the nearest truth object in the same event is within
    ``match_dr`` and accepted, and (with ``containment``) all its decay products are within
    ``match_dr`` of the jet axis."""
    n = len(jet_event)
    if n == 0 or len(truth.event) == 0:
        return np.zeros(n, bool)
    same = jet_event[:, None] == truth.event[None, :]
    dr = delta_r(jet_y[:, None], jet_phi[:, None], truth.y[None, :], truth.phi[None, :])
    dr = np.where(same, dr, np.inf)
    best = np.argmin(dr, axis=1)
    best_dr = dr[np.arange(n), best]
    ok = (best_dr < match_dr) & truth.accept[best]
    if containment:
        ddr = delta_r(jet_y[:, None], jet_phi[:, None], truth.decay_y[best], truth.decay_phi[best])
        inside = np.where(np.isnan(ddr), True, ddr < match_dr).all(axis=1)
        ok &= inside
    return ok
