"""A simple detector: tracks, ECAL and HCAL cells, Gaussian smearing (see :class:`DetectorSettings`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flow.data.generate.settings import DetectorSettings

NEUTRINOS = (12, 14, 16)


@dataclass(frozen=True)
class Particles:
    """Flat arrays of particles of a batch of events; ``event`` is the event index (non-decreasing)."""

    event: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray

    def __len__(self) -> int:
        return int(self.event.shape[0])

    def take(self, mask: np.ndarray) -> Particles:
        return Particles(self.event[mask], self.px[mask], self.py[mask], self.pz[mask], self.e[mask])

    @property
    def pt(self) -> np.ndarray:
        return np.hypot(self.px, self.py)

    @staticmethod
    def concat(parts: list[Particles]) -> Particles:
        """Concatenate and stably sort by event, keeping the order within an event and part."""
        ev = np.concatenate([p.event for p in parts])
        order = np.argsort(ev, kind="stable")
        return Particles(
            ev[order],
            *(np.concatenate([getattr(p, k) for p in parts])[order] for k in ("px", "py", "pz", "e")),
        )


def pseudorapidity(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """eta = asinh(pz / pT) (finite for pT > 0)."""
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.arcsinh(np.where(pt > 0, pz / np.where(pt > 0, pt, 1.0), np.sign(pz) * 1e10))


def _cells(p: Particles, size: float, eta_max: float) -> Particles:
    """Sum energies in (eta, phi) cells of ``size``; each cell becomes a massless object at its centre."""
    if len(p) == 0:
        return p
    eta = pseudorapidity(p.px, p.py, p.pz)
    phi = np.arctan2(p.py, p.px)
    n_eta = int(np.ceil(2 * eta_max / size))
    n_phi = int(np.ceil(2 * np.pi / size))
    ieta = np.clip(np.floor((eta + eta_max) / size).astype(np.int64), 0, n_eta - 1)
    iphi = np.clip(np.floor((phi + np.pi) / size).astype(np.int64), 0, n_phi - 1)
    key = (p.event.astype(np.int64) * n_eta + ieta) * n_phi + iphi
    cells, inverse = np.unique(key, return_inverse=True)
    energy = np.bincount(inverse, weights=p.e, minlength=len(cells))
    c_event = cells // (n_eta * n_phi)
    c_eta = -eta_max + ((cells // n_phi) % n_eta + 0.5) * size
    c_phi = -np.pi + (cells % n_phi + 0.5) * size
    pt = energy / np.cosh(c_eta)
    return Particles(c_event, pt * np.cos(c_phi), pt * np.sin(c_phi), pt * np.sinh(c_eta), energy)


def _scale(p: Particles, factor: np.ndarray) -> Particles:
    return Particles(p.event, p.px * factor, p.py * factor, p.pz * factor, p.e * factor)


def _smear(rng: np.random.Generator, sigma: np.ndarray) -> np.ndarray:
    return np.maximum(1e-10, rng.normal(1.0, sigma))


def detector_response(
    p: Particles, pid: np.ndarray, charged: np.ndarray, settings: DetectorSettings, rng: np.random.Generator
) -> Particles:
    """Detector objects of a batch of events from its stable particles (``pid`` PDG ids, ``charged``).

    Neutrinos are always dropped. With ``settings.enabled`` false the visible particles within
    |eta| < eta_max are returned unchanged. Random numbers are drawn in a fixed order (tracks, ECAL,
    HCAL) so the result is a function of the particles and the generator state only.
    """
    visible = ~np.isin(np.abs(pid), NEUTRINOS) & (p.e > settings.min_energy)
    eta = pseudorapidity(p.px, p.py, p.pz)
    visible &= np.abs(eta) < settings.eta_max
    if not settings.enabled:
        return p.take(visible)
    pt = p.pt
    is_track = visible & charged & (pt <= settings.track_pt_max)
    is_ecal = visible & (pid == 22)
    is_hcal = visible & ~is_track & ~is_ecal
    tracks = p.take(is_track)
    ecal = _cells(p.take(is_ecal), settings.ecal_cell, settings.eta_max)
    hcal = _cells(p.take(is_hcal), settings.hcal_cell, settings.eta_max)
    ecal = ecal.take(ecal.e > settings.min_energy)
    hcal = hcal.take(hcal.e > settings.min_energy)
    if settings.smearing:
        t_pt = tracks.pt
        tracks = _scale(tracks, _smear(rng, np.sqrt((2.5e-4 * t_pt) ** 2 + 0.015**2)))
        e = ecal.e
        ecal = _scale(ecal, _smear(rng, np.sqrt((0.027 / np.sqrt(e / 1.6)) ** 2 + (0.15 * 1.6 / e) ** 2 + 0.005**2)))
        e = hcal.e
        hcal = _scale(hcal, _smear(rng, np.sqrt((1.2 / np.sqrt(e / 7.0)) ** 2 + 0.05**2)))
    return Particles.concat([tracks, ecal, hcal])
