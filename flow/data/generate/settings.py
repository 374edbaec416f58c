"""Typed settings of the JSC-like generator; defaults follow /work/shared/jsc-data-facts.md.

Everything that changes the generated jets is a field here and is written to the output metadata;
the number of workers is not (the output does not depend on it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from flow.data.schema import CLASS_NAMES
from flow.errors import DataError


@dataclass(frozen=True)
class DetectorSettings:
    """The simple detector of the public file name ``r1_h022_e0175_t220_nonu``.

    Neutrinos are dropped. Charged particles with pT <= ``track_pt_max`` are tracks; charged particles
    above it and neutral hadrons deposit in HCAL cells of ``hcal_cell`` x ``hcal_cell`` (eta, phi),
    photons in ECAL cells of ``ecal_cell`` x ``ecal_cell``; |eta| < ``eta_max``. A cell is a massless
    object at the cell centre with pT = E / cosh(eta). With ``smearing`` each object's four-momentum is
    scaled by max(1e-10, Gauss(1, sigma)):

    - tracks: sigma = sqrt((2.5e-4 pT)^2 + 0.015^2)
    - ECAL:   sigma = sqrt((0.027 / sqrt(E / 1.6))^2 + (0.15 * 1.6 / E)^2 + 0.005^2)
    - HCAL:   sigma = sqrt((1.2 / sqrt(E / 7))^2 + 0.05^2)

    Objects below ``min_energy`` GeV (1 MeV) are dropped first. ``enabled=False`` clusters the visible
    stable particles directly (truth level, no cells, no smearing).
    """

    enabled: bool = True
    smearing: bool = True
    eta_max: float = 3.0
    ecal_cell: float = 0.0175
    hcal_cell: float = 0.022
    track_pt_max: float = 220.0
    min_energy: float = 1e-3


@dataclass(frozen=True)
class JetSettings:
    """Jet finding, selection, truth matching and grooming.

    Anti-kT with ``radius`` on the detector objects; the ``max_jets_per_event`` leading jets are kept if
    ``pt_min`` < pT < ``pt_max`` and |eta| < ``eta_max``. A jet is labelled by the nearest truth object
    within ``match_dr`` (rapidity-phi): the hard outgoing parton (status -23; a gluon for g, u/d/s for q)
    or the last W/Z/top copy before decay. With ``containment`` the W/Z decay quarks (top: the b and the
    W decay quarks) must also lie within ``match_dr`` of the jet axis. Grooming is mMDT: SoftDrop with
    ``softdrop_beta`` = 0 and ``softdrop_zcut`` = 0.1 on the C/A reclustered jet.
    """

    radius: float = 0.8
    pt_min: float = 800.0
    pt_max: float = 1600.0
    eta_max: float = 2.5
    max_jets_per_event: int = 2
    match_dr: float = 0.8
    containment: bool = True
    softdrop_beta: float = 0.0
    softdrop_zcut: float = 0.1


@dataclass(frozen=True)
class GeneratorSettings:
    """A whole generation run: ``n_jets`` split evenly over ``classes`` (the first ``n_jets % k``
    classes get one more), in chunks of ``chunk_jets`` jets. Chunk ``i`` of class ``c`` is seeded from
    (``seed``, index of ``c`` in :data:`CLASS_NAMES`, ``i``) only, so the output does not depend on the
    number of workers, and a class's jets do not depend on which other classes are generated."""

    n_jets: int
    classes: tuple[str, ...] = CLASS_NAMES
    seed: int = 0
    chunk_jets: int = 500
    ecm: float = 13000.0
    pthat_min: float = 1000.0
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    jets: JetSettings = field(default_factory=JetSettings)

    def __post_init__(self) -> None:
        if self.n_jets < 1:
            raise DataError(f"--jets must be at least 1, got {self.n_jets}")
        if not self.classes:
            raise DataError("--classes is empty; give some of g,q,w,z,t")
        bad = [c for c in self.classes if c not in CLASS_NAMES]
        if bad:
            raise DataError(f"unknown class {bad[0]!r} in --classes; choose from {','.join(CLASS_NAMES)}")
        if len(set(self.classes)) != len(self.classes):
            raise DataError(f"--classes repeats a class: {','.join(self.classes)}")
        if self.chunk_jets < 1:
            raise DataError(f"chunk size must be at least 1 jet, got {self.chunk_jets}")
        if not 0 <= self.seed < 2**63:
            raise DataError(f"--seed must be a non-negative integer, got {self.seed}")
        j = self.jets
        if not 0 <= j.pt_min < j.pt_max:
            raise DataError(f"the pT window needs 0 <= pt_min < pt_max, got {j.pt_min}..{j.pt_max}")

    def jets_per_class(self) -> dict[str, int]:
        """Jets to generate per class: balanced, summing to ``n_jets``."""
        k = len(self.classes)
        base, extra = divmod(self.n_jets, k)
        return {c: base + (1 if i < extra else 0) for i, c in enumerate(self.classes)}

    def command(self, out: str) -> str:
        """The ``flow data generate`` command that regenerates these settings into ``out``."""
        parts = [f"flow data generate --jets {self.n_jets}"]
        if self.classes != CLASS_NAMES:
            parts.append(f"--classes {','.join(self.classes)}")
        parts.append(f"--seed {self.seed}")
        d, j, default_d, default_j = self.detector, self.jets, DetectorSettings(), JetSettings()
        options = [
            ("--chunk-jets", self.chunk_jets, 500),
            ("--pthat-min", self.pthat_min, 1000.0),
            ("--pt-min", j.pt_min, default_j.pt_min),
            ("--pt-max", j.pt_max, default_j.pt_max),
            ("--eta-max", j.eta_max, default_j.eta_max),
        ]
        parts += [f"{flag} {value:g}" for flag, value, default in options if value != default]
        flags = [
            ("--no-containment", j.containment, default_j.containment),
            ("--no-smearing", d.smearing, default_d.smearing),
            ("--truth-level", d.enabled, default_d.enabled),
        ]
        parts += [flag for flag, value, default in flags if value != default]
        other = {k for k, v in dataclasses.asdict(d).items() if v != dataclasses.asdict(default_d)[k]}
        other |= {k for k, v in dataclasses.asdict(j).items() if v != dataclasses.asdict(default_j)[k]}
        other -= {"enabled", "smearing", "containment", "pt_min", "pt_max", "eta_max"}
        if self.ecm != 13000.0:
            other.add("ecm")
        parts.append(f"--out {out}")
        if other:
            parts.append(f"# plus API-only settings: {', '.join(sorted(other))}")
        return " ".join(parts)

    def to_record(self) -> dict:
        """All settings as a JSON-able dict (nested dataclasses become dicts, tuples lists)."""
        rec = dataclasses.asdict(self)
        rec["classes"] = list(self.classes)
        return rec

    @classmethod
    def from_record(cls, rec: dict) -> GeneratorSettings:
        """Inverse of :meth:`to_record`."""
        rec = dict(rec)
        rec["classes"] = tuple(rec["classes"])
        rec["detector"] = DetectorSettings(**rec["detector"])
        rec["jets"] = JetSettings(**rec["jets"])
        return cls(**rec)
