"""Anti-kT jet finding on detector objects with the FastJet Python bindings, and jet selection."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import awkward as ak
import numpy as np

from flow.data.generate.detector import Particles, pseudorapidity
from flow.data.generate.settings import JetSettings
from flow.data.generate.truth import rapidity

_BANNER_DONE = False


@contextlib.contextmanager
def _stdout_to_devnull():
    """Silence C++ writes to stdout (the FastJet banner) at the file-descriptor level."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def quiet_fastjet() -> None:
    """Print FastJet's one-time banner into /dev/null so it does not break progress bars."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    import fastjet

    with _stdout_to_devnull():
        one = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
        fastjet.ClusterSequence(one, fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4)).inclusive_jets()
    _BANNER_DONE = True


def to_awkward(p: Particles, n_groups: int, group: np.ndarray | None = None) -> ak.Array:
    """Jagged array [group][object]{px, py, pz, E}; ``group`` defaults to the event index."""
    g = p.event if group is None else group
    counts = np.bincount(g, minlength=n_groups)
    flat = ak.zip({"px": p.px, "py": p.py, "pz": p.pz, "E": p.e})
    return ak.unflatten(flat, counts)


@dataclass(frozen=True)
class Jets:
    """Selected jets of a batch, flat; ``constituents`` is jagged [jet][constituent]{px, py, pz, E}."""

    event: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    y: np.ndarray
    phi: np.ndarray
    constituents: ak.Array

    def __len__(self) -> int:
        return int(self.event.shape[0])

    def take(self, mask: np.ndarray) -> Jets:
        return Jets(
            self.event[mask],
            self.pt[mask],
            self.eta[mask],
            self.y[mask],
            self.phi[mask],
            self.constituents[mask],
        )


def find_jets(objects: Particles, n_events: int, settings: JetSettings) -> Jets:
    """Anti-kT(``radius``) jets of each event; keep the ``max_jets_per_event`` leading jets by pT that
    have ``pt_min`` < pT < ``pt_max`` and |eta| < ``eta_max``, in event order then pT order."""
    import fastjet

    quiet_fastjet()
    events = to_awkward(objects, n_events)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.radius)
    cs = fastjet.ClusterSequence(events, jet_def)
    # Jets below pt_min can never be selected, and dropping them first keeps the leading-jet order.
    jets = cs.inclusive_jets(min_pt=settings.pt_min)
    consts = cs.constituents(min_pt=settings.pt_min)
    pt = np.hypot(jets.px, jets.py)
    order = ak.argsort(pt, axis=1, ascending=False, stable=True)[:, : settings.max_jets_per_event]
    jets, consts = jets[order], consts[order]
    n_per_event = ak.to_numpy(ak.num(jets, axis=1))
    flat = ak.flatten(jets, axis=1)
    px, py = ak.to_numpy(flat.px), ak.to_numpy(flat.py)
    pz, e = ak.to_numpy(flat.pz), ak.to_numpy(flat.E)
    event = np.repeat(np.arange(n_events), n_per_event)
    pt = np.hypot(px, py)
    eta = pseudorapidity(px, py, pz)
    keep = (pt > settings.pt_min) & (pt < settings.pt_max) & (np.abs(eta) < settings.eta_max)
    constituents = ak.flatten(consts, axis=1)
    return Jets(
        event=event[keep],
        pt=pt[keep],
        eta=eta[keep],
        y=rapidity(pz, e)[keep],
        phi=np.arctan2(py, px)[keep],
        constituents=constituents[keep],
    )
